"""Fixture for DeLong's paired test (test/ml-roc-compare.test.ts): scores of two models on shared rows, with the AUCs,
the difference's standard error and the two-sided p-value computed here by the definitions (every positive against
every negative, O(m n)) and scipy's normal distribution. Run with apt's python3-scipy: python3 scripts/delong_fixture.py"""
import json
import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(11)
cases = []
for n, ties in [(60, False), (400, True), (1500, False)]:
    y = (rng.random(n) < 0.35).astype(int)
    signal = y + rng.normal(0, 1.2, n)
    p1 = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.8, n))))
    p2 = 1 / (1 + np.exp(-(1.4 * signal + rng.normal(0, 0.5, n))))
    if ties:
        p1 = np.round(p1, 1)
        p2 = np.round(p2, 2)
    pos, neg = y == 1, y == 0

    def psi(a, b):
        return (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])

    comps = []
    for p in (p1, p2):
        k = psi(p[pos], p[neg])
        comps.append((k.mean(axis=1), k.mean(axis=0)))
    (v10a, v01a), (v10b, v01b) = comps
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / pos.sum() + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / neg.sum()
    auc1, auc2 = roc_auc_score(y, p1), roc_auc_score(y, p2)
    se = float(np.sqrt(var))
    z = (auc2 - auc1) / se
    cases.append({
        "y": y.tolist(), "p1": p1.tolist(), "p2": p2.tolist(),
        "auc1": auc1, "auc2": auc2, "standard_error": se, "z": z, "p_value": float(2 * norm.sf(abs(z))),
    })
with open("test/fixtures/delong.json", "w") as f:
    json.dump(cases, f)

"""Reference values from scipy (and scikit-learn) for mldeploy's drift and live-quality tests (test/monitor-*.test.ts).

Writes test/fixtures/drift.json. Inputs are generated here with a fixed numpy seed and stored next to the expected
outputs, so the tests never depend on numpy's generator. The column-drift cases follow Evidently's default test choice,
written out below with numpy and scipy; CBPE follows NannyML's ROC AUC estimate. Needs Debian's python3-scipy and
python3-sklearn:
    /usr/bin/python3 scripts/drift_fixtures.py
"""
import json
from pathlib import Path

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import auc

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "drift.json"
rng = np.random.default_rng(20261202)


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def ks_cases():
    cases = []
    shapes = [
        ("equal sizes", 200, 200, 0.0, False),
        ("equal sizes shifted", 300, 300, 0.3, False),
        ("unequal sizes", 150, 400, 0.1, False),
        ("unequal sizes shifted", 500, 1200, 0.25, False),
        ("ties (integers)", 300, 700, 0.0, True),
        ("ties shifted", 250, 900, 0.5, True),
        ("tiny", 7, 11, 0.0, False),
        ("largest exact", 1000, 10000, 0.05, False),
        ("asymptotic small reference", 100, 10500, 0.0, False),
        ("asymptotic small reference shifted", 100, 10500, 0.4, False),
        ("asymptotic", 1000, 11000, 0.0, False),
        ("asymptotic slight shift", 1000, 10200, 0.08, False),
        ("asymptotic shifted", 800, 12000, 0.3, False),
        ("asymptotic very small reference", 30, 11000, 0.2, False),
    ]
    for name, n1, n2, shift, integers in shapes:
        a = np.round(rng.normal(0, 1, n1), 5)
        b = np.round(rng.normal(shift, 1, n2), 5)
        if integers:
            a = np.round(a * 3)
            b = np.round(b * 3)
        r = stats.ks_2samp(a, b)
        mode = "exact" if max(n1, n2) <= 10000 else "asymp"
        cases.append({"name": name, "a": floats(a), "b": floats(b), "statistic": float(r.statistic),
                      "p_value": float(r.pvalue), "method": mode})
    return cases


def kolmogorov_cases():
    out = []
    for n in [5, 30, 100, 140, 141, 300, 1000, 5000]:
        for x in [0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9]:
            out.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return out


def chi2_cases():
    out = []
    tables = [
        [[10, 20, 30], [12, 18, 35]],
        [[100, 5, 40, 7], [80, 20, 44, 1]],
        [[30, 70], [45, 55]],
        [[3, 0, 9, 4, 1], [1, 2, 12, 2, 8]],
        [[500, 300, 200], [100, 130, 70]],
    ]
    for t in tables:
        r = stats.chi2_contingency(np.array(t))
        out.append({"table": t, "statistic": float(r[0]), "p_value": float(r[1]), "dof": int(r[2])})
    return out


def z_cases():
    out = []
    for s1, n1, s2, n2 in [(30, 100, 45, 120), (500, 1000, 510, 1000), (3, 40, 20, 60), (0, 50, 5, 50)]:
        p1, p2 = s1 / n1, s2 / n2
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        out.append({"ref": [s1, n1], "cur": [s2, n2], "statistic": float(z), "p_value": float(2 * stats.norm.sf(abs(z)))})
    return out


def wasserstein_cases():
    out = []
    for n1, n2, shift, scale in [(50, 80, 0.0, 1.0), (1000, 5000, 0.5, 2.0), (300, 300, 0.0, 1000.0), (20, 2000, 3.0, 1.0)]:
        a = np.round(rng.normal(0, scale, n1), 4)
        b = np.round(rng.normal(shift * scale, scale, n2), 4)
        out.append({"a": floats(a), "b": floats(b), "distance": float(stats.wasserstein_distance(a, b))})
    ties_a = np.round(rng.normal(0, 2, 400))
    ties_b = np.round(rng.normal(1, 2, 600))
    out.append({"a": floats(ties_a), "b": floats(ties_b), "distance": float(stats.wasserstein_distance(ties_a, ties_b))})
    return out


def js_cases():
    out = []
    for p, q in [([10, 20, 30], [30, 20, 10]), ([5, 0, 5, 1], [0, 5, 5, 1]), ([1000, 1], [999, 2]), ([3, 3, 3], [3, 3, 3])]:
        out.append({"p": p, "q": q, "distance": float(distance.jensenshannon(p, q))})
    return out


# Evidently's default drift for one column, written with numpy and scipy (evidently.calculations.stattests).
def fill_zeroes(percents):
    percents = percents.copy()
    nonzero = percents[percents != 0]
    if len(nonzero) < len(percents) and len(nonzero) > 0:
        smallest = min(nonzero)
        np.place(percents, percents == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return percents


def binned(reference, current, kind, feel_zeroes):
    if kind == "num" and len(np.unique(reference)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([reference, current]), bins=30)
        r = np.histogram(reference, bins)[0] / len(reference)
        c = np.histogram(current, bins)[0] / len(current)
    else:
        keys = sorted(set(reference.tolist()) | set(current.tolist()))
        r = np.array([np.sum(reference == k) for k in keys]) / len(reference)
        c = np.array([np.sum(current == k) for k in keys]) / len(current)
    if feel_zeroes:
        r, c = fill_zeroes(r), fill_zeroes(c)
    return r, c


def psi(reference, current, kind):
    r, c = binned(reference, current, kind, True)
    return float(np.sum((r - c) * np.log(r / c)))


def evidently_drift(reference, current, kind):
    n_values = len(np.unique(np.concatenate([reference, current])))
    p = psi(reference, current, kind)
    if len(reference) <= 1000:
        if kind == "num" and n_values > 5:
            r = stats.ks_2samp(reference, current)
            return {"test": "ks", "statistic": float(r.pvalue), "test_statistic": float(r.statistic), "drifted": bool(r.pvalue < 0.05), "psi": p}
        if n_values <= 2:
            keys = sorted(set(reference.tolist()) | set(current.tolist()))
            if len(keys) == 1:
                return {"test": "z", "statistic": 1.0, "test_statistic": 0.0, "drifted": False, "psi": p}
            r1 = np.mean(reference == keys[0])
            r2 = np.mean(current == keys[0])
            n1, n2 = len(reference), len(current)
            pooled = (r1 * n1 + r2 * n2) / (n1 + n2)
            z = (r1 - r2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            pv = float(2 * stats.norm.sf(abs(z)))
            return {"test": "z", "statistic": pv, "test_statistic": float(z), "drifted": pv < 0.05, "psi": p}
        keys = sorted(set(reference.tolist()) | set(current.tolist()))
        table = np.array([[np.sum(reference == k) for k in keys], [np.sum(current == k) for k in keys]])
        r = stats.chi2_contingency(table)
        return {"test": "chi_squared", "statistic": float(r[1]), "test_statistic": float(r[0]), "drifted": bool(r[1] < 0.05), "psi": p}
    if kind == "num" and n_values > 5:
        d = stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)
        return {"test": "wasserstein", "statistic": float(d), "test_statistic": None, "drifted": bool(d >= 0.1), "psi": p}
    r, c = binned(reference, current, "cat", False)
    d = distance.jensenshannon(r, c)
    return {"test": "jensen_shannon", "statistic": float(d), "test_statistic": None, "drifted": bool(d >= 0.1), "psi": p}


def column_cases():
    out = []
    levels = np.array(["a", "b", "c", "d"])
    specs = [
        ("numeric small reference, same", "num", 800, 3000, lambda n, s: rng.normal(50 + s, 10, n), 0),
        ("numeric small reference, shifted", "num", 800, 3000, lambda n, s: rng.normal(50 + s, 10, n), 3),
        ("numeric large reference, same", "num", 4000, 5000, lambda n, s: rng.lognormal(10 + s, 0.5, n), 0),
        ("numeric large reference, shifted", "num", 4000, 5000, lambda n, s: rng.lognormal(10 + s, 0.5, n), 0.1),
        ("integer with few values, small reference", "num", 600, 2000, lambda n, s: rng.binomial(3 + s, 0.5, n).astype(float), 0),
        ("integer with few values, large reference", "num", 3000, 2000, lambda n, s: rng.binomial(3, 0.5 + s, n).astype(float), 0.1),
        ("binary, small reference", "num", 900, 1500, lambda n, s: (rng.random(n) < 0.3 + s).astype(float), 0.05),
        ("binary, large reference", "num", 2000, 1500, lambda n, s: (rng.random(n) < 0.3 + s).astype(float), 0.0),
        ("integer with 10 values, large reference", "num", 2500, 3000, lambda n, s: rng.integers(0, 10 + s, n).astype(float), 3),
        ("categorical small reference", "cat", 700, 2500, lambda n, s: rng.choice(levels, n, p=[0.4, 0.3, 0.2, 0.1]), 0),
        ("categorical small reference, re-weighted", "cat", 700, 2500, lambda n, s: rng.choice(levels, n, p=[0.25, 0.25, 0.25, 0.25] if s else [0.4, 0.3, 0.2, 0.1]), 1),
        ("categorical large reference, re-weighted", "cat", 5000, 2500, lambda n, s: rng.choice(levels, n, p=[0.1, 0.2, 0.3, 0.4] if s else [0.4, 0.3, 0.2, 0.1]), 1),
        ("categorical two levels", "cat", 500, 800, lambda n, s: rng.choice(levels[:2], n, p=[0.6, 0.4] if s else [0.5, 0.5]), 1),
    ]
    for name, kind, n_ref, n_cur, draw, shift in specs:
        reference = draw(n_ref, 0)
        current = draw(n_cur, shift)
        if kind == "num":
            reference, current = np.round(reference, 4), np.round(current, 4)
        expected = evidently_drift(reference, current, kind)
        values = (lambda a: [str(v) for v in a]) if kind == "cat" else floats
        out.append({"name": name, "kind": "categorical" if kind == "cat" else "numeric",
                    "reference": values(reference), "current": values(current), **expected})
    return out


def cbpe_roc_auc(p):
    thresholds = np.sort(p)
    one_min = 1 - thresholds
    tp = np.cumsum(thresholds[::-1])[::-1]
    fp = np.cumsum(one_min[::-1])[::-1]
    fn = np.cumsum(np.insert(thresholds, 0, 0)[:-1])
    tn = np.cumsum(np.insert(one_min, 0, 0)[:-1])
    keep = np.diff(np.insert(thresholds, 0, -1)).astype(bool)
    tp, fp, fn, tn = tp[keep], fp[keep], fn[keep], tn[keep]
    return float(auc(fp / (fp + tn), tp / (tp + fn)))


def cbpe_cases():
    out = []
    for n, a, b in [(500, 2, 5), (3000, 0.5, 0.5), (50, 1, 1)]:
        p = np.round(rng.beta(a, b, n), 6)
        out.append({"p": floats(p), "roc_auc": cbpe_roc_auc(p)})
    p = np.round(rng.beta(2, 2, 400), 2)  # ties
    out.append({"p": floats(p), "roc_auc": cbpe_roc_auc(p)})
    return out


def isotonic_cases():
    out = []
    for n in [200, 1000]:
        p = np.round(rng.random(n), 3)
        y = (rng.random(n) < p ** 2).astype(float)
        model = IsotonicRegression(out_of_bounds="clip").fit(p, y)
        query = np.concatenate([rng.random(100) * 1.2 - 0.1, p[:50]])
        out.append({"p": floats(p), "y": floats(y), "query": floats(query), "calibrated": floats(model.predict(query))})
    return out


def special_cases():
    return {
        "chi2_sf": [{"x": x, "dof": d, "sf": float(stats.chi2.sf(x, d))} for x in [0.1, 1.0, 3.5, 10.0, 40.0, 120.0] for d in [1, 2, 3, 7, 20]],
        "norm_sf": [{"z": z, "sf": float(stats.norm.sf(z))} for z in [-3.0, -0.5, 0.0, 0.3, 1.96, 4.0, 8.0]],
    }


def main():
    fixture = {
        "scipy_version": scipy.__version__,
        "ks": ks_cases(),
        "kolmogorov": kolmogorov_cases(),
        "chi2": chi2_cases(),
        "z": z_cases(),
        "wasserstein": wasserstein_cases(),
        "jensenshannon": js_cases(),
        "columns": column_cases(),
        "cbpe": cbpe_cases(),
        "isotonic": isotonic_cases(),
        **special_cases(),
    }
    OUT.write_text(json.dumps(fixture))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

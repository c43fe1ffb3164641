"""Reference values from scikit-learn for mldeploy's ML tests (test/ml-*.test.ts).

Writes test/fixtures/sklearn_metrics.json, sklearn_logistic.json and sklearn_preprocessing.json. Inputs are generated
here with a fixed numpy seed and stored next to the expected outputs, so the tests never depend on numpy's generator.
Needs Debian's python3-sklearn (scikit-learn 1.2.1) and python3-pandas:
    /usr/bin/python3 scripts/sklearn_fixtures.py
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from scipy.special import expit
from scipy.stats import norm
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss, precision_score, recall_score,
                             roc_auc_score, roc_curve)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures"


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def delong_direct(y, p):
    """DeLong's AUC variance straight from the definition, O(m n): independent of the fast algorithm under test."""
    pos, neg = p[y == 1], p[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    auc = psi.mean()
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    se = float(np.sqrt(var))
    z = norm.ppf(0.975)
    return {"auc": float(auc), "standardError": se, "lower": max(0.0, auc - z * se), "upper": min(1.0, auc + z * se)}


def best_f1_brute_force(y, p):
    best = None
    for t in sorted(set(p.tolist()), reverse=True):
        pred = (p >= t).astype(int)
        f = f1_score(y, pred, zero_division=0)
        if best is None or f > best["f1"]:
            best = {"threshold": t, "f1": f, "precision": precision_score(y, pred, zero_division=0),
                    "recall": recall_score(y, pred, zero_division=0)}
    return best


def metrics_cases(rng):
    cases = []
    # Coarse scores: many ties across classes.
    y = rng.integers(0, 2, 60)
    p = np.round(np.clip(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.25, 60), 0, 1), 1)
    cases.append(("ties", y, p))
    # Continuous scores, imbalanced, exact 0 and 1 to exercise log-loss clipping.
    y = (rng.random(200) < 0.2).astype(int)
    p = expit(1.5 * y + rng.normal(0, 1, 200) - 1.2)
    p[:3] = [0.0, 1.0, 1.0]
    cases.append(("imbalanced", y, p))
    out = []
    for name, y, p in cases:
        pred = (p >= 0.5).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        fpr, tpr, thr = roc_curve(y, p)
        out.append({
            "name": name, "y": y.tolist(), "p": floats(p),
            "roc_auc": roc_auc_score(y, p),
            "roc_curve": {"fpr": floats(fpr), "tpr": floats(tpr), "thresholds": floats(thr)},
            "log_loss": log_loss(y, p),
            "accuracy": accuracy_score(y, pred),
            "precision": precision_score(y, pred, zero_division=0),
            "recall": recall_score(y, pred, zero_division=0),
            "f1": f1_score(y, pred, zero_division=0),
            "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
            "delong": delong_direct(y, p),
            "best_f1": best_f1_brute_force(y, p),
        })
    quantiles = [0.5, 0.8, 0.9, 0.95, 0.975, 0.995, 0.001, 0.02, 0.99999]
    return {"cases": out, "normal_quantiles": [{"q": q, "z": float(norm.ppf(q))} for q in quantiles]}


def objective_gradient(model, X, y, sw, params):
    """max |gradient| of sum_i w_i logloss_i + ||coef||^2 / (2C) at the fitted parameters."""
    w = np.ones(len(y)) if sw is None else sw.copy()
    cw = params.get("class_weight")
    if cw == "balanced":
        cw = {c: len(y) / (2 * np.sum(y == c)) for c in (0, 1)}
    if cw:
        w *= np.where(y == 1, cw[1], cw[0])
    r = w * (expit(X @ model.coef_[0] + model.intercept_[0]) - y)
    g = X.T @ r + model.coef_[0] / params["C"]
    if params.get("fit_intercept", True):
        g = np.r_[g, r.sum()]
    return float(np.abs(g).max())


def logistic_cases(rng):
    n, scales = 150, np.array([1.0, 10.0, 0.1, 3.0, 1.0])
    X = rng.normal(size=(n, 5)) * scales + np.array([0, 5, 0, -2, 0])
    logit = X @ (np.array([1.0, 0.1, 4.0, -0.3, 0.0])) - 1.5
    y = (rng.random(n) < expit(logit)).astype(int)
    sample_weight = rng.integers(0, 4, n).astype(float)  # includes zero weights
    X_test = rng.normal(size=(20, 5)) * scales
    settings = [
        ("C=1", {"C": 1.0}, None),
        ("C=0.1", {"C": 0.1}, None),
        ("C=1 sample weights", {"C": 1.0}, sample_weight),
        ("C=0.1 balanced", {"C": 0.1, "class_weight": "balanced"}, None),
        ("C=1 balanced + sample weights", {"C": 1.0, "class_weight": "balanced"}, sample_weight),
        ("C=1 class weights {0:1,1:3}", {"C": 1.0, "class_weight": {0: 1.0, 1: 3.0}}, None),
        ("C=1 no intercept", {"C": 1.0, "fit_intercept": False}, None),
    ]
    fits = []
    for name, params, sw in settings:
        # newton-cg run to a tight tolerance gives the exact optimum of the objective; lbfgs with defaults is what
        # users of scikit-learn usually get.
        exact = LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=1000, **params).fit(X, y, sample_weight=sw)
        gradient = objective_gradient(exact, X, y, sw, params)
        assert gradient < 1e-6, f"{name}: newton-cg stopped short of the optimum (max |gradient| {gradient})"
        default = LogisticRegression(**params).fit(X, y, sample_weight=sw)
        fits.append({
            "name": name, "params": params, "sampleWeight": sw is not None,
            "coef": floats(exact.coef_), "intercept": float(exact.intercept_[0]),
            "proba_test": floats(exact.predict_proba(X_test)[:, 1]),
            "lbfgs_default_coef": floats(default.coef_), "lbfgs_default_intercept": float(default.intercept_[0]),
        })
    return {"X": X.tolist(), "y": y.tolist(), "sampleWeight": floats(sample_weight), "X_test": X_test.tolist(),
            "fits": fits}


def preprocessing_case():
    train = pd.DataFrame({
        "age": [25, np.nan, 47, 33, 61, 29, np.nan, 52],
        "income": [3.2e6, 4.1e6, np.nan, 9.6e6, 2.0e6, 5.5e6, 7.7e6, 4.1e6],
        "flag": [1, 0, 1, 1, np.nan, 0, 0, 1],
        # 'b' and 'c' tie as most frequent: scikit-learn imputes the smaller, 'b'.
        "city": ["c", "b", np.nan, "a", "b", "c", np.nan, "d"],
        "plan": ["x", "y", "x", "x", "y", "y", "x", np.nan],
    })
    test = pd.DataFrame({
        "age": [np.nan, 40.0, 18.0],
        "income": [1e6, np.nan, 3e6],
        "flag": [0, np.nan, 1],
        "city": ["zzz", np.nan, "a"],  # unseen, missing, known
        "plan": ["y", "x", np.nan],
    })
    num, cat = ["age", "income", "flag"], ["city", "plan"]
    linear = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cat),
    ], sparse_threshold=0).fit(train)

    def columns(df):
        # JSON has no NaN: missing values are written as null.
        return {c: [None if pd.isna(v) else (float(v) if c in num else v) for v in df[c]] for c in df.columns}

    def nan_to_none(matrix):
        return [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(matrix, dtype=float)]

    imputer, scaler = linear.named_transformers_["num"].steps[0][1], linear.named_transformers_["num"].steps[1][1]
    encoder = linear.named_transformers_["cat"].steps[1][1]
    tree_categories = {c: sorted(train[c].dropna().unique().tolist()) for c in cat}

    def tree_encode(df):
        codes = [df[c].map({v: i for i, v in enumerate(tree_categories[c])}).astype(float) for c in cat]
        return np.column_stack([df[num].to_numpy(dtype=float)] + codes)

    return {
        "numeric": num, "categorical": cat,
        "train": columns(train), "test": columns(test),
        "linear": {
            "median": floats(imputer.statistics_), "mean": floats(scaler.mean_), "scale": floats(scaler.scale_),
            "categories": [list(c) for c in encoder.categories_],
            "most_frequent": list(linear.named_transformers_["cat"].steps[0][1].statistics_),
            "train": nan_to_none(linear.transform(train)), "test": nan_to_none(linear.transform(test)),
        },
        "tree": {"categories": [tree_categories[c] for c in cat], "train": nan_to_none(tree_encode(train)),
                 "test": nan_to_none(tree_encode(test))},
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    header = {"generator": "scripts/sklearn_fixtures.py", "sklearn": sklearn.__version__}
    for name, payload in (("sklearn_metrics.json", metrics_cases(rng)), ("sklearn_logistic.json", logistic_cases(rng)),
                          ("sklearn_preprocessing.json", preprocessing_case())):
        (OUT / name).write_text(json.dumps({**header, **payload}, indent=1, allow_nan=False) + "\n")
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()

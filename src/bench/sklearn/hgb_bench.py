"""scikit-learn's side of `node dist/bench/hgb.js`: HistGradientBoostingClassifier (binary or 5 classes) or
HistGradientBoostingRegressor on the first ROWS rows of the task's synthetic CSV (first 80% train, last 20% test), 100
iterations, early stopping off. Prints one JSON object: fit seconds, the test score (ROC AUC; accuracy; R^2),
single-row predict latency, batch predict rows/s and the process's peak RSS.
Usage: /usr/bin/python3 hgb_bench.py CSV ROWS [binary|multiclass|regression]   (makes CSV when missing)
    binary:     make_classification(1_000_000, 20, n_informative=10, random_state=0), as
                /work/shared/reference/sklearn_speed.py
    multiclass: the same with n_classes=5
    regression: make_regression(1_000_000, 20, n_informative=10, noise=10, random_state=0)
"""
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score


def best_of(repeats, fn):
    """Smallest wall time in seconds of `repeats` runs after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_csv(path, task):
    if task == "regression":
        X, y = make_regression(n_samples=1_000_000, n_features=20, n_informative=10, noise=10.0, random_state=0)
    else:
        X, y = make_classification(n_samples=1_000_000, n_features=20, n_informative=10,
                                   n_classes=5 if task == "multiclass" else 2, random_state=0)
    pd.DataFrame(X, columns=[f"f{i}" for i in range(20)]).assign(label=y).to_csv(path, index=False, float_format="%.7g")


def main():
    path, rows = Path(sys.argv[1]), int(sys.argv[2])
    task = sys.argv[3] if len(sys.argv) > 3 else "binary"
    if not path.exists():
        make_csv(path, task)
    df = pd.read_csv(path, nrows=rows)
    cut = int(len(df) * 0.8)
    X, y = df.drop(columns=["label"]).to_numpy(), df["label"].to_numpy()
    del df
    model = (HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier)(
        max_iter=100, early_stopping=False)
    t0 = time.perf_counter()
    model.fit(X[:cut], y[:cut])
    fit_s = time.perf_counter() - t0
    X_test, y_test = X[cut:], y[cut:]
    predict = model.predict if task == "regression" else model.predict_proba
    scores = {}
    if task == "binary":
        scores["auc"] = round(float(roc_auc_score(y_test, predict(X_test)[:, 1])), 5)
    elif task == "multiclass":
        proba = predict(X_test)
        scores["accuracy"] = round(float(accuracy_score(y_test, proba.argmax(axis=1))), 5)
        scores["log_loss"] = round(float(log_loss(y_test, proba)), 5)
    else:
        scores["r2"] = round(float(r2_score(y_test, predict(X_test))), 5)
    batch_s = best_of(3, lambda: predict(X_test))
    calls = 200
    single_us = best_of(3, lambda: [predict(X_test[i:i + 1]) for i in range(calls)]) / calls * 1e6
    print(json.dumps({
        "fit_s": round(fit_s, 3),
        **scores,
        "predict_1row_us": round(single_us, 2),
        "batch_rows_per_s": round(len(X_test) / batch_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "leaves_per_tree": float(np.mean([p.get_n_leaf_nodes() for it in model._predictors for p in it])),
    }))


if __name__ == "__main__":
    main()

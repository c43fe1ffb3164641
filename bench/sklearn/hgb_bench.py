"""scikit-learn's side of `node dist/bench/hgb.js`: HistGradientBoostingClassifier on the first ROWS rows of the
synthetic CSV (first 80% train, last 20% test), 100 iterations, early stopping off. Prints one JSON object: fit
seconds, test ROC AUC, single-row predict latency, batch predict rows/s and the process's peak RSS.
Usage: /usr/bin/python3 hgb_bench.py CSV ROWS   (makes CSV like /work/shared/reference/sklearn_speed.py when missing)
"""
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score


def best_of(repeats, fn):
    """Smallest wall time in seconds of `repeats` runs after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    path, rows = Path(sys.argv[1]), int(sys.argv[2])
    if not path.exists():
        X, y = make_classification(n_samples=1_000_000, n_features=20, n_informative=10, random_state=0)
        pd.DataFrame(X, columns=[f"f{i}" for i in range(20)]).assign(label=y).to_csv(path, index=False, float_format="%.7g")
        del X, y
    df = pd.read_csv(path, nrows=rows)
    cut = int(len(df) * 0.8)
    X, y = df.drop(columns=["label"]).to_numpy(), df["label"].to_numpy()
    del df
    model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False)
    t0 = time.perf_counter()
    model.fit(X[:cut], y[:cut])
    fit_s = time.perf_counter() - t0
    X_test = X[cut:]
    proba = model.predict_proba(X_test)[:, 1]
    batch_s = best_of(3, lambda: model.predict_proba(X_test))
    calls = 200
    single_us = best_of(3, lambda: [model.predict_proba(X_test[i:i + 1]) for i in range(calls)]) / calls * 1e6
    print(json.dumps({
        "fit_s": round(fit_s, 3),
        "auc": round(float(roc_auc_score(y[cut:], proba)), 5),
        "predict_1row_us": round(single_us, 2),
        "batch_rows_per_s": round(len(X_test) / batch_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "leaves_per_tree": float(np.mean([p[0].get_n_leaf_nodes() for p in model._predictors])),
    }))


if __name__ == "__main__":
    main()

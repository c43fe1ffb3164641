"""Reference values from scikit-learn for the multi-class and regression tasks (test/ml-tasks-*.test.ts).

Writes test/fixtures/sklearn_tasks.json: multinomial LogisticRegression and Ridge fits, the multi-class and regression
metrics, and bootstrap intervals. Inputs are generated here with a fixed numpy seed and stored next to the expected
outputs. The bootstrap resamples come from a port of mldeploy's seeded generator (src/ml/random.ts), so both sides
draw the same rows and only the metric code is under test. Needs Debian's python3-sklearn (scikit-learn 1.2.1):
    /usr/bin/python3 scripts/sklearn_task_fixtures.py
"""
import json
import warnings
import math
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss, mean_absolute_error,
                             mean_squared_error, r2_score, roc_auc_score)

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures"
M32 = 0xFFFFFFFF


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def imul(a, b):
    return (a * b) & M32


class Rng:
    """src/ml/random.ts's createRng: sfc32 seeded through splitmix32."""

    def __init__(self, seed):
        self.s = int(seed) & M32
        self.a, self.b, self.c, self.d = (self.splitmix() for _ in range(4))
        for _ in range(12):
            self.next_uint32()

    def splitmix(self):
        self.s = (self.s + 0x9E3779B9) & M32
        z = self.s
        z = imul(z ^ (z >> 16), 0x85EBCA6B)
        z = imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & M32

    def next_uint32(self):
        a, b, c, d = self.a, self.b, self.c, self.d
        t = (((a + b) & M32) + d) & M32
        self.d = (d + 1) & M32
        self.a = b ^ (b >> 9)
        self.b = (c + ((c << 3) & M32)) & M32
        c = (((c << 21) & M32) | (c >> 11)) & M32
        self.c = (c + t) & M32
        return t

    def int(self, n):
        return math.floor((self.next_uint32() / 4294967296) * n)


def bootstrap(n, statistic, resamples, seed, level=0.95):
    rng = Rng(seed)
    values = []
    for _ in range(resamples):
        rows = np.array([rng.int(n) for _ in range(n)])
        try:
            values.append(statistic(rows))
        except ValueError:
            pass
    tail = (1 - level) / 2
    return {"lower": float(np.percentile(values, 100 * tail)), "upper": float(np.percentile(values, 100 * (1 - tail))),
            "used": len(values)}


def multinomial_data(rng, n, p, K):
    X = rng.normal(size=(n, p)) * np.array([1.0, 3.0, 0.2, 10.0, 1.0][:p])
    W = rng.normal(size=(K, p)) / np.array([1.0, 3.0, 0.2, 10.0, 1.0][:p])
    logits = X @ W.T + rng.normal(size=(n, K))
    y = logits.argmax(axis=1)
    return X, y


def logistic_fixture(rng):
    X, y = multinomial_data(rng, 300, 5, 4)
    X_test, _ = multinomial_data(rng, 20, 5, 4)
    sw = rng.uniform(0.2, 3.0, size=len(y))
    fits = []
    for name, params, weighted in [("C=1", {"C": 1.0}, False), ("C=0.05, weighted", {"C": 0.05}, True),
                                   ("no intercept", {"C": 1.0, "fit_intercept": False}, False)]:
        # The optimum, from newton-cg run to a tiny gradient; scikit-learn's lbfgs stops earlier on its relative
        # decrease test (ftol), so its coefficients are recorded apart and compared more loosely.
        model = LogisticRegression(multi_class="multinomial", solver="newton-cg", tol=1e-12, max_iter=10000, **params)
        model.fit(X, y, sample_weight=sw if weighted else None)
        lbfgs = LogisticRegression(multi_class="multinomial", solver="lbfgs", max_iter=10000, **params)
        lbfgs.fit(X, y, sample_weight=sw if weighted else None)
        fits.append({"name": name, "params": params, "sampleWeight": weighted,
                     "coef": model.coef_.tolist(), "intercept": floats(model.intercept_),
                     "proba_test": model.predict_proba(X_test).tolist(),
                     "lbfgs_coef": lbfgs.coef_.tolist(), "lbfgs_proba_test": lbfgs.predict_proba(X_test).tolist()})
    return {"X": X.tolist(), "y": y.tolist(), "sampleWeight": floats(sw), "X_test": X_test.tolist(), "fits": fits}


def ridge_fixture(rng):
    n, p = 150, 6
    X = rng.normal(size=(n, p)) * np.array([1, 100, 0.01, 5, 1, 1])
    X[:, 5] = X[:, 4] * 0.9 + rng.normal(size=n) * 0.1  # nearly collinear: the penalty matters
    y = X @ np.array([2.0, 0.03, 50.0, -1.0, 1.5, 1.0]) + 7 + rng.normal(size=n)
    X_test = rng.normal(size=(10, p))
    sw = rng.uniform(0.2, 3.0, size=n)
    fits = []
    for name, params, weighted in [("alpha=1", {"alpha": 1.0}, False), ("alpha=10, weighted", {"alpha": 10.0}, True),
                                   ("no intercept", {"alpha": 1.0, "fit_intercept": False}, False)]:
        model = Ridge(**params).fit(X, y, sample_weight=sw if weighted else None)
        fits.append({"name": name, "params": params, "sampleWeight": weighted, "coef": floats(model.coef_),
                     "intercept": float(model.intercept_), "predict_test": floats(model.predict(X_test))})
    return {"X": X.tolist(), "y": floats(y), "sampleWeight": floats(sw), "X_test": X_test.tolist(), "fits": fits}


def multiclass_metric_cases(rng):
    cases = []
    for name, n, K, decimals in [("ties", 80, 3, 1), ("continuous", 120, 4, None), ("five classes", 200, 5, 2)]:
        y = rng.integers(0, K, n)
        y[:K] = np.arange(K)
        logits = rng.normal(size=(n, K)) + 1.5 * np.eye(K)[y]
        P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        if decimals is not None:
            P = np.round(P, decimals)
            P[:, -1] = np.clip(1 - P[:, :-1].sum(axis=1), 0, 1)
        P[0] = np.eye(K)[(y[0] + 1) % K]  # a confident mistake: exercises log-loss clipping
        y_pred = P.argmax(axis=1)
        labels = list(range(K))

        def macro_auc(rows):
            if len(set(y[rows])) < K:
                raise ValueError("a class is absent from the resample")
            return roc_auc_score(y[rows], P[rows], multi_class="ovr", average="macro", labels=labels)

        ci = bootstrap(n, macro_auc, resamples=200, seed=7)
        cases.append({"name": name, "y": y.tolist(), "P": floats(P), "K": K,
                      "roc_auc": float(roc_auc_score(y, P, multi_class="ovr", average="macro")),
                      "log_loss": float(log_loss(y, P, labels=labels)),
                      "accuracy": float(accuracy_score(y, y_pred)),
                      "f1_macro": float(f1_score(y, y_pred, average="macro", zero_division=0)),
                      "confusion_matrix": confusion_matrix(y, y_pred, labels=labels).tolist(),
                      "bootstrap": {"resamples": 200, "seed": 7, **ci}})
    return cases


def regression_metric_cases(rng):
    cases = []
    for name, n, noise in [("good fit", 90, 0.5), ("poor fit", 60, 5.0)]:
        y = rng.normal(size=n) * 3 + 10
        y_pred = y + rng.normal(size=n) * noise
        y_pred[:5] = np.round(y_pred[:5])
        ci = bootstrap(n, lambda rows: r2_score(y[rows], y_pred[rows]), resamples=300, seed=11)
        cases.append({"name": name, "y": floats(y), "y_pred": floats(y_pred),
                      "rmse": float(math.sqrt(mean_squared_error(y, y_pred))),
                      "mae": float(mean_absolute_error(y, y_pred)), "r2": float(r2_score(y, y_pred)),
                      "bootstrap": {"resamples": 300, "seed": 11, **ci}})
    return cases


def rng_sequence():
    rng = Rng(42)
    return {"seed": 42, "n": 1000, "draws": [rng.int(1000) for _ in range(50)]}


def main():
    warnings.simplefilter("ignore")  # newton-cg reports rounding-limited line searches at the optimum
    rng = np.random.default_rng(20261202)
    out = {"sklearn_version": sklearn.__version__, "multinomial": logistic_fixture(rng), "ridge": ridge_fixture(rng),
           "multiclass_metrics": multiclass_metric_cases(rng), "regression_metrics": regression_metric_cases(rng),
           "rng": rng_sequence()}
    (OUT / "sklearn_tasks.json").write_text(json.dumps(out))
    print("wrote", OUT / "sklearn_tasks.json")


if __name__ == "__main__":
    main()

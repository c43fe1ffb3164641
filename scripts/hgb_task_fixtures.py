"""Reference values from scikit-learn for test/hgb-tasks.test.ts: HistGradientBoostingClassifier on more than two
classes and HistGradientBoostingRegressor with each of its losses, in TypeScript.

Writes test/fixtures/hgb/multiclass.json and test/fixtures/hgb/regression.json: train/test data sets with missing
values and a categorical column, scikit-learn's baseline, its first iteration's trees, every tree's leaf count and the
test predictions (early stopping off, so no random split is involved), for the default hyperparameters and a variant
(other tree settings, class or sample weights).
When ../shared/data exists (beside the repository, or where MLDEPLOY_SHARED points), also writes test/fixtures/hgb/penguins_folds.json: the fold of each
row of ../shared/data/penguins.csv in StratifiedKFold(5, shuffle=True, random_state=1337) (species) and KFold(5, same)
(body_mass_g), with scikit-learn's per-fold scores: log loss and accuracy for species, R^2 per regression loss.
Usage (scikit-learn 1.2.1 from Debian: apt-get install python3-sklearn python3-pandas):
    /usr/bin/python3 scripts/hgb_task_fixtures.py            # all files
    /usr/bin/python3 scripts/hgb_task_fixtures.py penguins   # penguins_folds.json only
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, log_loss, r2_score

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "hgb"
SHARED = Path(os.environ.get("MLDEPLOY_SHARED", ROOT.parent / "shared"))


def plain(values):
    """JSON-safe list: NaN becomes null, floats keep their exact (shortest round-trip) repr."""
    return [None if isinstance(v, float) and np.isnan(v) else v for v in np.asarray(values, dtype=float).tolist()]


def tree_json(predictor):
    nodes = predictor.nodes
    return {
        "feature": [-1 if n["is_leaf"] else int(n["feature_idx"]) for n in nodes],
        "threshold": [None if n["is_leaf"] or n["is_categorical"] or np.isinf(n["num_threshold"]) else float(n["num_threshold"]) for n in nodes],
        "missingLeft": [bool(n["missing_go_to_left"]) for n in nodes],
        "left": [int(n["left"]) if not n["is_leaf"] else -1 for n in nodes],
        "right": [int(n["right"]) if not n["is_leaf"] else -1 for n in nodes],
        "value": [float(n["value"]) if n["is_leaf"] else 0.0 for n in nodes],
        "count": [int(n["count"]) for n in nodes],
    }


def with_missing_and_categorical(X, rng, effect):
    """Missing values in columns 0 and 1, and a categorical column of 6 codes appended; returns X and each row's
    category effect (not monotone in the code)."""
    n = len(X)
    X[rng.rand(n) < 0.1, 0] = np.nan
    X[rng.rand(n) < 0.05, 1] = np.nan
    cat = rng.randint(0, 6, n)
    return np.round(np.column_stack([X, cat.astype(float)]), 4), np.array(effect)[cat]


def fitted_case(model, X, y, cut, predict, sample_weight=None):
    model.fit(X[:cut], y[:cut], sample_weight=None if sample_weight is None else sample_weight[:cut])
    return {
        "baseline": plain(model._baseline_prediction.ravel()),
        "firstTrees": [tree_json(p) for p in model._predictors[0]],
        "leavesPerTree": [p.get_n_leaf_nodes() for it in model._predictors for p in it],
        "nIter": int(model.n_iter_),
        "test": predict(model, X[cut:]),
    }


def multiclass_case():
    X, y = make_classification(n_samples=2000, n_features=6, n_informative=4, n_redundant=1, n_classes=4,
                               n_clusters_per_class=1, random_state=3)
    rng = np.random.RandomState(3)
    X, shift = with_missing_and_categorical(X, rng, [1, 0, 2, 3, 1, 0])
    flip = rng.rand(len(y)) < 0.25
    y = np.where(flip, shift, y)
    cut = 1500
    weights = rng.uniform(0.5, 2.0, len(y)).round(3)
    proba = lambda m, X_test: [plain(row) for row in m.predict_proba(X_test)]  # noqa: E731
    return {
        "trainX": [plain(r) for r in X[:cut]], "trainY": y[:cut].astype(int).tolist(),
        "testX": [plain(r) for r in X[cut:]], "testY": y[cut:].astype(int).tolist(),
        "default": {
            "params": {"maxIter": 30, "earlyStopping": False, "categoricalFeatures": [6]},
            **fitted_case(HistGradientBoostingClassifier(max_iter=30, early_stopping=False, categorical_features=[6]),
                          X, y, cut, proba),
        },
        # An odd number of bins, fewer leaves, a depth limit, L2, balanced classes and sample weights.
        "variant": {
            "params": {"maxIter": 20, "maxBins": 64, "maxLeafNodes": 15, "maxDepth": 5, "l2Regularization": 1.0,
                       "minSamplesLeaf": 10, "learningRate": 0.2, "classWeight": "balanced", "earlyStopping": False,
                       "categoricalFeatures": [6]},
            "trainWeight": weights[:cut].tolist(),
            **fitted_case(HistGradientBoostingClassifier(
                max_iter=20, max_bins=64, max_leaf_nodes=15, max_depth=5, l2_regularization=1.0, min_samples_leaf=10,
                learning_rate=0.2, class_weight="balanced", early_stopping=False, categorical_features=[6],
            ), X, y, cut, proba, sample_weight=weights),
        },
    }


def regression_case():
    X, y = make_regression(n_samples=2000, n_features=6, n_informative=4, noise=10.0, random_state=5)
    rng = np.random.RandomState(5)
    X, effect = with_missing_and_categorical(X, rng, [30.0, -20.0, 10.0, -30.0, 20.0, 0.0])
    y = np.round(y + effect, 3)
    # Counts for the Poisson loss: log-linear in a few features.
    counts = rng.poisson(np.exp(0.5 + 0.4 * np.nan_to_num(X[:, 2]) - 0.3 * X[:, 3] + effect / 60)).astype(float)
    cut = 1500
    weights = rng.uniform(0.5, 2.0, len(y)).round(3)
    predict = lambda m, X_test: plain(m.predict(X_test))  # noqa: E731
    out = {"trainX": [plain(r) for r in X[:cut]], "testX": [plain(r) for r in X[cut:]], "losses": {}}
    for loss, target in [("squared_error", y), ("absolute_error", y), ("poisson", counts)]:
        out["losses"][loss] = {
            "trainY": target[:cut].tolist(), "testY": target[cut:].tolist(),
            "default": {
                "params": {"loss": loss, "maxIter": 50, "earlyStopping": False, "categoricalFeatures": [6]},
                **fitted_case(HistGradientBoostingRegressor(loss=loss, max_iter=50, early_stopping=False,
                                                            categorical_features=[6]), X, target, cut, predict),
            },
            "variant": {
                "params": {"loss": loss, "maxIter": 25, "maxBins": 64, "maxLeafNodes": 15, "maxDepth": 5,
                           "l2Regularization": 1.0, "minSamplesLeaf": 10, "learningRate": 0.2, "earlyStopping": False,
                           "categoricalFeatures": [6]},
                "trainWeight": weights[:cut].tolist(),
                **fitted_case(HistGradientBoostingRegressor(
                    loss=loss, max_iter=25, max_bins=64, max_leaf_nodes=15, max_depth=5, l2_regularization=1.0,
                    min_samples_leaf=10, learning_rate=0.2, early_stopping=False, categorical_features=[6],
                ), X, target, cut, predict, sample_weight=weights),
            },
        }
    return out


def load_penguins(target):
    """penguins.csv with the clean-up of test/hgb-tasks.test.ts: rows without the target dropped, NA as missing, text
    columns ordinal-coded in sorted order of their values (and declared categorical)."""
    import pandas as pd
    df = pd.read_csv(SHARED / "data" / "penguins.csv", na_values=["NA"], keep_default_na=False)
    df = df[df[target].notna()].reset_index(drop=True)
    y = df[target]
    X = df.drop(columns=[target])
    cats = []
    for c in X.columns:
        if X[c].dtype == object:
            levels = sorted(X[c].dropna().unique())
            X[c] = X[c].map({v: i for i, v in enumerate(levels)}).astype(float)
            cats.append(c)
    return X.astype(float), y, cats


def penguins_folds():
    from sklearn.model_selection import KFold, StratifiedKFold
    out = {}
    X, species, cats = load_penguins("species")
    classes = sorted(species.unique())
    y = species.map({c: i for i, c in enumerate(classes)}).to_numpy()
    mask = [c in cats for c in X.columns]
    fold = np.zeros(len(y), dtype=int)
    scores = []
    for k, (train, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=1337).split(X, y)):
        fold[test] = k
        model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, categorical_features=mask)
        proba = model.fit(X.iloc[train], y[train]).predict_proba(X.iloc[test])
        scores.append({"logLoss": float(log_loss(y[test], proba, labels=[0, 1, 2])),
                       "accuracy": float(accuracy_score(y[test], proba.argmax(axis=1)))})
    out["species"] = {"rows": len(y), "classes": classes, "columns": list(X.columns), "categorical": cats,
                      "fold": "".join(map(str, fold)), "scores": scores}

    X, mass, cats = load_penguins("body_mass_g")
    y = mass.to_numpy(dtype=float)
    mask = [c in cats for c in X.columns]
    fold = np.zeros(len(y), dtype=int)
    r2 = {"squared_error": [], "absolute_error": [], "poisson": []}
    for k, (train, test) in enumerate(KFold(5, shuffle=True, random_state=1337).split(X, y)):
        fold[test] = k
        for loss in r2:
            model = HistGradientBoostingRegressor(loss=loss, max_iter=100, early_stopping=False,
                                                  categorical_features=mask)
            r2[loss].append(float(r2_score(y[test], model.fit(X.iloc[train], y[train]).predict(X.iloc[test]))))
    out["body_mass_g"] = {"rows": len(y), "columns": list(X.columns), "categorical": cats,
                          "fold": "".join(map(str, fold)), "r2": r2}
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"sklearn": sklearn.__version__, "numpy": np.__version__, "script": "scripts/hgb_task_fixtures.py"}
    if sys.argv[1:] != ["penguins"]:
        write_synthetic(meta)
    if (SHARED / "data" / "penguins.csv").is_file():
        (OUT / "penguins_folds.json").write_text(json.dumps({**meta, **penguins_folds()}, separators=(",", ":")))
    elif sys.argv[1:] == ["penguins"]:
        sys.exit(f"{SHARED / 'data' / 'penguins.csv'} not found (set MLDEPLOY_SHARED)")


def write_synthetic(meta):
    (OUT / "multiclass.json").write_text(json.dumps({**meta, **multiclass_case()}, separators=(",", ":")))
    (OUT / "regression.json").write_text(json.dumps({**meta, **regression_case()}, separators=(",", ":")))


if __name__ == "__main__":
    main()

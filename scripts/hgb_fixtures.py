"""Reference values from scikit-learn for test/hgb*.test.ts (HistGradientBoostingClassifier in TypeScript).

Writes test/fixtures/hgb/binning.json (columns, the bin thresholds scikit-learn's _BinMapper finds for them and the
bins it assigns) and test/fixtures/hgb/sklearn_model.json (a train/test data set with missing values and a categorical
column, scikit-learn's first tree, test probabilities and test ROC AUC with early stopping off).
When ../shared/data exists (beside the repository), also writes test/fixtures/hgb/reference_folds.json: for each data
set of /work/shared/reference/sklearn_reference.py, the fold of each row in its StratifiedKFold(5, shuffle=True,
random_state=1337) and scikit-learn's ROC AUC per fold, so the TypeScript model can be cross-validated on the same folds.
Usage (scikit-learn 1.2.1 from Debian: apt-get install python3-sklearn python3-pandas):
    /usr/bin/python3 scripts/hgb_fixtures.py
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
from sklearn.metrics import roc_auc_score

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "hgb"


def plain(values):
    """JSON-safe list: NaN becomes null, floats keep their exact (shortest round-trip) repr."""
    return [None if isinstance(v, float) and np.isnan(v) else v for v in np.asarray(values, dtype=float).tolist()]


def binning_cases():
    rng = np.random.RandomState(42)
    n = 3000
    few = rng.randint(0, 40, n).astype(float) * 2.5  # 40 distinct values: midpoints
    few[rng.rand(n) < 0.1] = np.nan
    normal = rng.normal(size=n)  # all distinct: percentiles
    ties = np.round(rng.exponential(size=n), 2)  # a few hundred distinct values with many ties
    ties[rng.rand(n) < 0.05] = np.nan
    skewed = np.where(rng.rand(n) < 0.7, 0.0, rng.lognormal(size=n))  # 70% one value
    cases = []
    for name, col, max_bins in [("few_distinct", few, 255), ("normal", normal, 255), ("ties", ties, 255),
                                ("skewed", skewed, 255), ("normal_10_bins", normal, 10)]:
        mapper = _BinMapper(n_bins=max_bins + 1).fit(col.reshape(-1, 1))
        binned = mapper.transform(col.reshape(-1, 1))[:, 0]
        cases.append({"name": name, "maxBins": max_bins, "values": plain(col),
                      "thresholds": plain(mapper.bin_thresholds_[0]), "bins": binned.astype(int).tolist()})
    return cases


def model_case():
    X, y = make_classification(n_samples=3000, n_features=6, n_informative=4, n_redundant=1, random_state=7)
    rng = np.random.RandomState(7)
    X[rng.rand(3000) < 0.1, 0] = np.nan  # missing values, related to nothing
    X[:, 1] = np.where(rng.rand(3000) < 0.05, np.nan, X[:, 1])
    # A categorical column with 6 codes whose effect is not monotone in the code.
    cat = rng.randint(0, 6, 3000)
    shift = np.array([1.5, -1.0, 0.5, -1.5, 1.0, 0.0])[cat]
    y = (y + (rng.rand(3000) < 0.3 * (shift > 0))).clip(0, 1)
    X = np.column_stack([X, cat.astype(float)])
    X = np.round(X, 4)
    cut = 2000
    params = dict(max_iter=100, early_stopping=False, categorical_features=[6], random_state=0)
    model = HistGradientBoostingClassifier(**params).fit(X[:cut], y[:cut])
    proba = model.predict_proba(X[cut:])[:, 1]
    tree = model._predictors[0][0]
    nodes = tree.nodes
    return {
        "params": {"maxIter": 100, "earlyStopping": False, "categoricalFeatures": [6]},
        "trainX": [plain(r) for r in X[:cut]], "trainY": y[:cut].astype(int).tolist(),
        "testX": [plain(r) for r in X[cut:]], "testY": y[cut:].astype(int).tolist(),
        "baseline": float(model._baseline_prediction.ravel()[0]),
        "firstTree": {
            "feature": [-1 if n["is_leaf"] else int(n["feature_idx"]) for n in nodes],
            "threshold": [None if n["is_leaf"] or n["is_categorical"] or np.isinf(n["num_threshold"]) else float(n["num_threshold"]) for n in nodes],
            "missingLeft": [bool(n["missing_go_to_left"]) for n in nodes],
            "left": [int(n["left"]) if not n["is_leaf"] else -1 for n in nodes],
            "right": [int(n["right"]) if not n["is_leaf"] else -1 for n in nodes],
            "value": [float(n["value"]) if n["is_leaf"] else 0.0 for n in nodes],
            "count": [int(n["count"]) for n in nodes],
        },
        "leavesPerTree": [p[0].get_n_leaf_nodes() for p in model._predictors],
        "testProba": proba.tolist(),
        "testAuc": float(roc_auc_score(y[cut:], proba)),
        # Other hyperparameters: an odd number of bins (64 + missing), fewer leaves, a depth limit, L2, class weights.
        "variant": {
            "params": {"maxIter": 30, "maxBins": 64, "maxLeafNodes": 15, "maxDepth": 5, "l2Regularization": 1.0,
                       "minSamplesLeaf": 10, "learningRate": 0.2, "classWeight": "balanced", "earlyStopping": False,
                       "categoricalFeatures": [6]},
            "testProba": HistGradientBoostingClassifier(
                max_iter=30, max_bins=64, max_leaf_nodes=15, max_depth=5, l2_regularization=1.0, min_samples_leaf=10,
                learning_rate=0.2, class_weight="balanced", early_stopping=False, categorical_features=[6],
            ).fit(X[:cut], y[:cut]).predict_proba(X[cut:])[:, 1].tolist(),
        },
    }


def reference_folds():
    """Folds and per-fold AUCs of sklearn_reference.py's cross-validation (same clean-up, imported from it)."""
    import importlib.util
    import sys
    from sklearn.model_selection import StratifiedKFold
    shared = Path(__file__).resolve().parent.parent.parent / "shared"
    spec = importlib.util.spec_from_file_location("sklearn_reference", shared / "reference" / "sklearn_reference.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    out = {}
    for name, set_spec in ref.SETS.items():
        print(name, file=sys.stderr, flush=True)
        X, y, cats = ref.load(name, *set_spec)
        mask = [c in cats for c in X.columns]
        fold = np.zeros(len(y), dtype=int)
        aucs = []
        cv = StratifiedKFold(5, shuffle=True, random_state=1337)
        for k, (train, test) in enumerate(cv.split(X, y)):
            fold[test] = k
            model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                                   categorical_features=mask if any(mask) else None)
            model.fit(X.iloc[train], y[train])
            aucs.append(float(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1])))
        out[name] = {"fold": "".join(map(str, fold)), "positives": int(y.sum()), "columns": list(X.columns),
                     "categorical": cats, "foldAuc": aucs}
    return out, shared


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"sklearn": sklearn.__version__, "numpy": np.__version__, "script": "scripts/hgb_fixtures.py"}
    (OUT / "binning.json").write_text(json.dumps({**meta, "cases": binning_cases()}, separators=(",", ":")))
    (OUT / "sklearn_model.json").write_text(json.dumps({**meta, **model_case()}, separators=(",", ":")))
    if (Path(__file__).resolve().parent.parent.parent / "shared" / "data").is_dir():
        folds, _ = reference_folds()
        (OUT / "reference_folds.json").write_text(json.dumps({**meta, "sets": folds}, separators=(",", ":")))


if __name__ == "__main__":
    main()

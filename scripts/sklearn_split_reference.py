"""scikit-learn's figures on a split made by mldeploy, for the side-by-side tests (test/tasks-integration.test.ts).

Reads the train and test rows of a dataset snapshot (CSV files with the target in column `y`), fits scikit-learn's
counterparts of mldeploy's candidates with the same preprocessing, and prints their test metrics as JSON:
  linear: LogisticRegression (multinomial, lbfgs) or Ridge(alpha=1) after SimpleImputer(median) + StandardScaler and
          SimpleImputer(most_frequent) + OneHotEncoder(handle_unknown="ignore");
  hgb:    HistGradientBoostingClassifier / Regressor with default parameters, categorical columns as native categories.
Needs Debian's python3-sklearn (scikit-learn 1.2.1):
    /usr/bin/python3 scripts/sklearn_split_reference.py multiclass|regression TRAIN.csv TEST.csv CATEGORICAL,COLUMNS
"""
import json
import math
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, f1_score, log_loss, mean_absolute_error, mean_squared_error, r2_score,
                             roc_auc_score)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


def main():
    task, train_path, test_path, categorical = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    categorical = [c for c in categorical.split(",") if c]
    train, test = pd.read_csv(train_path), pd.read_csv(test_path)
    features = [c for c in train.columns if c != "y"]
    numeric = [c for c in features if c not in categorical]
    linear_prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    # Categories coded in sorted order, unknown and missing as NaN: the native categorical input of HGB.
    tree_prep = ColumnTransformer([
        ("num", "passthrough", numeric),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan),
         categorical),
    ])
    mask = [False] * len(numeric) + [True] * len(categorical)
    X_train, y_train = train[features], train["y"].to_numpy()
    X_test, y_test = test[features], test["y"].to_numpy()
    out = {}
    if task == "multiclass":
        models = {
            "linear": make_pipeline(linear_prep, LogisticRegression(multi_class="multinomial", max_iter=10000)),
            "hgb": make_pipeline(tree_prep, HistGradientBoostingClassifier(categorical_features=mask, random_state=0)),
        }
        for name, model in models.items():
            model.fit(X_train, y_train)
            P = model.predict_proba(X_test)
            pred = model.classes_[P.argmax(axis=1)]
            out[name] = {"roc_auc": roc_auc_score(y_test, P, multi_class="ovr", average="macro"),
                         "log_loss": log_loss(y_test, P), "accuracy": accuracy_score(y_test, pred),
                         "f1_macro": f1_score(y_test, pred, average="macro")}
    else:
        models = {
            "linear": make_pipeline(linear_prep, Ridge(alpha=1.0)),
            "hgb": make_pipeline(tree_prep, HistGradientBoostingRegressor(categorical_features=mask, random_state=0)),
        }
        for name, model in models.items():
            model.fit(X_train, y_train)
            pred = model.predict(X_test)
            out[name] = {"rmse": math.sqrt(mean_squared_error(y_test, pred)), "mae": mean_absolute_error(y_test, pred),
                         "r2": r2_score(y_test, pred)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

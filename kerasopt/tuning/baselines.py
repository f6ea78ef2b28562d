"""scikit-learn baselines for the comparison table: tuned by GridSearchCV, preprocessed inside a Pipeline.

Each baseline is `Pipeline([preprocessor(), estimator])` searched with
`GridSearchCV` (stratified k-fold, accuracy): numbers imputed with their mean
(plus a missing indicator) and standardized, text columns one-hot encoded
(a gap its own category `"[missing]"`, unseen categories ignored), all fitted
inside each fold exactly like kerasopt's in-model preprocessing.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError

__all__ = ["BASELINES", "preprocessor", "run_baselines"]


def preprocessor() -> ColumnTransformer:
    """Returns the preprocessing of a raw table for scikit-learn models (see the module docstring)."""
    numbers = Pipeline([("impute", SimpleImputer(add_indicator=True)), ("scale", StandardScaler())])
    text = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="[missing]")),
                     ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    return ColumnTransformer([("numbers", numbers, make_column_selector(dtype_include=["number", "bool"])),
                              ("text", text, make_column_selector(dtype_exclude=["number", "bool"]))])


def _frame(x) -> pd.DataFrame:
    frame = x if isinstance(x, pd.DataFrame) else pd.DataFrame(np.asarray(x)).rename(columns=str)
    bools = frame.select_dtypes("bool").columns
    text = frame.select_dtypes(exclude=["number", "bool"]).columns
    # SimpleImputer needs floats for booleans and one type (str or NaN) in a text column.
    return frame.astype({**{c: "float64" for c in bools}, **{c: object for c in text}}).apply(
        lambda col: col.where(col.isna(), col.astype(str)) if col.name in text else col)


def _grids(seed: int) -> dict[str, tuple[Any, dict[str, list]]]:
    return {
        "LogisticRegression": (LogisticRegression(max_iter=5000),
                               {"clf__C": [0.1, 1.0, 10.0, 100.0, 1000.0]}),
        "SVC": (SVC(), {"clf__kernel": ["linear", "rbf"], "clf__C": [0.1, 1.0, 10.0, 100.0]}),
        "MLPClassifier": (MLPClassifier(max_iter=1000, random_state=seed),
                          {"clf__hidden_layer_sizes": [(64,), (64, 32)], "clf__alpha": [1e-4, 1e-2, 1.0]}),
    }


BASELINES = ("LogisticRegression", "SVC", "MLPClassifier")


def run_baselines(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                  cv: int = 5, seed: int = 0, names=BASELINES) -> pd.DataFrame:
    """Tunes each baseline by grid search on the training rows and scores it on the test rows.

    Args:
        x_train, y_train: Rows the grid search sees (k-fold inside): an
            array or a DataFrame of raw columns (text and gaps included).
        x_test, y_test: Held-out rows; may be empty (then no test column).
        cv: Folds of the grid search.
        seed: Seed of the folds and of the MLP.
        names: Which of `BASELINES` to run.

    Returns:
        A DataFrame with one row per model: `model`, `best_params`,
        `cv_accuracy`, `test_accuracy`, `seconds`.
    """
    check.positive_int("cv", cv)
    grids = _grids(seed)
    unknown = [n for n in names if n not in grids]
    if unknown:
        raise ArgumentError(f"Unknown baseline(s): {', '.join(unknown)}. Known: {', '.join(BASELINES)}.")
    x_train, x_test = _frame(x_train), _frame(x_test)
    rows = []
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    for name in names:
        estimator, grid = grids[name]
        start = time.perf_counter()
        search = GridSearchCV(Pipeline([("prepare", preprocessor()), ("clf", estimator)]), grid,
                              cv=folds, scoring="accuracy", n_jobs=1)
        search.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        params = {k.removeprefix("clf__"): v for k, v in search.best_params_.items()}
        test = float(search.score(x_test, y_test)) if len(x_test) else float("nan")
        rows.append({"model": name, "best_params": params, "cv_accuracy": float(search.best_score_),
                     "test_accuracy": test, "seconds": seconds})
    return pd.DataFrame(rows)

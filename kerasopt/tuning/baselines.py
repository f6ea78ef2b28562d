"""scikit-learn baselines for the comparison table: tuned by GridSearchCV, preprocessed inside a Pipeline.

The columns are typed as a run types them (`kerasopt.tabular.infer_schema` of
the training rows, the same kinds and dropped columns) and each baseline is
`Pipeline([kerasopt.baselines.linear_preprocessing(schema), estimator])`, the
preprocessing of a run's linear baseline, searched with `GridSearchCV`
(stratified k-fold, accuracy), so it is fitted inside each fold.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from kerasopt import _validation as check
from kerasopt import baselines as baselines_lib
from kerasopt import tabular
from kerasopt.data import kfold_rows
from kerasopt.errors import ArgumentError

__all__ = ["BASELINES", "run_baselines"]


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
                  cv: int = 5, seed: int = 0, names=BASELINES, schema=None) -> pd.DataFrame:
    """Tunes each baseline by grid search on the training rows and scores it on the test rows.

    Args:
        x_train, y_train: Rows the grid search sees (k-fold inside): an
            array or a DataFrame of raw columns (text and gaps included).
        x_test, y_test: Held-out rows; may be empty (then no test column).
        cv: Folds of the grid search (at least 2, at most one per training row).
        seed: Seed of the folds and of the MLP.
        names: Which of `BASELINES` to run.
        schema: The `kerasopt.tabular.Schema` of the training rows, which types
            their columns (`None`: `kerasopt.tabular.infer_schema(x_train)`).

    Returns:
        A DataFrame with one row per model: `model`, `best_params`,
        `cv_accuracy`, `test_accuracy`, `seconds`.
    """
    check.folds("cv", cv)
    grids = _grids(seed)
    unknown = [n for n in names if n not in grids]
    if unknown:
        raise ArgumentError(f"Unknown baseline(s): {', '.join(unknown)}. Known: {', '.join(BASELINES)}.")
    schema = schema or tabular.infer_schema(x_train)
    x_train = baselines_lib.typed_frame(schema, x_train)
    x_test = baselines_lib.typed_frame(schema, x_test) if len(x_test) else None
    rows = []
    folds = kfold_rows(y_train, cv, seed, stratify=True, name="cv")
    for name in names:
        estimator, grid = grids[name]
        start = time.perf_counter()
        search = GridSearchCV(Pipeline([("prepare", baselines_lib.linear_preprocessing(schema)), ("clf", estimator)]),
                              grid, cv=folds, scoring="accuracy", n_jobs=1)
        search.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        params = {k.removeprefix("clf__"): v for k, v in search.best_params_.items()}
        test = float(search.score(x_test, y_test)) if x_test is not None else float("nan")
        rows.append({"model": name, "best_params": params, "cv_accuracy": float(search.best_score_),
                     "test_accuracy": test, "seconds": seconds})
    return pd.DataFrame(rows)

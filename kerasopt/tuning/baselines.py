"""scikit-learn baselines for the comparison table: tuned by GridSearchCV, scaled inside a Pipeline.

Each baseline is `Pipeline([StandardScaler(), estimator])` searched with
`GridSearchCV` (stratified k-fold, accuracy), so the scaler is fitted inside
each fold exactly like kerasopt's `Normalization` layer.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from kerasopt import _validation as check
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
                  cv: int = 5, seed: int = 0, names=BASELINES) -> pd.DataFrame:
    """Tunes each baseline by grid search on the training rows and scores it on the test rows.

    Args:
        x_train, y_train: Rows the grid search sees (k-fold inside).
        x_test, y_test: Held-out rows; may be empty (then no test column).
        cv: Folds of the grid search.
        seed: Seed of the folds and of the MLP.
        names: Which of `BASELINES` to run.

    Returns:
        A DataFrame with one row per model: `model`, `best_params`,
        `cv_accuracy`, `test_accuracy`, `seconds`.

    Example:

    >>> table = run_baselines(x_tr, y_tr, x_te, y_te, names=["LogisticRegression"])  # doctest: +SKIP
    """
    check.positive_int("cv", cv)
    grids = _grids(seed)
    unknown = [n for n in names if n not in grids]
    if unknown:
        raise ArgumentError(f"Unknown baseline(s): {', '.join(unknown)}. Known: {', '.join(BASELINES)}.")
    rows = []
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    for name in names:
        estimator, grid = grids[name]
        start = time.perf_counter()
        search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("clf", estimator)]), grid,
                              cv=folds, scoring="accuracy", n_jobs=1)
        search.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        params = {k.removeprefix("clf__"): v for k, v in search.best_params_.items()}
        test = float(search.score(x_test, y_test)) if len(x_test) else float("nan")
        rows.append({"model": name, "best_params": params, "cv_accuracy": float(search.best_score_),
                     "test_accuracy": test, "seconds": seconds})
    return pd.DataFrame(rows)

"""Fast scikit-learn baselines, scored on the same rows as a kerasopt run.

A regularized linear model and gradient boosting, fitted on the network's training rows as
`Schema.to_inputs` types them, scored on its test rows (else out-of-fold); docs/cli.md
("Baselines") describes them.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BASELINE_LABELS", "typed_frame", "linear_preprocessing", "baseline_models", "fit_baselines",
           "comparison_lines"]

#: Display name of each baseline.
BASELINE_LABELS = {"logistic_regression": "logistic regression", "ridge_regression": "ridge regression",
                   "gradient_boosting": "gradient boosting"}


def typed_frame(schema, features) -> pd.DataFrame:
    """Returns the kept columns of raw rows as the network reads them, for the baselines.

    Args:
        schema: The `kerasopt.tabular.Schema` of the columns.
        features: Raw feature rows (anything `Schema.to_inputs` takes).

    Returns:
        A DataFrame of one column per `schema.features` key: floats (NaN for
        gaps) for numeric and boolean columns, category strings otherwise.
    """
    inputs = schema.to_inputs(features)
    return pd.DataFrame({col.key: (inputs[col.key].astype("float64") if col.kind != "categorical"
                                   else np.asarray(inputs[col.key], dtype=object)) for col in schema.features})


def _numbers_and_categories(schema) -> tuple[list[str], list[str]]:
    """The keys of the number columns (numeric and boolean) and of the categorical ones of `typed_frame`."""
    numbers = [c.key for c in schema.features if c.kind != "categorical"]
    return numbers, [c.key for c in schema.features if c.kind == "categorical"]


def linear_preprocessing(schema):
    """Returns the unfitted preprocessing of the linear baselines for a schema.

    Numbers (numeric and boolean columns) are mean-imputed with a missing
    indicator and standardized; categories are one-hot encoded (unseen ones
    ignored).

    Args:
        schema: The `kerasopt.tabular.Schema` of the columns.

    Returns:
        A scikit-learn `ColumnTransformer` over the frame of `typed_frame`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers, categories = _numbers_and_categories(schema)
    parts = [("numbers", Pipeline([("impute", SimpleImputer(add_indicator=True, keep_empty_features=True)),
                                   ("scale", StandardScaler())]), numbers),
             ("categories", OneHotEncoder(handle_unknown="ignore"), categories)]
    return ColumnTransformer([p for p in parts if p[2]])


def baseline_models(schema, task: str, seed: int | None = 0) -> dict[str, Any]:
    """Returns the unfitted baselines for a schema: `{name: sklearn Pipeline}`.

    Args:
        schema: The `kerasopt.tabular.Schema` of the columns (its kinds decide
            the preprocessing).
        task: `"classification"` or `"regression"`.
        seed: Seed of the gradient boosting.

    Returns:
        A dict of a linear pipeline (`logistic_regression` or
        `ridge_regression`, after `linear_preprocessing`) and
        `gradient_boosting`; both take the frame of `typed_frame`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    numbers, categories = _numbers_and_categories(schema)
    tree_parts = [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                encoded_missing_value=-1, max_categories=255), categories),
                  ("numbers", "passthrough", numbers)]
    tree_steps = ColumnTransformer([p for p in tree_parts if p[2]])
    is_category = [True] * len(categories) + [False] * len(numbers)
    if task == "classification":
        linear = ("logistic_regression", LogisticRegression(C=1.0, max_iter=2000))
        boosting = HistGradientBoostingClassifier(categorical_features=is_category, random_state=seed)
    else:
        linear = ("ridge_regression", RidgeCV(alphas=np.logspace(-3, 3, 13)))
        boosting = HistGradientBoostingRegressor(categorical_features=is_category, random_state=seed)
    return {linear[0]: Pipeline([("prepare", linear_preprocessing(schema)), ("model", linear[1])]),
            "gradient_boosting": Pipeline([("prepare", tree_steps), ("model", boosting)])}


def _outputs(estimator, x: pd.DataFrame, num_classes: int | None) -> np.ndarray:
    """Class probabilities over every class (columns for classes absent in training are 0), or values."""
    if num_classes is None:
        return np.asarray(estimator.predict(x), dtype="float64")
    proba = np.zeros((len(x), num_classes))
    proba[:, np.asarray(estimator.classes_, dtype=int)] = estimator.predict_proba(x)
    return proba


def _scores(target, truth: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    from kerasopt import evaluation
    from kerasopt.signals import scalar_scores

    return scalar_scores(evaluation.target_scores(target, target.labels(truth), outputs))


def _out_of_fold(estimator, x: pd.DataFrame, y: np.ndarray, target, seed, folds: int) -> np.ndarray:
    from sklearn.base import clone
    from kerasopt.data import kfold_rows

    classification = target.task == "classification"
    outputs = np.zeros((len(y), target.num_classes) if classification else len(y))
    for train, held_out in kfold_rows(y, folds, seed, classification):
        fitted = clone(estimator).fit(x.iloc[train], y[train])
        outputs[held_out] = _outputs(fitted, x.iloc[held_out], target.num_classes)
    return outputs


def fit_baselines(schema, target, x_train: pd.DataFrame, y_train, x_test: pd.DataFrame, y_test, *,
                  seed: int | None = 0, folds: int = 5) -> dict[str, Any]:
    """Fits the baselines on the training rows and scores them on the test rows.

    Args:
        schema: The `kerasopt.tabular.Schema` of the network's columns.
        target: The `kerasopt.tabular.TargetInfo` of the run.
        x_train, x_test: Raw feature rows (DataFrames); `x_test` may be empty.
        y_train, y_test: Encoded targets (`target.encode`: class indices or values).
        seed: Seed of the models and of the folds.
        folds: Folds of the out-of-fold scores used when there are no test rows.

    Returns:
        A JSON-ready dict: `scored_on` (`"test"` or `"out-of-fold"`), `rows`
        (`{"train", "scored"}`) and `models`: `{name: {"label", "seconds", scores...}}`
        with the scores of `kerasopt.evaluation` in the original labels
        (accuracy, balanced accuracy, log loss, ... or RMSE, MAE, R^2), or
        `error` (the reason) for a baseline that could not be fitted.
    """
    from threadpoolctl import threadpool_limits

    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    fit_x = typed_frame(schema, x_train)
    test_x = typed_frame(schema, x_test) if len(x_test) else None
    result: dict[str, Any] = {"scored_on": "test" if test_x is not None else "out-of-fold",
                              "rows": {"train": int(len(y_train)), "scored": int(len(y_test) or len(y_train))},
                              "models": {}}
    for name, estimator in baseline_models(schema, target.task, seed).items():
        start = time.perf_counter()
        # One thread: on small tables OpenMP's thread start-up costs more than the work, and a busy
        # machine makes it far worse.
        try:
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore")  # convergence and small-fold warnings: the scores say enough
                if test_x is not None:
                    outputs = _outputs(estimator.fit(fit_x, y_train), test_x, target.num_classes)
                    truth = y_test
                else:
                    outputs = _out_of_fold(estimator, fit_x, y_train, target, seed, folds)
                    truth = y_train
            scores = _scores(target, truth, outputs)
        except ValueError as e:  # e.g. a fold with a single class: a baseline never stops a run
            scores = {"error": " ".join(str(e).split())[:200]}
        result["models"][name] = {"label": BASELINE_LABELS[name], **scores,
                                  "seconds": round(time.perf_counter() - start, 3)}
    return result


def comparison_lines(scope: str, ours: dict[str, Any], baselines: dict[str, Any], task: str) -> list[str]:
    """Lines that put the network's scores beside the baselines'.

    Args:
        scope: What the scores are on, e.g. `"test"` or `"out-of-fold"`.
        ours: The network's scores (`kerasopt.evaluation` keys); may be empty.
        baselines: The result of `fit_baselines`.
        task: `"classification"` or `"regression"`.

    Returns:
        One line per headline metric, e.g.
        `"test accuracy 0.9812 (logistic regression 0.9594, gradient boosting 0.9031)"`.
    """
    lines = []
    for metric in ("accuracy",) if task == "classification" else ("rmse", "r2"):
        others = ", ".join(f"{m['label']} {m[metric]:.4f}" for m in baselines["models"].values() if metric in m)
        if metric in ours:
            lines.append(f"{scope} {metric} {ours[metric]:.4f} ({others})")
        else:
            lines.append(f"{scope} {metric} of the baselines: {others}")
    return lines

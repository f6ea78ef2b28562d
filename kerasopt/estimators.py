"""scikit-learn estimators: `DenseClassifier` and `DenseRegressor` (docs/python.md).

They fit a `TabularModel` with `kerasopt train`'s procedure on all rows given (by default five bagged
networks, `kerasopt.bagging`; with `bagging=0` one network, its held-out split stratified when every
class fits). Every constructor argument has the default of `kerasopt.config.DEFAULTS`.

Example:

>>> from sklearn.model_selection import cross_val_score  # doctest: +SKIP
>>> cross_val_score(DenseClassifier(epochs=50), frame, labels, cv=5)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import os
import tempfile
import textwrap
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from kerasopt import config as config_lib
from kerasopt import spec
from kerasopt._quiet import quiet_retracing
from kerasopt.data import holdout_rows
from kerasopt.errors import ArgumentError

__all__ = ["DenseClassifier", "DenseRegressor"]

_D = config_lib.DEFAULTS


def _default(key: str):
    """The default of `key` from the one specification, as an immutable value (lists -> tuples)."""
    value = _D[key]
    return tuple(value) if isinstance(value, list) else value


# Keys of the specification that are hyperparameters of the estimators (the rest describe a
# command-line run: data file, target column, test split).
_SPEC_KEYS = ("hidden_units", "activation", "kernel_initializer", "l1", "l2", "dropout", "batch_norm",
              "optimizer", "optimizer_args", "learning_rate", "schedule", "schedule_args", "epochs",
              "batch_size", "patience", "reduce_lr_on_plateau", "validation_split", "refit", "bagging", "seed",
              "numeric_scaling", "numeric_bins", "numeric_embedding")


class _DenseEstimator(BaseEstimator):
    """Shared fit / predict / pickling of the two estimators."""

    _task = ""

    def _config(self) -> dict[str, Any]:
        # `None` arguments are `resolve`'s: the default's `schedule_args` for the default schedule, else none;
        # the default `optimizer_args`.
        params = {key: getattr(self, key) for key in _SPEC_KEYS
                  if not (key.endswith("_args") and getattr(self, key) is None)}
        for key in ("class_weight", "label_smoothing"):  # a classifier's own
            if hasattr(self, key):
                params[key] = getattr(self, key)
        return config_lib.resolve(params)

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        """Checks `X` as scikit-learn does and returns it as a DataFrame of raw columns."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise ArgumentError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                                 "required.")
            return X.set_axis([str(c) for c in X.columns], axis=1)
        array = check_array(X, dtype=None, ensure_all_finite=False, accept_sparse=False)
        validate_data(self, array, reset=reset, skip_check_array=True)
        if array.dtype.kind in "c":
            raise ArgumentError("Complex data not supported.")
        names = [f"x{i}" for i in range(array.shape[1])] if reset else self.model_.schema.input_names
        return pd.DataFrame(array if array.dtype.kind != "U" else array.astype(object), columns=names)

    def _fit(self, X, y):
        from kerasopt import pipeline, tabular

        config = self._config()
        frame = self._frame(X, reset=True)
        if len(y) != len(frame):
            raise ArgumentError(f"Found input variables with inconsistent numbers of samples: "
                             f"[{len(frame)}, {len(y)}]")
        if len(frame) < 2:
            raise ArgumentError(f"Found {len(frame)} sample(s) (n_samples={len(frame)}) while a minimum of 2 is "
                             "required.")
        overrides = {"categorical": self.categorical, "numeric": self.numeric, "drop": self.drop}
        overrides = {k: () if v is None else v for k, v in overrides.items()}
        # scikit-learn's data may hold a class seen once; the held-out split then is not stratified.
        y_encoded, target = tabular.encode_target(y, task=self._task, min_rows_per_class=1)
        class_weight = config.get("class_weight")
        if isinstance(class_weight, dict):  # keys are labels, as in scikit-learn; Keras wants class indices
            class_weight = {i: float(class_weight.get(c, 1.0)) for i, c in enumerate(target.classes)}
        members = config["bagging"]
        if members and len(frame) < 2 * members:  # each fold needs two rows: fewer members, or one network
            members = len(frame) // 2 if len(frame) >= 4 else 0
        run_config = {**config, "categorical": list(overrides["categorical"]), "numeric": list(overrides["numeric"]),
                      "class_weight": class_weight, "bagging": members}
        # Columns without signal are found on all rows: a subset can hide an identifier (shuffled
        # ids 1..n are no longer one consecutive run).
        dropped = tabular.infer_schema(frame, **overrides).dropped
        table = pipeline.Table(frame, pd.Series(y, name=target.name), target, "scikit-learn data",
                               drop=list(dropped), notes=[])
        with quiet_retracing():  # every fit builds new models; TensorFlow warns about their traces
            model, record = pipeline._train_config(run_config, table,
                                                   _rows(config, members, y_encoded, target.task), verbose=self.verbose)
        self.best_epoch_ = record["best_epoch"]
        self.budget_ = record["budget"]
        self.model_ = model
        self.target_ = target
        return self

    def _predict_outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        frame = self._frame(X, reset=False)
        with quiet_retracing():
            return np.asarray(self.model_.predict(frame, batch_size=1024, verbose=0))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags

    # Pickling: the Keras model travels as the bytes of its .keras file.
    def __getstate__(self):
        state = super().__getstate__().copy()
        if "model_" in state:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                state["model_"].save(path)
                with open(path, "rb") as f:
                    state["model_"] = f.read()
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            import keras  # importing Keras registers kerasopt's custom objects (kerasopt/__init__.py)

            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.keras")
                with open(path, "wb") as f:
                    f.write(state["model_"])
                state["model_"] = keras.saving.load_model(path)
        super().__setstate__(state)


def _rows(config: dict[str, Any], members: int, y: np.ndarray, task: str) -> dict[str, np.ndarray]:
    """The training, validation and (no) test rows of a fit: with bagging all rows train (the members hold
    out their folds); else `validation_split` of them are held out, when at least one row is left."""
    train, validation = holdout_rows(y, 0.0 if members else config["validation_split"], config["seed"],
                                     stratify=task == "classification")
    return {"train": np.sort(train), "validation": np.sort(validation), "test": validation[:0]}


# What an estimator's argument means beyond its option's text (`kerasopt.spec.describe_python`).
_NOTES = {
    "hidden_units": "A tuple (`()`: no hidden layer), or an int for one layer.",
    "optimizer_args": "`None`: the default.",
    "schedule": "`None`: constant.",
    "schedule_args": "`None`: the default for the default schedule, none for another.",
    "class_weight": "A dict `{label: weight}` weights each class.",
    "reduce_lr_on_plateau": "Needs `schedule='constant'` and `bagging=0`.",
    "validation_split": "0 trains for `epochs` on all rows.",
    "bagging": "With 0, early stopping on `validation_split`, then `refit`. `predict` averages the networks. "
               "With fewer than 2K rows, one member per two rows; below 4 rows, one network.",
}
# The estimators' arguments that are not options of the specification.
_OWN = {"verbose": "verbosity of Keras's `fit`."}


def _with_args(cls):
    """Writes the `Args:` block of `cls`'s constructor into its docstring, before `Attributes:`.

    An option's entry is its text from `kerasopt.spec` (help, choices and the constructor's default, as
    Python writes them: `spec.describe_python`) and its note in `_NOTES`; an estimator's own argument's is
    its text in `_OWN`.
    """
    block = "    Args:\n"
    for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        text = (_OWN[name] if name in _OWN
                else f"{spec.describe_python(spec.FIELD[name], parameter.default)}. {_NOTES.get(name, '')}")
        block += textwrap.fill(f"{name}: {text}", 100, initial_indent=" " * 8, subsequent_indent=" " * 12,
                               break_long_words=False, break_on_hyphens=False) + "\n"
    if cls.__doc__ is not None:  # `python -OO` drops docstrings
        cls.__doc__ = cls.__doc__.replace("    Attributes:", block + "\n    Attributes:", 1)
    return cls


@_with_args
class DenseClassifier(ClassifierMixin, _DenseEstimator):
    """A regularized Dense-network classifier for tables, as a scikit-learn estimator.

    Labels may be strings, booleans, integers in any range or integral
    floats; `classes_` holds them and `predict` returns them. Binary
    problems report AUC among the Keras metrics.

    Attributes:
        classes_: The class labels, in the order of `predict_proba`'s columns.
        model_: The fitted `kerasopt.tabular.TabularModel`.
        n_features_in_: Number of columns seen in `fit`.
        feature_names_in_: Column names seen in `fit` (DataFrame input only).
        best_epoch_: The epoch count chosen by early stopping (or `epochs`).
        budget_: The batch size, epochs and patience the fit used, those left
            `None` sized to its rows (`kerasopt.budget.Budget.as_dict()`).

    Example:

    >>> clf = DenseClassifier(hidden_units=(16,), epochs=20).fit(frame, labels)  # doctest: +SKIP
    >>> clf.predict(frame[:3])  # doctest: +SKIP
    array(['no', 'yes', 'no'], dtype='<U3')
    """

    _task = "classification"

    def __init__(self, hidden_units=_default("hidden_units"), activation=_default("activation"),
                 kernel_initializer=_default("kernel_initializer"), l1=_default("l1"), l2=_default("l2"),
                 dropout=_default("dropout"), batch_norm=_default("batch_norm"),
                 optimizer=_default("optimizer"), optimizer_args=None, learning_rate=_default("learning_rate"),
                 schedule=_default("schedule"), schedule_args=None, epochs=_default("epochs"),
                 batch_size=_default("batch_size"), patience=_default("patience"),
                 reduce_lr_on_plateau=_default("reduce_lr_on_plateau"), class_weight=_default("class_weight"),
                 validation_split=_default("validation_split"), refit=_default("refit"), bagging=_default("bagging"),
                 seed=_default("seed"),
                 verbose=0, categorical=None, numeric=None, drop=None, numeric_scaling=_default("numeric_scaling"),
                 numeric_bins=_default("numeric_bins"), numeric_embedding=_default("numeric_embedding"),
                 label_smoothing=_default("label_smoothing")):
        _store_params(self, locals())

    def fit(self, X, y):
        """Fits the network.

        Args:
            X: A DataFrame (mixed kinds, gaps) or an array, `(rows, columns)`.
            y: Labels, one per row.

        Returns:
            `self`.
        """
        y = _target_vector(y)
        check_classification_targets(y)
        self._fit(X, y)
        self.classes_ = np.asarray(self.target_.classes)
        if self.classes_.dtype == object:
            self.classes_ = self.classes_.astype(str)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, `(rows, len(classes_))`."""
        return self._predict_outputs(X)

    def predict(self, X) -> np.ndarray:
        """Predicted labels, in the values of `classes_`."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


@_with_args
class DenseRegressor(RegressorMixin, _DenseEstimator):
    """A regularized Dense-network regressor for tables, as a scikit-learn estimator.

    The target is standardized inside the network and restored on output;
    the loss is the squared error divided by the target's variance.

    Attributes:
        model_: The fitted `kerasopt.tabular.TabularModel`.
        n_features_in_: Number of columns seen in `fit`.
        feature_names_in_: Column names seen in `fit` (DataFrame input only).
        best_epoch_: The epoch count chosen by early stopping (or `epochs`).
        budget_: The batch size, epochs and patience the fit used, those left
            `None` sized to its rows (`kerasopt.budget.Budget.as_dict()`).
    """

    _task = "regression"

    def __init__(self, hidden_units=_default("hidden_units"), activation=_default("activation"),
                 kernel_initializer=_default("kernel_initializer"), l1=_default("l1"), l2=_default("l2"),
                 dropout=_default("dropout"), batch_norm=_default("batch_norm"),
                 optimizer=_default("optimizer"), optimizer_args=None, learning_rate=_default("learning_rate"),
                 schedule=_default("schedule"), schedule_args=None, epochs=_default("epochs"),
                 batch_size=_default("batch_size"), patience=_default("patience"),
                 reduce_lr_on_plateau=_default("reduce_lr_on_plateau"),
                 validation_split=_default("validation_split"), refit=_default("refit"), bagging=_default("bagging"),
                 seed=_default("seed"),
                 verbose=0, categorical=None, numeric=None, drop=None, numeric_scaling=_default("numeric_scaling"),
                 numeric_bins=_default("numeric_bins"), numeric_embedding=_default("numeric_embedding")):
        _store_params(self, locals())

    def fit(self, X, y):
        """Fits the network.

        Args:
            X: A DataFrame (mixed kinds, gaps) or an array, `(rows, columns)`.
            y: Numeric targets, one per row.

        Returns:
            `self`.
        """
        y = _target_vector(y)
        # Text is an error; an infinite value too; a gap is refused with its row number by `_fit`.
        y = check_array(y.reshape(-1, 1), dtype="float64", ensure_all_finite="allow-nan", input_name="y").ravel()
        return self._fit(X, y)

    def predict(self, X) -> np.ndarray:
        """Predicted values, `(rows,)`, on the target's scale."""
        return self._predict_outputs(X)[:, 0].astype("float64")


def _store_params(estimator, params: dict[str, Any]) -> None:
    """Sets every constructor argument as an attribute of the same name, unchanged (scikit-learn's rule)."""
    for key, value in params.items():
        if key != "self":
            setattr(estimator, key, value)


def _target_vector(y) -> np.ndarray:
    if isinstance(y, (pd.Series, pd.DataFrame)):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise ArgumentError("Complex data not supported.")
    return column_or_1d(y, warn=True)


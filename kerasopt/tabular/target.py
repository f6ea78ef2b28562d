"""Targets: the task, the encoding the network trains on, and the original labels back.

`encode_target` turns labels of any kind (strings, booleans, integers in any
range, integral floats) or a continuous target into what the network trains
on (`detect_task` tells the two apart), and `TargetInfo` turns the model's
outputs back into original labels or values. No Keras here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kerasopt.errors import ArgumentError, DataError
from kerasopt.spec import TASKS
from kerasopt.tabular.cells import as_series, canonical, row_hint, split_cells

__all__ = ["CLASSIFICATION_MAX_INTEGERS", "TASKS", "TargetInfo", "detect_task", "encode_target"]

CLASSIFICATION_MAX_INTEGERS = 20
"""`detect_task` calls an integer target with at most this many distinct values classification."""


def _target_name(y) -> str:
    name = getattr(y, "name", None)
    return f"Target column {str(name)!r}" if name is not None else "The target"


def detect_task(y) -> str:
    """Returns `"classification"` or `"regression"` for a target.

    Text, booleans, categories and integral numbers with at most
    `CLASSIFICATION_MAX_INTEGERS` distinct values are classification; missing cells are ignored.

    Args:
        y: The target values (list, array or Series).

    Returns:
        `"classification"` or `"regression"`.
    """
    series = as_series(y, "target")
    missing, numbers, text, values = split_cells(series)
    if pd.api.types.is_bool_dtype(series) or text.any() or isinstance(series.dtype, pd.CategoricalDtype):
        return "classification"
    objects = series.to_numpy(dtype=object)[~missing]
    if any(isinstance(v, (bool, np.bool_, str)) for v in objects):
        return "classification"
    present = values[~missing]
    if present.size and np.all(np.isfinite(present)) and np.all(present == np.round(present)) \
            and len(np.unique(present)) <= CLASSIFICATION_MAX_INTEGERS:
        return "classification"
    return "regression"


@dataclass
class TargetInfo:
    """How a target is encoded for the network, and decoded back.

    Attributes:
        task: `"classification"` or `"regression"`.
        classes: The class labels in their original values (str, int, float
            or bool), in the order of the model's outputs; `None` for
            regression.
        mean: Training mean of a regression target (the model adds it back).
        std: Training standard deviation of a regression target.
        name: The target column's name, when known.
    """

    task: str
    classes: list | None = None
    mean: float | None = None
    std: float | None = None
    name: str | None = None

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def get_config(self) -> dict[str, Any]:
        return {"task": self.task, "classes": None if self.classes is None else list(self.classes),
                "mean": self.mean, "std": self.std, "name": self.name}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetInfo:
        return cls(**config)

    def encode(self, y) -> np.ndarray:
        """Encodes targets as the network trains on them (class indices or float32 values).

        Raises:
            DataError: for a missing target cell or a label not among `classes`.
        """
        series = as_series(y, "target")
        _refuse_missing(series, y)
        if self.task == "regression":
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            if np.isnan(values).any():
                row = int(np.flatnonzero(np.isnan(values))[0])
                raise DataError(f"{_target_name(y)} has the non-numeric value {series.iloc[row]!r} in "
                                f"{row_hint(row)}; a regression target needs numbers.")
            if np.isinf(values).any():
                row = int(np.flatnonzero(np.isinf(values))[0])
                raise DataError(f"{_target_name(y)} has an infinite value in {row_hint(row)}; a regression target "
                                "needs finite numbers. Remove or fix that row.")
            return values.astype("float32")
        index = {_label_key(c): i for i, c in enumerate(self.classes)}
        keys = [_label_key(v) for v in series.to_numpy(dtype=object)]
        unknown = [k for k in keys if k not in index]
        if unknown:
            raise DataError(f"{_target_name(y)} has the label {unknown[0][1]!r}, which is not one of the "
                            f"classes {self.classes}.")
        return np.array([index[k] for k in keys], dtype="int32")

    def labels(self, encoded) -> np.ndarray:
        """The inverse of `encode`: original labels of class indices (regression values pass unchanged).

        For code that holds class indices and hands them to a `TabularModel`,
        whose `fit`, `evaluate` and `kerasopt.train` take original labels.
        """
        encoded = np.asarray(encoded)
        if self.task == "regression":
            return encoded
        labels = np.array(self.classes, dtype=object)
        return labels[encoded.astype("int64")]

    def decode(self, outputs) -> np.ndarray:
        """Turns model outputs into original labels (argmax of probabilities) or values."""
        outputs = np.asarray(outputs)
        if self.task == "regression":
            return outputs.reshape(len(outputs), -1)[:, 0]
        labels = np.array(self.classes, dtype=object)
        result = labels[outputs.argmax(axis=-1)]
        kinds = {type(c) for c in self.classes}
        if kinds <= {int}:
            return result.astype("int64")
        if kinds <= {float}:
            return result.astype("float64")
        if kinds <= {bool}:
            return result.astype(bool)
        if kinds <= {str}:
            return result.astype(str)
        return result

    def standardized(self, values) -> np.ndarray:
        """Regression values as stacked table networks learn them: `(values - mean) / std`, in float64."""
        return (np.asarray(values, "float64") - self.mean) / (self.std or 1.0)

    def unstandardized(self, values) -> np.ndarray:
        """The inverse of `standardized`: a network's standardized outputs in the target's units (float64)."""
        return np.asarray(values, "float64") * (self.std or 1.0) + self.mean

    def units_factor(self, name: str) -> float:
        """Returns the factor that turns a score of the standardized target into the target's units.

        Args:
            name: The score's name, with or without `val_`: `mse` scales by
                `std ** 2`, `mae` and `rmse` by `std`, any other score (R^2,
                a classifier's) by 1.

        Returns:
            The factor (1.0 for a target without `std`).
        """
        power = {"mse": 2, "mae": 1, "rmse": 1}.get(name.removeprefix("val_"), 0)
        return float(self.std or 1.0) ** power


def _label_key(value):
    """A hashable key under which 1, 1.0, np.int64(1) and True... stay apart by kind but match by value."""
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, (int, np.integer, float, np.floating)):
        number = float(value)
        return ("number", int(number) if number.is_integer() else number)
    return ("text", str(value))


def encode_target(y, task: str | None = None, *, min_rows_per_class: int = 2) -> tuple[np.ndarray, TargetInfo]:
    """Encodes a target column for the network.

    Classification: the index (int32) of the label among the sorted distinct labels (integral
    floats become ints). Regression: the value (float32), with the mean and standard deviation the
    model standardizes it by. A missing target is refused, not dropped (docs/cli.md).

    Args:
        y: Target values (list, array or `Series`, whose name is kept).
        task: `"classification"`, `"regression"`, or `None`: `detect_task`.
        min_rows_per_class: Fewest rows a class may have.

    Returns:
        `(y_encoded, TargetInfo)`.

    Raises:
        DataError: for a missing cell, fewer than two classes, a class
            under `min_rows_per_class` rows, or text in a regression target.
        ArgumentError: for an invalid `task`.
    """
    if task is not None and task not in TASKS:
        raise ArgumentError(f"Invalid value for `task`: expected 'classification', 'regression' or None. "
                         f"Received: task={task!r}")
    series = as_series(y, "target")
    if len(series) == 0:
        raise DataError(f"{_target_name(y)} has no rows.")
    _refuse_missing(series, y)
    task = task or detect_task(series)
    name = None if getattr(y, "name", None) is None else str(y.name)
    if task == "regression":
        info = TargetInfo("regression", name=name)
        values = info.encode(y)
        std = float(values.astype("float64").std())
        info.mean, info.std = float(values.astype("float64").mean()), std if std > 0 else 1.0
        return values, info
    return _classification_target(y, series, name, min_rows_per_class)


def _refuse_missing(series: pd.Series, y) -> None:
    """Raises a `DataError` naming the first row of `series` (the target `y`) without a value."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"{_target_name(y)} has a missing value in {row_hint(row)}. Remove the rows "
                        "without a target, or fill them.")


def _classification_target(y, series: pd.Series, name: str | None,
                           min_rows_per_class: int) -> tuple[np.ndarray, TargetInfo]:
    """`encode_target` of a classification target: its sorted classes, checked, and the class indices."""
    keys = [_label_key(v) for v in series.to_numpy(dtype=object)]
    if len({kind for kind, _ in keys}) > 1:  # mixed kinds: compare as text
        series = pd.Series([canonical(v) for v in series.to_numpy(dtype=object)], name=name)
        keys = [_label_key(v) for v in series]
    counts = pd.Series(keys).value_counts()
    labels = sorted({label for _, label in counts.index})  # a key's value is the label as a Python scalar
    if len(labels) < 2:
        raise DataError(f"{_target_name(y)} holds one class ({labels[0]!r}); classification needs "
                        "at least two.")
    single = [k[1] for k, n in counts.items() if n < min_rows_per_class]
    if single:
        raise DataError(f"{_target_name(y)} has a single row of class {sorted(single, key=str)[0]!r}; every class "
                        "needs at least two rows. Remove that row or merge the class with another.")
    info = TargetInfo("classification", classes=labels, name=name)
    return info.encode(series), info

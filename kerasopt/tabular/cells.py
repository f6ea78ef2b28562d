"""Reading the cells of one column: gaps, numbers, text, canonical category strings.

Shared by the feature columns (`kerasopt.tabular.schema`) and the target
(`kerasopt.tabular.target`). No Keras here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kerasopt.errors import DataError

__all__ = ["row_hint", "canonical", "as_series", "split_cells"]


def row_hint(row: int) -> str:
    """`"data row N (file line M)"` for the 0-based `row`: data rows count from 1 after a header line."""
    return f"data row {row + 1} (file line {row + 2})"


def canonical(value) -> str:
    """The category string of a cell: 3, 3.0, np.int64(3) and '3' all give '3'."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def as_series(values, name: str) -> pd.Series:
    """One column (a Series, list or 1-D array) as a `pandas.Series` with a fresh 0-based index.

    Raises:
        DataError: naming the column `name`, for values that are not one-dimensional.
    """
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    listed = isinstance(values, (list, tuple))
    array = np.asarray(values, dtype=object) if listed else np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"Column {name!r} must be one-dimensional; received shape {array.shape}.")
    if listed:  # pandas types the cells; NumPy would turn ["red", nan] into the strings "red" and "nan"
        return pd.Series(list(values))
    return pd.Series(array, dtype=object if array.dtype.kind in "OUS" else None)


def split_cells(column: pd.Series):
    """`(missing, numbers, text, values)` of a column: masks of its missing, numeric and text cells,
    and its float64 values (NaN where not a number; booleans are 0 and 1)."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        return missing, ~missing, np.zeros_like(missing), values
    objects = column.to_numpy(dtype=object)
    is_bool = np.array([isinstance(v, (bool, np.bool_)) for v in objects], dtype=bool)
    values = pd.to_numeric(pd.Series(np.where(is_bool, objects.astype(str), objects)), errors="coerce")
    values = values.to_numpy(dtype="float64", na_value=np.nan)
    values = np.where(is_bool, objects == True, values).astype("float64")  # noqa: E712
    numbers = ~missing & (~np.isnan(values) | is_bool)
    text = ~missing & ~numbers
    return missing, numbers, text, values

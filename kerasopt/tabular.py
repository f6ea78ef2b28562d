"""Tabular columns and targets inside the model.

`infer_schema` types each feature column of the training rows (numeric,
boolean or categorical), drops the columns that carry no signal with a note,
and keeps the training statistics. `build_preprocessing` turns a `Schema` into
Keras inputs (one per column, keyed by the column name) and the encoded
feature tensor, so a saved model takes raw rows: numbers, strings and gaps.
`encode_target` turns labels of any kind (strings, booleans, integers in any
range, integral floats) or a continuous target into what the network trains
on, and `TargetInfo` turns its outputs back. `TabularModel` is the Functional
model that carries both, so `model.keras` alone predicts in the original
labels.

Why the lookup layers and not `keras.utils.FeatureSpace`: FeatureSpace adapts
on a `tf.data` pipeline and is meant to run there, has no imputation of
numeric gaps (a NaN passes `Normalization` as NaN), no missing-value
indicator, and only one-hot or integer outputs for categories (no embedding
for many categories). The rules here need all three, and each piece is a
plain Keras layer with its statistics in its config: `Impute`,
`MissingIndicator`, `RobustScaling` (standardization, or median and
interquartile range then smooth clipping of extremes), `StringLookup` with
an out-of-vocabulary bucket, and one-hot or `Embedding`.

Example:

>>> frame = pd.DataFrame({"size": [1.0, None, 3.0, 4.0], "color": ["red", "blue", None, "red"]})
>>> schema = infer_schema(frame)
>>> [(c.name, c.kind) for c in schema.features]
[('size', 'numeric'), ('color', 'categorical')]
"""

from __future__ import annotations

import contextlib
import difflib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd

from kerasopt.errors import ArgumentError, DataError

__all__ = [
    "MISSING",
    "ONE_HOT_MAX",
    "MIN_CATEGORY_COUNT",
    "CLASSIFICATION_MAX_INTEGERS",
    "NUMERIC_SCALINGS",
    "Column",
    "Schema",
    "TargetInfo",
    "TabularModel",
    "Impute",
    "MissingIndicator",
    "RobustScaling",
    "SMOOTH_CLIP_BOUND",
    "SoftmaxAUC",
    "robust_statistics",
    "infer_schema",
    "detect_task",
    "encode_target",
    "build_preprocessing",
    "embedding_blocks",
    "embedding_dim",
    "embedding_initializer",
    "encoded_width",
]

MISSING = "[missing]"
"""The category that a missing categorical cell becomes (its own category when training had gaps)."""

_OOV = "[unseen]"  # StringLookup's out-of-vocabulary token: categories first seen after training

ONE_HOT_MAX = 16
"""A categorical column with at most this many categories (the missing category included) is
one-hot encoded (plus one out-of-vocabulary slot); one with more gets an `Embedding` of
`embedding_dim(n)` dimensions, which keeps the first Dense layer small for many categories."""

MIN_CATEGORY_COUNT = 2
"""A category seen fewer times than this in the training rows joins the out-of-vocabulary bucket
with the categories first seen after training: a value seen once (a car's model name, a free-text
note) teaches the network nothing that carries over to new rows, but gives it a column to memorize."""

CLASSIFICATION_MAX_INTEGERS = 20
"""`detect_task` calls an integer target with at most this many distinct values classification."""

KINDS = ("numeric", "boolean", "categorical")
NUMERIC_SCALINGS = ("standard", "robust")
"""How `build_preprocessing` scales numeric columns: by training mean and standard deviation, or by median
and interquartile range followed by smooth clipping (`RobustScaling`)."""
TASKS = ("classification", "regression")


def embedding_dim(n_categories: int) -> int:
    """Embedding size for a column of `n_categories`: `min(16, round(1.6 * n ** 0.56))`.

    The rule of thumb of fast.ai's tabular models, capped at 16 for small networks.
    """
    return int(min(16, max(2, round(1.6 * n_categories ** 0.56))))


# ---------------------------------------------------------------------------------------------
# Cell helpers


def _row_hint(row: int) -> str:
    """`row` is 0-based; data rows count from 1 and the file has a header line."""
    return f"data row {row + 1} (file line {row + 2})"


def _canonical(value) -> str:
    """The category string of a cell: 3, 3.0, np.int64(3) and '3' all give '3'."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _as_series(values, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"Column {name!r} must be one-dimensional; received shape {array.shape}.")
    return pd.Series(array, dtype=object if array.dtype.kind in "OUS" else None)


def _split_cells(column: pd.Series):
    """Returns `(missing, numbers, text)`: masks of missing cells, numeric cells, text cells,
    and the float values (NaN where not a number)."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64")
        return missing, ~missing, np.zeros_like(missing), values
    if pd.api.types.is_numeric_dtype(column):
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


def _is_bool_column(column: pd.Series, numbers: np.ndarray, values: np.ndarray) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return True
    present = values[numbers]
    return present.size > 0 and bool(np.isin(present, (0.0, 1.0)).all())


# ---------------------------------------------------------------------------------------------
# Schema


@dataclass
class Column:
    """One feature column of a `Schema`.

    Attributes:
        name: The column name in the data.
        kind: `"numeric"`, `"boolean"` or `"categorical"`.
        key: The name of the model input that takes the column (the column
            name, unless that name is not a valid or free layer name).
        has_gaps: Whether the training rows had missing cells.
        mean: Training mean of a numeric or boolean column (the value that
            fills a boolean column's gaps).
        std: Training standard deviation (1 when constant apart from gaps).
        median: Training median of a numeric column (the value that fills
            its gaps, and the center of its robust scaling).
        spread: The robust scale of a numeric column (`robust_spread`): its
            interquartile range, half its range when that is 0, or 0 when the
            column is constant apart from gaps.
        vocabulary: Categories of a categorical column, most frequent first,
            with `MISSING` when training had gaps.
        coerce: Whether text cells of a numeric column are read as missing
            (declared numeric) instead of being an error.
    """

    name: str
    kind: str
    key: str
    has_gaps: bool = False
    mean: float | None = None
    std: float | None = None
    vocabulary: list[str] | None = None
    coerce: bool = False
    median: float | None = None
    spread: float | None = None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "key": self.key, "has_gaps": self.has_gaps,
                "mean": self.mean, "std": self.std, "vocabulary": self.vocabulary, "coerce": self.coerce,
                "median": self.median, "spread": self.spread}


@dataclass
class Schema:
    """The typed feature columns of a table, learned from training rows by `infer_schema`.

    Attributes:
        input_names: Every column of the training frame, in order (dropped
            ones included), which is also the column order of a positional
            2-D array given to `to_inputs`.
        features: The kept columns (`Column`), in order.
        dropped: Names of the dropped columns.
        notes: One line per dropped column, saying why, and per column read
            in a way worth knowing (numbers and text read as categories,
            infinite values read as missing).
        scaling: How the model scales numeric columns (`NUMERIC_SCALINGS`):
            `"standard"` (training mean and standard deviation) or `"robust"`
            (median and interquartile range, then smooth clipping).
    """

    input_names: list[str]
    features: list[Column]
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scaling: str = "standard"

    @property
    def names(self) -> list[str]:
        """Names of the kept feature columns, in order."""
        return [c.name for c in self.features]

    def get_config(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict; `Schema.from_config` rebuilds the schema."""
        return {"input_names": list(self.input_names), "features": [c.get_config() for c in self.features],
                "dropped": list(self.dropped), "notes": list(self.notes), "scaling": self.scaling}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Schema:
        return cls(input_names=list(config["input_names"]),
                   features=[Column(**c) for c in config["features"]],
                   dropped=list(config.get("dropped", [])), notes=list(config.get("notes", [])),
                   scaling=config.get("scaling", "standard"))

    def to_inputs(self, x, notes: list[str] | None = None) -> dict[str, np.ndarray]:
        """Converts raw rows to the model's inputs.

        Columns are matched by name, in any order; columns the schema does not
        use are ignored (with a note appended to `notes`). A 2-D array is read
        positionally and must have exactly `len(input_names)` columns. Cells
        that are not numbers in a numeric or boolean column, and infinite
        values, are read as missing (the model fills a gap with the training
        mean), with one note per kind naming the columns and how many cells.

        Args:
            x: A `pandas.DataFrame`, a dict of named columns (lists, arrays,
                Series), or a 2-D array.
            notes: Optional list that receives a line about ignored columns.

        Returns:
            A dict `{column key: 1-D array}`: float32 for numeric and boolean
            columns (NaN kept: the model imputes it), Python strings (an
            object array, which Keras's array adapter takes) for categorical
            columns (missing cells as `MISSING`).

        Raises:
            DataError: for missing columns or a wrong column count.
        """
        columns = self._columns(x)
        out: dict[str, np.ndarray] = {}
        issues: dict[str, dict[str, tuple[int, Any]]] = {"text": {}, "infinite": {}}
        for col in self.features:
            out[col.key] = _encode_cells(col, columns[col.name], issues)
        extra = [name for name in columns if name not in self.names and name not in self.dropped]
        if extra and notes is not None:
            notes.append(f"Ignored column(s) the model does not use: {', '.join(map(str, extra))}.")
        if notes is not None:
            notes.extend(_issue_notes(issues))
        return out

    def _columns(self, x) -> dict[str, Any]:
        if isinstance(x, pd.DataFrame):
            columns = {str(name): x.iloc[:, i] for i, name in enumerate(x.columns)}
        elif isinstance(x, Mapping):
            columns = {str(k): v for k, v in x.items()}
            by_key = {c.key: c.name for c in self.features}
            columns = {by_key.get(k, k) if k not in self.names else k: v for k, v in columns.items()}
        else:
            array = np.asarray(x)
            if array.ndim != 2:
                raise DataError("Expected a DataFrame, a dict of named columns or a 2-D array; received an "
                                f"array of shape {array.shape}.")
            if array.shape[1] != len(self.input_names):
                raise DataError(f"Expected {len(self.input_names)} columns ({', '.join(self.input_names)}); "
                                f"received an array with {array.shape[1]}.")
            columns = {name: array[:, i] for i, name in enumerate(self.input_names)}
        missing = [name for name in self.names if name not in columns]
        if missing:
            unknown = [name for name in columns if name not in self.input_names]
            close = difflib.get_close_matches(missing[0], unknown, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(f"Missing feature column(s): {', '.join(missing)}.{hint} "
                            f"The model needs: {', '.join(self.names)}.")
        lengths = {len(columns[name]) for name in self.names}
        if len(lengths) > 1:
            raise DataError(f"Feature columns have different lengths: {sorted(lengths)}.")
        return columns


def _issue_notes(issues: dict[str, dict[str, tuple[int, Any]]]) -> list[str]:
    """One note per kind of cell read as missing: the columns, how many cells, an example."""
    notes = []
    if issues["text"]:
        count = sum(n for n, _ in issues["text"].values())
        where = ", ".join(f"{name!r} {n} (e.g. {example!r})" for name, (n, example) in issues["text"].items())
        notes.append(f"Read {count} cell(s) that are not numbers as missing (the model fills them with the "
                     f"training mean), by numeric column: {where}.")
    if issues["infinite"]:
        count = sum(n for n, _ in issues["infinite"].values())
        where = ", ".join(f"{name!r} {n}" for name, (n, _) in issues["infinite"].items())
        notes.append(f"Read {count} infinite value(s) as missing (the model fills them with the training "
                     f"mean), by column: {where}.")
    return notes


def _infinite_as_missing(col: Column, values: np.ndarray, issues) -> np.ndarray:
    """`values` (float64) with infinite cells set to NaN, counted in `issues`."""
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
        if issues is not None:
            issues["infinite"][col.name] = (int(infinite.sum()), None)
    return values


def _encode_cells(col: Column, values, issues=None) -> np.ndarray:
    series = _as_series(values, col.name)
    if col.kind == "categorical":
        cells = series.to_numpy(dtype=object)
        if all(isinstance(v, str) for v in cells):
            return cells
        missing = series.isna().to_numpy()
        return np.array([MISSING if m else _canonical(v) for v, m in zip(cells, missing)], dtype=object)
    if series.dtype.kind == "f":
        return _infinite_as_missing(col, series.to_numpy(dtype="float64"), issues).astype("float32")
    missing, numbers, text, values = _split_cells(series)
    if text.any():
        if col.kind == "boolean":
            lowered = series[text].astype(str).str.strip().str.lower()
            mapping = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}
            mapped = lowered.map(mapping).to_numpy(dtype="float64")
            values[text] = mapped
            text = text.copy()
            text[text] = np.isnan(mapped)
        if text.any() and issues is not None:  # read as missing: to_numeric made them NaN
            issues["text"][col.name] = (int(text.sum()), series.iloc[int(np.flatnonzero(text)[0])])
    return _infinite_as_missing(col, values, issues).astype("float32")


def _check_names(argument: str, names: Sequence[str], available: list[str]) -> list[str]:
    if isinstance(names, str):
        names = [names]
    names = [str(n) for n in names]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DataError(f"Unknown column(s) in `{argument}`: {', '.join(unknown)}. "
                        f"Available columns: {', '.join(available)}.")
    return names


_RESERVED = re.compile(r"^(dense|batch_norm|activation|dropout)_\d+$|^output$|^features$|^tabular_")


def _input_key(name: str, taken: set[str]) -> str:
    key = re.sub(r"[/:]", "_", name) or "column"
    while key in taken or _RESERVED.match(key):
        key = f"{key}_input"
    taken.add(key)
    return key


def infer_schema(frame, *, categorical: Sequence[str] = (), numeric: Sequence[str] = (),
                 drop: Sequence[str] = (), scaling: str = "standard") -> Schema:
    """Types the feature columns of training rows and learns their statistics.

    Rules, per column (after `drop`):

    - Declared `categorical`: categorical; numbers become their canonical
      string (3 and 3.0 are the category `'3'`).
    - Declared `numeric`: numeric; text cells are read as missing.
    - Otherwise: a column of booleans, or of numbers that are all 0 or 1, is
      `boolean` (a 0/1 number); other numbers are `numeric` (integer codes
      are categorical only when declared); text is `categorical`. A column
      mixing numbers and text is `categorical` (with a note) when its values
      are mostly text, or when it has few distinct values (at most
      `ONE_HOT_MAX`), at least half of them text, as codes do (`f`, `4`,
      `r`); otherwise it looks like a numeric column with stray text (`'12'`,
      `'15'`, `'?'`) and is an error that gives the flags to declare it.
    - Infinite values in a numeric column are read as missing, with a note.
    - Dropped with a one-line note in `Schema.notes`: a column whose cells
      are all missing; a constant (one value, no gaps); an identifier, unique
      per row: all-distinct text, or integers forming one consecutive run
      (like 0..n-1 or 1..n).

    Numeric and boolean columns keep their training mean and standard
    deviation, numeric ones also their median (the value that fills a gap)
    and robust spread (`robust_statistics`), and whether they had gaps (only
    then the model gets a missing-indicator input for them). Categorical
    columns keep their categories, most frequent first; a gap is the
    category `MISSING` when training had gaps.

    Args:
        frame: Training feature rows: a `pandas.DataFrame`, a dict of named
            columns, or a 2-D array (columns named `x0`, `x1`, ...). The
            target column must not be among them.
        categorical: Column names to treat as categorical.
        numeric: Column names to treat as numeric.
        drop: Column names to leave out.
        scaling: How the model scales numeric columns: `"standard"` or
            `"robust"` (see `build_preprocessing`).

    Returns:
        A `Schema`.

    Raises:
        DataError: for an unknown name in `categorical`, `numeric` or `drop`,
            a name in two of them, a column mixing numbers and text, no rows,
            or no usable column left.
    """
    if scaling not in NUMERIC_SCALINGS:
        raise ArgumentError(f"Invalid value for `scaling`: expected one of {', '.join(NUMERIC_SCALINGS)}. "
                            f"Received: scaling={scaling!r}")
    frame = _as_frame(frame)
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"Duplicate column name(s): {', '.join(duplicates)}. Rename them.")
    if len(frame) == 0:
        raise DataError("No training rows: the data needs at least one row.")
    categorical = _check_names("categorical", categorical, names)
    numeric = _check_names("numeric", numeric, names)
    drop = _check_names("drop", drop, names)
    both = sorted((set(categorical) & set(numeric)) | (set(drop) & (set(categorical) | set(numeric))))
    if both:
        raise DataError(f"Column(s) declared twice among categorical, numeric and drop: {', '.join(both)}.")
    features, dropped, notes, taken = [], list(drop), [], set()
    for i, name in enumerate(names):
        if name in drop:
            continue
        column = frame.iloc[:, i].reset_index(drop=True)
        reason = None
        missing, numbers, text, values = _split_cells(column)
        if missing.all():
            reason = "all cells are missing"
        elif name in categorical or (text.any() and name not in numeric
                                     and (not numbers.any() or _reads_as_categories(name, column, numbers, text, values))):
            column_or_reason = _categorical(name, column, missing, taken)
            if isinstance(column_or_reason, Column):
                features.append(column_or_reason)
                if numbers.any() and text.any() and name not in categorical:
                    notes.append(_mixed_note(name, column))
            else:
                reason = column_or_reason
        else:
            with np.errstate(over="ignore"):  # the model reads float32: a value beyond its range is a gap
                gaps = ~np.isfinite(values.astype("float32"))  # declared numeric: text cells count as gaps
            present = values[~gaps]
            if present.size == 0:
                reason = "all cells are missing"
            else:
                reason = _no_signal(present, gaps, text=False)
            if reason is None:
                kind = "boolean" if name not in numeric and _is_bool_column(column, ~gaps, values) else "numeric"
                std = float(present.std())
                median, spread = robust_statistics(present) if kind == "numeric" else (None, None)
                features.append(Column(name, kind, _input_key(name, taken), has_gaps=bool(gaps.any()),
                                       mean=float(present.mean()), std=std if std > 0 else 1.0,
                                       coerce=name in numeric, median=median, spread=spread))
                if np.isinf(values).any():
                    notes.append(f"Column {name!r}: read {int(np.isinf(values).sum())} infinite value(s) as "
                                 "missing.")
        if reason is not None:
            dropped.append(name)
            notes.append(f"Dropped column {name!r}: {reason}.")
    if not features:
        raise DataError("No usable feature column: every column was dropped "
                        f"({'; '.join(n.rstrip('.') for n in notes) or 'all declared in drop'}).")
    return Schema(input_names=names, features=features, dropped=dropped, notes=notes, scaling=scaling)


def robust_statistics(values) -> tuple[float, float]:
    """The center and scale of `RobustScaling` for a numeric column: median and robust spread.

    The spread is the interquartile range (75th minus 25th percentile,
    linear interpolation); when that is 0 (a column that is mostly one
    value), half the range (max - min) / 2; when that is 0 too, 0 (the
    column scales to 0). A few extreme cells move neither, so they cannot
    squash the other values together as they do a standard deviation.

    Args:
        values: The column's present (finite) values.

    Returns:
        `(median, spread)`, as Python floats.

    Example:

    >>> robust_statistics([1.0, 2.0, 3.0, 4.0, 1e30])
    (3.0, 2.0)
    """
    values = np.asarray(values, dtype="float64")
    low, median, high = np.quantile(values, [0.25, 0.5, 0.75])
    spread = high - low
    if spread == 0:
        spread = 0.5 * (values.max() - values.min())
    return float(median), float(spread)


def _mixed_note(name: str, column: pd.Series) -> str:
    shown = pd.unique(pd.Series([_canonical(v) for v in column.dropna()], dtype=object))
    listed = ", ".join(map(str, shown[:4])) + (", ..." if len(shown) > 4 else "")
    return (f"Column {name!r} mixes numbers and text ({listed}): read as categorical "
            f"(--numeric {shlex.quote(name)} reads its text cells as missing instead).")


def _reads_as_categories(name: str, column: pd.Series, numbers: np.ndarray, text: np.ndarray,
                         values: np.ndarray) -> bool:
    """Whether an undeclared column of numbers and text reads as categories.

    It does when its values are mostly text (`f`, `4`, `r`, with `4` a minority), or when it has few
    distinct values (at most `ONE_HOT_MAX`), at least half of them text, as codes do (`S`, `M`, `L`,
    `10`, `12`). Otherwise it looks like a numeric column with stray text (`12`, `15`, `?`): an error
    that gives the flags that declare it.

    Raises:
        DataError: for a numeric-looking column with stray text.
    """
    texts = pd.unique(column[text].astype(str))
    distinct_numbers = np.unique(values[numbers])
    quoted = shlex.quote(name)
    if text.sum() >= numbers.sum() or (len(texts) + len(distinct_numbers) <= ONE_HOT_MAX
                                       and len(texts) >= len(distinct_numbers)):
        return True
    row = int(np.flatnonzero(text)[0])
    raise DataError(f"Column {name!r} mixes numbers and text, e.g. {column.iloc[row]!r} in {_row_hint(row)} "
                    f"({int(text.sum())} of {int(text.sum() + numbers.sum())} cells are text). Declare it: "
                    f"--numeric {quoted} reads its text cells as missing, --categorical {quoted} reads every "
                    "value as a category (argument or config key `numeric` / `categorical`).")


def _categorical(name: str, column: pd.Series, missing: np.ndarray, taken: set[str]) -> Column | str:
    """The categorical `Column` of a training column, or the reason it carries no signal."""
    cells = np.array([MISSING if m else _canonical(v) for v, m in zip(column.to_numpy(dtype=object), missing)],
                     dtype=object)
    reason = _no_signal(cells[~missing], missing, text=True)
    if reason is not None:
        return reason
    vocabulary = _vocabulary(cells)
    if not vocabulary:
        return f"every category occurs fewer than {MIN_CATEGORY_COUNT} times"
    return Column(name, "categorical", _input_key(name, taken), has_gaps=bool(missing.any()),
                  vocabulary=vocabulary)


def _vocabulary(cells: np.ndarray) -> list[str]:
    """Categories seen at least `MIN_CATEGORY_COUNT` times, most frequent first."""
    counts = pd.Series(cells).value_counts(sort=False)
    kept = [c for c in counts.index if counts[c] >= MIN_CATEGORY_COUNT]
    return [str(c) for c in sorted(kept, key=lambda c: (-counts[c], c))]


def _no_signal(present: np.ndarray, gaps: np.ndarray, text: bool) -> str | None:
    distinct = pd.unique(present)
    if len(distinct) == 1 and not gaps.any():
        value = repr(distinct[0]) if text else _canonical(distinct[0])
        return f"constant ({value})"
    n = len(gaps)
    if n >= 3 and not gaps.any() and len(distinct) == n:
        if text:
            return "a different value in every row (an identifier)"
        if np.all(present == np.round(present)):
            ordered = np.sort(present)
            if np.all(np.diff(ordered) == 1):
                return (f"consecutive integers {_canonical(ordered[0])}..{_canonical(ordered[-1])}, "
                        "one per row (an identifier)")
    return None


def _as_frame(frame) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, Mapping):
        return pd.DataFrame({str(k): _as_series(v, str(k)) for k, v in frame.items()})
    array = np.asarray(frame)
    if array.ndim != 2:
        raise DataError("Expected a DataFrame, a dict of named columns or a 2-D array; received an array of "
                        f"shape {array.shape}.")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


# ---------------------------------------------------------------------------------------------
# Targets


def _target_name(y) -> str:
    name = getattr(y, "name", None)
    return f"Target column {str(name)!r}" if name is not None else "The target"


def detect_task(y) -> str:
    """Returns `"classification"` or `"regression"` for a target.

    Rule: text, booleans and categories are classification; numbers are
    classification when they are all integral (1, 2.0, -1) with at most
    `CLASSIFICATION_MAX_INTEGERS` (20) distinct values, and regression
    otherwise (a non-integral value, or many distinct integers). Missing
    cells are ignored. Pass `task=` to `encode_target` to override.

    Args:
        y: The target values (list, array or Series).

    Returns:
        `"classification"` or `"regression"`.
    """
    series = _as_series(y, "target")
    missing, numbers, text, values = _split_cells(series)
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
        series = _as_series(y, "target")
        missing = series.isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(f"{_target_name(y)} has a missing value in {_row_hint(row)}. Remove the rows "
                            "without a target, or fill them.")
        if self.task == "regression":
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            if np.isnan(values).any():
                row = int(np.flatnonzero(np.isnan(values))[0])
                raise DataError(f"{_target_name(y)} has the non-numeric value {series.iloc[row]!r} in "
                                f"{_row_hint(row)}; a regression target needs numbers.")
            if np.isinf(values).any():
                row = int(np.flatnonzero(np.isinf(values))[0])
                raise DataError(f"{_target_name(y)} has an infinite value in {_row_hint(row)}; a regression target "
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
        labels = np.empty(len(self.classes), dtype=object)
        labels[:] = self.classes
        return labels[encoded.astype("int64")]

    def decode(self, outputs) -> np.ndarray:
        """Turns model outputs into original labels (argmax of probabilities) or values."""
        outputs = np.asarray(outputs)
        if self.task == "regression":
            return outputs.reshape(len(outputs), -1)[:, 0]
        labels = np.empty(len(self.classes), dtype=object)
        labels[:] = self.classes
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


def _label_key(value):
    """A hashable key under which 1, 1.0, np.int64(1) and True... stay apart by kind but match by value."""
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, (int, np.integer, float, np.floating)):
        number = float(value)
        return ("number", int(number) if number.is_integer() else number)
    return ("text", str(value))


def _python_label(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return int(number) if number.is_integer() else number
    return str(value)


def encode_target(y, task: str | None = None, *, min_rows_per_class: int = 2) -> tuple[np.ndarray, TargetInfo]:
    """Encodes a target column for the network.

    Classification: the classes are the distinct labels, sorted (numbers by
    value, text alphabetically, False before True); integral floats become
    ints (`1.0` -> `1`). The encoded target is the class index (int32).
    Regression: the encoded target is the value itself (float32); the
    model standardizes it internally with the mean and standard deviation
    kept here.

    Rows with a missing target are refused, not dropped: a label the user
    thinks is there but is not is a data error they want to hear about, and
    dropping rows silently would make row counts and splits differ from the
    file. Remove or fill them first.

    Args:
        y: Target values (list, array or `pandas.Series`; a Series's name
            is kept as the target's name).
        task: `"classification"`, `"regression"`, or `None` to use
            `detect_task`.
        min_rows_per_class: Fewest rows a class may have (2: a stratified
            validation split can put each class on both sides).

    Returns:
        `(y_encoded, TargetInfo)`.

    Raises:
        DataError: for a missing target cell (naming its row), fewer than
            two classes, a class with a single row, or text in a
            regression target.
        ValueError: for an invalid `task`.
    """
    if task is not None and task not in TASKS:
        raise ArgumentError(f"Invalid value for `task`: expected 'classification', 'regression' or None. "
                         f"Received: task={task!r}")
    series = _as_series(y, "target")
    if len(series) == 0:
        raise DataError(f"{_target_name(y)} has no rows.")
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"{_target_name(y)} has a missing value in {_row_hint(row)}. Remove the rows "
                        "without a target, or fill them.")
    task = task or detect_task(series)
    name = None if getattr(y, "name", None) is None else str(y.name)
    if task == "regression":
        info = TargetInfo("regression", name=name)
        values = info.encode(y)
        std = float(values.astype("float64").std())
        info.mean, info.std = float(values.astype("float64").mean()), std if std > 0 else 1.0
        return values, info
    keys = pd.Series([_label_key(v) for v in series.to_numpy(dtype=object)])
    counts = keys.value_counts()
    kinds = {k[0] for k in counts.index}
    if len(kinds) > 1:  # mixed kinds: compare as text
        labels = sorted({_canonical(_python_label(v)) for v in series.to_numpy(dtype=object)})
        series = pd.Series([_canonical(_python_label(v)) for v in series.to_numpy(dtype=object)], name=name)
        keys = pd.Series([_label_key(v) for v in series])
        counts = keys.value_counts()
    else:
        labels = sorted({_python_label(k[1]) for k in counts.index})
    if len(labels) < 2:
        raise DataError(f"{_target_name(y)} holds one class ({labels[0]!r}); classification needs "
                        "at least two.")
    single = [k[1] for k, n in counts.items() if n < min_rows_per_class]
    if single:
        raise DataError(f"{_target_name(y)} has a single row of class {sorted(single, key=str)[0]!r}; every class "
                        "needs at least two rows. Remove that row or merge the class with another.")
    info = TargetInfo("classification", classes=labels, name=name)
    return info.encode(series), info


# ---------------------------------------------------------------------------------------------
# Layers


@keras.saving.register_keras_serializable(package="kerasopt")
class Impute(keras.layers.Layer):
    """Replaces missing (NaN or infinite) values, column by column, with fixed values.

    Args:
        values: One fill value per column of the last axis (e.g. training means).
    """

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs):
        inputs = keras.ops.cast(inputs, self.compute_dtype)
        fill = keras.ops.convert_to_tensor(self.values, dtype=inputs.dtype)
        return keras.ops.where(keras.ops.isfinite(inputs), inputs, fill)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "values": list(self.values)}


@keras.saving.register_keras_serializable(package="kerasopt")
class MissingIndicator(keras.layers.Layer):
    """Returns 1.0 where a value is missing (NaN or infinite), for selected columns.

    Args:
        columns: Indices on the last axis of the columns to report.
    """

    def __init__(self, columns, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, inputs):
        picked = keras.ops.take(inputs, self.columns, axis=-1)
        return keras.ops.cast(keras.ops.logical_not(keras.ops.isfinite(picked)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.columns))

    def get_config(self):
        return {**super().get_config(), "columns": list(self.columns)}


SMOOTH_CLIP_BOUND = 3.0
"""`RobustScaling`'s smooth clipping maps a scaled value `z` to `z / sqrt(1 + (z / 3) ** 2)`, into (-3, 3)."""

_FINITE_BOUND = 1e6  # a scaled value beyond this clips to 3.0 in float32 anyway; the bound keeps (z/3)**2 finite


@keras.saving.register_keras_serializable(package="kerasopt")
class RobustScaling(keras.layers.Layer):
    """Scales each column by fixed statistics, then clips the extremes smoothly.

    For column `j`, `z = (x - center[j]) / scale[j]`; a column in `clip` then
    becomes `z / sqrt(1 + (z / 3) ** 2)`, which is close to `z` near 0 and
    tends to -3 and 3 for extreme values, so a value of `1e30` reaches the
    network as 3.0 instead of overflowing (RealMLP's robust scaling and
    smooth clipping). A column of scale 0 becomes 0. The layer has no
    trainable weights: its statistics are in its config (and in two
    non-trainable variables that hold them, as `Normalization` does).

    Args:
        center: One value per column of the last axis (a numeric column's
            training median, a boolean column's mean).
        scale: One positive value, or 0, per column (the interquartile range
            of `kerasopt.tabular.robust_statistics`, a standard deviation).
        clip: Indices on the last axis of the columns to clip smoothly;
            `None` for all.

    Example:

    >>> layer = RobustScaling(center=[0.0], scale=[1.0])
    >>> [round(float(v), 4) for v in layer(np.array([[0.0], [3.0], [-1e30]], "float32"))[:, 0]]
    [0.0, 2.1213, -3.0]
    """

    def __init__(self, center, scale, clip=None, **kwargs):
        super().__init__(**kwargs)
        self.center = [float(v) for v in center]
        self.scale = [float(v) for v in scale]
        if len(self.center) != len(self.scale) or any(not np.isfinite(v) or v < 0 for v in self.scale):
            raise ArgumentError(f"Invalid value for `scale`: expected one finite value >= 0 per value of `center`. "
                                f"Received: center={center!r}, scale={scale!r}")
        self.clip = list(range(len(self.center))) if clip is None else [int(c) for c in clip]

    def build(self, input_shape):
        # Non-trainable variables, as in keras.layers.Normalization: TensorFlow would rewrite a division
        # by a constant as a multiplication by its reciprocal, which differs in the last bit.
        positive = np.array(self.scale) > 0
        for name, values in (("center_values", self.center), ("divisor", np.where(positive, self.scale, 1.0))):
            setattr(self, name, self.add_weight(name=name, shape=(len(self.center),), trainable=False,
                                                initializer=keras.initializers.Constant(np.asarray(values)),
                                                dtype=self.compute_dtype))

    def call(self, inputs):
        ops = keras.ops
        x = ops.cast(inputs, self.compute_dtype)
        positive = np.array(self.scale) > 0
        big = float(np.finfo(np.float32).max)
        # float32 limits: x - center and the quotient may overflow; clipped, they stay finite
        shifted = ops.clip(x - self.center_values, -big, big)
        z = ops.clip(shifted / self.divisor, -_FINITE_BOUND, _FINITE_BOUND)
        z = ops.where(ops.convert_to_tensor(positive), z, ops.zeros_like(z))
        clipped = z / ops.sqrt(1.0 + ops.square(z / SMOOTH_CLIP_BOUND))
        mask = np.zeros(len(self.center), dtype=bool)
        mask[self.clip] = True
        return ops.where(ops.convert_to_tensor(mask), clipped, z)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": list(self.center), "scale": list(self.scale),
                "clip": list(self.clip)}


@keras.saving.register_keras_serializable(package="kerasopt")
class SoftmaxAUC(keras.metrics.AUC):
    """ROC AUC of a two-class softmax output against integer labels 0/1.

    `keras.metrics.AUC` wants one probability per row; this passes it the
    second column (the probability of class 1).
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.reshape(y_true, (-1, 1))
        return super().update_state(y_true, y_pred[:, 1:2], sample_weight=sample_weight)


def build_preprocessing(schema: Schema, seed: int | None = None, embed: bool = True):
    """Returns the Keras inputs of a schema and the encoded feature tensor.

    Numeric and boolean columns are concatenated, imputed (`Impute`) and
    scaled (`RobustScaling`, which keeps extreme values such as 1e30
    finite): with the schema's `scaling` `"standard"`, each is imputed with
    its training mean and standardized by its mean and standard deviation;
    with `"robust"`, a numeric column is imputed with its training median,
    scaled by its median and interquartile range and smoothly clipped into
    (-3, 3), a boolean column standardized as before. They are followed by
    a 0/1 missing indicator
    (`MissingIndicator`) for each column that had gaps in training. Each
    categorical column goes through a `StringLookup` with one
    out-of-vocabulary bucket (a category first seen after training), then
    one-hot (at most `ONE_HOT_MAX` categories) or an `Embedding` of
    `embedding_dim(n)` dimensions.

    Args:
        schema: A `Schema` from `infer_schema`.
        seed: Seed of the embedding initializers.
        embed: Whether columns of more than `ONE_HOT_MAX` categories get
            their `Embedding`; `False` one-hot encodes them too, for a model
            that embeds them itself (`embedding_blocks` says where they are;
            stacked training gives each member its own embedding). Without
            embeddings the preprocessing has no trainable weights.

    Returns:
        `(inputs, encoded)`: a dict `{column key: keras.Input}` and the
        float tensor of shape `(batch, width)`.
    """
    layers = keras.layers
    inputs, parts = {}, []
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    for col in schema.features:
        dtype = "string" if col.kind == "categorical" else "float32"
        inputs[col.key] = keras.Input(shape=(1,), dtype=dtype, name=col.key)
    if numbers:
        stacked = [inputs[c.key] for c in numbers]
        x = stacked[0] if len(stacked) == 1 else layers.Concatenate(name="tabular_numeric")(stacked)
        parts.append(_scale_numbers(numbers, x, schema.scaling))
        gaps = [i for i, c in enumerate(numbers) if c.has_gaps]
        if gaps:
            parts.append(MissingIndicator(gaps, name="tabular_missing")(x))
    for j, col in enumerate(c for c in schema.features if c.kind == "categorical"):
        n = len(col.vocabulary)
        if n <= ONE_HOT_MAX or not embed:
            parts.append(layers.StringLookup(vocabulary=col.vocabulary, num_oov_indices=1, oov_token=_OOV,
                                             output_mode="one_hot", name=f"tabular_lookup_{j}")(inputs[col.key]))
        else:
            index = layers.StringLookup(vocabulary=col.vocabulary, num_oov_indices=1, oov_token=_OOV,
                                        name=f"tabular_lookup_{j}")(inputs[col.key])
            vectors = layers.Embedding(n + 1, embedding_dim(n), embeddings_initializer=embedding_initializer(seed, j),
                                       name=f"tabular_embedding_{j}")(index)
            parts.append(layers.Flatten(name=f"tabular_flatten_{j}")(vectors))
    encoded = parts[0] if len(parts) == 1 else layers.Concatenate(name="tabular_features")(parts)
    return inputs, encoded


def _standard_divisor(std: float) -> float:
    """The divisor of a standardized column, as `keras.layers.Normalization(variance=std ** 2)` computes it
    in float32 (so standardized runs keep their figures to the last bit), or `std` where `std ** 2` overflows."""
    with np.errstate(over="ignore"):
        divisor = np.sqrt(np.float32(std ** 2))
    return float(max(divisor, np.float32(keras.config.epsilon()))) if np.isfinite(divisor) else float(std)


def _scale_numbers(numbers: list[Column], x, scaling: str):
    """Imputes and scales the numeric block (see `build_preprocessing`)."""
    robust = [scaling == "robust" and c.kind == "numeric" and c.median is not None for c in numbers]
    fill = [c.median if r else c.mean for c, r in zip(numbers, robust)]
    filled = Impute(fill, name="tabular_impute")(x)
    return RobustScaling(center=fill, scale=[c.spread if r else _standard_divisor(c.std)
                                             for c, r in zip(numbers, robust)],
                         clip=[i for i, r in enumerate(robust) if r], name="tabular_scale")(filled)


def embedding_blocks(schema: Schema) -> list[tuple[int, int, int, int]]:
    """Where `build_preprocessing(schema, embed=False)` puts the columns that `build_preprocessing(schema)` embeds.

    Returns:
        One `(start, width, dim, index)` per embedded column: the position
        and width (categories + 1 out-of-vocabulary slot) of its one-hot
        block in the encoded features, its `embedding_dim`, and its index
        among the categorical columns (which seeds its initializer).
    """
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    position = len(numbers) + sum(c.has_gaps for c in numbers)
    blocks = []
    for j, col in enumerate(c for c in schema.features if c.kind == "categorical"):
        n = len(col.vocabulary)
        if n > ONE_HOT_MAX:
            blocks.append((position, n + 1, embedding_dim(n), j))
        position += n + 1
    return blocks


def encoded_width(schema: Schema) -> int:
    """Width of `build_preprocessing(schema, embed=False)`'s encoded features."""
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    return (len(numbers) + sum(c.has_gaps for c in numbers)
            + sum(len(c.vocabulary) + 1 for c in schema.features if c.kind == "categorical"))


def embedding_initializer(seed: int | None, index: int) -> keras.initializers.Initializer:
    """The initializer of the embedding of categorical column `index` in a model seeded `seed`."""
    return keras.initializers.RandomUniform(-0.05, 0.05, seed=None if seed is None else seed + 2000 + index)


def restore_target(outputs, target: TargetInfo):
    """Maps a standardized regression output back to the target's scale (`Rescaling(std, offset=mean)`)."""
    return keras.layers.Rescaling(target.std, offset=target.mean, name="tabular_restore_target")(outputs)


# ---------------------------------------------------------------------------------------------
# Model


def _needs_conversion(x) -> bool:
    if isinstance(x, pd.DataFrame):
        return True
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    if isinstance(x, Mapping):
        return any(isinstance(v, (pd.Series, list, tuple, np.ndarray)) for v in x.values())
    return False


@keras.saving.register_keras_serializable(package="kerasopt")
class TabularModel(keras.Model):
    """A Functional model over named table columns that carries its `Schema` and `TargetInfo`.

    Its inputs are keyed by the column names. `predict`, `evaluate`, `fit`
    and calling the model accept a `pandas.DataFrame`, a dict of named
    columns (strings, NaN) or a 2-D array in the schema's column order, and
    convert them with `schema.to_inputs`. The schema and the target info
    are part of the model's config, so a saved `.keras` file loads with
    both (`keras.saving.load_model`) and still speaks the original labels.
    Targets given to `fit`, `evaluate` and `kerasopt.train` are the original
    labels (the values of `classes`: strings, 1..K, booleans...) or, for
    regression, the raw target values; the model encodes them
    (`convert_targets`). Only a model without a target (built with
    `num_classes`) takes class indices.

    Built by `kerasopt.build_model` from a DataFrame or a `Schema`.

    Attributes:
        schema: The `Schema` of the inputs.
        target: The `TargetInfo` of the output.
        classes: The class labels (original values), or `None` for regression.
    """

    def __init__(self, *args, schema=None, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema if isinstance(schema, Schema) or schema is None else Schema.from_config(schema)
        self.target = target if isinstance(target, TargetInfo) or target is None else TargetInfo.from_config(target)
        self._converted = False

    @property
    def classes(self) -> list | None:
        return None if self.target is None else self.target.classes

    def get_config(self):
        config = super().get_config()
        config["schema"] = None if self.schema is None else self.schema.get_config()
        config["target"] = None if self.target is None else self.target.get_config()
        return config

    def convert_inputs(self, x, notes: list[str] | None = None):
        """Returns `schema.to_inputs(x)` for raw rows; datasets and tensors pass unchanged."""
        if self.schema is not None and not self._converted and _needs_conversion(x):
            return self.schema.to_inputs(x, notes=notes)
        return x

    def convert_targets(self, y):
        """Returns `target.encode(y)`: class indices for original labels, float32 for regression values.

        `y` passes unchanged without a target, when it is `None`, a dataset
        or a tensor, and inside `converted()`.
        """
        if self.target is None or self._converted or y is None \
                or not isinstance(y, (pd.Series, np.ndarray, list, tuple)):
            return y
        try:
            return self.target.encode(y)
        except DataError as e:
            if "not one of the classes" not in str(e):
                raise
            raise DataError(f"{e} The model takes its original labels, not class indices.") from None

    @contextlib.contextmanager
    def converted(self):
        """A context in which `fit`, `evaluate` and `predict` take data already converted (the output of
        `convert_inputs` and `convert_targets`) and convert nothing again.

        `fit` uses it for Keras's own validation pass, and `kerasopt.train`
        for data it converted once.
        """
        previous, self._converted = self._converted, True
        try:
            yield self
        finally:
            self._converted = previous

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(self.convert_inputs(inputs), *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        return super().predict(self.convert_inputs(x), *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(self.convert_inputs(x), self.convert_targets(y), *args, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        validation = kwargs.get("validation_data")
        if isinstance(validation, tuple) and validation:
            kwargs["validation_data"] = (self.convert_inputs(validation[0]),
                                         *(self.convert_targets(v) if i == 0 else v
                                           for i, v in enumerate(validation[1:])))
        x, y = self.convert_inputs(x), self.convert_targets(y)
        with self.converted():
            return super().fit(x, y, *args, **kwargs)

    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities, one column per class in the order of `classes`."""
        if self.classes is None:
            raise ArgumentError("predict_proba needs a classifier; this model is a regression model.")
        return np.asarray(self.predict(x, batch_size=batch_size, verbose=0))

    def predict_labels(self, x, batch_size: int = 1024) -> np.ndarray:
        """Predicted labels in their original values, or restored values for regression."""
        outputs = np.asarray(self.predict(x, batch_size=batch_size, verbose=0))
        if self.target is None:
            return outputs.argmax(axis=-1) if outputs.shape[-1] > 1 else outputs[:, 0]
        return self.target.decode(outputs)


def is_tabular_input(inputs) -> bool:
    """Whether `build_model` should build a `TabularModel` for `inputs` (a DataFrame, dict or Schema)."""
    return isinstance(inputs, (pd.DataFrame, Schema, Mapping))


def regression_compile_defaults(target: TargetInfo | None):
    """Loss weight and metrics of a regression model whose output is on the target's scale.

    The squared error is divided by the target's training variance, so the
    loss is that of a standardized target and the weight penalties keep the
    strength they have on any other table. The metrics report the data
    loss in the target's units, `mse`, which the `loss` (scaled, with every
    weight penalty added) is not.
    """
    var = 1.0 if target is None or not target.std else float(target.std) ** 2
    metrics = [keras.metrics.MeanSquaredError(name="mse"), keras.metrics.RootMeanSquaredError(name="rmse"),
               keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.R2Score(name="r2")]
    return 1.0 / var, metrics


def classification_metrics(num_classes: int) -> list:
    """`accuracy`, `log_loss` (the cross-entropy without the weight penalties that `loss` adds),
    plus `auc` (`SoftmaxAUC`) for two classes."""
    log_loss = keras.metrics.SparseCategoricalCrossentropy(name="log_loss")
    return ["accuracy", log_loss, SoftmaxAUC(name="auc")] if num_classes == 2 else ["accuracy", log_loss]

"""Feature columns: their typing, their training statistics, and raw rows as model inputs.

`infer_schema` types each feature column of the training rows (numeric,
boolean or categorical), drops the columns that carry no signal with a note,
and keeps the training statistics in a `Schema`; `Schema.to_inputs` turns raw
rows (numbers, strings and gaps) into the inputs of the model that
`kerasopt.tabular.build_preprocessing` builds from the schema. No Keras here:
the command line's input checks may use this module before TensorFlow loads.

Example:

>>> frame = pd.DataFrame({"size": [1.0, None, 3.0, 4.0], "color": ["red", "blue", None, "red"]})
>>> schema = infer_schema(frame)
>>> [(c.name, c.kind) for c in schema.features]
[('size', 'numeric'), ('color', 'categorical')]
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError, DataError
from kerasopt.budget import numeric_bins_for
from kerasopt.spec import NUMERIC_EMBEDDING, NUMERIC_EMBEDDINGS, NUMERIC_SCALING, NUMERIC_SCALINGS
from kerasopt.tabular.cells import as_series, canonical, row_hint, split_cells

__all__ = ["MISSING", "ONE_HOT_MAX", "MIN_CATEGORY_COUNT", "NUMERIC_SCALINGS", "NUMERIC_EMBEDDINGS", "Column",
           "Schema", "infer_schema", "robust_statistics", "bin_edges", "check_names"]

MISSING = "[missing]"
"""The category that a missing categorical cell becomes (its own category when training had gaps)."""

ONE_HOT_MAX = 16
"""A categorical column with at most this many categories (the missing category included) is
one-hot encoded (plus one out-of-vocabulary slot); one with more gets an `Embedding` of
`embedding_dim(n)` dimensions, which keeps the first Dense layer small for many categories."""

MIN_CATEGORY_COUNT = 2
"""A category seen fewer times than this in the training rows joins the out-of-vocabulary bucket
with the categories first seen after training: a value seen once (a car's model name, a free-text
note) teaches the network nothing that carries over to new rows, but gives it a column to memorize."""


def _is_bool_column(column: pd.Series, numbers: np.ndarray, values: np.ndarray) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return True
    present = values[numbers]
    return present.size > 0 and bool(np.isin(present, (0.0, 1.0)).all())


@dataclass
class Column:
    """One feature column of a `Schema`.

    Attributes:
        name: The column name in the data.
        kind: `"numeric"`, `"boolean"` or `"categorical"`.
        key: The name of the model input (the column name when it is a free layer name).
        has_gaps: Whether the training rows had missing cells.
        mean, std: Training mean and standard deviation (std 1 when constant).
        median, spread: A numeric column's `robust_statistics`.
        vocabulary: Categories, most frequent first (`MISSING` when training had gaps).
        coerce: Whether text cells of a numeric column read as missing (declared numeric).
        edges: A numeric column's `bin_edges` for the piecewise-linear encoding (`None`: not encoded).
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
    edges: list[float] | None = None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "key": self.key, "has_gaps": self.has_gaps,
                "mean": self.mean, "std": self.std, "vocabulary": self.vocabulary, "coerce": self.coerce,
                "median": self.median, "spread": self.spread,
                "edges": None if self.edges is None else list(self.edges)}


@dataclass
class Schema:
    """The typed feature columns of a table, learned from training rows by `infer_schema`.

    Attributes:
        input_names: Every column of the training frame, dropped ones included (the column order of
            a positional array).
        features: The kept columns (`Column`), in order.
        dropped: Names of the dropped columns.
        notes: One line per dropped column and per column read in a way worth knowing.
        scaling: How the model scales numeric columns: `"standard"` or `"robust"`.
        numeric_bins: The most quantile bins of a numeric column's piecewise-linear encoding (0: none).
        numeric_embedding: The learned embedding of numeric columns: `"none"` or `"periodic"`
            (`kerasopt.tabular.PeriodicEmbedding`, in the network).
    """

    input_names: list[str]
    features: list[Column]
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scaling: str = "standard"
    numeric_bins: int = 0
    numeric_embedding: str = "none"

    @property
    def names(self) -> list[str]:
        """Names of the kept feature columns, in order."""
        return [c.name for c in self.features]

    def get_config(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict; `Schema.from_config` rebuilds the schema."""
        return {"input_names": list(self.input_names), "features": [c.get_config() for c in self.features],
                "dropped": list(self.dropped), "notes": list(self.notes), "scaling": self.scaling,
                "numeric_bins": self.numeric_bins, "numeric_embedding": self.numeric_embedding}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Schema:
        return cls(input_names=list(config["input_names"]),
                   features=[Column(**c) for c in config["features"]],
                   dropped=list(config.get("dropped", [])), notes=list(config.get("notes", [])),
                   scaling=config.get("scaling", "standard"), numeric_bins=config.get("numeric_bins", 0),
                   numeric_embedding=config.get("numeric_embedding", "none"))

    def to_inputs(self, x, notes: list[str] | None = None) -> dict[str, np.ndarray]:
        """Converts raw rows to the model's inputs.

        Columns are matched by name (a 2-D array by position); unused ones are ignored. Text in a
        numeric or boolean column and infinite values read as missing, with a note.

        Args:
            x: A `pandas.DataFrame`, a dict of named columns (lists, arrays,
                Series), or a 2-D array.
            notes: Optional list that receives a line about ignored columns.

        Returns:
            `{column key: 1-D array}`: float32 (NaN kept) for numeric and boolean columns, an
            object array of strings (gaps as `MISSING`) for categorical ones.

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
            notes.extend(_issue_notes(issues, "median (a 0/1 column's mean)" if self.scaling == "robust" else "mean"))
        return out

    def _columns(self, x) -> dict[str, Any]:
        if isinstance(x, pd.DataFrame):
            columns = {str(name): x.iloc[:, i] for i, name in enumerate(x.columns)}
        elif isinstance(x, Mapping):
            columns = {str(k): v for k, v in x.items()}
            by_key = {c.key: c.name for c in self.features}
            columns = {by_key.get(k, k) if k not in self.names else k: v for k, v in columns.items()}
        else:
            array = _two_dimensional(x)
            if array.shape[1] != len(self.input_names):
                raise DataError(f"Expected {len(self.input_names)} columns ({', '.join(self.input_names)}); "
                                f"received an array with {array.shape[1]}.")
            columns = {name: array[:, i] for i, name in enumerate(self.input_names)}
        missing = [name for name in self.names if name not in columns]
        if missing:
            unknown = [name for name in columns if name not in self.input_names]
            raise DataError(f"Missing feature column(s): {', '.join(missing)}.{check.suggest(missing[0], unknown)} "
                            f"The model needs: {', '.join(self.names)}.")
        lengths = {len(columns[name]) for name in self.names}
        if len(lengths) > 1:
            raise DataError(f"Feature columns have different lengths: {sorted(lengths)}.")
        return columns


def _issue_notes(issues: dict[str, dict[str, tuple[int, Any]]], fill: str) -> list[str]:
    """One note per kind of cell read as missing: the columns, how many cells, an example; `fill` names the
    training statistic that fills a gap."""
    notes = []
    if issues["text"]:
        count = sum(n for n, _ in issues["text"].values())
        where = ", ".join(f"{name!r} {n} (e.g. {example!r})" for name, (n, example) in issues["text"].items())
        notes.append(f"Read {count} cell(s) that are not numbers as missing (the model fills them with the "
                     f"training {fill}), by numeric column: {where}.")
    if issues["infinite"]:
        count = sum(n for n, _ in issues["infinite"].values())
        where = ", ".join(f"{name!r} {n}" for name, (n, _) in issues["infinite"].items())
        notes.append(f"Read {count} infinite value(s) as missing (the model fills them with the training "
                     f"{fill}), by column: {where}.")
    return notes


def _infinite_as_missing(col: Column, values: np.ndarray, issues) -> np.ndarray:
    """`values` (float64) with infinite cells set to NaN, counted in `issues`."""
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
        issues["infinite"][col.name] = (int(infinite.sum()), None)
    return values


def _encode_cells(col: Column, values, issues) -> np.ndarray:
    series = as_series(values, col.name)
    if col.kind == "categorical":
        cells = series.to_numpy(dtype=object)
        if all(isinstance(v, str) for v in cells):
            return cells
        missing = series.isna().to_numpy()
        return np.array([MISSING if m else canonical(v) for v, m in zip(cells, missing)], dtype=object)
    if series.dtype.kind == "f":
        return _infinite_as_missing(col, series.to_numpy(dtype="float64"), issues).astype("float32")
    missing, numbers, text, values = split_cells(series)
    if text.any():
        if col.kind == "boolean":
            lowered = series[text].astype(str).str.strip().str.lower()
            mapping = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}
            mapped = lowered.map(mapping).to_numpy(dtype="float64")
            values[text] = mapped
            text = text.copy()
            text[text] = np.isnan(mapped)
        if text.any():  # read as missing: to_numeric made them NaN
            issues["text"][col.name] = (int(text.sum()), series.iloc[int(np.flatnonzero(text)[0])])
    return _infinite_as_missing(col, values, issues).astype("float32")


def check_names(argument: str, names: Sequence[str], available: list[str]) -> list[str]:
    """Returns `names` (one or a list) as a list of strings; `DataError` for a name not in `available`.

    `argument` is the argument or config key that declares them (`categorical`, `numeric`, `drop`).
    """
    return check.known_columns(f"`{argument}` column(s)", names, available)


_RESERVED = re.compile(r"^(dense|batch_norm|activation|dropout)_\d+$|^output$|^features$|^tabular_")


def _input_key(name: str, taken: set[str]) -> str:
    key = re.sub(r"[/:]", "_", name) or "column"
    while key in taken or _RESERVED.match(key):
        key = f"{key}_input"
    taken.add(key)
    return key


def infer_schema(frame, *, categorical: Sequence[str] = (), numeric: Sequence[str] = (),
                 drop: Sequence[str] = (), scaling: str = NUMERIC_SCALING, numeric_bins: int | None = None,
                 numeric_embedding: str = NUMERIC_EMBEDDING) -> Schema:
    """Types the feature columns of training rows and learns their statistics.

    The typing and dropping rules are in docs/preprocessing.md ("Column
    types"); dropped columns and surprising reads get a line in `notes`.

    Args:
        frame: Training feature rows (no target): a `DataFrame`, a dict of
            columns, or a 2-D array (columns `x0`, `x1`, ...).
        categorical: Column names to treat as categorical.
        numeric: Column names to treat as numeric.
        drop: Column names to leave out.
        scaling: How the model scales numeric columns: `"standard"` or
            `"robust"` (see `build_preprocessing`).
        numeric_bins: When > 0, each numeric column also gets the `bin_edges`
            of up to this many quantile bins, for the piecewise-linear encoding
            of `build_preprocessing`; `None`: `kerasopt.budget.numeric_bins_for`
            the rows of `frame` (16, or 48 above 4,096 rows).
        numeric_embedding: `"periodic"`: the network embeds each numeric
            column (`kerasopt.tabular.PeriodicEmbedding`); `"none"`: not.

    Returns:
        A `Schema`.

    Raises:
        DataError: for an unknown name in `categorical`, `numeric` or `drop`,
            a name in two of them, a column mixing numbers and text, no rows,
            or no usable column left.
    """
    frame, names = _checked_frame(frame, scaling)
    if numeric_embedding not in NUMERIC_EMBEDDINGS:
        raise ArgumentError(f"Invalid value for `numeric_embedding`: expected one of {', '.join(NUMERIC_EMBEDDINGS)}. "
                            f"Received: numeric_embedding={numeric_embedding!r}")
    numeric_bins = (numeric_bins_for(len(frame)) if numeric_bins is None
                    else check.non_negative_int("numeric_bins", numeric_bins))
    categorical, numeric, drop = _declared(names, categorical, numeric, drop)
    features, dropped, notes = _type_columns(frame, names, categorical, numeric, drop, numeric_bins)
    if not features:
        raise DataError("No usable feature column: every column was dropped "
                        f"({'; '.join(n.rstrip('.') for n in notes) or 'all declared in drop'}).")
    return Schema(input_names=names, features=features, dropped=dropped, notes=notes, scaling=scaling,
                  numeric_bins=numeric_bins, numeric_embedding=numeric_embedding)


def _checked_frame(frame, scaling: str) -> tuple[pd.DataFrame, list[str]]:
    """The training rows as a DataFrame and their column names, after the checks of `infer_schema`."""
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
    return frame, names


def _declared(names: list[str], categorical, numeric, drop) -> tuple[list[str], list[str], list[str]]:
    """The declared `categorical`, `numeric` and `drop` names, checked against `names` and each other."""
    categorical = check_names("categorical", categorical, names)
    numeric = check_names("numeric", numeric, names)
    drop = check_names("drop", drop, names)
    both = sorted((set(categorical) & set(numeric)) | (set(drop) & (set(categorical) | set(numeric))))
    if both:
        raise DataError(f"Column(s) declared twice among categorical, numeric and drop: {', '.join(both)}.")
    return categorical, numeric, drop


def _type_columns(frame: pd.DataFrame, names: list[str], categorical: list[str], numeric: list[str],
                  drop: list[str], bins: int) -> tuple[list[Column], list[str], list[str]]:
    """`(features, dropped, notes)`: the kept `Column`s, the dropped names and the notes, in column order."""
    features, dropped, notes, taken = [], list(drop), [], set()
    for i, name in enumerate(names):
        if name in drop:
            continue
        typed = _type_column(name, frame.iloc[:, i].reset_index(drop=True), name in categorical, name in numeric,
                             taken, notes, bins)
        if isinstance(typed, Column):
            features.append(typed)
        else:
            dropped.append(name)
            notes.append(f"Dropped column {name!r}: {typed}.")
    return features, dropped, notes


def _type_column(name: str, column: pd.Series, categorical: bool, numeric: bool, taken: set[str],
                 notes: list[str], bins: int) -> Column | str:
    """The `Column` of one training column (appending its notes), or the reason it is dropped."""
    missing, numbers, text, values = split_cells(column)
    if missing.all():
        return "all cells are missing"
    if categorical or (text.any() and not numeric
                       and (not numbers.any() or _reads_as_categories(name, column, numbers, text, values))):
        typed = _categorical(name, column, missing, taken)
        if isinstance(typed, Column) and numbers.any() and text.any() and not categorical:
            notes.append(_mixed_note(name, column))
        return typed
    return _numeric(name, column, values, numeric, taken, notes, bins)


def _numeric(name: str, column: pd.Series, values: np.ndarray, declared: bool, taken: set[str],
             notes: list[str], bins: int) -> Column | str:
    """The numeric or boolean `Column` of a training column, or the reason it carries no signal."""
    with np.errstate(over="ignore"):  # the model reads float32: a value beyond its range is a gap
        gaps = ~np.isfinite(values.astype("float32"))  # declared numeric: text cells count as gaps
    present = values[~gaps]
    if present.size == 0:
        return "all cells are missing"
    reason = _no_signal(present, gaps, text=False)
    if reason is not None:
        return reason
    kind = "boolean" if not declared and _is_bool_column(column, ~gaps, values) else "numeric"
    std = float(present.std())
    median, spread = robust_statistics(present) if kind == "numeric" else (None, None)
    typed = Column(name, kind, _input_key(name, taken), has_gaps=bool(gaps.any()), mean=float(present.mean()),
                   std=std if std > 0 else 1.0, coerce=declared, median=median, spread=spread,
                   edges=bin_edges(present, bins) if kind == "numeric" and bins > 0 else None)
    if np.isinf(values).any():
        notes.append(f"Column {name!r}: read {int(np.isinf(values).sum())} infinite value(s) as missing.")
    return typed


def robust_statistics(values) -> tuple[float, float]:
    """The center and scale of `RobustScaling` for a numeric column: median and robust spread.

    The spread is the interquartile range; when that is 0, half the range
    (max - min) / 2, which may be 0 too.

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


def bin_edges(values, bins: int) -> list[float] | None:
    """The edges of up to `bins` quantile bins of a numeric column, for `PiecewiseLinearEncoding`.

    The distinct values of `np.quantile(values, np.linspace(0, 1, bins + 1))`
    as float32 (the precision of the model), so a column whose quantiles
    repeat (many equal values) gets fewer bins.

    Args:
        values: The column's present (finite) values.
        bins: The most bins, >= 1.

    Returns:
        The increasing edges as Python floats, or `None` when fewer than 2 are distinct.

    Example:

    >>> bin_edges([0.0, 1.0, 2.0, 3.0, 4.0], 2)
    [0.0, 2.0, 4.0]
    >>> bin_edges([1.0, 1.0, 5.0], 4)
    [1.0, 3.0, 5.0]
    """
    quantiles = np.quantile(np.asarray(values, dtype="float64"), np.linspace(0.0, 1.0, int(bins) + 1))
    edges = np.unique(quantiles.astype("float32"))
    return [float(e) for e in edges] if len(edges) >= 2 else None


def _mixed_note(name: str, column: pd.Series) -> str:
    shown = pd.unique(pd.Series([canonical(v) for v in column.dropna()], dtype=object))
    listed = ", ".join(map(str, shown[:4])) + (", ..." if len(shown) > 4 else "")
    return (f"Column {name!r} mixes numbers and text ({listed}): read as categorical "
            f"(--numeric {shlex.quote(name)} reads its text cells as missing instead).")


def _reads_as_categories(name: str, column: pd.Series, numbers: np.ndarray, text: np.ndarray,
                         values: np.ndarray) -> bool:
    """Whether an undeclared column of numbers and text reads as categories; `DataError` if it looks numeric."""
    texts = pd.unique(column[text].astype(str))
    distinct_numbers = np.unique(values[numbers])
    quoted = shlex.quote(name)
    if text.sum() >= numbers.sum() or (len(texts) + len(distinct_numbers) <= ONE_HOT_MAX
                                       and len(texts) >= len(distinct_numbers)):
        return True
    row = int(np.flatnonzero(text)[0])
    raise DataError(f"Column {name!r} mixes numbers and text, e.g. {column.iloc[row]!r} in {row_hint(row)} "
                    f"({int(text.sum())} of {int(text.sum() + numbers.sum())} cells are text). Declare it: "
                    f"--numeric {quoted} reads its text cells as missing, --categorical {quoted} reads every "
                    "value as a category (argument or config key `numeric` / `categorical`).")


def _categorical(name: str, column: pd.Series, missing: np.ndarray, taken: set[str]) -> Column | str:
    """The categorical `Column` of a training column, or the reason it carries no signal."""
    cells = np.array([MISSING if m else canonical(v) for v, m in zip(column.to_numpy(dtype=object), missing)],
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
        value = repr(distinct[0]) if text else canonical(distinct[0])
        return f"constant ({value})"
    n = len(gaps)
    if n >= 3 and not gaps.any() and len(distinct) == n:
        if text:
            return "a different value in every row (an identifier)"
        if np.all(present == np.round(present)):
            ordered = np.sort(present)
            if np.all(np.diff(ordered) == 1):
                return (f"consecutive integers {canonical(ordered[0])}..{canonical(ordered[-1])}, "
                        "one per row (an identifier)")
    return None


def _as_frame(frame) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, Mapping):
        return pd.DataFrame({str(k): as_series(v, str(k)) for k, v in frame.items()})
    array = _two_dimensional(frame)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _two_dimensional(x) -> np.ndarray:
    """Rows that are neither a DataFrame nor a dict of columns, as a 2-D array."""
    array = np.asarray(x)
    if array.ndim != 2:
        raise DataError("Expected a DataFrame, a dict of named columns or a 2-D array; received an array of "
                        f"shape {array.shape}.")
    return array

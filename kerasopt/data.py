"""Tabular data: load and validate a CSV, split it, and the embedded phone data.

The phone data set has 20 numeric feature columns (`PHONE_FEATURES`) and a
4-class target `price_range`. `make_phone_data` generates rows like it, so the
main command runs on a machine that has no data file.
"""

from __future__ import annotations

import collections
import csv
import io
import math
import os
import re
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError, DataError
from kerasopt.spec import DEMO_TARGET
from kerasopt.tabular.cells import row_hint

__all__ = [
    "PHONE_FEATURES",
    "PHONE_TARGET",
    "Splits",
    "check_target",
    "load_csv",
    "make_phone_data",
    "to_arrays",
    "split",
    "split_rows",
    "holdout_rows",
    "kfold_rows",
    "can_stratify",
]

PHONE_TARGET = DEMO_TARGET
PHONE_FEATURES = [
    "battery_power", "blue", "clock_speed", "dual_sim", "fc", "four_g", "int_memory",
    "m_dep", "mobile_wt", "n_cores", "pc", "px_height", "px_width", "ram", "sc_h",
    "sc_w", "talk_time", "three_g", "touch_screen", "wifi",
]


_DELIMITERS = ",;\t"
_COMMA_NUMBER = re.compile(r"[-+]?\d+,\d+")
_POINT_NUMBER = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?")


class Splits(NamedTuple):
    """Arrays of a stratified train / validation / test split (empty when unused)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _sniff_delimiter(text: str) -> str:
    """Returns the delimiter of a CSV text: comma, semicolon or tab (comma when unsure)."""
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _decimal_comma(text: str, delimiter: str) -> bool:
    """Whether a semicolon file writes its decimals with a comma (`1,5`), as spreadsheets do in
    locales where the comma is the decimal mark: some cell is `digits,digits` and none `digits.digits`."""
    if delimiter != ";":
        return False
    sample = "\n".join(text.splitlines()[1:200])
    cells = [c.strip().strip('"') for c in re.split(r"[;\n]", sample)]
    return any(_COMMA_NUMBER.fullmatch(c) for c in cells) and not any(_POINT_NUMBER.fullmatch(c) for c in cells)


def load_csv(path: str | os.PathLike, encoding: str | None = None) -> pd.DataFrame:
    """Reads a CSV file into a DataFrame with clear errors.

    The delimiter (comma, semicolon or tab) is sniffed; a semicolon file whose numbers are all
    written `1,5` reads them as 1.5 (docs/cli.md).

    Args:
        path: Path of a delimited text file with a header row.
        encoding: Text encoding (e.g. `"latin-1"`); `None` for UTF-8 with or without BOM.

    Returns:
        The `pandas.DataFrame`.

    Raises:
        DataError: if the file is missing, unreadable, not UTF-8 (or not in
            `encoding`), empty, has no rows or repeats a column name.
        ArgumentError: for an unknown `encoding`.
    """
    path = os.fspath(path)
    text = _read_text(path, encoding)
    if not text.strip():
        raise DataError(f"Data file is empty: {path}. It needs a header row and data rows.")
    delimiter = _sniff_delimiter(text)
    header = [c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=delimiter))]
    repeated = [c for c, n in collections.Counter(header).items() if n > 1]
    if repeated:
        raise DataError(f"Data file {path} has duplicate column names: {', '.join(map(repr, repeated))}. "
                        "Give every column its own name.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True,
                            decimal="," if _decimal_comma(text, delimiter) else ".")
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file is empty: {path}. It needs a header row and data rows.") from None
    except pd.errors.ParserError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Data file {path} is not a readable CSV file: {first}") from None
    if frame.empty:
        raise DataError(f"Data file has a header but no data rows: {path}.")
    return frame


def _read_text(path: str, encoding: str | None) -> str:
    """The text of the file at `path`, decoded with `encoding` (`None`: UTF-8 with or without BOM)."""
    if not os.path.exists(path):
        raise DataError(f"Data file not found: {path}. Pass the path of an existing CSV file.")
    if os.path.isdir(path):
        raise DataError(f"Data path is a directory, not a CSV file: {path}.")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig" if encoding is None else encoding)
    except LookupError:
        raise ArgumentError(f"Invalid value for `encoding`: expected a text encoding known to Python, e.g. "
                            f"utf-8, latin-1 or cp1252. Received: encoding={encoding!r}") from None
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        hint = (f"{encoding} text. Pass the file's encoding with --encoding." if encoding is not None else
                "UTF-8 text. Pass its encoding, e.g. --encoding latin-1 (or cp1252) for a file exported from a "
                "spreadsheet, or save it as UTF-8.")
        raise DataError(f"Data file {path} is not a readable CSV file: byte 0x{raw[e.start]:02x} on line {line} "
                        f"is not {hint}") from None
    return text if encoding is None else text.removeprefix("\ufeff")


def check_target(target: str, columns, drop=()) -> list[str]:
    """Checks that `target` is one of a table's columns and that another column is left for the features.

    Args:
        target: The label column's name.
        columns: The table's column names.
        drop: Names of columns that are not features either.

    Returns:
        The column names as strings.

    Raises:
        DataError: naming the available columns (and the closest one) when `target` is not there, or
            when no column besides it (and `drop`) is left.
    """
    columns = [str(c) for c in columns]
    check.known_columns("Target column", target, columns, fix="Choose one with --target.")
    if not [c for c in columns if c != target and c not in drop]:
        raise DataError("No feature columns: the data needs at least one column besides the target.")
    return columns


def _feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The feature columns as a float32 matrix; `DataError` on a non-numeric, missing or infinite cell."""
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            numeric = pd.to_numeric(column, errors="coerce")
            bad = numeric.isna() & column.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"Column {name!r} has a non-numeric value {column.iloc[row]!r} in "
                                f"{row_hint(row)}. Fix or remove that row.")
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
    finite = np.isfinite(values)
    if not finite.all():
        row, col = (int(i[0]) for i in np.nonzero(~finite))
        kind = "a missing (NaN)" if np.isnan(values[row, col]) else "an infinite"
        raise DataError(f"Column {frame.columns[col]!r} has {kind} value in {row_hint(row)}. "
                        "Fill or remove rows with missing values.")
    return values.astype("float32")


def to_arrays(frame: pd.DataFrame, target: str = PHONE_TARGET,
              drop: tuple[str, ...] = ("id",)) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validates a labelled frame and returns `(x, y, feature_columns)`.

    Args:
        frame: Data with the feature columns and the target column.
        target: Name of the label column; labels must be integers 0..K-1 with
            at least two classes.
        drop: Columns to drop when present (identifiers, not features).

    Returns:
        `x` as float32 `(rows, features)`, `y` as int32 `(rows,)`, and the
        feature column names in order.

    Raises:
        DataError: if the target is missing or the cells or labels are invalid.
    """
    columns = check_target(target, frame.columns, drop)
    features = frame.drop(columns=[target] + [c for c in drop if c in columns and c != target])
    x = _feature_matrix(features)
    labels = frame[target]
    numeric = pd.to_numeric(labels, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"Target column {target!r} has a missing or non-numeric label "
                        f"{labels.iloc[row]!r} in {row_hint(row)}.")
    values = numeric.to_numpy(dtype="float64")
    classes = np.unique(values)
    if len(classes) < 2:
        raise DataError(f"Target column {target!r} holds a single class ({classes[0]:g}); "
                        "classification needs at least two.")
    if not np.all(classes == np.round(classes)) or classes.min() < 0 or classes.max() != len(classes) - 1:
        raise DataError(f"Labels in {target!r} must be the integers 0..K-1 with every class present. "
                        f"Found: {', '.join(format(c, 'g') for c in classes[:10])}"
                        f"{' ...' if len(classes) > 10 else ''}.")
    return x, values.astype("int32"), [str(c) for c in features.columns]


def split_rows(y, validation_size: float = 0.2, test_size: float = 0.2, seed: int | None = 0,
               stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of a train / validation / test split, stratified by class when asked.

    The test rows are held out of all rows, then the validation rows out of the rest (`holdout_rows`).

    Args:
        y: One target per row.
        validation_size: Fraction in [0, 1) of the non-test rows held out for validation.
        test_size: Fraction in [0, 1) of all rows held out for testing.
        seed: Random seed of the shuffle.
        stratify: Whether each part keeps the class proportions of `y` (where `can_stratify` allows).

    Returns:
        `(train, validation, test)` arrays of row indices (empty when unused).

    Raises:
        DataError: if a part would hold fewer rows than there are classes
            (or no row, without stratification).
    """
    validation_size = check.unit_interval("validation_size", validation_size)
    test_size = check.unit_interval("test_size", test_size)
    y = np.asarray(y)
    n = len(y)
    k = len(pd.unique(y)) if stratify else 1
    n_test = math.ceil(n * test_size) if test_size else 0
    n_val = math.ceil((n - n_test) * validation_size) if validation_size else 0
    sizes = {"train": n - n_test - n_val, "validation": n_val, "test": n_test}
    for name, size in sizes.items():
        if (size or name == "train") and size < k:
            needs = "at least one row per class" if stratify else "at least one row"
            raise DataError(f"Too few rows to split: {n} rows{f' and {k} classes' if stratify else ''} leave "
                            f"{size} rows for the {name} set, which needs {needs}. "
                            "Add rows or lower --validation-split / --test-split.")
    rest, test = holdout_rows(y, test_size, seed, stratify)
    train, val = holdout_rows(y[rest], validation_size, seed, stratify)
    return rest[train], rest[val], test


def holdout_rows(labels, fraction: float, seed: int | None, stratify: bool,
                 name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a shuffled split holding out `fraction` of them (scikit-learn's `train_test_split`).

    Args:
        labels: One label per row.
        fraction: Fraction in [0, 1) of the rows held out, rounded up as `train_test_split` counts
            them; no row is held out when it is 0.
        seed: Random seed of the shuffle.
        stratify: Whether both parts keep the class proportions of `labels`, which they do when
            `can_stratify` says they can (else the split is not stratified).
        name: The argument that sets `fraction`, named by the error when it would leave no row;
            `None`: no row is held out then.

    Returns:
        `(kept rows, held-out rows)`: arrays of row indices in shuffled order.

    Raises:
        ArgumentError: when `fraction` would leave no row and `name` is given.
    """
    labels = np.asarray(labels)
    everything = np.arange(len(labels))
    held_out = math.ceil(len(labels) * fraction)
    if held_out >= len(labels) and name is not None:
        raise ArgumentError(f"Invalid value for `{name}`: holding out {fraction:g} of {len(labels)} rows leaves "
                            f"none to train on. Received: {name}={fraction!r}")
    if not held_out or held_out >= len(labels):
        return everything, everything[:0]
    stratify = stratify and can_stratify(labels, held_out)
    return tuple(train_test_split(everything, test_size=held_out, stratify=labels if stratify else None,
                                  random_state=seed))


def can_stratify(labels, held_out: int) -> bool:
    """Whether `held_out` of the rows can be held out keeping every class in both parts.

    Args:
        labels: One label per row.
        held_out: Number of rows held out.

    Returns:
        `True` when every class has at least two rows and each part has at least one row per class
        (scikit-learn's `train_test_split(stratify=labels)` then succeeds), else `False`.
    """
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    if not len(counts):
        return False
    return bool(counts.min() >= 2 and len(counts) <= held_out <= len(labels) - len(counts))


def kfold_rows(labels, folds: int, seed: int | None, stratify: bool,
               name: str = "folds") -> list[tuple[np.ndarray, np.ndarray]]:
    """The rows of `folds` shuffled folds (scikit-learn's `StratifiedKFold`, or `KFold`).

    Stratified folds keep the class proportions of `labels` as far as the classes allow: a class with
    fewer rows than folds is missing from some folds (where scikit-learn warns). When every class has
    fewer rows than folds (where scikit-learn raises), the folds are not stratified.

    Args:
        labels: One label per row.
        folds: Number of folds (at least 2, at most one per row).
        seed: Random seed of the shuffle.
        stratify: Whether each fold keeps the class proportions of `labels`.
        name: The argument that sets `folds`, named by the error for more folds than rows.

    Returns:
        One `(training rows, held-out rows)` pair of sorted index arrays per fold.

    Raises:
        ArgumentError: for more folds than rows.
    """
    labels = np.asarray(labels)
    if folds > len(labels):
        raise ArgumentError(f"Invalid value for `{name}`: expected at most one fold per row ({len(labels)} rows). "
                            f"Received: {name}={folds}")
    stratify = stratify and np.unique(labels, return_counts=True)[1].max() >= folds
    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return list(splitter.split(np.zeros(len(labels)), labels if stratify else None))


def split(x: np.ndarray, y: np.ndarray, validation_size: float = 0.2, test_size: float = 0.2,
          seed: int | None = 0) -> Splits:
    """Stratified split of arrays into train, validation and test sets.

    Args:
        x: Features.
        y: Integer labels.
        validation_size, test_size, seed: As in `split_rows`.

    Returns:
        A `Splits` tuple; unused splits are empty arrays.
    """
    train, val, test = split_rows(y, validation_size, test_size, seed)
    return Splits(x[train], y[train], x[val], y[val], x[test], y[test])


def make_phone_data(n_samples: int = 2000, seed: int = 0, noise: float = 0.1) -> pd.DataFrame:
    """Generates phone-like rows: the 20 feature columns and a balanced `price_range`.

    The label is a noisy score of `ram`, `battery_power` and the pixel resolution cut at its
    quartiles.

    Args:
        n_samples: Number of rows (at least 4).
        seed: Seed of the generator.
        noise: Standard deviation of the noise added to the standardized score.

    Returns:
        A `pandas.DataFrame` with `PHONE_FEATURES` then `price_range`.

    Example:

    >>> frame = make_phone_data(8, seed=1)
    >>> frame.shape, sorted(frame.price_range.unique().tolist())
    ((8, 21), [0, 1, 2, 3])
    """
    n = check.positive_int("n_samples", n_samples)
    if n < 4:
        raise ArgumentError(f"Invalid value for `n_samples`: expected at least 4 rows. Received: n_samples={n_samples!r}")
    noise = check.non_negative_float("noise", noise)
    rng = np.random.default_rng(seed)
    frame = _phone_columns(rng, n)
    z = lambda c: (frame[c] - frame[c].mean()) / frame[c].std()  # noqa: E731
    score = 1.0 * z("ram") + 0.25 * z("battery_power") + 0.15 * z("px_height") + 0.15 * z("px_width")
    score = score + noise * rng.standard_normal(n)
    ranks = score.rank(method="first").to_numpy() - 1
    frame[PHONE_TARGET] = (ranks * 4 // n).astype("int64")
    return frame


def _phone_columns(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """`n` rows of the 20 phone feature columns, with the real data set's value ranges and types."""
    ints = lambda lo, hi: rng.integers(lo, hi + 1, n)  # noqa: E731
    coin = lambda p=0.5: (rng.random(n) < p).astype("int64")  # noqa: E731
    three_g = coin(0.76)
    sc_h = ints(5, 19)
    px_width = ints(500, 1998)
    columns = {
        "battery_power": ints(501, 1998),
        "blue": coin(),
        "clock_speed": np.round(rng.uniform(0.5, 3.0, n), 1),
        "dual_sim": coin(),
        "fc": np.minimum(rng.geometric(0.2, n) - 1, 19),
        "four_g": three_g * coin(0.68),
        "int_memory": ints(2, 64),
        "m_dep": np.round(rng.uniform(0.1, 1.0, n), 1),
        "mobile_wt": ints(80, 200),
        "n_cores": ints(1, 8),
        "pc": ints(0, 20),
        "px_height": np.minimum(rng.integers(0, 1961, n), px_width),
        "px_width": px_width,
        "ram": ints(256, 3998),
        "sc_h": sc_h,
        "sc_w": np.floor(rng.random(n) * sc_h).astype("int64"),
        "talk_time": ints(2, 20),
        "three_g": three_g,
        "touch_screen": coin(),
        "wifi": coin(),
    }
    return pd.DataFrame(columns)[PHONE_FEATURES]

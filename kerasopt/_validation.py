"""Argument checks shared by the public factories.

Every check raises `kerasopt.errors.ArgumentError` (a `ValueError`) whose
message names the argument and echoes the value, in the style of Keras: "Invalid value for `units`: expected a positive
integer. Received: units=0".
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping

from kerasopt.errors import ArgumentError, DataError


def shown(value, limit: int = 80) -> str:
    """`repr(value)`, or for a long one (a Series, an array) its type and size: an error stays one line."""
    text = " ".join(repr(value).split())
    if len(text) <= limit:
        return text
    size = getattr(value, "shape", None)
    size = f"shape {tuple(size)}" if size is not None else (f"{len(value)} items" if hasattr(value, "__len__") else "")
    return f"<{type(value).__module__.split('.')[0]}.{type(value).__name__}{' of ' + size if size else ''}>"


def row_count(value) -> int:
    """Number of rows of an array (or a DataFrame) or of a dict of columns (0 for an empty dict)."""
    if isinstance(value, Mapping):
        return len(next(iter(value.values()), ()))
    return len(value)


def _fail(name: str, expected: str, value) -> ArgumentError:
    return ArgumentError(
        f"Invalid value for `{name}`: expected {expected}. Received: {name}={shown(value)}"
    )


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive_int(name: str, value) -> int:
    """Returns `value` if it is an integer >= 1, else raises `ArgumentError`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise _fail(name, "a positive integer", value)
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Returns `value` if it is an integer >= 0, else raises `ArgumentError`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise _fail(name, "a non-negative integer", value)
    return int(value)


def positive_float(name: str, value) -> float:
    """Returns `value` as a float if it is finite and > 0."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise _fail(name, "a positive number", value)
    return float(value)


def non_negative_float(name: str, value) -> float:
    """Returns `value` as a float if it is finite and >= 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise _fail(name, "a non-negative number", value)
    return float(value)


def unit_interval(name: str, value, *, closed_right: bool = False) -> float:
    """Returns `value` if it lies in [0, 1) (or [0, 1] with `closed_right`)."""
    if not _is_real(value) or not (0 <= value <= 1 if closed_right else 0 <= value < 1):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise _fail(name, f"a number in {interval}", value)
    return float(value)


def open_unit_interval(name: str, value) -> float:
    """Returns `value` if it lies in (0, 1)."""
    if not _is_real(value) or not 0 < value < 1:
        raise _fail(name, "a number in (0, 1)", value)
    return float(value)


def flag(name: str, value, expected: str = "True or False") -> bool:
    """Returns `value` if it is a bool, else raises `ArgumentError` saying it expected `expected`."""
    if not isinstance(value, bool):
        raise _fail(name, expected, value)
    return value


def units(name: str, value) -> list[int]:
    """Returns hidden-layer sizes as a list of positive ints: an integer is one layer, else one per item."""
    return [positive_int(name, v) for v in ([value] if isinstance(value, numbers.Integral) else value)]


def suggest(name: str, choices) -> str:
    """Returns ` Did you mean 'x'?` for the choice closest to `name` (choices as strings), or `""`."""
    close = difflib.get_close_matches(name, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def known_columns(what: str, names, columns, *, where: str = "", fix: str = "") -> list[str]:
    """Returns `names` (one name or a list) as strings when each is one of `columns`, else raises `DataError`.

    The error says `"{what} 'x' not found{where}. Did you mean 'y'? Available columns: a, y. {fix}"`, `what`
    naming the argument or flag that gave the names (`"Target column"`, `` "`drop` column(s)" ``).
    """
    names = [str(n) for n in ([names] if isinstance(names, str) else names)]
    columns = [str(c) for c in columns]
    missing = [n for n in names if n not in columns]
    if missing:
        raise DataError(f"{what} {', '.join(map(repr, missing))} not found{where}.{suggest(missing[0], columns)} "
                        f"Available columns: {', '.join(columns)}.{' ' + fix if fix else ''}")
    return names


def folds(name: str, value, zero: str | None = None) -> int:
    """Returns `value` if it is an integer >= 2 (a number of folds).

    With `zero` (what 0 means instead, e.g. "one validation split"), 0 and `None` are accepted too and
    returned as 0.
    """
    integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if zero is not None and (value is None or (integer and value == 0)):
        return 0
    if not integer or value < 2:
        raise _fail(name, "an integer >= 2" + (f" (folds), or 0 / None for {zero}" if zero else ""), value)
    return int(value)


def one_of(name: str, value, choices) -> str:
    """Returns `value` if it is one of `choices` (strings, case-insensitive)."""
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise _fail(name, "one of " + ", ".join(repr(c) for c in choices), value)


def per_layer(name: str, value, count: int, check) -> list:
    """Broadcasts a scalar to `count` layers, or checks a list has `count` items.

    Each item is passed through `check(name, item)`.
    """
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ArgumentError(
                f"Invalid value for `{name}`: expected one value per layer "
                f"({count} values) or a single value. Received: {name}={list(value)!r}"
            )
        return [check(name, v) for v in value]
    return [check(name, value)] * count

"""Exceptions for conditions that a user can fix.

Every error that kerasopt raises for bad input derives from `KerasoptError`;
the command line turns those (and file errors such as a missing or unreadable
file) into one line and exit status 1, and lets any other exception through
with its traceback, as a bug.

The classes also derive from the built-in exception of their kind, so code
that catches `ValueError` keeps working:

| class               | bases                                  | raised for                               |
|---------------------|----------------------------------------|------------------------------------------|
| `KerasoptError`     | `Exception`                            | (base class only)                        |
| `ArgumentError`     | `KerasoptError`, `ValueError`          | an invalid argument or option value      |
| `ConfigError`       | `ArgumentError`                        | a configuration file, key or value       |
| `DataError`         | `KerasoptError`, `ValueError`          | a data file or array that cannot be used |
| `OutputExistsError` | `KerasoptError`, `ValueError`          | results that would be overwritten        |
"""

from __future__ import annotations

__all__ = ["KerasoptError", "ArgumentError", "ConfigError", "DataError", "OutputExistsError"]


class KerasoptError(Exception):
    """Base class of the errors that kerasopt reports to users as one line."""


class ArgumentError(KerasoptError, ValueError):
    """An argument has an invalid value; the message names the argument and echoes the value.

    Example: "Invalid value for `dropout`: expected a number in [0, 1).
    Received: dropout=1.0".
    """


class ConfigError(ArgumentError):
    """A configuration file, key or value cannot be used."""


class DataError(KerasoptError, ValueError):
    """A data file or array cannot be used as it is (missing, empty, bad cells)."""


class OutputExistsError(KerasoptError, ValueError):
    """An output directory already holds results and overwriting was not asked for."""

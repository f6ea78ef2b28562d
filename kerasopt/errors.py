"""Exceptions for input that a user can fix.

All derive from `ValueError`, so code that already catches `ValueError` keeps
working; the command line turns them into one line and a non-zero exit.
"""

from __future__ import annotations

__all__ = ["KerasoptError", "DataError", "ConfigError", "OutputExistsError"]


class KerasoptError(ValueError):
    """Base class of the errors that kerasopt reports to users."""


class DataError(KerasoptError):
    """A data file or array cannot be used as it is (missing, empty, bad cells)."""


class ConfigError(KerasoptError):
    """A configuration file or value cannot be used."""


class OutputExistsError(KerasoptError):
    """An output directory already holds results and overwriting was not asked for."""

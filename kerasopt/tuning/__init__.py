"""Hyperparameter search for kerasopt models with KerasTuner (docs/tuning.md).

`search.tune` is the entry point; `_tuner.SearchTuner` runs the trials, each as one stacked model
(`_stacked`); `distributed` launches chief and worker processes through the command line;
`_compat` holds every use of KerasTuner's private API. The only part of kerasopt that imports
`keras_tuner`. Imports go one way: search -> _tuner -> _compat; search, _tuner -> _stacked;
search -> distributed; oracles -> _compat.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "tune": "kerasopt.tuning.search",
    "TuneResult": "kerasopt.tuning.search",
    "available_objectives": "kerasopt.tuning.search",
    "resolve_space": "kerasopt.tuning.space",
    "DEFAULT_SPACE": "kerasopt.tuning.space",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kerasopt.tuning' has no attribute {name!r}")

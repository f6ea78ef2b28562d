"""Hyperparameter search for kerasopt models with KerasTuner.

The only part of kerasopt that imports `keras_tuner`. Modules:

- `space`: the default search space, overrides from a dict or JSON/YAML, checks.
- `oracles`: random and Bayesian oracles whose first trial runs the space's defaults.
- `hypermodel`: `DenseHyperModel`, a `keras_tuner.HyperModel` over `build_model` and `train`.
- `search`: `tune(...)`, the public entry point (tuners, k-fold objective, resume, outputs).
- `distributed`: chief/worker launcher and a prompt, time-bounded chief server.
- `report`: trials.csv, trials.png, progress lines and the summary table.
- `baselines`: scikit-learn baselines tuned by GridSearchCV, for comparison.
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

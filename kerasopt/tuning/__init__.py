"""Hyperparameter search for kerasopt models with KerasTuner.

The only part of kerasopt that imports `keras_tuner`. Modules:

- `space`: the default search space, overrides from a dict or JSON/YAML, checks.
- `oracles`: random and Bayesian oracles whose first trial runs the space's defaults.
- `hypermodel`: `DenseHyperModel`, a `keras_tuner.HyperModel` over `build_model`.
- `search`: `tune(...)`, the public entry point: check, prepare, search, finalize.
- `_tuner`: `SearchTuner`, the KerasTuner tuner that runs k-fold trials.
- `_stacked`: a trial's trainings, and the final ensemble, as one stacked model; the penalty-free scores.
- `distributed`: the chief/worker launcher; it starts `python -m kerasopt tune --role ...`
  processes and imports neither the search nor KerasTuner.
- `_compat`: every use of KerasTuner's private API (tested version in its docstring),
  including the prompt, time-bounded chief server.
- `report`: trials.csv, trials.png, progress lines, the live status line and the summary table.
- `hparams_log`: TensorBoard HParams logs, one run per trial.
- `baselines`: scikit-learn baselines tuned by GridSearchCV, for comparison.

Imports go one way: search -> _tuner -> _compat; search, _tuner -> _stacked; search -> distributed; oracles -> _compat.
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

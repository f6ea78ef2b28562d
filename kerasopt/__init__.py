"""kerasopt: build, train and tune regularized dense networks with Keras 3.

The public surface, imported lazily so that `kerasopt --help` and the
command line's input checks answer before TensorFlow loads, and so that the
Keras backend can still be chosen (`KERAS_BACKEND`) after `import kerasopt`:

>>> import kerasopt
>>> model = kerasopt.build_model(20, num_classes=4)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "build_model": "kerasopt.models",
    "make_regularizer": "kerasopt.models",
    "train": "kerasopt.training",
    "TrainResult": "kerasopt.training",
    "run_training": "kerasopt.pipeline",
    "predict_file": "kerasopt.pipeline",
    "cross_validate_config": "kerasopt.pipeline",
    "DenseClassifier": "kerasopt.estimators",
    "DenseRegressor": "kerasopt.estimators",
    "tune": "kerasopt.tuning.search",
    "TuneResult": "kerasopt.tuning.search",
    "KerasoptError": "kerasopt.errors",
    "DataError": "kerasopt.errors",
    "ConfigError": "kerasopt.errors",
    "OutputExistsError": "kerasopt.errors",
}
_SUBMODULES = ("callbacks", "config", "data", "errors", "models", "optimizers", "pipeline",
               "estimators", "plotting", "schedules", "tabular", "training", "tuning", "experiments")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"kerasopt.{name}")
    else:
        raise AttributeError(f"module 'kerasopt' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__

"""kerasopt: build, train and tune regularized dense networks with Keras 3.

The public surface, imported lazily so that `kerasopt --help` and the
command line's input checks answer before TensorFlow loads, and so that the
Keras backend can still be chosen (`KERAS_BACKEND`) after `import kerasopt`:

>>> import kerasopt
>>> model = kerasopt.build_model(20, num_classes=4)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "build_model": "kerasopt.models",
    "make_regularizer": "kerasopt.models",
    "train": "kerasopt.training",
    "TrainResult": "kerasopt.training",
    "run_training": "kerasopt.pipeline",
    "predict_file": "kerasopt.pipeline",
    "cross_validate": "kerasopt.pipeline",
    "tune": "kerasopt.tuning.search",
    "TuneResult": "kerasopt.tuning.search",
    "KerasoptError": "kerasopt.errors",
    "DataError": "kerasopt.errors",
    "ConfigError": "kerasopt.errors",
    "OutputExistsError": "kerasopt.errors",
}
_SUBMODULES = ("augmentation", "callbacks", "config", "data", "errors", "models", "optimizers", "pipeline",
               "plotting", "schedules", "training", "tuning", "experiments")
# Modules that register Keras-serializable objects; imported by `import kerasopt` when Keras is
# already loaded, so that `import keras, kerasopt` is enough to load a saved model.
_SERIALIZABLE = ("kerasopt.augmentation", "kerasopt.callbacks", "kerasopt.schedules")

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


if "keras" in sys.modules:
    for _module in _SERIALIZABLE:
        importlib.import_module(_module)

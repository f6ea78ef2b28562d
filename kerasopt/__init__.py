"""kerasopt: build, train and tune regularized dense networks with Keras 3.

The public surface, imported lazily so that `kerasopt --help` and the
command line's input checks answer before TensorFlow loads, and so that the
Keras backend can still be chosen (`KERAS_BACKEND`) after `import kerasopt`:

>>> import kerasopt
>>> model = kerasopt.build_model(20, num_classes=4)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "build_model": "kerasopt.models",
    "make_regularizer": "kerasopt.network",
    "train": "kerasopt.training",
    "TrainResult": "kerasopt.training",
    "run_training": "kerasopt.pipeline",
    "predict_file": "kerasopt.pipeline",
    "cross_validate_config": "kerasopt.pipeline",
    "DenseClassifier": "kerasopt.estimators",
    "DenseRegressor": "kerasopt.estimators",
    "evaluate_file": "kerasopt.pipeline",
    "export_model": "kerasopt.export",
    "Table": "kerasopt.pipeline",
    "tune": "kerasopt.tuning.search",
    "TuneResult": "kerasopt.tuning.search",
    "KerasoptError": "kerasopt.errors",
    "ArgumentError": "kerasopt.errors",
    "DataError": "kerasopt.errors",
    "ConfigError": "kerasopt.errors",
    "OutputExistsError": "kerasopt.errors",
}
_SUBMODULES = ("augmentation", "bagging", "callbacks", "config", "data", "errors", "estimators", "evaluation",
               "export", "losses", "models", "optimizers", "pipeline", "plotting", "schedules", "spec", "stacking",
               "tabular", "training", "tuning", "experiments")

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


# Modules that define Keras-serializable objects (registered under the package name "kerasopt").
# Keras resolves a saved "kerasopt>..." class only from its registry, and it imports no
# module outside Keras itself, so these modules must have run before a model is loaded.
_SERIALIZABLE_MODULES = ("kerasopt.augmentation", "kerasopt.losses", "kerasopt.schedules", "kerasopt.stacking.layers",
                         "kerasopt.stacking.optimizers", "kerasopt.tabular.layers", "kerasopt.tabular.model")


def _register_serializables() -> None:
    for module in _SERIALIZABLE_MODULES:
        importlib.import_module(module)


class _RegisterAfterKerasImport(importlib.abc.MetaPathFinder):
    """Registers kerasopt's serializable classes as soon as Keras finishes importing.

    `import kerasopt` does not import Keras (the backend can still be chosen, and the
    command line answers `--help` and input errors without loading TensorFlow), yet a
    saved model must load after a plain `import kerasopt`. This one-shot import hook
    lets the import of `keras` run as usual and then imports the registering modules.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            try:
                _register_serializables()
            except Exception as e:  # never break the user's `import keras`
                warnings.warn(f"kerasopt could not register its Keras objects: {e!r}; saved kerasopt "
                              "models will not load until `import kerasopt.schedules` succeeds.",
                              stacklevel=2)

        spec.loader.exec_module = exec_and_register
        return spec


if "keras" in sys.modules:
    _register_serializables()
elif not any(isinstance(f, _RegisterAfterKerasImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKerasImport())

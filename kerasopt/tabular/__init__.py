"""Tabular columns and targets inside the model.

- `kerasopt.tabular.schema`: `infer_schema` types the feature columns of the
  training rows and keeps their statistics in a `Schema`, whose `to_inputs`
  turns raw rows into model inputs.
- `kerasopt.tabular.target`: `detect_task`, `encode_target` and `TargetInfo`,
  from labels of any kind to what the network trains on, and back.
- `kerasopt.tabular.layers`: the preprocessing Keras layers (`Impute`,
  `MissingIndicator`, `RobustScaling`, lookups, `BlockEmbedding`) and
  `build_preprocessing`, which wires them from a `Schema`.
- `kerasopt.tabular.model`: `TabularModel`, the Functional model that carries
  both, so `model.keras` alone takes raw rows and predicts in the original
  labels, and the metrics a table model is compiled with.

The schema and target modules do not import Keras; the names of the other two
load it on first use, so `from kerasopt.tabular import infer_schema` answers
before TensorFlow loads.
"""

from __future__ import annotations

import importlib

from kerasopt.tabular.schema import (
    MIN_CATEGORY_COUNT,
    MISSING,
    NUMERIC_SCALINGS,
    ONE_HOT_MAX,
    Column,
    Schema,
    infer_schema,
    robust_statistics,
)
from kerasopt.tabular.target import CLASSIFICATION_MAX_INTEGERS, TargetInfo, detect_task, encode_target

# public name -> the module (importing Keras) that defines it
_KERAS_EXPORTS = {
    **dict.fromkeys(("BlockEmbedding", "Impute", "MissingIndicator", "RobustScaling", "SMOOTH_CLIP_BOUND",
                     "build_preprocessing", "embedding_blocks", "embedding_dim", "encoded_width"),
                    "kerasopt.tabular.layers"),
    **dict.fromkeys(("TabularModel", "SoftmaxAUC", "restore_target", "is_tabular_input",
                     "regression_compile_defaults", "classification_metrics"), "kerasopt.tabular.model"),
}

__all__ = [
    "MISSING", "ONE_HOT_MAX", "MIN_CATEGORY_COUNT", "CLASSIFICATION_MAX_INTEGERS", "NUMERIC_SCALINGS",
    "Column", "Schema", "TargetInfo", "TabularModel", "Impute", "MissingIndicator", "RobustScaling",
    "SMOOTH_CLIP_BOUND", "SoftmaxAUC", "robust_statistics", "infer_schema", "detect_task", "encode_target",
    "build_preprocessing", "embedding_blocks", "embedding_dim", "encoded_width", "BlockEmbedding",
]


def __getattr__(name: str):
    if name not in _KERAS_EXPORTS:
        raise AttributeError(f"module 'kerasopt.tabular' has no attribute {name!r}")
    value = getattr(importlib.import_module(_KERAS_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_KERAS_EXPORTS})

"""Tabular columns and targets inside the model.

`schema` (`infer_schema`, `Schema`) and `target` (`encode_target`, `TargetInfo`) do not import
Keras; the names of `layers` (the preprocessing layers, `build_preprocessing`) and `model`
(`TabularModel`) load it on first use.
"""

from __future__ import annotations

import importlib

from kerasopt.tabular.schema import (
    MIN_CATEGORY_COUNT,
    MISSING,
    NUMERIC_EMBEDDINGS,
    NUMERIC_SCALINGS,
    ONE_HOT_MAX,
    Column,
    Schema,
    bin_edges,
    infer_schema,
    robust_statistics,
)
from kerasopt.tabular.target import CLASSIFICATION_MAX_INTEGERS, TargetInfo, detect_task, encode_target

# public name -> the module (importing Keras) that defines it
_KERAS_EXPORTS = {
    **dict.fromkeys(("BlockEmbedding", "Impute", "MissingIndicator", "PeriodicEmbedding", "PiecewiseLinearEncoding",
                     "RobustScaling", "SMOOTH_CLIP_BOUND", "build_preprocessing", "embedding_blocks", "embedding_dim",
                     "encoded_width", "periodic_columns"),
                    "kerasopt.tabular.layers"),
    **dict.fromkeys(("TabularModel", "SoftmaxAUC", "is_tabular_input", "output_side"), "kerasopt.tabular.model"),
}

__all__ = [
    "MISSING", "ONE_HOT_MAX", "MIN_CATEGORY_COUNT", "CLASSIFICATION_MAX_INTEGERS", "NUMERIC_SCALINGS",
    "NUMERIC_EMBEDDINGS",
    "Column", "Schema", "TargetInfo", "TabularModel", "Impute", "MissingIndicator", "RobustScaling",
    "PiecewiseLinearEncoding", "SMOOTH_CLIP_BOUND", "SoftmaxAUC", "robust_statistics", "bin_edges", "infer_schema",
    "detect_task", "encode_target",
    "build_preprocessing", "embedding_blocks", "embedding_dim", "encoded_width", "BlockEmbedding",
    "PeriodicEmbedding", "periodic_columns",
]


def __getattr__(name: str):
    if name not in _KERAS_EXPORTS:
        raise AttributeError(f"module 'kerasopt.tabular' has no attribute {name!r}")
    value = getattr(importlib.import_module(_KERAS_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_KERAS_EXPORTS})

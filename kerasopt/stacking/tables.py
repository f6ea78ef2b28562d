"""Stacked table networks: one shared encoding of the columns (`encode_table`), K networks over it."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import tabular as tabular_lib
from kerasopt.errors import ArgumentError
from kerasopt.inference import predict_batches
from kerasopt.stacking.builder import build_stacked_model

__all__ = ["build_stacked_table_model", "encode_table", "table_targets"]


def encode_table(schema, x, batch_size: int = 4096) -> np.ndarray:
    """Encodes raw table rows into the float features that stacked table networks take.

    It is `kerasopt.tabular.build_preprocessing(schema)`, which has no trainable weights, so all
    members share it.

    Args:
        schema: A `kerasopt.tabular.Schema`.
        x: Raw rows: a DataFrame, a dict of columns or a 2-D array in the
            schema's column order.
        batch_size: Rows per encoding batch.

    Returns:
        A float32 array of shape `(rows, width)`.
    """
    inputs, encoded = tabular_lib.build_preprocessing(schema)
    encoder = keras.Model(inputs, encoded, name="table_encoder")
    rows = schema.to_inputs(x)
    return np.asarray(predict_batches(encoder, rows, batch_size), dtype="float32")


def table_targets(target, y) -> np.ndarray:
    """The targets stacked table networks train on: class indices, or standardized numbers.

    A stacked regression learns the standardized target, the same loss as a single table network's.

    Args:
        target: The `kerasopt.tabular.TargetInfo`.
        y: Raw targets (original labels or numbers).

    Returns:
        int32 class indices or float32 standardized targets.
    """
    encoded = target.encode(y)
    if target.task == "regression":
        return target.standardized(encoded).astype("float32")
    return np.asarray(encoded, "int32")


def build_stacked_table_model(schema, members: int, target, *, seed: int | Sequence[int] | None = None,
                              **kwargs) -> keras.Model:
    """Builds K stacked networks over a table's shared encoding (`encode_table`).

    Member `k` is `kerasopt.build_model(schema, target=target, seed=seeds[k], ...)` after its
    preprocessing, with its own embeddings; a regression member learns the standardized target.

    Args:
        schema: The `kerasopt.tabular.Schema` of the encoded rows.
        members: Number of members K.
        target: The `kerasopt.tabular.TargetInfo`.
        seed: As in `build_stacked_model`.
        **kwargs: Other `build_stacked_model` arguments, except `inputs`,
            `num_classes`, `normalize` and `embeddings`.

    Returns:
        A compiled `keras.Model` taking `{"features": (batch, K, width),
        "row_mask": (batch, K)}`.
    """
    for name in ("inputs", "num_classes", "normalize", "embeddings"):
        if name in kwargs:
            raise ArgumentError(f"build_stacked_table_model sets `{name}` from the schema and target. "
                                f"Received: {name}={kwargs[name]!r}")
    return build_stacked_model(tabular_lib.encoded_width(schema), members=check.positive_int("members", members),
                               num_classes=target.num_classes, normalize=False, seed=seed,
                               embeddings=tabular_lib.embedding_blocks(schema),
                               periodic=tabular_lib.periodic_columns(schema), **kwargs)

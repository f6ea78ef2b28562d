"""Stacked table networks: one shared encoding of the columns, K stacked networks, one averaging TabularModel."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import tabular as tabular_lib
from kerasopt.errors import ArgumentError
from kerasopt.stacking.builder import build_stacked_model, member_seeds, stacked_layers
from kerasopt.stacking.ensemble import stacked_ensemble

__all__ = ["build_stacked_table_model", "encode_table", "table_ensemble", "table_targets"]


def encode_table(schema, x, batch_size: int = 4096) -> np.ndarray:
    """Encodes raw table rows into the float features that stacked table networks take.

    The encoding is `kerasopt.tabular.build_preprocessing(schema,
    embed=False)`: imputed and standardized numbers, missing indicators, and
    one-hot categories, where a column that a single network embeds keeps
    its one-hot block for each member's own `StackedEmbedding`. It has no
    trainable weights, so all members share it.

    Args:
        schema: A `kerasopt.tabular.Schema`.
        x: Raw rows: a DataFrame, a dict of columns or a 2-D array in the
            schema's column order.
        batch_size: Rows per encoding batch.

    Returns:
        A float32 array of shape `(rows, width)`.
    """
    inputs, encoded = tabular_lib.build_preprocessing(schema, embed=False)
    encoder = keras.Model(inputs, encoded, name="table_encoder")
    rows = schema.to_inputs(x)
    return np.asarray(encoder.predict(rows, batch_size=check.positive_int("batch_size", batch_size), verbose=0),
                      dtype="float32")


def table_targets(target, y) -> np.ndarray:
    """The targets stacked table networks train on: class indices, or standardized numbers.

    A single table network standardizes a regression target inside the
    model (its output is rescaled by the target's training mean and standard
    deviation and its loss weighted by `1 / variance`); a stacked one learns
    the standardized target directly, which is the same loss.

    Args:
        target: The `kerasopt.tabular.TargetInfo`.
        y: Raw targets (original labels or numbers).

    Returns:
        int32 class indices or float32 standardized targets.
    """
    encoded = target.encode(y)
    if target.task == "regression":
        return ((np.asarray(encoded, "float64") - target.mean) / (target.std or 1.0)).astype("float32")
    return np.asarray(encoded, "int32")


def build_stacked_table_model(schema, members: int, target, *, seed: int | Sequence[int] | None = None,
                              **kwargs) -> keras.Model:
    """Builds K stacked networks over a table's shared encoding (`encode_table`).

    Member `k` is the network `kerasopt.build_model(schema, target=target,
    seed=seeds[k], ...)` builds, after its preprocessing: the same Dense
    layers and initial weights, and its own embedding of each column the
    single network embeds (`StackedEmbedding`, initialized like the
    single network's `Embedding`). A regression member learns the
    standardized target (`table_targets`).

    Args:
        schema: The `kerasopt.tabular.Schema` of the encoded rows.
        members: Number of members K.
        target: The `kerasopt.tabular.TargetInfo` (its classes, or
            regression).
        seed: As in `build_stacked_model`.
        **kwargs: The other `build_stacked_model` arguments (architecture,
            optimizer, learning rate, ...), except `inputs`, `num_classes`,
            `normalize` and `embeddings`.

    Returns:
        A compiled `keras.Model` taking `{"features": (batch, K, width),
        "row_mask": (batch, K)}`.
    """
    for name in ("inputs", "num_classes", "normalize", "embeddings"):
        if name in kwargs:
            raise ArgumentError(f"build_stacked_table_model sets `{name}` from the schema and target. "
                                f"Received: {name}={kwargs[name]!r}")
    members = check.positive_int("members", members)
    blocks = tabular_lib.embedding_blocks(schema)
    width = tabular_lib.encoded_width(schema)
    model = build_stacked_model(width, members=members, num_classes=target.num_classes, normalize=False,
                                embeddings=[b[:3] for b in blocks] or None, seed=seed, **kwargs)
    if blocks:
        seeds = member_seeds("seed", seed, members)
        layer = stacked_layers(model)["embeddings"]
        for table, (_, block_width, dim, index) in zip(layer.tables, blocks):
            table.assign(np.stack([keras.ops.convert_to_numpy(
                tabular_lib.embedding_initializer(s, index)((block_width, dim), dtype="float32")) for s in seeds]))
    return model


def table_ensemble(model: keras.Model, schema, target, name: str = "ensemble") -> keras.Model:
    """Returns one `kerasopt.tabular.TabularModel` that averages a stacked table model's members.

    The model takes raw rows (strings, gaps) like any kerasopt table model:
    it encodes them (`encode_table`'s layers), runs the members
    (`stacked_ensemble`) and averages their class probabilities, or their
    standardized predictions mapped back to the target's scale. It saves to
    `.keras` and loads back after `import kerasopt`.

    Args:
        model: A model from `build_stacked_table_model`, trained.
        schema: Its `kerasopt.tabular.Schema`.
        target: Its `kerasopt.tabular.TargetInfo`.
        name: Name of the returned model.

    Returns:
        A compiled `kerasopt.tabular.TabularModel`.
    """
    body = stacked_ensemble(model, name=f"{name}_members")
    inputs, encoded = tabular_lib.build_preprocessing(schema, embed=False)
    outputs = body(encoded)
    regression = target.task == "regression"
    if regression:
        outputs = tabular_lib.restore_target(outputs, target)
        loss_weights, metrics = tabular_lib.regression_compile_defaults(target)
    else:
        loss_weights, metrics = None, tabular_lib.classification_metrics(target.num_classes)
    ensemble = tabular_lib.TabularModel(inputs, outputs, name=name, schema=schema, target=target)
    ensemble.compile(loss="mse" if regression else "sparse_categorical_crossentropy", loss_weights=loss_weights,
                     metrics=metrics)
    ensemble.optimizer.build(ensemble.trainable_variables)  # saved and loaded with all its variables
    return ensemble

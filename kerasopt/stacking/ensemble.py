"""What a trained stacked model gives back: every member's predictions, and one model averaging them."""

from __future__ import annotations

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import tabular as tabular_lib
from kerasopt.errors import ArgumentError
from kerasopt.inference import predict_batches
from kerasopt.stacking.builder import is_regression, model_members, stacked_layers

__all__ = ["predict_members", "stacked_ensemble"]


def predict_members(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Returns every member's prediction for every row of `x`, in inference mode.

    Args:
        model: A model from `build_stacked_model`.
        x: Raw feature rows, shape `(rows, features)`.
        batch_size: Rows per prediction batch.

    Returns:
        An array of shape `(rows, K, outputs)`.
    """
    stacked_layers(model)
    count, n_inputs = model_members(model)
    x = np.asarray(x, dtype="float32")
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ArgumentError(f"Invalid value for `x`: expected a 2-D array with {n_inputs} columns. "
                         f"Received: x with shape {x.shape}")
    inputs = {"features": np.repeat(x[:, None, :], count, axis=1), "row_mask": np.ones((len(x), count), "float32")}
    return predict_batches(model, inputs, batch_size)


def stacked_ensemble(model: keras.Model, schema=None, target=None, name: str = "ensemble") -> keras.Model:
    """Returns one model that averages the outputs of a stacked model's members.

    It repeats each row for the K members, runs a copy of the stacked model in inference mode and
    averages the outputs. With a `schema` it is a `TabularModel` on raw rows that maps a regression
    output back to the target's scale.

    Args:
        model: A model from `build_stacked_model` or `build_stacked_table_model`.
        schema: For a table model, its `kerasopt.tabular.Schema`.
        target: With `schema`, its `kerasopt.tabular.TargetInfo`.
        name: Name of the returned model.

    Returns:
        A compiled `keras.Model` taking `(batch, features)`, or a
        `TabularModel` taking raw rows, with output `(batch, outputs)`.
    """
    regression = is_regression(stacked_layers(model))
    count, n_inputs = model_members(model)
    if (schema is None) != (target is None):
        raise ArgumentError("Pass both `schema` and `target` (a table model) or neither. "
                            f"Received: schema={check.shown(schema)}, target={check.shown(target)}")
    if schema is not None:
        return _table_ensemble(stacked_ensemble(model, name=f"{name}_members"), schema, target, regression, name)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        if isinstance(layer, keras.layers.Normalization):
            layer.finalize_state()
    x_in = keras.Input(shape=(n_inputs,), name="features")
    x = keras.layers.RepeatVector(count, name="members")(x_in)
    outputs = copy({"features": x, "row_mask": keras.ops.ones_like(x[..., 0])})
    ensemble = keras.Model(x_in, keras.layers.GlobalAveragePooling1D(name="average")(outputs), name=name)
    return _compiled(ensemble, regression, None, ["mae"] if regression else ["accuracy"])


def _table_ensemble(body: keras.Model, schema, target, regression: bool, name: str) -> keras.Model:
    """The `TabularModel` that encodes raw rows for `body` (`stacked_ensemble` of the members) and restores a
    regression output to the target's scale."""
    inputs, encoded = tabular_lib.build_preprocessing(schema)
    outputs, loss_weights, metrics = tabular_lib.output_side(body(encoded), target,
                                                             None if regression else target.num_classes)
    ensemble = tabular_lib.TabularModel(inputs, outputs, name=name, schema=schema, target=target)
    return _compiled(ensemble, regression, loss_weights, metrics)


def _compiled(ensemble: keras.Model, regression: bool, loss_weights, metrics) -> keras.Model:
    ensemble.compile(loss="mse" if regression else "sparse_categorical_crossentropy", loss_weights=loss_weights,
                     metrics=metrics)
    ensemble.optimizer.build(ensemble.trainable_variables)  # saved and loaded with all its variables
    return ensemble

"""What a trained stacked model gives back: every member's predictions, and one model averaging them."""

from __future__ import annotations

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.stacking.builder import forward, is_regression, model_members, stacked_layers

__all__ = ["predict_members", "stacked_ensemble"]


def predict_members(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Returns every member's prediction for every row of `x`, in inference mode.

    With the members' held-out rows, `predict_members(model, x)[rows[k], k]`
    are member `k`'s out-of-fold predictions.

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
    return np.asarray(model.predict(inputs, batch_size=check.positive_int("batch_size", batch_size), verbose=0))


def stacked_ensemble(model: keras.Model, name: str = "ensemble") -> keras.Model:
    """Returns one model that averages the outputs of a stacked model's members.

    The ensemble takes raw feature rows `(batch, features)`, repeats each row
    for the K members (`RepeatVector`), runs a copy of the stacked layers
    (inference mode) and averages the members' outputs over the member axis
    (`GlobalAveragePooling1D`): class probabilities for classification,
    predictions for regression. It holds a copy of the weights, saves to
    `.keras` and loads back after `import kerasopt`.

    Args:
        model: A model from `build_stacked_model`.
        name: Name of the returned model.

    Returns:
        A compiled `keras.Model` with input `(batch, features)` and output
        `(batch, outputs)`.

    Raises:
        ValueError: for a model not made by `build_stacked_model`.
    """
    stacked_layers(model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layers = stacked_layers(copy)
    if "normalization" in layers:
        layers["normalization"].finalize_state()
    count, n_inputs = model_members(model)
    x_in = keras.Input(shape=(n_inputs,), name="features")
    x = keras.layers.RepeatVector(count, name="members")(x_in)
    outputs = keras.layers.GlobalAveragePooling1D(name="average")(forward(layers, x, None))
    ensemble = keras.Model(x_in, outputs, name=name)
    regression = is_regression(layers)
    ensemble.compile(loss="mse" if regression else "sparse_categorical_crossentropy",
                     metrics=["mae"] if regression else ["accuracy"])
    ensemble.optimizer.build(ensemble.trainable_variables)  # saved and loaded with all its variables
    return ensemble

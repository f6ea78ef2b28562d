"""Label smoothing for integer class labels, which `keras.losses.SparseCategoricalCrossentropy` lacks."""

from __future__ import annotations

import keras
from keras import ops

from kerasopt import _validation as check

__all__ = ["SmoothedSparseCategoricalCrossentropy", "classification_loss"]


@keras.saving.register_keras_serializable(package="kerasopt")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against smoothed one-hot targets.

    With `label_smoothing = s` and `C` classes, the target of a row of class
    `c` is `1 - s + s / C` for `c` and `s / C` for every other class, as in
    `keras.losses.CategoricalCrossentropy(label_smoothing=s)`; `s = 0` is the
    plain sparse cross-entropy. The labels may have the predictions' shape
    less the class axis (a stacked model's `(batch, K)` against
    `(batch, K, C)`) or a trailing axis of 1.

    Args:
        label_smoothing: Share of each target spread evenly over the classes, in [0, 1).
        reduction, name: As in `keras.losses.Loss`.
    """

    def __init__(self, label_smoothing: float = 0.0, reduction="sum_over_batch_size",
                 name: str = "smoothed_sparse_categorical_crossentropy", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)
        self.label_smoothing = check.unit_interval("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        labels = ops.cast(y_true, "int32")
        if len(labels.shape) == len(y_pred.shape):
            labels = ops.squeeze(labels, axis=-1)
        targets = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(targets, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def classification_loss(label_smoothing: float, reduction="sum_over_batch_size") -> keras.losses.Loss:
    """Returns Keras's sparse cross-entropy, or its smoothed form when `label_smoothing > 0`.

    Args:
        label_smoothing: In [0, 1) (see `SmoothedSparseCategoricalCrossentropy`).
        reduction: As in `keras.losses.Loss`.

    Returns:
        A `keras.losses.Loss` of integer labels against class probabilities.
    """
    if check.unit_interval("label_smoothing", label_smoothing) == 0:
        return keras.losses.SparseCategoricalCrossentropy(reduction=reduction)
    return SmoothedSparseCategoricalCrossentropy(label_smoothing, reduction=reduction)

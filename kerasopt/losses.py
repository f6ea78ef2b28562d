"""The loss a kerasopt model compiles with by default, the data loss it reports as a metric, and label
smoothing for integer class labels (which `keras.losses.SparseCategoricalCrossentropy` lacks)."""

from __future__ import annotations

import keras
from keras import ops

from kerasopt import _validation as check
from kerasopt.signals import data_loss_name

__all__ = ["SmoothedSparseCategoricalCrossentropy", "data_loss_metric", "default_loss"]


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


def default_loss(num_classes: int | None, label_smoothing: float = 0.0, reduction: str | None = None):
    """Returns the loss a kerasopt model compiles with when it is given none.

    Args:
        num_classes: Classes of a classifier, `None` for a regression.
        label_smoothing: In [0, 1); above 0, a classifier's cross-entropy is
            `SmoothedSparseCategoricalCrossentropy(label_smoothing)`.
        reduction: `None`: Keras's own name (`"mse"`, `"sparse_categorical_crossentropy"`) where
            one exists; else a `keras.losses.Loss` with this reduction.

    Returns:
        A loss for `Model.compile`.
    """
    smoothing = check.unit_interval("label_smoothing", label_smoothing)
    if num_classes is not None and smoothing:
        return SmoothedSparseCategoricalCrossentropy(smoothing, reduction=reduction or "sum_over_batch_size")
    if reduction is None:
        return "mse" if num_classes is None else "sparse_categorical_crossentropy"
    plain = keras.losses.MeanSquaredError if num_classes is None else keras.losses.SparseCategoricalCrossentropy
    return plain(reduction=reduction)


def data_loss_metric(num_classes: int | None) -> keras.metrics.Metric:
    """Returns the data loss a kerasopt model reports: Keras's `loss` without the weight penalties.

    Args:
        num_classes: Classes of a classifier, `None` for a regression.

    Returns:
        A new `keras.metrics.SparseCategoricalCrossentropy` named `log_loss`, or
        `keras.metrics.MeanSquaredError` named `mse` (`kerasopt.signals.data_loss_name`).
    """
    if num_classes is None:
        return keras.metrics.MeanSquaredError(name=data_loss_name("regression", validation=False))
    return keras.metrics.SparseCategoricalCrossentropy(name=data_loss_name("classification", validation=False))

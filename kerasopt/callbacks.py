"""Callbacks that `kerasopt.train` adds to `fit`."""

from __future__ import annotations

import keras
import numpy as np

from kerasopt.errors import ArgumentError

__all__ = ["LearningRateLogger", "MonitorCheck"]


@keras.saving.register_keras_serializable(package="kerasopt")
class LearningRateLogger(keras.callbacks.Callback):
    """Logs the learning rate each epoch ran with, as `logs["learning_rate"]`.

    The rate is read when the epoch begins, so with a schedule it is the
    value the epoch's first step used. It then appears in `History.history`,
    in `CSVLogger` files and in TensorBoard. A callback that already wrote a
    `learning_rate` entry (such as `ReduceLROnPlateau`) is left alone.
    """

    def __init__(self):
        super().__init__()
        self._rate = None

    def on_epoch_begin(self, epoch, logs=None):
        self._rate = float(np.asarray(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._rate is not None:
            logs.setdefault("learning_rate", self._rate)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kerasopt")
class MonitorCheck(keras.callbacks.Callback):
    """Stops with a clear error when a monitored metric is not logged.

    Keras's `EarlyStopping` only warns and then never stops; this callback
    raises `ValueError` at the end of the first epoch, listing the metrics
    that are available.

    Args:
        monitor: The metric name that other callbacks monitor.
    """

    def __init__(self, monitor: str):
        super().__init__()
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0 and logs is not None and self.monitor not in logs:
            raise ArgumentError(
                f"Invalid value for `monitor`: {self.monitor!r} is not a logged metric. "
                f"Available metrics: {', '.join(sorted(logs))}."
            )

    def get_config(self):
        return {"monitor": self.monitor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

"""Callbacks that `kerasopt.train` and the training pipeline add to `fit`."""

from __future__ import annotations

import time
from typing import TextIO

import keras
import numpy as np

from kerasopt._terminal import TerminalLine, clock
from kerasopt.errors import ArgumentError

__all__ = ["LearningRateLogger", "MonitorCheck", "ProgressLine"]


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


@keras.saving.register_keras_serializable(package="kerasopt")
class ProgressLine(keras.callbacks.Callback):
    """Shows one updating line per training phase on a terminal, nothing elsewhere.

    At the end of each epoch the line is rewritten in place (`\\r`):
    `early-stopping run: epoch 12/300, val_accuracy 0.9125, at most 1:05 left`.
    When the phase ends the line is finished with a newline. Nothing is
    written when `stream` is not a terminal (a log file, a pipe, a captured
    test), so logs stay clean. The time left is the mean time of the epochs
    run so far times the epochs still to run; with early stopping that is a
    bound (`bounded=True` says "at most").

    Args:
        phase: Name of the phase, shown first (e.g. `"refit"`).
        epochs: Number of epochs of the phase (the `epochs` of `fit`).
        monitor: Metric to show; `None` picks the first logged of
            `val_accuracy`, `val_loss`, `accuracy`, `loss`, or any other
            logged metric.
        bounded: Whether the phase may end sooner (early stopping).
        stream: Where to write; default `sys.stderr` at the time of writing.

    Example:

    >>> callback = ProgressLine("refit", epochs=40)  # doctest: +SKIP
    >>> model.fit(x, y, epochs=40, callbacks=[callback], verbose=0)  # doctest: +SKIP
    """

    _PREFERRED = ("val_accuracy", "val_loss", "accuracy", "loss")

    def __init__(self, phase: str, epochs: int, monitor: str | None = None, bounded: bool = False,
                 stream: TextIO | None = None):
        super().__init__()
        self.phase = phase
        self.epochs = int(epochs)
        self.monitor = monitor
        self.bounded = bounded
        self.stream = stream
        self._start = None
        self._done = 0
        self._line = TerminalLine(stream)

    def _metric(self, logs: dict) -> str:
        if self.monitor is not None:
            name = self.monitor if self.monitor in logs else None
        else:
            name = next((m for m in self._PREFERRED if m in logs), None)
            name = name or next((m for m in sorted(logs) if m != "learning_rate"), None)
        if name is None:
            return ""
        value = np.asarray(logs[name], dtype="float64")
        if value.size > 1:  # one value per member of a stacked model
            return f", mean {name} {value.mean():.4f}"
        return f", {name} {float(value):.4f}"

    def line(self, epoch: int, logs: dict | None, seconds: float, done: int) -> str:
        """Returns the text shown after `done` epochs of this call, the last one `epoch` (0-based)."""
        k = epoch + 1
        left = seconds / max(done, 1) * max(self.epochs - k, 0)
        remaining = f"{'at most ' if self.bounded else ''}{clock(left)} left" if k < self.epochs else \
            f"done in {clock(seconds)}"
        return f"{self.phase}: epoch {k}/{self.epochs}{self._metric(logs or {})}, {remaining}"

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._done = 0
        self._line = TerminalLine(self.stream)

    def on_epoch_end(self, epoch, logs=None):
        if self._start is None:
            self.on_train_begin()
        self._done += 1
        if self._line.active:
            self._line.show(self.line(epoch, logs, time.perf_counter() - self._start, self._done))

    def on_train_end(self, logs=None):
        self._line.end()

    def get_config(self):
        return {"phase": self.phase, "epochs": self.epochs, "monitor": self.monitor, "bounded": self.bounded}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

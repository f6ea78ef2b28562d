"""Callbacks that `kerasopt.train` and the training pipeline add to `fit`."""

from __future__ import annotations

import time
from typing import TextIO

import keras
import numpy as np

from kerasopt._terminal import TerminalLine, clock
from kerasopt.errors import ArgumentError

__all__ = ["LearningRateLogger", "MonitorCheck", "PenaltyLogger", "ProgressLine", "attach_stopper"]


class _Callback(keras.callbacks.Callback):
    """A callback whose `get_config` holds its constructor arguments."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kerasopt")
class LearningRateLogger(_Callback):
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


@keras.saving.register_keras_serializable(package="kerasopt")
class MonitorCheck(_Callback):
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


@keras.saving.register_keras_serializable(package="kerasopt")
class PenaltyLogger(_Callback):
    """Logs the model's weight penalty at the end of each epoch, as `logs["penalty"]`.

    The penalty is the sum of the model's regularization losses
    (`model.losses`: `l1 * sum(|w|) + l2 * sum(w**2)` over the regularized
    kernels) for the weights the epoch ends with. Keras's `loss` adds it to
    the data loss; logging it on its own says how much of `loss` it is.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            losses = (float(np.sum(keras.ops.convert_to_numpy(loss))) for loss in self.model.losses)
            logs["penalty"] = float(sum(losses))


@keras.saving.register_keras_serializable(package="kerasopt")
class ProgressLine(_Callback):
    """Shows one updating line per training phase on a terminal, nothing elsewhere.

    Each epoch rewrites the line in place (`\\r`), e.g.
    `early-stopping run: epoch 12/300, val_accuracy 0.9125, 0:03 elapsed, 0:02 to 1:05 left`;
    the time left leaves out the first (tracing) epoch and, with early stopping, ranges
    from the earliest end (no improvement from now on) to the last epoch.

    Args:
        phase: Name of the phase, shown first (e.g. `"refit"`).
        epochs: Number of epochs of the phase (the `epochs` of `fit`).
        monitor: Metric to show; `None` picks the first logged of `_PREFERRED`.
        bounded: Whether the phase may end sooner (early stopping).
        stream: Where to write; default `sys.stderr` at the time of writing.
        stopper: The early stopping of the same `fit`, running before this
            callback: a `keras.callbacks.EarlyStopping` or a
            `kerasopt.stacking.MemberEarlyStopping`, whose `patience` and
            `wait` give the earliest end. `kerasopt.train` and
            `kerasopt.stacking.train_stacked` hand theirs to a progress line
            among their `callbacks` (see `attach_stopper`). Not serialized.
    """

    _PREFERRED = ("val_accuracy", "val_log_loss", "val_mse", "accuracy", "log_loss", "mse", "val_loss", "loss")

    def __init__(self, phase: str, epochs: int, monitor: str | None = None, bounded: bool = False,
                 stream: TextIO | None = None, stopper: keras.callbacks.Callback | None = None):
        super().__init__()
        self.phase = phase
        self.epochs = int(epochs)
        self.monitor = monitor
        self.bounded = bounded
        self.stream = stream
        self.stopper = stopper
        self.on_train_begin()
        self._start = None  # set by the first epoch when `fit` did not call `on_train_begin`

    def _metric(self, logs: dict) -> str:
        if self.monitor is not None:
            name = self.monitor if self.monitor in logs else None
        else:
            name = next((m for m in self._PREFERRED if m in logs), None)
            name = name or next((m for m in sorted(logs) if m not in ("learning_rate", "penalty")), None)
        if name is None:
            return ""
        value = np.asarray(logs[name], dtype="float64")
        if value.size > 1:  # one value per member of a stacked model
            return f", mean {name} {value.mean():.4f}"
        return f", {name} {float(value):.4f}"

    def epochs_to_stop(self) -> int | None:
        """Returns the fewest epochs the early stopping can still run (0: it stopped), `None` without one.

        Read from the stopper's own state: its `patience` less its `wait`, the
        most of any member still running (a stopped member's `wait` has
        reached the patience).
        """
        if self.stopper is None or not self.bounded:
            return None
        return max(0, int(np.max(self.stopper.patience - np.asarray(self.stopper.wait))))

    def line(self, epoch: int, logs: dict | None, seconds: float, done: int, first: float | None = None,
             to_stop: int | None = None) -> str:
        """Returns the text shown after `done` epochs of this call, the last one `epoch` (0-based).

        Args:
            epoch: The epoch just finished (0-based, absolute).
            logs: Its logs.
            seconds: Time since this call began.
            done: Epochs finished in this call.
            first: Seconds of this call's first epoch (tracing included),
                left out of the time per epoch; `None` counts it.
            to_stop: Fewest epochs the early stopping can still run.
        """
        k = epoch + 1
        head = f"{self.phase}: epoch {k}/{self.epochs}{self._metric(logs or {})}"
        if k >= self.epochs:
            return f"{head}, done in {clock(seconds)}"
        if first is not None and done < 2:
            return f"{head}, {clock(seconds)} elapsed"
        per_epoch = (seconds - first) / (done - 1) if first is not None else seconds / max(done, 1)
        most = per_epoch * (self.epochs - k)
        if not self.bounded:
            return f"{head}, {clock(most)} left"
        elapsed = f"{clock(seconds)} elapsed"
        if to_stop is None:
            return f"{head}, {elapsed}, at most {clock(most)} left"
        least = per_epoch * min(to_stop, self.epochs - k)
        span = clock(most) if clock(least) == clock(most) else f"{clock(least)} to {clock(most)}"
        return f"{head}, {elapsed}, {span} left"

    def on_train_begin(self, logs=None):
        self._start, self._first, self._done, self._last = time.perf_counter(), None, 0, None
        self._line = TerminalLine(self.stream)

    def on_epoch_end(self, epoch, logs=None):
        if self._start is None:
            self.on_train_begin()
        self._done += 1
        seconds = time.perf_counter() - self._start
        if self._first is None:
            self._first = seconds
        to_stop = self.epochs_to_stop()
        self._last = (epoch, dict(logs or {}), seconds)
        if self._line.active:
            self._line.show(self.line(epoch, logs, seconds, self._done, self._first, to_stop))

    def on_train_end(self, logs=None):
        if self._last is not None and self._line.active and self._last[0] + 1 < self.epochs:
            epoch, last, seconds = self._last
            self._line.show(f"{self.phase}: stopped early at epoch {epoch + 1}/{self.epochs}"
                            f"{self._metric(last)}, done in {clock(seconds)}")
        self._line.end()

    def get_config(self):
        return {"phase": self.phase, "epochs": self.epochs, "monitor": self.monitor, "bounded": self.bounded}


def attach_stopper(callbacks: list, stopper: keras.callbacks.Callback | None) -> list:
    """Hands the early stopping of a `fit` to each `ProgressLine` among its other callbacks.

    Args:
        callbacks: The callbacks that run after `stopper`.
        stopper: The early stopping callback, or `None`.

    Returns:
        `callbacks`.
    """
    for callback in callbacks:
        if isinstance(callback, ProgressLine):
            callback.stopper = stopper
    return callbacks


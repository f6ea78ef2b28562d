"""Learning-rate schedules counted in epochs, run in optimizer steps.

`get` builds the schedule of a name for epochs of `steps_per_epoch` optimizer steps (table:
docs/python.md): Keras's own staircase schedules with their steps counted in whole epochs, and
`WarmupCosineDecay`, an `EpochSchedule` that maps the optimizer's step to its epoch,
`floor(step / steps_per_epoch)`. All serialize in a `.keras` model.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError

__all__ = ["EpochSchedule", "WarmupCosineDecay", "get", "available", "epoch_values"]

_register = keras.saving.register_keras_serializable(package="kerasopt")


def _increasing_epochs(name: str, value) -> list[int]:
    items = [check.non_negative_int(name, v) for v in value] if isinstance(value, (list, tuple)) else None
    if not items or any(b <= a for a, b in zip(items, items[1:])):
        raise ArgumentError(
            f"Invalid value for `{name}`: expected a non-empty, strictly increasing list "
            f"of epoch numbers. Received: {name}={value!r}"
        )
    return items


class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class: a learning rate that is a function of the epoch.

    Subclasses implement `value_at_epoch(epoch)` with `keras.ops` on a float32
    tensor holding the (0-based) epoch number, and name their arguments in `_CONFIG`.

    Args:
        steps_per_epoch: Optimizer steps in one epoch, usually `ceil(rows / batch_size)`.
        name: Optional name.
    """

    _CONFIG: tuple[str, ...] = ()

    def __init__(self, steps_per_epoch: int = 1, name: str | None = None):
        self.steps_per_epoch = check.positive_int("steps_per_epoch", steps_per_epoch)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        epoch = ops.floor(step / float(self.steps_per_epoch))
        return ops.cast(self.value_at_epoch(epoch), "float32")

    def value_at_epoch(self, epoch):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        values = {key: getattr(self, key) for key in self._CONFIG}
        return {"steps_per_epoch": self.steps_per_epoch, "name": self.name,
                **{k: list(v) if isinstance(v, list) else v for k, v in values.items()}}


@_register
class WarmupCosineDecay(EpochSchedule):
    """Linear warm-up, then cosine decay.

    For `e < warmup_epochs`: `lr(e) = initial_learning_rate * (e + 1) / (warmup_epochs + 1)`.
    After it, with `t = min(e - warmup_epochs, decay_epochs)`:
    `lr(e) = lr_min + (initial_learning_rate - lr_min) * (1 + cos(pi * t / decay_epochs)) / 2`,
    where `lr_min = alpha * initial_learning_rate`.

    Args:
        initial_learning_rate: Peak learning rate, reached after the warm-up.
        decay_epochs: Length of the cosine phase in epochs.
        warmup_epochs: Length of the linear warm-up in epochs (0 for none).
        alpha: Final learning rate as a fraction of `initial_learning_rate`.
        steps_per_epoch, name: As in `EpochSchedule`.
    """

    _CONFIG = ("initial_learning_rate", "decay_epochs", "warmup_epochs", "alpha")

    def __init__(self, initial_learning_rate: float, decay_epochs: int, warmup_epochs: int = 0,
                 alpha: float = 0.0, steps_per_epoch: int = 1, name: str | None = None):
        super().__init__(steps_per_epoch, name)
        self.initial_learning_rate = check.positive_float("initial_learning_rate", initial_learning_rate)
        self.decay_epochs = check.positive_int("decay_epochs", decay_epochs)
        self.warmup_epochs = check.non_negative_int("warmup_epochs", warmup_epochs)
        self.alpha = check.unit_interval("alpha", alpha, closed_right=True)

    def value_at_epoch(self, epoch):
        lr0 = self.initial_learning_rate
        warm = lr0 * (epoch + 1.0) / (self.warmup_epochs + 1.0)
        t = ops.clip(epoch - self.warmup_epochs, 0.0, float(self.decay_epochs))
        lr_min = self.alpha * lr0
        cosine = lr_min + (lr0 - lr_min) * 0.5 * (1.0 + ops.cos(math.pi * t / self.decay_epochs))
        return ops.where(ops.less(epoch, float(self.warmup_epochs)), warm, cosine)


def _step(initial_learning_rate: float, steps_per_epoch: int, step_size: int, gamma: float = 0.1):
    """`lr(e) = initial_learning_rate * gamma ** floor(e / step_size)`, like PyTorch's `StepLR`."""
    return keras.optimizers.schedules.ExponentialDecay(
        check.positive_float("initial_learning_rate", initial_learning_rate),
        steps_per_epoch * check.positive_int("step_size", step_size), check.positive_float("gamma", gamma),
        staircase=True)


def _exponential(initial_learning_rate: float, steps_per_epoch: int, gamma: float = 0.95):
    """`lr(e) = initial_learning_rate * gamma ** e`, like PyTorch's `ExponentialLR`."""
    return _step(initial_learning_rate, steps_per_epoch, 1, gamma)


def _piecewise(steps_per_epoch: int, boundaries: list[int], values: list[float]):
    """`lr(e) = values[number of boundaries <= e]`: epoch `b` starts at step `b * steps_per_epoch`,
    the first step past Keras's boundary `b * steps_per_epoch - 1`."""
    boundaries = _increasing_epochs("boundaries", boundaries)
    if not isinstance(values, (list, tuple)) or len(values) != len(boundaries) + 1:
        raise ArgumentError("Invalid value for `values`: expected one more value than `boundaries` "
                            f"({len(boundaries) + 1} values). Received: values={values!r}")
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [b * steps_per_epoch - 1 for b in boundaries], [check.positive_float("values", v) for v in values])


def _multistep(initial_learning_rate: float, steps_per_epoch: int, milestones: list[int], gamma: float = 0.1):
    """`lr(e) = initial_learning_rate * gamma ** (number of milestones <= e)`, like PyTorch's `MultiStepLR`."""
    rate = check.positive_float("initial_learning_rate", initial_learning_rate)
    gamma, milestones = check.positive_float("gamma", gamma), _increasing_epochs("milestones", milestones)
    return _piecewise(steps_per_epoch, milestones, [rate * gamma**i for i in range(len(milestones) + 1)])


def _inverse_time(initial_learning_rate: float, steps_per_epoch: int, decay_rate: float = 0.5):
    """`lr(e) = initial_learning_rate / (1 + decay_rate * e)`."""
    return keras.optimizers.schedules.InverseTimeDecay(
        check.positive_float("initial_learning_rate", initial_learning_rate), steps_per_epoch,
        check.non_negative_float("decay_rate", decay_rate), staircase=True)


# name -> what builds it from `steps_per_epoch` and the schedule's arguments, led (but for
# `piecewise`) by `initial_learning_rate`, which `get` fills from `learning_rate`.
_SCHEDULES = {"constant": None, "step": _step, "multistep": _multistep, "exponential": _exponential,
              "piecewise": _piecewise, "inverse_time": _inverse_time, "cosine": WarmupCosineDecay}


class _Legacy:
    """Loads a schedule class of earlier kerasopt versions (`kerasopt>StepDecay`, ... in the optimizer
    of a `.keras` file) as the schedule that `get` now builds from its config."""

    def __init__(self, name: str):
        self.name = name

    def from_config(self, config: dict) -> keras.optimizers.schedules.LearningRateSchedule:
        config = {k: v for k, v in config.items() if k != "name"}
        return get(self.name, learning_rate=config.pop("initial_learning_rate", None), **config)


for _old, _name in {"StepDecay": "step", "MultiStepDecay": "multistep", "ExponentialDecay": "exponential",
                    "PiecewiseConstant": "piecewise", "InverseTimeDecay": "inverse_time"}.items():
    keras.saving.get_custom_objects()[f"kerasopt>{_old}"] = _Legacy(_name)


def available() -> list[str]:
    """Returns the schedule names that `get` understands."""
    return list(_SCHEDULES)


def get(identifier: str | dict | keras.optimizers.schedules.LearningRateSchedule | float | None,
        learning_rate: float = 1e-3, steps_per_epoch: int | None = None, epochs: int | None = None,
        **kwargs) -> keras.optimizers.schedules.LearningRateSchedule | float:
    """Returns a learning-rate schedule from a name, a dict or an instance.

    Args:
        identifier: A schedule name (see `available()`); `None`, `"constant"` or a float for a
            fixed rate; a dict (`{"name": "step", "step_size": 10}` or Keras's serialized form);
            or a `LearningRateSchedule` (returned as is).
        learning_rate: The initial learning rate of the schedule.
        steps_per_epoch: Optimizer steps in one epoch; required by every schedule but the constant one.
        epochs: The run's number of epochs: the default length of `cosine` (`decay_epochs`).
        **kwargs: The schedule's own arguments (`step_size`, `gamma`, `milestones`, ...).

    Returns:
        A `keras.optimizers.schedules.LearningRateSchedule`, or a float for a constant rate:
        Keras's `ExponentialDecay` (`step`, `exponential`), `PiecewiseConstantDecay`
        (`multistep`, `piecewise`) or `InverseTimeDecay` (`inverse_time`), with their steps
        counted in whole epochs, or a `WarmupCosineDecay` (`cosine`).

    Raises:
        ArgumentError: for an unknown name, invalid arguments, or a missing `steps_per_epoch`.

    Example:

    >>> s = get("step", learning_rate=0.1, steps_per_epoch=5, step_size=10, gamma=0.5)
    >>> epoch_values(s, 21, steps_per_epoch=5)[[0, 10, 20]].round(4).tolist()
    [0.1, 0.05, 0.025]
    >>> get("cosine", learning_rate=0.1, steps_per_epoch=5, epochs=40).decay_epochs
    40
    """
    if isinstance(identifier, keras.optimizers.schedules.LearningRateSchedule):
        return identifier
    if identifier is None or (isinstance(identifier, (int, float)) and not isinstance(identifier, bool)):
        rate = learning_rate if identifier is None else identifier
        return check.positive_float("learning_rate", rate)
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            return keras.saving.deserialize_keras_object(identifier)
        config = dict(identifier)
        if "name" not in config:
            raise ArgumentError(f"A schedule dict needs a 'name' key, one of {', '.join(available())}. "
                                f"Received: schedule={identifier!r}")
        name = config.pop("name")
        return get(name, learning_rate=config.pop("learning_rate", learning_rate),
                   steps_per_epoch=config.pop("steps_per_epoch", steps_per_epoch),
                   epochs=config.pop("epochs", epochs), **{**config, **kwargs})
    if isinstance(identifier, str):
        return _from_name(identifier, learning_rate, steps_per_epoch, epochs, kwargs)
    raise ArgumentError(f"Could not interpret schedule identifier: schedule={identifier!r}")


def _from_name(identifier: str, learning_rate: float, steps_per_epoch: int | None, epochs: int | None,
               kwargs: dict) -> keras.optimizers.schedules.LearningRateSchedule | float:
    """The schedule named `identifier` with its arguments checked."""
    key = identifier.lower()
    if key not in _SCHEDULES:
        raise ArgumentError(f"Unknown schedule: schedule={identifier!r}. Known schedules: {', '.join(available())}.")
    build = _SCHEDULES[key]
    if build is None:
        if kwargs:
            raise ArgumentError(f"The constant schedule takes no arguments. Received: {sorted(kwargs)}")
        return check.positive_float("learning_rate", learning_rate)
    if key != "piecewise":
        kwargs = {"initial_learning_rate": learning_rate, **kwargs}
    if steps_per_epoch is None:
        raise ArgumentError(
            f"Invalid arguments for schedule {identifier!r}: it counts epochs and the optimizer counts "
            "steps, so it needs `steps_per_epoch` (ceil(training rows / batch_size)). "
            "Received: steps_per_epoch=None")
    steps_per_epoch = check.positive_int("steps_per_epoch", steps_per_epoch)
    if build is WarmupCosineDecay and "decay_epochs" not in kwargs:  # its length defaults to the run's
        if epochs is None:
            raise ArgumentError(f"Invalid arguments for schedule {identifier!r}: it needs `decay_epochs`, or "
                                "the run's `epochs` as its default. Received: decay_epochs=None, epochs=None")
        kwargs = {**kwargs, "decay_epochs": check.positive_int("epochs", epochs)}
    try:
        return build(steps_per_epoch=steps_per_epoch, **kwargs)
    except TypeError as e:
        raise ArgumentError(f"Invalid arguments for schedule {identifier!r}: {e}") from None


def epoch_values(schedule: keras.optimizers.schedules.LearningRateSchedule | float, epochs: int,
                 steps_per_epoch: int | None = None) -> np.ndarray:
    """Returns the learning rate of each epoch, evaluated at the epoch's first step.

    Args:
        schedule: A `LearningRateSchedule` or a float.
        epochs: Number of epochs.
        steps_per_epoch: Steps in one epoch, as given to `get`; defaults to an
            `EpochSchedule`'s own `steps_per_epoch`. Required for any other schedule
            (Keras's count steps only).

    Returns:
        A float64 array of shape `(epochs,)`.

    Raises:
        ArgumentError: for a schedule without its own `steps_per_epoch` and none given.
    """
    epochs = check.positive_int("epochs", epochs)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return np.full(epochs, check.positive_float("schedule", schedule))
    spe = steps_per_epoch or getattr(schedule, "steps_per_epoch", None)
    if spe is None:
        raise ArgumentError(f"Invalid arguments: {type(schedule).__name__} counts steps, so `epoch_values` needs "
                            "`steps_per_epoch` (the one given to `get`). Received: steps_per_epoch=None")
    steps = np.arange(epochs, dtype="int64") * check.positive_int("steps_per_epoch", spe)
    return np.array([float(ops.convert_to_numpy(schedule(int(s)))) for s in steps])

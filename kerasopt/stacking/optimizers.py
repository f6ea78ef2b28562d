"""Optimizers of stacked models: elementwise updates, and one learning rate per member.

Members share one optimizer, so it must update each weight entry from its own gradient history
(`ELEMENTWISE_OPTIMIZERS`, no norm clipping). A population with a learning rate per member uses
the `Memberwise` class of the optimizer (`MemberwiseAdam`, ...; docs/stacking.md).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt._keras_compat import PerVariableWeightDecay
from kerasopt.errors import ArgumentError

__all__ = ["ELEMENTWISE_OPTIMIZERS", "MEMBERWISE_OPTIMIZERS", "check_optimizer", "memberwise_optimizer"]

#: Optimizers whose update of a weight entry depends only on that entry's own gradient history.
ELEMENTWISE_OPTIMIZERS = (keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.AdamW,
                          keras.optimizers.Adamax, keras.optimizers.Nadam, keras.optimizers.RMSprop,
                          keras.optimizers.Adagrad, keras.optimizers.Adadelta, keras.optimizers.Lion,
                          keras.optimizers.Ftrl)
_NAMES = ", ".join(cls.__name__ for cls in ELEMENTWISE_OPTIMIZERS)


class _MemberwiseLearningRate(PerVariableWeightDecay):
    """Mixin: the learning rate of member `k` is the optimizer's (scheduled) rate times `member_scales[k]`.

    Variables have the member as leading axis, so a rate of shape `(K, 1, ...)` broadcasts per
    member; decoupled weight decay uses it too.
    """

    def __init__(self, member_scales, **kwargs):
        super().__init__(**kwargs)
        self.member_scales = [check.positive_float("member_scales", s) for s in member_scales]

    def _member_rate(self, variable, learning_rate):
        ops = keras.ops
        count = len(self.member_scales)
        shape = tuple(variable.shape)
        if not shape or shape[0] != count:
            raise ArgumentError(f"{self.__class__.__name__} updates variables whose leading axis holds its "
                                f"{count} members. Received: a variable of shape {shape}")
        scales = ops.convert_to_tensor(np.asarray(self.member_scales, "float32"), variable.dtype)
        return ops.cast(learning_rate, variable.dtype) * ops.reshape(scales, (count,) + (1,) * (len(shape) - 1))

    def update_step(self, gradient, variable, learning_rate):
        return super().update_step(gradient, variable, self._member_rate(variable, learning_rate))

    def weight_decay_rate(self, variable):
        """The learning rate of `variable`'s decoupled weight decay: its member's rate."""
        return self._member_rate(variable, self.learning_rate)

    def get_config(self):
        return {**super().get_config(), "member_scales": list(self.member_scales)}


def _memberwise_class(base: type) -> type:
    """`Memberwise<base>`, registered as "kerasopt>Memberwise<base>"."""
    name = f"Memberwise{base.__name__}"
    cls = type(name, (_MemberwiseLearningRate, base), {
        "__module__": __name__, "__qualname__": name,
        "__doc__": f"`keras.optimizers.{base.__name__}` with one learning rate per member of a stacked model.\n\n"
                   f"    Member `k`'s rate is the optimizer's (scheduled) `learning_rate` times\n"
                   f"    `member_scales[k]`; the other arguments are those of `{base.__name__}`.\n"})
    return keras.saving.register_keras_serializable(package="kerasopt")(cls)


#: MemberwiseSGD, MemberwiseAdam, ...: each elementwise optimizer with a learning rate per member.
MEMBERWISE_OPTIMIZERS: dict[type, type] = {base: _memberwise_class(base) for base in ELEMENTWISE_OPTIMIZERS}
globals().update({cls.__name__: cls for cls in MEMBERWISE_OPTIMIZERS.values()})
__all__ += [cls.__name__ for cls in MEMBERWISE_OPTIMIZERS.values()]


def check_optimizer(opt: keras.optimizers.Optimizer) -> None:
    """Raises `ArgumentError` unless `opt` updates every weight entry from its own gradient only."""
    if not isinstance(opt, ELEMENTWISE_OPTIMIZERS):
        raise ArgumentError("Invalid value for `optimizer`: stacking needs an optimizer that updates every weight "
                            f"entry from its own gradient only ({_NAMES}). "
                            f"Received: optimizer={opt.__class__.__name__}")
    for option in ("clipnorm", "global_clipnorm"):
        if getattr(opt, option, None) is not None:
            raise ArgumentError(f"Invalid value for `optimizer`: `{option}` would clip the members' gradients "
                             f"together; use `clipvalue` or none. Received: {option}={getattr(opt, option)!r}")


def memberwise_optimizer(opt: keras.optimizers.Optimizer, rates: list[float], learning_rate
                         ) -> keras.optimizers.Optimizer:
    """`opt` as its `Memberwise` class with member `k` at `rates[k]` (times the schedule's shape)."""
    base = next((b for b in ELEMENTWISE_OPTIMIZERS if type(opt) is b), None)
    if base is None:
        raise ArgumentError(f"Invalid value for `optimizer`: a population learning rate needs one of the Keras "
                            f"optimizers {_NAMES} itself, not a subclass. Received: optimizer={opt.__class__.__name__}")
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        start = float(keras.ops.convert_to_numpy(learning_rate(0)))
        if not math.isfinite(start) or start <= 0:
            raise ArgumentError("Invalid value for `learning_rate`: with `population['learning_rate']` a schedule "
                                "gives the members' common shape and must start above 0. Received: "
                                f"learning_rate={learning_rate!r} with learning_rate(0)={start!r}")
        scales, rate = [r / start for r in rates], learning_rate
    else:
        scales, rate = list(rates), 1.0  # a rate of 1.0 times lr_k is exactly lr_k
    config = {**opt.get_config(), "learning_rate": rate, "member_scales": scales}
    return MEMBERWISE_OPTIMIZERS[base].from_config(config)

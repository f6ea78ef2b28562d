"""Every use of Keras's private API in kerasopt, in one place.

Tested with Keras 3.15 (setup.cfg pins `keras>=3.7,<3.16`). Nothing else in
kerasopt touches a private name of a Keras object; a test checks this. When
Keras changes, this module is the one to adapt:

- `PerVariableWeightDecay`: an optimizer mixin whose decoupled weight decay
  (`weight_decay`) uses a learning rate per variable. Keras has no public
  hook for it: its optimizers decay every variable at the one learning rate
  in `BaseOptimizer._apply_weight_decay`, called before each update step, and
  honour `exclude_from_weight_decay` through `BaseOptimizer._use_weight_decay`.
"""

from __future__ import annotations

import keras

__all__ = ["PerVariableWeightDecay"]


class PerVariableWeightDecay:
    """Optimizer mixin: decoupled weight decay at `self.weight_decay_rate(variable)`.

    Put it before the Keras optimizer in the bases
    (`class MyOptimizer(PerVariableWeightDecay, keras.optimizers.AdamW)`) and
    define `weight_decay_rate(variable)`, the learning rate (a scalar or a
    tensor that broadcasts against `variable`) of that variable's decay step
    `variable -= variable * weight_decay * rate`. Variables excluded with
    `exclude_from_weight_decay` are not decayed.
    """

    def weight_decay_rate(self, variable):
        """The learning rate of `variable`'s decay step (default: the optimizer's)."""
        return self.learning_rate

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                rate = keras.ops.cast(self.weight_decay_rate(variable), variable.dtype)
                decay = keras.ops.cast(self.weight_decay, variable.dtype)
                variable.assign(variable - variable * decay * rate)

"""The layers and penalties of a stacked model: K members in one `(batch, K, ...)` tensor.

Every variable has the member as its leading axis. `keras.layers.EinsumDense`
(`EQUATION`) is the members' `Dense` layers; the layers here are the rest of
a `kerasopt.build_model` network, member by member: its dropout
(`StackedDropout`), batch normalization (`StackedBatchNormalization`) and
weight penalties (`MemberwiseL1L2`, `MemberwiseRegularizer`); column
embeddings are `kerasopt.tabular.BlockEmbedding`, stacked or not.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError

__all__ = [
    "ADDITIVE_REGULARIZERS",
    "EQUATION",
    "MemberwiseL1L2",
    "MemberwiseRegularizer",
    "StackedBatchNormalization",
    "StackedDropout",
]

#: The members' Dense layers: kernels of shape `(K, in, out)`, biases `(K, out)`.
EQUATION = "bki,kio->bko"
#: Penalties that are sums over the entries, so a penalty of the stacked kernel is the sum of the members'.
ADDITIVE_REGULARIZERS = (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2)


@keras.saving.register_keras_serializable(package="kerasopt")
class MemberwiseRegularizer(keras.regularizers.Regularizer):
    """Applies a regularizer to each member's slice of a stacked kernel and sums.

    A penalty such as `OrthogonalRegularizer` is not a sum over the entries
    of a kernel, so applying it to a `(K, in, out)` kernel would mix the
    members; this wrapper gives each member the penalty its single network
    has. (L1 and L2 penalties are sums over the entries and need no wrapper.)

    Args:
        regularizer: The single network's regularizer (name, dict or
            instance).
    """

    def __init__(self, regularizer):
        self.regularizer = keras.regularizers.get(regularizer)

    def __call__(self, x):
        return sum(self.regularizer(x[k]) for k in range(x.shape[0]))

    def get_config(self):
        return {"regularizer": keras.regularizers.serialize(self.regularizer)}


@keras.saving.register_keras_serializable(package="kerasopt")
class MemberwiseL1L2(keras.regularizers.Regularizer):
    """L1 and L2 penalties with one strength per member of a stacked kernel.

    For a variable whose leading axis is the member, the penalty is
    `sum_k (l1[k] * sum(|W_k|) + l2[k] * sum(W_k ** 2))`, so member `k`'s
    gradient is the one `keras.regularizers.L1L2(l1[k], l2[k])` gives its
    single network.

    Args:
        l1: One L1 strength per member.
        l2: One L2 strength per member.
    """

    def __init__(self, l1, l2):
        self.l1 = [float(v) for v in l1]
        self.l2 = [float(v) for v in l2]
        if len(self.l1) != len(self.l2) or not self.l1 or min(self.l1 + self.l2) < 0:
            raise ArgumentError("Invalid value for `l1`/`l2`: expected as many non-negative strengths in each, one "
                                f"per member. Received: l1={l1!r}, l2={l2!r}")

    def __call__(self, x):
        ops = keras.ops
        axes = tuple(range(1, len(x.shape)))
        total = ops.zeros((), dtype=x.dtype)
        if any(self.l1):
            total = total + ops.sum(ops.convert_to_tensor(self.l1, x.dtype) * ops.sum(ops.abs(x), axis=axes))
        if any(self.l2):
            total = total + ops.sum(ops.convert_to_tensor(self.l2, x.dtype) * ops.sum(ops.square(x), axis=axes))
        return total

    def member_penalties(self, kernel: np.ndarray) -> np.ndarray:
        """Each member's penalty of `kernel` (NumPy, float64)."""
        kernel = np.asarray(kernel, "float64").reshape(len(self.l1), -1)
        return np.asarray(self.l1) * np.abs(kernel).sum(axis=1) + np.asarray(self.l2) * np.square(kernel).sum(axis=1)

    def get_config(self):
        return {"l1": list(self.l1), "l2": list(self.l2)}


@keras.saving.register_keras_serializable(package="kerasopt")
class StackedDropout(keras.layers.Layer):
    """Dropout of a stacked `(batch, K, units)` tensor: one rate for all members, or one per member.

    Member `k` acts as `keras.layers.Dropout(rates[k])`. With `threefry`, training masks come from
    `tf.random.stateless_uniform(..., alg="threefry")`, about ten times faster under XLA on a CPU
    than TensorFlow's default generator (docs/stacking.md).

    Args:
        rates: One rate in [0, 1) shared by the members, or one per member.
        seed: Seed of the masks, or `None`.
        threefry: Whether training masks use the Threefry generator (needs
            XLA: TensorFlow has no Threefry kernel outside it).
        **kwargs: Base layer arguments.
    """

    def __init__(self, rates, seed: int | None = None, threefry: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rates, (list, tuple, np.ndarray)):
            self.rates = [check.unit_interval("rates", r) for r in rates]
        else:
            self.rates = check.unit_interval("rates", rates)
        self.seed = seed
        self.threefry = bool(threefry)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        shared = not isinstance(self.rates, list)
        if not training or not (self.rates if shared else any(self.rates)):
            return inputs
        ops = keras.ops
        rates = np.float32(self.rates) if shared else np.asarray(self.rates, "float32")[:, None]  # (K, 1)
        if self.threefry and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            seed = keras.random.randint((2,), 0, 2**31 - 1, dtype="int32", seed=self.seed_generator)
            uniform = tf.random.stateless_uniform(tf.shape(inputs), seed=seed, alg="threefry", dtype=inputs.dtype)
        else:
            uniform = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator, dtype=inputs.dtype)
        rates = ops.convert_to_tensor(rates, inputs.dtype)
        return ops.where(uniform >= rates, inputs / (1.0 - rates), ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rates": self.rates, "seed": self.seed, "threefry": self.threefry}


@keras.saving.register_keras_serializable(package="kerasopt")
class StackedBatchNormalization(keras.layers.Layer):
    """Batch normalization with statistics per member and unit.

    Takes `(batch, K, units)`; member `k` acts as its single network's `BatchNormalization`, its
    batch statistics taken over its real rows (`row_mask`, `(batch, K)`, 0 for padding).

    Args:
        momentum: Momentum of the moving statistics.
        epsilon: Added to the variance.
        **kwargs: Base layer arguments.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        shape = tuple(input_shape[1:])
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros",
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape, initializer="ones",
                                               trainable=False)

    def call(self, inputs, row_mask=None, training=None):
        ops = keras.ops
        if training:
            if row_mask is None:
                mean, variance = ops.moments(inputs, axes=[0])
            else:
                weights = ops.expand_dims(ops.cast(row_mask, inputs.dtype), -1)
                count = ops.maximum(ops.sum(weights, axis=0), 1.0)
                mean = ops.sum(weights * inputs, axis=0) / count
                variance = ops.sum(weights * ops.square(inputs - mean), axis=0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        scale = ops.rsqrt(variance + self.epsilon) * self.gamma
        return inputs * scale + (self.beta - mean * scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}

"""Stacked training: K independent Dense networks trained as one Keras model.

Small Dense networks on small tables spend a training step on dispatch
overhead, not arithmetic, so K networks cost little more than one when they
run as one model. `build_stacked_model` makes K copies of the network that
`kerasopt.build_model` makes, with one `keras.layers.EinsumDense`
(`"bki,kio->bko"`: kernels of shape `(K, in, out)`, biases `(K, out)`) per
`Dense` layer. The model takes `{"features": (batch, K, features),
"row_mask": (batch, K)}`: each member sees its own rows. Member `k` is its own
network:

- its initial weights are exactly those of `build_model(seed=seeds[k])`, its
  `Normalization` is adapted on its own training rows;
- its loss is its own batch mean; the model's loss is the SUM of the
  members' losses, and every weight penalty is the member's own, so each
  member's gradient is the one its single network would get (optimizers
  that couple the entries of a variable, such as norm clipping, are refused);
- Dropout draws its own masks for each member's rows (`StackedDropout`), and
  `StackedBatchNormalization` keeps batch statistics per member and unit
  (over the member's real rows only).

`train_stacked` gives each member its own rows (for example its fold's
training rows), its own shuffled order every epoch, its own validation rows
and its own early-stopping record, in one compiled call per epoch on TensorFlow.
`extract_members` returns the members as ordinary `build_model` networks and
`stacked_ensemble` returns one model averaging them, which saves to `.keras`
and loads back after `import kerasopt`.

Populations: members that share the layer shapes may differ in their
continuous hyperparameters, so that one stacked model trains several trials
of a search (`build_stacked_model(..., population={"learning_rate": [...],
"l1": [...], "l2": [...], "dropout": [...]})`, one value per member for any
of the keys). Member `k` then trains exactly as `build_model(...,
learning_rate=lr[k], l1=l1[k], l2=l2[k], dropout=dropout[k],
seed=seeds[k])` would (dropout: the same rate, its own masks):

- learning rates: the optimizer becomes its `Memberwise` class
  (`MemberwiseSGD`, `MemberwiseAdam`, ...), whose `update_step` multiplies the
  (scheduled) learning rate by `member_scales` reshaped to `(K, 1, ...)`, so
  each member's slice of every variable gets its own rate; decoupled weight
  decay (`weight_decay`, e.g. AdamW) uses the member's rate too;
- penalties: `MemberwiseL1L2` weights each member's slice of every kernel by
  its own strengths;
- dropout: `StackedDropout` drops each member's units at its own rate.

`extract_members` gives member `k` its own penalties, dropout and a plain
optimizer at its own rate; `stacked_ensemble` runs inference (no dropout).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import models as models_lib  # the module: stacking may register while models imports
from kerasopt import tabular as tabular_lib
from kerasopt._keras_compat import PerVariableWeightDecay
from kerasopt.config import DEFAULTS
from kerasopt.errors import ArgumentError

__all__ = [
    "MemberEarlyStopping",
    "MemberwiseL1L2",
    "MemberwiseRegularizer",
    "POPULATION_KEYS",
    "ScaledSchedule",
    "StackedBatchNormalization",
    "StackedDropout",
    "StackedEmbedding",
    "StackedTrainResult",
    "build_stacked_model",
    "build_stacked_table_model",
    "encode_table",
    "extract_members",
    "jit_for",
    "plan_batches",
    "predict_members",
    "stacked_ensemble",
    "table_ensemble",
    "table_targets",
    "train_stacked",
]

_EQUATION = "bki,kio->bko"
# Optimizers whose update of a weight entry depends only on that entry's own gradient history.
_ELEMENTWISE_OPTIMIZERS = (keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.AdamW,
                           keras.optimizers.Adamax, keras.optimizers.Nadam, keras.optimizers.RMSprop,
                           keras.optimizers.Adagrad, keras.optimizers.Adadelta, keras.optimizers.Lion,
                           keras.optimizers.Ftrl)
# Penalties that are sums over the entries, so a penalty of the stacked kernel is the sum of the members'.
_ADDITIVE_REGULARIZERS = (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2)


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

    def member(self, k: int):
        """Member `k`'s single-network regularizer (`kerasopt.models.make_regularizer`)."""
        return models_lib.make_regularizer(self.l1[k], self.l2[k])

    def get_config(self):
        return {"l1": list(self.l1), "l2": list(self.l2)}


@keras.saving.register_keras_serializable(package="kerasopt")
class StackedDropout(keras.layers.Layer):
    """Dropout of a stacked `(batch, K, units)` tensor: one rate for all members, or one per member.

    While training, every entry of member `k` is dropped with probability
    `rates[k]` (its own draw for each row and unit) and the kept entries are
    scaled by `1 / (1 - rates[k])`, as `keras.layers.Dropout(rates[k])` does;
    a member with rate 0 passes through unchanged. Outside training it is the
    identity.

    TensorFlow's default generator for stateless random numbers
    (`StatelessRandomUniformV2`, "auto_select") is about ten times slower
    under XLA on a CPU than the Threefry generator, enough to make a stacked
    phone network with dropout train an epoch about 9x slower than without.
    With `threefry=True` (set by `build_stacked_model` when it compiles with
    XLA on TensorFlow) training masks come from
    `tf.random.stateless_uniform(..., alg="threefry")`, seeded from the
    layer's `SeedGenerator`.

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

    def member_rate(self, k: int) -> float:
        """Member `k`'s rate."""
        return float(self.rates[k] if isinstance(self.rates, list) else self.rates)

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
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule times a constant: `scale * schedule(step)`.

    An extracted population member's schedule: the population's schedule
    rescaled to the member's learning rate.

    Args:
        schedule: A `keras.optimizers.schedules.LearningRateSchedule` (or its
            serialized dict).
        scale: The constant factor.
    """

    def __init__(self, schedule, scale: float):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        self.schedule = schedule
        self.scale = float(scale)

    def __call__(self, step):
        return self.schedule(step) * self.scale

    def get_config(self):
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule), "scale": self.scale}


class _MemberwiseLearningRate(PerVariableWeightDecay):
    """Mixin: the learning rate of member `k` is the optimizer's (scheduled) rate times `member_scales[k]`.

    Every trainable variable of a stacked model has the member as its leading
    axis; an elementwise optimizer's `update_step` broadcasts the learning
    rate against the variable, so a rate of shape `(K, 1, ...)` gives every
    member its own. Decoupled weight decay (`weight_decay`) uses the member's
    rate too.
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

    def member_optimizer(self, k: int) -> keras.optimizers.Optimizer:
        """A fresh single-network optimizer of member `k` (its base class, at its own learning rate)."""
        config = self.get_config()
        config.pop("member_scales")
        scale = self.member_scales[k]
        rate = config["learning_rate"]
        config["learning_rate"] = (ScaledSchedule(rate, scale) if isinstance(rate, dict) else float(rate) * scale)
        return self._base.from_config(config)

    def get_config(self):
        return {**super().get_config(), "member_scales": list(self.member_scales)}


# MemberwiseSGD, MemberwiseAdam, ...: each elementwise optimizer with a learning rate per member.
_MEMBERWISE_OPTIMIZERS: dict[type, type] = {}
for _base in _ELEMENTWISE_OPTIMIZERS:
    _name = f"Memberwise{_base.__name__}"
    _cls = type(_name, (_MemberwiseLearningRate, _base), {
        "__module__": __name__, "__qualname__": _name, "_base": _base,
        "__doc__": f"`keras.optimizers.{_base.__name__}` with one learning rate per member of a stacked model.\n\n"
                   f"    Member `k`'s rate is the optimizer's (scheduled) `learning_rate` times\n"
                   f"    `member_scales[k]`; the other arguments are those of `{_base.__name__}`.\n"})
    _MEMBERWISE_OPTIMIZERS[_base] = keras.saving.register_keras_serializable(package="kerasopt")(_cls)
    globals()[_name] = _cls
    __all__.append(_name)
del _base, _name, _cls


@keras.saving.register_keras_serializable(package="kerasopt")
class StackedBatchNormalization(keras.layers.Layer):
    """Batch normalization with statistics per member and unit.

    Takes `(batch, K, units)` and, while training, normalizes each member's
    units by the mean and variance over that member's real rows of the batch
    (`row_mask`, shape `(batch, K)`, is 1 for a real row and 0 for padding);
    otherwise by the moving statistics. Member `k`'s `gamma[k]`, `beta[k]`,
    `moving_mean[k]` and `moving_variance[k]` are a `BatchNormalization`
    layer of its single network, with the same update rule.

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


@keras.saving.register_keras_serializable(package="kerasopt")
class StackedEmbedding(keras.layers.Layer):
    """Each member's own embeddings of one-hot blocks of stacked features.

    An `Embedding` lookup is the product of the category's one-hot vector
    with the embedding matrix, so a one-hot block of width `n` times a
    member's `(n, dim)` matrix is exactly that member's `Embedding` (same
    output, same gradient). The layer maps `(batch, K, features)` to
    `(batch, K, features')`, replacing each block `(start, width, dim)` by its
    `dim` embedded values and passing the other features through in order.

    Args:
        blocks: `(start, width, dim)` of each one-hot block, in order of
            `start` (see `kerasopt.tabular.embedding_blocks`).
    """

    def __init__(self, blocks, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [tuple(int(v) for v in b) for b in blocks]
        starts = [b[0] for b in self.blocks]
        if not self.blocks or any(len(b) != 3 or min(b) < 0 or b[1] < 1 or b[2] < 1 for b in self.blocks) \
                or starts != sorted(starts) \
                or any(a[0] + a[1] > b[0] for a, b in zip(self.blocks, self.blocks[1:])):
            raise ArgumentError("Invalid value for `blocks`: expected non-overlapping (start, width, dim) "
                                f"triples in order of start. Received: blocks={blocks!r}")

    def build(self, input_shape):
        members, width = int(input_shape[1]), int(input_shape[2])
        if self.blocks[-1][0] + self.blocks[-1][1] > width:
            raise ArgumentError(f"StackedEmbedding blocks {self.blocks} exceed the {width} input features.")
        self.tables = [self.add_weight(shape=(members, w, d), initializer="zeros", name=f"embeddings_{j}")
                       for j, (_, w, d) in enumerate(self.blocks)]
        self._width = width

    def call(self, inputs):
        parts, position = [], 0
        for (start, width, _), table in zip(self.blocks, self.tables):
            if start > position:
                parts.append(inputs[..., position:start])
            parts.append(keras.ops.einsum("bki,kid->bkd", inputs[..., start:start + width], table))
            position = start + width
        if position < self._width:
            parts.append(inputs[..., position:])
        return parts[0] if len(parts) == 1 else keras.ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        width = int(input_shape[2]) + sum(d - w for _, w, d in self.blocks)
        return (input_shape[0], input_shape[1], width)

    def get_config(self):
        return {**super().get_config(), "blocks": [list(b) for b in self.blocks]}


#: Gradient steps (all epochs) from which compiling a stacked model with XLA pays on TensorFlow:
#: the compile takes about 2-4 s, and 15 stacked phone networks then train about 3x faster
#: (23 ms against about 70 ms an epoch of 40 steps, about 1 ms saved per step).
XLA_MIN_STEPS = 2000


def jit_for(steps: int) -> bool | str:
    """The `jit_compile` for a stacked run of `steps` gradient steps in all.

    On TensorFlow, XLA only from `XLA_MIN_STEPS` steps on (a short run spends
    longer compiling than it saves); on other backends `"auto"`.

    Args:
        steps: Steps per epoch times epochs.

    Returns:
        `True`, `False` or `"auto"`, for `build_stacked_model`'s `jit_compile`.
    """
    if keras.backend.backend() != "tensorflow":
        return "auto"
    return check.non_negative_int("steps", steps) >= XLA_MIN_STEPS


def _member_seeds(name: str, seed, members: int) -> list[int | None]:
    if seed is None:
        return [None] * members
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != members:
            raise ArgumentError(f"Invalid value for `{name}`: expected one seed per member ({members} values) "
                             f"or a single seed. Received: {name}={list(seed)!r}")
        return [check.non_negative_int(name, s) for s in seed]
    seed = check.non_negative_int(name, seed)
    return [seed + k for k in range(members)]


POPULATION_KEYS = ("learning_rate", "l1", "l2", "dropout")


def _check_population(population, members: int, *, learning_rate, l1, l2, dropout, kernel_regularizer
                      ) -> dict[str, list[float]]:
    """Validates `build_stacked_model`'s `population`; returns `{key: one float per member}`."""
    if population is None:
        return {}
    if not isinstance(population, dict) or not population:
        raise ArgumentError("Invalid value for `population`: expected a dict with one list of per-member values "
                            f"for some of {', '.join(POPULATION_KEYS)}. Received: population={population!r}")
    unknown = [key for key in population if key not in POPULATION_KEYS]
    if unknown:
        raise ArgumentError(f"Invalid value for `population`: unknown key {unknown[0]!r}; expected some of "
                            f"{', '.join(POPULATION_KEYS)}. Received: population={population!r}")
    checks = {"learning_rate": check.positive_float, "l1": check.non_negative_float,
              "l2": check.non_negative_float, "dropout": check.unit_interval}
    values = {}
    for key, raw in population.items():
        name = f"population['{key}']"
        if isinstance(raw, np.ndarray):
            raw = raw.tolist()
        if not isinstance(raw, (list, tuple)) or len(raw) != members:
            raise ArgumentError(f"Invalid value for `{name}`: expected a list with one value per member "
                                f"({members} values). Received: {name}={raw!r}")
        values[key] = [checks[key](name, v) for v in raw]
    conflicts = {"l1": (l1, DEFAULTS["l1"]), "l2": (l2, DEFAULTS["l2"]), "dropout": (dropout, DEFAULTS["dropout"])}
    for key, (scalar, default) in conflicts.items():
        if key in values and not (np.ndim(scalar) == 0 and scalar == default):
            raise ArgumentError(f"Pass either `{key}` or `population['{key}']`, not both. Received: {key}={scalar!r}, "
                                f"population['{key}']={population[key]!r}")
    if "learning_rate" in values and learning_rate is not None \
            and not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise ArgumentError("Pass either a number `learning_rate` or `population['learning_rate']`, not both (a "
                            "schedule may give the members' common shape). Received: "
                            f"learning_rate={learning_rate!r}, population['learning_rate']="
                            f"{population['learning_rate']!r}")
    if ("l1" in values or "l2" in values) and kernel_regularizer is not None:
        raise ArgumentError("Pass either `kernel_regularizer` or `population['l1']`/`population['l2']`, not both. "
                            f"Received: kernel_regularizer={kernel_regularizer!r}")
    for key in ("l1", "l2"):  # the other penalty comes from its scalar, one number for every layer
        other = "l2" if key == "l1" else "l1"
        if key in values and other not in values:
            scalar = l2 if other == "l2" else l1
            if np.ndim(scalar) != 0:
                raise ArgumentError(f"Invalid value for `{other}`: with `population['{key}']` it must be one number "
                                    f"for every layer. Received: {other}={scalar!r}")
            values[other] = [check.non_negative_float(other, scalar)] * members
    return values


def _member_features(inputs, members) -> tuple[int, list[np.ndarray] | None, int]:
    """Returns (features, per-member training features or None, members) from `inputs`."""
    if isinstance(inputs, (int, np.integer)) and not isinstance(inputs, bool):
        if members is None:
            raise ArgumentError("Pass `members` when `inputs` is a number of features. Received: members=None")
        return check.positive_int("inputs", inputs), None, check.positive_int("members", members)
    if isinstance(inputs, (list, tuple)):
        arrays = [np.asarray(a, dtype="float32") for a in inputs]
        if members is not None and check.positive_int("members", members) != len(arrays):
            raise ArgumentError(f"Invalid value for `members`: `inputs` holds {len(arrays)} feature arrays. "
                             f"Received: members={members!r}")
    else:
        array = np.asarray(inputs, dtype="float32")
        if members is None:
            raise ArgumentError("Pass `members` when `inputs` is one feature array shared by every member. "
                             "Received: members=None")
        arrays = [array] * check.positive_int("members", members)
    if not arrays or any(a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1 for a in arrays) \
            or len({a.shape[1] for a in arrays}) != 1:
        raise ArgumentError("Invalid value for `inputs`: expected a positive integer, a 2-D array of training "
                         "features, or a list with one 2-D array per member, all with the same columns. "
                         f"Received shapes: {[a.shape for a in arrays]}")
    return arrays[0].shape[1], arrays, len(arrays)


def _stacked_loss(loss, num_classes):
    if loss is None:
        return (keras.losses.MeanSquaredError(reduction="sum") if num_classes is None
                else keras.losses.SparseCategoricalCrossentropy(reduction="sum"))
    try:
        resolved = keras.losses.get(loss)
    except (ValueError, TypeError):
        resolved = None
    if not isinstance(resolved, keras.losses.Loss):
        raise ArgumentError("Invalid value for `loss`: expected None or a `keras.losses.Loss` (instance, class "
                         f"name or dict), which stacking sums over the members. Received: loss={loss!r}")
    return resolved.__class__.from_config({**resolved.get_config(), "reduction": "sum"})


def _check_optimizer(opt: keras.optimizers.Optimizer) -> None:
    if not isinstance(opt, _ELEMENTWISE_OPTIMIZERS):
        raise ArgumentError("Invalid value for `optimizer`: stacking needs an optimizer that updates every "
                         "weight entry from its own gradient only (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, "
                         f"Adagrad, Adadelta, Lion, Ftrl). Received: optimizer={opt.__class__.__name__}")
    for option in ("clipnorm", "global_clipnorm"):
        if getattr(opt, option, None) is not None:
            raise ArgumentError(f"Invalid value for `optimizer`: `{option}` would clip the members' gradients "
                             f"together; use `clipvalue` or none. Received: {option}={getattr(opt, option)!r}")


def _memberwise_optimizer(opt: keras.optimizers.Optimizer, rates: list[float], learning_rate
                          ) -> keras.optimizers.Optimizer:
    """`opt` as its `Memberwise` class with member `k` at `rates[k]` (times the schedule's shape)."""
    base = next((b for b in _ELEMENTWISE_OPTIMIZERS if type(opt) is b), None)
    if base is None:
        raise ArgumentError("Invalid value for `optimizer`: a population learning rate needs one of the Keras "
                            "optimizers SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion, Ftrl "
                            f"itself, not a subclass. Received: optimizer={opt.__class__.__name__}")
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
    return _MEMBERWISE_OPTIMIZERS[base].from_config(config)


def _initial_kernel(kernel_initializer, seed: int | None, index: int, shape) -> np.ndarray:
    """The kernel `build_model(seed=seed)` gives its Dense layer number `index`."""
    init = keras.initializers.get(kernel_initializer)
    config = init.get_config()
    if seed is not None and "seed" in config:
        config["seed"] = seed + index
        init = init.__class__.from_config(config)
    return keras.ops.convert_to_numpy(init(shape, dtype="float32"))


def _forward(layers: dict[str, keras.layers.Layer], x, row_mask):
    """Runs the stacked layers (named as in `build_model`) on `x` of shape `(batch, K, features)`."""
    if "embeddings" in layers:
        x = layers["embeddings"](x)
    if "normalization" in layers:
        x = layers["normalization"](x)
    i = 0
    while f"dense_{i}" in layers:
        x = layers[f"dense_{i}"](x)
        if f"batch_norm_{i}" in layers:
            x = layers[f"batch_norm_{i}"](x, row_mask=row_mask)
        x = layers[f"activation_{i}"](x)
        if f"dropout_{i}" in layers:
            x = layers[f"dropout_{i}"](x)
        i += 1
    return layers["output"](x)


def build_stacked_model(
    inputs: int | np.ndarray | Sequence[np.ndarray],
    members: int | None = None,
    num_classes: int | None = 2,
    hidden_units: int | Sequence[int] = tuple(DEFAULTS["hidden_units"]),
    activation: str = DEFAULTS["activation"],
    kernel_initializer: str | dict = DEFAULTS["kernel_initializer"],
    l1: float | Sequence[float] = DEFAULTS["l1"],
    l2: float | Sequence[float] = DEFAULTS["l2"],
    kernel_regularizer=None,
    dropout: float | Sequence[float] = DEFAULTS["dropout"],
    batch_norm: bool | Sequence[bool] = DEFAULTS["batch_norm"],
    normalize: bool = True,
    optimizer: str | dict | keras.optimizers.Optimizer = DEFAULTS["optimizer"],
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None,
    loss: Any = None,
    seed: int | Sequence[int] | None = None,
    jit_compile: bool | str = "auto",
    steps_per_execution: int = 1,
    name: str = "kerasopt_stacked",
    embeddings: Sequence[Sequence[int]] | None = None,
    population: dict[str, Sequence[float]] | None = None,
) -> keras.Model:
    """Builds and compiles K independent copies of a `build_model` network as one model.

    The architecture arguments are those of `kerasopt.build_model`, and
    member `k` starts from exactly the weights `build_model(...,
    seed=seeds[k])` starts from. The model takes `{"features": (batch, K,
    features), "row_mask": (batch, K)}` (`row_mask` is 1 for a member's real
    row and 0 for padding; only `StackedBatchNormalization` reads it) and
    returns `(batch, K, outputs)`. Its loss is the sum of the members' batch
    losses (fed with `plan_batches`'s weights, `1 / rows` for a real row and
    0 for padding) plus each member's weight penalty, so that each member
    gets its single network's gradient.

    Args:
        inputs: The number of input features; or training features that
            adapt a leading `Normalization` layer for every member (a 2-D
            array shared by all members, or a list with one 2-D array per
            member, e.g. each fold's training rows).
        members: Number of members K; optional when `inputs` is a list.
        num_classes: Number of classes (>= 2), or `None` for regression.
        hidden_units: As in `build_model`.
        activation: As in `build_model`.
        kernel_initializer: As in `build_model`; member `k`'s kernels are
            seeded like `build_model(seed=seeds[k])`'s.
        l1: As in `build_model`; every member gets the penalty.
        l2: As in `build_model`.
        kernel_regularizer: As in `build_model`; a penalty that is not a sum
            over the entries is applied to each member's kernel
            (`MemberwiseRegularizer`).
        dropout: As in `build_model`; each member's rows get their own masks.
        batch_norm: As in `build_model`; statistics per member and unit
            (`StackedBatchNormalization`).
        normalize: As in `build_model`.
        optimizer: As in `build_model`, restricted to optimizers that update
            each weight entry from its own gradient, without `clipnorm` or
            `global_clipnorm` (which would couple the members).
        learning_rate: As in `build_model`.
        loss: `None` (sparse categorical cross-entropy, or mean squared
            error for regression) or a `keras.losses.Loss`, applied per
            member and summed (its reduction is replaced by `"sum"`).
        seed: One seed (member `k` gets `seed + k`, the convention of the
            tuner's ensembles), one seed per member, or `None`.
        jit_compile: Passed to `Model.compile`; `"auto"` compiles with XLA
            on TensorFlow also on a CPU, where Keras's own `"auto"` does
            not (15 stacked phone networks train an epoch about 3x faster
            with it).
        steps_per_execution: Passed to `Model.compile`.
        name: Model name.
        embeddings: Optional one-hot blocks of the input features, as
            `(start, width, dim)`, that each member embeds with its own
            `(width, dim)` matrix before the first Dense layer
            (`StackedEmbedding`; initialized uniformly in [-0.05, 0.05], as
            `kerasopt.tabular` embeds a column). Needs `normalize=False`.
        population: Optional per-member hyperparameters: a dict with any of
            the keys `"learning_rate"`, `"l1"`, `"l2"` and `"dropout"`, each a
            list of K values (l1, l2 and dropout apply to every layer, as the
            single network's scalar would). Member `k` trains as
            `build_model(..., learning_rate=lr[k], l1=l1[k], l2=l2[k],
            dropout=dropout[k])` would. A key replaces its scalar argument,
            which must keep its default (`learning_rate` may instead be a
            `LearningRateSchedule`: member `k` follows `schedule(step) *
            lr[k] / schedule(0)`, the schedule at its own initial rate when
            the schedule is proportional to it, as exponential, inverse-time
            and cosine decay are); `population["l1"]` or `["l2"]` cannot be
            combined with `kernel_regularizer`, and the other penalty then
            comes from its scalar argument. With `"learning_rate"` the
            optimizer (a plain Keras class, not a subclass) becomes its
            `Memberwise` class with `member_scales` (the constant base rate
            is 1.0 and `member_scales` are the rates themselves).

    Returns:
        A compiled `keras.Model`.

    Raises:
        ValueError: naming the argument and echoing the value, for any
            invalid argument.

    Example:

    >>> model = build_stacked_model(20, members=3, num_classes=4, hidden_units=(32,), seed=0)
    >>> model.output_shape
    (None, 3, 4)
    """
    n_inputs, features, members = _member_features(inputs, members)
    seeds = _member_seeds("seed", seed, members)
    embedding = None
    if embeddings:
        if normalize and features is not None:
            raise ArgumentError("`embeddings` needs `normalize=False`: a Normalization layer would rescale the "
                                f"one-hot blocks. Received: embeddings={embeddings!r}, normalize={normalize!r}")
        embedding = StackedEmbedding(embeddings, name="embeddings")
        body_inputs = n_inputs + sum(d - w for _, w, d in embedding.blocks)
        if embedding.blocks[-1][0] + embedding.blocks[-1][1] > n_inputs:
            raise ArgumentError(f"Invalid value for `embeddings`: the blocks exceed the {n_inputs} input "
                                f"features. Received: embeddings={embeddings!r}")
    else:
        body_inputs = n_inputs
    if jit_compile == "auto" and keras.backend.backend() == "tensorflow":
        # Keras's "auto" leaves XLA off on a CPU; the stacked einsums run several times faster with it.
        jit_compile = True
    # One single network validates every architecture argument with build_model's messages.
    per_member = _check_population(population, members, learning_rate=learning_rate, l1=l1, l2=l2,
                                   dropout=dropout, kernel_regularizer=kernel_regularizer)
    if "l1" in per_member:  # the members' penalties replace the template's
        l1, l2 = 0.0, 0.0
    if "dropout" in per_member:
        dropout = 0.0
    template = models_lib.build_model(body_inputs, num_classes=num_classes, hidden_units=hidden_units, activation=activation,
                           kernel_initializer=kernel_initializer, l1=l1, l2=l2,
                           kernel_regularizer=kernel_regularizer, dropout=dropout, batch_norm=batch_norm,
                           normalize=normalize, optimizer=optimizer, learning_rate=learning_rate,
                           seed=seeds[0], jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    opt = template.optimizer
    _check_optimizer(opt)
    if "learning_rate" in per_member:
        opt = _memberwise_optimizer(opt, per_member["learning_rate"], learning_rate)
    stacked_loss = _stacked_loss(loss, num_classes)

    layers = keras.layers
    stack: dict[str, keras.layers.Layer] = {}
    threefry = jit_compile is True and keras.backend.backend() == "tensorflow"  # see StackedDropout
    if embedding is not None:
        stack["embeddings"] = embedding
    if features is not None and normalize:
        stack["normalization"] = layers.Normalization(axis=(1, 2), name="normalization")
    dense_layers = [layer for layer in template.layers if isinstance(layer, layers.Dense)]
    for layer in template.layers:
        if isinstance(layer, layers.Dense):
            reg = layer.kernel_regularizer
            if "l1" in per_member:
                reg = MemberwiseL1L2(per_member["l1"], per_member["l2"])
            elif reg is not None and not isinstance(reg, _ADDITIVE_REGULARIZERS):
                reg = MemberwiseRegularizer(reg)
            stack[layer.name] = layers.EinsumDense(
                _EQUATION, output_shape=(members, layer.units), bias_axes="ko" if layer.use_bias else None,
                activation=layer.activation, kernel_initializer="zeros", kernel_regularizer=reg,
                name=layer.name)
        elif isinstance(layer, layers.BatchNormalization):
            stack[layer.name] = StackedBatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon,
                                                          name=layer.name)
        elif isinstance(layer, layers.Activation):
            stack[layer.name] = layers.Activation(layer.activation, name=layer.name)
        elif isinstance(layer, layers.Dropout):
            stack[layer.name] = StackedDropout(layer.rate, seed=layer.seed, threefry=threefry, name=layer.name)
    if "dropout" in per_member:
        for i in range(len(dense_layers) - 1):
            stack[f"dropout_{i}"] = StackedDropout(per_member["dropout"], name=f"dropout_{i}", threefry=threefry,
                                                   seed=None if seeds[0] is None else seeds[0] + 1000 + i)
    x_in = keras.Input(shape=(members, n_inputs), name="features")
    mask_in = keras.Input(shape=(members,), name="row_mask")
    model = keras.Model({"features": x_in, "row_mask": mask_in}, _forward(stack, x_in, mask_in), name=name)

    if "normalization" in stack:
        means, variances, adapted = [], [], {}
        for member_features in features:
            if id(member_features) not in adapted:  # members that share their features share the statistics
                single = layers.Normalization()  # adapted exactly as build_model adapts its own
                single.adapt(member_features)
                adapted[id(member_features)] = (keras.ops.convert_to_numpy(single.adapt_mean),
                                                keras.ops.convert_to_numpy(single.adapt_variance))
            means.append(adapted[id(member_features)][0])
            variances.append(adapted[id(member_features)][1])
        norm = stack["normalization"]
        norm.adapt_mean.assign(np.stack(means))
        norm.adapt_variance.assign(np.stack(variances))
        norm.finalize_state()
    for index, layer in enumerate(dense_layers):
        stacked = stack[layer.name]
        shape = (int(layer.kernel.shape[0]), int(layer.kernel.shape[1]))
        stacked.kernel.assign(np.stack([_initial_kernel(kernel_initializer, s, index, shape) for s in seeds]))
    if embedding is not None:
        for j, (table, (_, width, dim)) in enumerate(zip(embedding.tables, embedding.blocks)):
            table.assign(np.stack([_initial_kernel(keras.initializers.RandomUniform(-0.05, 0.05),
                                                   None if s is None else s + 2000, j, (width, dim))
                                   for s in seeds]))

    # The members' mean data loss per row, without the weight penalties the summed loss adds.
    data_loss = None
    if loss is None:
        data_loss = (keras.metrics.MeanSquaredError(name="mse") if num_classes is None
                     else keras.metrics.SparseCategoricalCrossentropy(name="log_loss"))
    model.compile(optimizer=opt, loss=stacked_loss, metrics=None if data_loss is None else [data_loss],
                  jit_compile=jit_compile,
                  steps_per_execution=check.positive_int("steps_per_execution", steps_per_execution))
    return model


def _stacked_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    layers = {layer.name: layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    output = layers.get("output")
    if not isinstance(output, keras.layers.EinsumDense) or output.equation != _EQUATION:
        raise ArgumentError("Invalid value for `model`: expected a model from `build_stacked_model`. "
                         f"Received: model={getattr(model, 'name', model)!r}")
    return layers


def _is_regression(layers: dict[str, keras.layers.Layer]) -> bool:
    return keras.activations.serialize(layers["output"].activation) == "linear"


def _model_members(model: keras.Model) -> tuple[int, int]:
    """(K, features) of a stacked model."""
    features = model.input["features"] if isinstance(model.input, dict) else model.inputs[0]
    return int(features.shape[1]), int(features.shape[2])


def _per_member_variables(layers: dict[str, keras.layers.Layer]) -> list:
    """The variables whose leading axis is the member (everything that training changes)."""
    found = []
    for layer in layers.values():
        if isinstance(layer, (keras.layers.EinsumDense, StackedBatchNormalization, StackedEmbedding)):
            found.extend(layer.weights)
    return found


def extract_members(model: keras.Model, members: Sequence[int] | None = None) -> list[keras.Model]:
    """Returns members of a stacked model as ordinary `build_model` networks.

    Each is the network `kerasopt.build_model` makes for the same
    architecture (same layer names, a leading adapted `Normalization` when
    the stacked model has one), holding member `k`'s weights and statistics,
    so it predicts on raw rows what member `k` predicts. It is compiled with
    a fresh copy of the stacked model's optimizer and the single network's
    default loss and metrics. A population member (`build_stacked_model`'s
    `population`) gets its own L1/L2 penalties and dropout rate, and a plain
    optimizer at its own learning rate (a schedule as a `ScaledSchedule`).

    Args:
        model: A model from `build_stacked_model`.
        members: Indices of the members to return (default: all).

    Returns:
        A list of compiled `keras.Model`.

    Raises:
        ValueError: for a model not made by `build_stacked_model` or an
            index out of range.
    """
    layers = _stacked_layers(model)
    if "embeddings" in layers:
        raise ArgumentError("Invalid value for `model`: members with embeddings are table networks, which "
                            "`extract_members` cannot take out; average them into one model with "
                            "`table_ensemble`. Received: model with `embeddings`")
    count, n_inputs = _model_members(model)
    indices = list(range(count)) if members is None else list(members)
    for k in indices:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < count:
            raise ArgumentError(f"Invalid value for `members`: expected indices in [0, {count}). "
                             f"Received: members={members!r}")
    hidden = []
    while f"dense_{len(hidden)}" in layers:
        hidden.append(len(hidden))
    output = layers["output"]
    num_classes = None if _is_regression(layers) else int(output.kernel.shape[-1])
    dense_names = [f"dense_{i}" for i in hidden] + ["output"]

    def regularizer(layer, k):
        reg = layer.kernel_regularizer
        if isinstance(reg, MemberwiseL1L2):
            return reg.member(k)
        return reg.regularizer if isinstance(reg, MemberwiseRegularizer) else reg

    def rate(layer, k):
        return layer.member_rate(k) if isinstance(layer, StackedDropout) else float(layer.rate)

    architecture = dict(
        num_classes=num_classes, hidden_units=[int(layers[f"dense_{i}"].kernel.shape[-1]) for i in hidden],
        activation=layers["activation_0"].activation if hidden else "relu",
        batch_norm=[f"batch_norm_{i}" in layers for i in hidden],
    )
    singles = []
    for k in indices:
        if isinstance(model.optimizer, _MemberwiseLearningRate):
            optimizer = model.optimizer.member_optimizer(k)
        else:
            optimizer = model.optimizer.__class__.from_config(model.optimizer.get_config())
        single = models_lib.build_model(
            n_inputs, optimizer=optimizer, jit_compile=model.jit_compile, name=f"member_{k}",
            kernel_regularizer=[regularizer(layers[n], k) for n in dense_names],
            dropout=[rate(layers[f"dropout_{i}"], k) if f"dropout_{i}" in layers else 0.0 for i in hidden],
            **architecture)
        if "normalization" in layers:
            norm = layers["normalization"]
            single = _with_normalization(single, keras.ops.convert_to_numpy(norm.adapt_mean)[k],
                                         keras.ops.convert_to_numpy(norm.adapt_variance)[k])
        by_name = {layer.name: layer for layer in single.layers}
        for layer_name, stacked in layers.items():
            if isinstance(stacked, (keras.layers.EinsumDense, StackedBatchNormalization)):
                for source, dest in zip(stacked.weights, by_name[layer_name].weights):
                    dest.assign(keras.ops.convert_to_numpy(source)[k])
        singles.append(single)
    return singles


def _with_normalization(body: keras.Model, mean: np.ndarray, variance: np.ndarray) -> keras.Model:
    """`body` (a `build_model` network without `Normalization`) behind the `Normalization` layer that
    `build_model` puts first when it adapts one, holding `mean` and `variance`, compiled alike.

    (Building it directly with `build_model(features)` would run `adapt` on dummy rows, which takes
    longer than everything else here.)
    """
    x_in = keras.Input(shape=(len(mean),), name="features")
    norm = keras.layers.Normalization(name="normalization")
    norm.build((None, len(mean)))
    norm.adapt_mean.assign(mean)
    norm.adapt_variance.assign(variance)
    norm.finalize_state()
    x = norm(x_in)
    for layer in body.layers[1:]:
        x = layer(x)
    model = keras.Model(x_in, x, name=body.name)
    model.compile_from_config(body.get_compile_config())
    return model


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
    _stacked_layers(model)
    count, n_inputs = _model_members(model)
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
    _stacked_layers(model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layers = _stacked_layers(copy)
    if "normalization" in layers:
        layers["normalization"].finalize_state()
    count, n_inputs = _model_members(model)
    x_in = keras.Input(shape=(n_inputs,), name="features")
    x = keras.layers.RepeatVector(count, name="members")(x_in)
    outputs = keras.layers.GlobalAveragePooling1D(name="average")(_forward(layers, x, None))
    ensemble = keras.Model(x_in, outputs, name=name)
    regression = _is_regression(layers)
    ensemble.compile(loss="mse" if regression else "sparse_categorical_crossentropy",
                     metrics=["mae"] if regression else ["accuracy"])
    ensemble.optimizer.build(ensemble.trainable_variables)  # saved and loaded with all its variables
    return ensemble


def _check_rows(name: str, rows, n_rows: int, members: int | None, allow_empty: bool) -> list[np.ndarray]:
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        rows = list(rows)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ArgumentError(f"Invalid value for `{name}`: expected a list with one array of row indices per "
                         f"member. Received: {name}={rows!r}")
    if members is not None and len(rows) != members:
        raise ArgumentError(f"Invalid value for `{name}`: expected {members} arrays of row indices, one per "
                         f"member. Received {len(rows)} arrays.")
    checked = []
    for k, r in enumerate(rows):
        r = np.asarray(r)
        if r.ndim != 1 or (r.size and not np.issubdtype(r.dtype, np.integer)) or (r.size == 0 and not allow_empty):
            raise ArgumentError(f"Invalid value for `{name}`: member {k} needs a 1-D array of integer row indices"
                             f"{'' if allow_empty else ', not empty'}. Received: {name}[{k}]={r!r}")
        if r.size and (r.min() < 0 or r.max() >= n_rows):
            raise ArgumentError(f"Invalid value for `{name}`: member {k} has row indices outside [0, {n_rows}). "
                             f"Received: min {r.min()}, max {r.max()}")
        checked.append(r.astype("int64"))
    return checked


def plan_batches(rows: Sequence[np.ndarray], batch_size: int, seeds: Sequence[int], epoch: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Returns one epoch's batches of every member: row indices and loss weights.

    Every member runs the same number of steps, `S = max_k ceil(n_k /
    batch_size)`. Member `k` shuffles its own rows with its own generator
    (`numpy.random.default_rng([seeds[k], epoch])`, so its order depends on
    nothing of the other members) and, when its rows fill `S` batches, takes
    batches of `batch_size` rows with a smaller last one, as a single network
    would; a member with fewer rows spreads them evenly over the `S` batches.
    Slots a member does not fill are padding (index 0, weight 0). A real row
    of a batch with `m` rows of that member gets weight `1 / m`, so the
    weighted sum of a member's per-row losses is its batch mean.

    Args:
        rows: One 1-D array of row indices per member.
        batch_size: Rows per batch of each member.
        seeds: One integer per member.
        epoch: The 0-based epoch.

    Returns:
        `(indices, weights)`, both of shape `(S, batch_size, K)`: int32 row
        indices and float32 loss weights.

    Raises:
        ValueError: when a member has fewer rows than `S`, so that some of
            its steps would have no row.
    """
    members = len(rows)
    steps = max(math.ceil(len(r) / batch_size) for r in rows)
    indices = np.zeros((steps, batch_size, members), dtype="int32")
    weights = np.zeros((steps, batch_size, members), dtype="float32")
    for k, member_rows in enumerate(rows):
        n = len(member_rows)
        if n < steps:
            raise ArgumentError(f"Member {k} has {n} training rows, fewer than the {steps} steps of an epoch "
                             f"(batch_size={batch_size}): every member needs a row in every step.")
        order = np.asarray(member_rows)[np.random.default_rng([int(seeds[k]), int(epoch)]).permutation(n)]
        if math.ceil(n / batch_size) == steps:
            bounds = list(range(0, n, batch_size)) + [n]
        else:
            bounds = [int(b) for b in np.linspace(0, n, steps + 1).round()]
        for step, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            indices[step, : stop - start, k] = order[start:stop]
            weights[step, : stop - start, k] = 1.0 / (stop - start)
    return indices, weights


class MemberEarlyStopping(keras.callbacks.Callback):
    """Early stopping with one record per member of a stacked model.

    At the end of every epoch, `logs[monitor]` holds one value per member.
    Each member keeps its own best value and epoch (Keras's rule: an
    improvement beats the best by more than `min_delta`; a member stops once
    `patience` epochs have passed without one) and a copy of its weights at
    its best epoch. Training stops when every member has stopped. At the end
    of training every member gets its best weights back; the other members'
    weights are untouched by the restore.

    Args:
        monitor: Key of the per-member values in the epoch logs.
        mode: `"min"` or `"max"`.
        patience: Epochs without improvement before a member stops.
        min_delta: Minimum change that counts as an improvement.

    Attributes:
        member_variables: The stacked model's variables whose leading axis
            is the member (kernels, biases, batch-norm weights and
            statistics): what each member's best copy holds.
        best: Best value per member (array of K).
        best_epoch: 0-based epoch of each member's best value (-1 before any).
        stopped_epoch: 0-based epoch at which each member stopped (-1 while
            it runs).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 10, min_delta: float = 0.0):
        super().__init__()
        self.monitor = monitor
        self.mode = check.one_of("mode", mode, ("min", "max"))
        self.patience = check.non_negative_int("patience", patience)
        self.min_delta = check.non_negative_float("min_delta", min_delta)

    def on_train_begin(self, logs=None):
        self.member_variables = _per_member_variables(_stacked_layers(self.model))
        count = _model_members(self.model)[0]
        self.best = np.full(count, np.inf if self.mode == "min" else -np.inf)
        self.best_epoch = np.full(count, -1)
        self.stopped_epoch = np.full(count, -1)
        self.wait = np.zeros(count, dtype=int)
        self._best_weights = [keras.ops.convert_to_numpy(v).copy() for v in self.member_variables]

    def on_epoch_end(self, epoch, logs=None):
        values = np.asarray((logs or {}).get(self.monitor), dtype="float64")
        if values.shape != self.best.shape:
            raise ArgumentError(f"MemberEarlyStopping needs one `{self.monitor}` value per member "
                             f"({self.best.size}) in the epoch logs. Available: {sorted(logs or {})}")
        running = self.stopped_epoch < 0
        delta = values - self.best
        improved = running & ((delta < -self.min_delta) if self.mode == "min" else (delta > self.min_delta))
        if improved.any():
            current = [keras.ops.convert_to_numpy(v) for v in self.member_variables]
            for best, now in zip(self._best_weights, current):
                best[improved] = now[improved]
        self.best[improved] = values[improved]
        self.best_epoch[improved] = epoch
        self.wait[improved] = 0
        self.wait[running & ~improved] += 1
        stopping = running & ~improved & (self.wait >= self.patience)
        self.stopped_epoch[stopping] = epoch
        if (self.stopped_epoch >= 0).all():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        restore = self.best_epoch >= 0
        if not restore.any():
            return
        for variable, best in zip(self.member_variables, self._best_weights):
            now = keras.ops.convert_to_numpy(variable).copy()
            now[restore] = best[restore]
            variable.assign(now)


class _MemberValidation(keras.callbacks.Callback):
    """Writes each member's validation loss and metrics on its own rows, and its weight penalty, into the epoch logs."""

    EXTRA = ("val_log_loss", "penalty")

    def __init__(self, x, y, rows, regression: bool):
        super().__init__()
        count = len(rows)
        size = max(len(r) for r in rows)
        index = np.zeros((size, count), dtype="int64")
        mask = np.zeros((size, count), dtype="float32")
        for k, r in enumerate(rows):
            index[: len(r), k] = r
            mask[: len(r), k] = 1.0
        self.inputs = {"features": keras.ops.convert_to_tensor(np.asarray(x, "float32")[index]),
                       "row_mask": keras.ops.convert_to_tensor(mask)}
        self.mask = mask.astype(bool)
        self.counts = mask.sum(axis=0)
        self.y = np.asarray(y)[index]
        self.regression = regression
        self.history: dict[str, list[np.ndarray]] = {}
        self.extra: dict[str, list[np.ndarray]] = {}  # logged, and kept apart from `history`

    def member_penalties(self) -> np.ndarray:
        total = np.zeros(self.mask.shape[1])
        for layer in self.model.layers:
            reg = getattr(layer, "kernel_regularizer", None)
            if reg is None:
                continue
            kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
            if isinstance(reg, MemberwiseL1L2):
                total += reg.member_penalties(kernel)
            elif isinstance(reg, _ADDITIVE_REGULARIZERS):
                total += (float(getattr(reg, "l1", 0.0)) * np.abs(kernel).sum(axis=(1, 2))
                          + float(getattr(reg, "l2", 0.0)) * np.square(kernel).sum(axis=(1, 2)))
            else:
                inner = reg.regularizer if isinstance(reg, MemberwiseRegularizer) else reg
                total += [float(keras.ops.convert_to_numpy(inner(layer.kernel[k]))) for k in range(len(total))]
        return total

    def scores(self) -> dict[str, np.ndarray]:
        out = np.asarray(self.model.predict_on_batch(self.inputs), dtype="float64")
        if self.regression:
            error = out[..., 0] - self.y
            mse = np.where(self.mask, np.square(error), 0).sum(axis=0) / self.counts
            mae = np.where(self.mask, np.abs(error), 0).sum(axis=0) / self.counts
            penalty = self.member_penalties()
            return {"val_loss": mse + penalty, "val_mse": mse, "val_mae": mae, "penalty": penalty}
        eps = keras.config.epsilon()
        labels = np.where(self.mask, self.y, 0).astype("int64")
        chosen = np.take_along_axis(out, labels[..., None], axis=-1)[..., 0]
        cross_entropy = np.where(self.mask, -np.log(np.clip(chosen, eps, 1 - eps)), 0).sum(axis=0) / self.counts
        accuracy = np.where(self.mask, out.argmax(axis=-1) == labels, 0).sum(axis=0) / self.counts
        penalty = self.member_penalties()
        return {"val_loss": cross_entropy + penalty, "val_log_loss": cross_entropy, "val_accuracy": accuracy,
                "penalty": penalty}

    def on_epoch_end(self, epoch, logs=None):
        scores = self.scores()
        for key, values in scores.items():
            record = self.extra if key in self.EXTRA else self.history
            record.setdefault(key, []).append(values)
            if logs is not None:
                logs[key] = values


class _LossRecorder(keras.callbacks.Callback):
    """Records the summed training `loss` and, when compiled, the members' mean data loss."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []
        self.data_losses: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.losses.append(float(logs.get("loss", np.nan)))
        for key in ("log_loss", "mse"):
            if key in logs:
                self.data_losses.setdefault(key, []).append(float(logs[key]))


@dataclass
class StackedTrainResult:
    """What `train_stacked` returns.

    Attributes:
        history: `"loss"`: the summed training loss of every epoch (shape
            `(epochs_run,)`); with validation rows also `"val_loss"` and
            `"val_accuracy"` (classification) or `"val_mse"` and `"val_mae"`
            (regression), one row per epoch and one column per member
            (shape `(epochs_run, K)`). `val_loss` includes the member's
            weight penalty, as Keras's does; the other scores do not.
        best_epochs: 1-based best epoch of each member by `monitor` (shape
            `(K,)`), also without early stopping (retraining for that many
            epochs reproduces the choice); without validation rows, the
            last epoch.
        stopped_epochs: 1-based epoch at which each member stopped (its
            last epoch of patience), or `epochs_run` for a member that never
            stopped.
        epochs_run: Number of epochs the stacked model ran.
        validation: Each member's validation scores with the weights it
            ends with (its best epoch's), `{name: array of K}`; empty
            without validation rows.
        seconds: Wall time of `fit`.
        losses: The loss apart from the penalty, per epoch: with the
            default loss, the members' mean training data loss, `"log_loss"`
            or `"mse"` (shape `(epochs_run,)`; a Keras metric, weighted like
            the loss with `sample_weight`); with validation rows, each
            member's `"penalty"` (its weight penalty at the end of the
            epoch) and, for classification, `"val_log_loss"` (its
            `val_loss` without the penalty), shape `(epochs_run, K)`. The
            epoch logs that `callbacks` see hold them too.
    """

    history: dict[str, np.ndarray]
    best_epochs: np.ndarray
    stopped_epochs: np.ndarray
    epochs_run: int
    validation: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    losses: dict[str, np.ndarray] = field(default_factory=dict)


def _batches(x, y, rows, batch_size, seeds, epochs, regression: bool, sample_weight=None):
    """The epochs of `(inputs, targets, weights)` batches and the steps of an epoch.

    On TensorFlow a `tf.data.Dataset` that gathers each step's rows in the
    graph (like `kerasopt.training.in_memory_dataset`); on other backends a
    generator of NumPy batches, which Keras's JAX trainer iterates without
    `tf.data`'s conversion cost.
    """
    steps, members = max(math.ceil(len(r) / batch_size) for r in rows), len(rows)
    x = np.asarray(x, "float32")
    y = np.asarray(y, "float32" if regression else "int32")

    def plans():
        for epoch in range(epochs):
            index, weight = plan_batches(rows, batch_size, seeds, epoch)
            if sample_weight is not None:  # Keras's weighted batch mean: sum of w_i * loss_i over the batch size
                weight = weight * sample_weight[index]
            yield index, weight

    if keras.backend.backend() != "tensorflow":
        def numpy_batches():
            for index, weight in plans():  # one gather per epoch
                features, targets, mask = x[index], y[index], (weight > 0).astype("float32")
                if regression:
                    targets = targets[..., None]
                for step in range(steps):
                    yield {"features": features[step], "row_mask": mask[step]}, targets[step], weight[step]
        return numpy_batches(), steps

    import tensorflow as tf

    spec = tf.TensorSpec((steps, batch_size, members), tf.int32)
    dataset = tf.data.Dataset.from_generator(
        plans, output_signature=(spec, tf.TensorSpec((steps, batch_size, members), tf.float32)))
    x, y = tf.constant(x), tf.constant(y)

    def gather(index, weight):
        targets = tf.gather(y, index)
        if regression:
            targets = targets[..., None]
        return ({"features": tf.gather(x, index), "row_mask": tf.cast(weight > 0, tf.float32)}, targets, weight)

    # One gather per epoch, then one element per step: cheaper than a map per step.
    return dataset.map(gather).unbatch().prefetch(tf.data.AUTOTUNE), steps


def train_stacked(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    train_rows: Sequence[np.ndarray],
    validation_rows: Sequence[np.ndarray] | None = None,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    early_stopping: bool = True,
    patience: int = 10,
    monitor: str = "val_loss",
    min_delta: float = 0.0,
    seed: int | Sequence[int] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
    sample_weight: np.ndarray | None = None,
) -> StackedTrainResult:
    """Trains the K members of a stacked model, each on its own rows and with its own early stopping.

    Every epoch each member shuffles its own training rows (`plan_batches`);
    the model runs the epoch's steps with `steps_per_execution` = the steps
    of an epoch (on TensorFlow one compiled call fed by a `tf.data` pipeline
    that gathers each step's `(batch, K, features)` rows; on JAX, whose
    Keras trainer loops over jitted steps, a generator of NumPy batches);
    and each member is scored on its own validation rows in one vectorised
    prediction. With `early_stopping`,
    each member stops on its own record (`MemberEarlyStopping`) and gets its
    best epoch's weights back; training ends when all have stopped.

    Args:
        model: A model from `build_stacked_model` (build it on
            `[x[r] for r in train_rows]` so each member's `Normalization`
            is adapted on its own rows).
        x: Features of all rows, shape `(rows, features)`.
        y: Targets of all rows: class indices, or numbers for regression.
        train_rows: One 1-D array of row indices per member, e.g. each
            fold's training rows (a list, or a 2-D array with one row per
            member).
        validation_rows: Optionally one 1-D array of row indices per
            member, e.g. each fold's held-out rows.
        epochs: Maximum number of epochs.
        batch_size: Rows per batch of each member.
        early_stopping: Whether each member stops after `patience` epochs
            without improving `monitor` on its validation rows (needs
            `validation_rows`), restoring its best weights.
        patience: Epochs without improvement before a member stops.
        monitor: `"val_loss"` (penalty included), or `"val_log_loss"` /
            `"val_accuracy"` (classification), or `"val_mae"` / `"val_mse"`
            (regression).
        min_delta: Minimum change that counts as an improvement.
        seed: Seed of the members' shuffling (member `k` uses `seed + k`),
            one seed per member, or `None` for a random one; also passed to
            `keras.utils.set_random_seed` (dropout masks).
        callbacks: More Keras callbacks, run after the members' validation
            and early stopping; their epoch logs hold `"loss"` (the sum over
            the members) and, with validation rows, the per-member arrays
            named in `StackedTrainResult.history`.
        verbose: Verbosity of `fit` (0 with validation rows: a progress bar
            cannot show per-member arrays).
        sample_weight: Optional weight of every row of `x` in the training
            loss (e.g. class weights), applied as Keras applies
            `sample_weight`: a member's batch loss is the sum of the weighted
            row losses over its batch size. Validation scores are unweighted.

    Returns:
        A `StackedTrainResult`.

    Raises:
        ValueError: naming the argument and echoing the value, for any
            invalid argument.

    Example:

    >>> rows = [np.arange(0, 40), np.arange(20, 60)]  # doctest: +SKIP
    >>> model = build_stacked_model([x[r] for r in rows], num_classes=2, seed=0)  # doctest: +SKIP
    >>> result = train_stacked(model, x, y, rows, epochs=5, seed=0)  # doctest: +SKIP
    """
    _stacked_layers(model)
    members, n_features = _model_members(model)
    epochs = check.positive_int("epochs", epochs)
    batch_size = check.positive_int("batch_size", batch_size)
    patience = check.non_negative_int("patience", patience)
    min_delta = check.non_negative_float("min_delta", min_delta)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ArgumentError(f"Invalid value for `x`: expected a 2-D array with {n_features} columns. "
                         f"Received: x with shape {x.shape}")
    if len(y) != len(x):
        raise ArgumentError(f"`x` and `y` have different numbers of rows: {len(x)} and {len(y)}.")
    train_rows = _check_rows("train_rows", train_rows, len(x), members, allow_empty=False)
    if validation_rows is not None:
        validation_rows = _check_rows("validation_rows", validation_rows, len(x), members, allow_empty=False)
    regression = _is_regression(_stacked_layers(model))
    monitors = ("val_loss", "val_mae", "val_mse") if regression else ("val_loss", "val_log_loss", "val_accuracy")
    monitor = check.one_of("monitor", monitor, monitors)
    if seed is None:
        seeds = [int(s) for s in np.random.default_rng().integers(0, 2**31 - 1, members)]
    else:
        seeds = _member_seeds("seed", seed, members)
        keras.utils.set_random_seed(seeds[0])

    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype="float32")
        if sample_weight.shape != (len(x),) or not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
            raise ArgumentError("Invalid value for `sample_weight`: expected one finite weight >= 0 per row of `x` "
                                f"({len(x)}). Received: sample_weight with shape {sample_weight.shape}")
    batches, steps = _batches(x, y, train_rows, batch_size, seeds, epochs, regression, sample_weight)
    plan_batches(train_rows, batch_size, seeds, 0)  # raises here, not in the data pipeline
    if getattr(model, "train_function", None) is None and model.steps_per_execution == 1 \
            and keras.backend.backend() in ("tensorflow", "jax"):
        model.steps_per_execution = steps
    recorder = _LossRecorder()
    cbs: list[keras.callbacks.Callback] = [recorder]
    validation = None
    stopper = None
    if validation_rows is not None:
        validation = _MemberValidation(x, y, validation_rows, regression)
        cbs.append(validation)
        if early_stopping:
            stopper = MemberEarlyStopping(monitor, "max" if monitor == "val_accuracy" else "min",
                                          patience, min_delta)
            cbs.append(stopper)
    cbs.extend(callbacks or [])
    start = time.perf_counter()
    model.fit(batches, epochs=epochs, steps_per_epoch=steps, shuffle=False, callbacks=cbs,
              verbose=0 if validation is not None else verbose)
    seconds = time.perf_counter() - start

    epochs_run = len(recorder.losses)
    history = {"loss": np.asarray(recorder.losses)}
    final: dict[str, np.ndarray] = {}
    if validation is not None:
        history.update({k: np.asarray(v) for k, v in validation.history.items()})
        final = validation.scores()
    if stopper is not None:
        best = np.where(stopper.best_epoch >= 0, stopper.best_epoch + 1, epochs_run)
        stopped = np.where(stopper.stopped_epoch >= 0, stopper.stopped_epoch + 1, epochs_run)
    elif validation is not None and epochs_run:
        values = history[monitor] if monitor in history else np.asarray(validation.extra[monitor])
        best = (np.argmax(values, axis=0) if monitor == "val_accuracy" else np.argmin(values, axis=0)) + 1
        stopped = np.full(members, epochs_run)
    else:
        best = np.full(members, epochs_run)
        stopped = np.full(members, epochs_run)
    losses = {k: np.asarray(v) for k, v in recorder.data_losses.items()}
    if validation is not None:
        losses.update({k: np.asarray(v) for k, v in validation.extra.items()})
    return StackedTrainResult(history=history, best_epochs=best, stopped_epochs=stopped, epochs_run=epochs_run,
                              validation=final, seconds=seconds, losses=losses)


# ---------------------------------------------------------------------------------------------
# Tables: one shared encoding of the columns, K stacked networks, one averaging TabularModel


def encode_table(schema, x, batch_size: int = 4096) -> np.ndarray:
    """Encodes raw table rows into the float features that stacked table networks take.

    The encoding is `kerasopt.tabular.build_preprocessing(schema,
    embed=False)`: imputed and standardized numbers, missing indicators, and
    one-hot categories, where a column that a single network embeds keeps
    its one-hot block for each member's own `StackedEmbedding`. It has no
    trainable weights, so all members share it.

    Args:
        schema: A `kerasopt.tabular.Schema`.
        x: Raw rows: a DataFrame, a dict of columns or a 2-D array in the
            schema's column order.
        batch_size: Rows per encoding batch.

    Returns:
        A float32 array of shape `(rows, width)`.
    """
    inputs, encoded = tabular_lib.build_preprocessing(schema, embed=False)
    encoder = keras.Model(inputs, encoded, name="table_encoder")
    rows = schema.to_inputs(x)
    return np.asarray(encoder.predict(rows, batch_size=check.positive_int("batch_size", batch_size), verbose=0),
                      dtype="float32")


def table_targets(target, y) -> np.ndarray:
    """The targets stacked table networks train on: class indices, or standardized numbers.

    A single table network standardizes a regression target inside the
    model (its output is rescaled by the target's training mean and standard
    deviation and its loss weighted by `1 / variance`); a stacked one learns
    the standardized target directly, which is the same loss.

    Args:
        target: The `kerasopt.tabular.TargetInfo`.
        y: Raw targets (original labels or numbers).

    Returns:
        int32 class indices or float32 standardized targets.
    """
    encoded = target.encode(y)
    if target.task == "regression":
        return ((np.asarray(encoded, "float64") - target.mean) / (target.std or 1.0)).astype("float32")
    return np.asarray(encoded, "int32")


def build_stacked_table_model(schema, members: int, target, *, seed: int | Sequence[int] | None = None,
                              **kwargs) -> keras.Model:
    """Builds K stacked networks over a table's shared encoding (`encode_table`).

    Member `k` is the network `kerasopt.build_model(schema, target=target,
    seed=seeds[k], ...)` builds, after its preprocessing: the same Dense
    layers and initial weights, and its own embedding of each column the
    single network embeds (`StackedEmbedding`, initialized like the
    single network's `Embedding`). A regression member learns the
    standardized target (`table_targets`).

    Args:
        schema: The `kerasopt.tabular.Schema` of the encoded rows.
        members: Number of members K.
        target: The `kerasopt.tabular.TargetInfo` (its classes, or
            regression).
        seed: As in `build_stacked_model`.
        **kwargs: The other `build_stacked_model` arguments (architecture,
            optimizer, learning rate, ...), except `inputs`, `num_classes`,
            `normalize` and `embeddings`.

    Returns:
        A compiled `keras.Model` taking `{"features": (batch, K, width),
        "row_mask": (batch, K)}`.
    """
    for name in ("inputs", "num_classes", "normalize", "embeddings"):
        if name in kwargs:
            raise ArgumentError(f"build_stacked_table_model sets `{name}` from the schema and target. "
                                f"Received: {name}={kwargs[name]!r}")
    members = check.positive_int("members", members)
    blocks = tabular_lib.embedding_blocks(schema)
    width = tabular_lib.encoded_width(schema)
    model = build_stacked_model(width, members=members, num_classes=target.num_classes, normalize=False,
                                embeddings=[b[:3] for b in blocks] or None, seed=seed, **kwargs)
    if blocks:
        seeds = _member_seeds("seed", seed, members)
        layer = _stacked_layers(model)["embeddings"]
        for table, (_, block_width, dim, index) in zip(layer.tables, blocks):
            table.assign(np.stack([keras.ops.convert_to_numpy(
                tabular_lib.embedding_initializer(s, index)((block_width, dim), dtype="float32")) for s in seeds]))
    return model


def table_ensemble(model: keras.Model, schema, target, name: str = "ensemble") -> keras.Model:
    """Returns one `kerasopt.tabular.TabularModel` that averages a stacked table model's members.

    The model takes raw rows (strings, gaps) like any kerasopt table model:
    it encodes them (`encode_table`'s layers), runs the members
    (`stacked_ensemble`) and averages their class probabilities, or their
    standardized predictions mapped back to the target's scale. It saves to
    `.keras` and loads back after `import kerasopt`.

    Args:
        model: A model from `build_stacked_table_model`, trained.
        schema: Its `kerasopt.tabular.Schema`.
        target: Its `kerasopt.tabular.TargetInfo`.
        name: Name of the returned model.

    Returns:
        A compiled `kerasopt.tabular.TabularModel`.
    """
    body = stacked_ensemble(model, name=f"{name}_members")
    inputs, encoded = tabular_lib.build_preprocessing(schema, embed=False)
    outputs = body(encoded)
    regression = target.task == "regression"
    if regression:
        outputs = tabular_lib.restore_target(outputs, target)
        loss_weights, metrics = tabular_lib.regression_compile_defaults(target)
    else:
        loss_weights, metrics = None, tabular_lib.classification_metrics(target.num_classes)
    ensemble = tabular_lib.TabularModel(inputs, outputs, name=name, schema=schema, target=target)
    ensemble.compile(loss="mse" if regression else "sparse_categorical_crossentropy", loss_weights=loss_weights,
                     metrics=metrics)
    ensemble.optimizer.build(ensemble.trainable_variables)  # saved and loaded with all its variables
    return ensemble

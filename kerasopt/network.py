"""`Network`: one description of a regularized Dense network, rendered as one Keras network or K stacked ones.

Per hidden layer: `Dense` (kernel penalty) -> optional `BatchNormalization` -> activation -> optional
`Dropout`; then the output `Dense` layer (softmax, or linear for regression). A table's numeric columns may
first get a `PeriodicEmbedding`, and its many-category one-hot blocks a `BlockEmbedding`. `apply` makes the
plain Keras layers (`kerasopt.build_model`), `apply_stacked` K members (`kerasopt.stacking.build_stacked_model`);
docs/stacking.md ("K networks as one Keras model") gives each layer's seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt.budget import hidden_units_for
from kerasopt.config import DEFAULTS
from kerasopt.errors import ArgumentError
from kerasopt.tabular.layers import BlockEmbedding, PeriodicEmbedding

__all__ = ["Network", "make_regularizer"]

# What a model's `seed` adds for each seeded part, so that no two parts draw the same numbers (docs/stacking.md);
# Dense layer `i`'s kernel gets `seed + i`.
DROPOUT_SEED_OFFSET = 1000  # plus `i`: the dropout after hidden layer `i`
EMBEDDING_SEED_OFFSET = 2000  # plus `j`: the embedding table of a table's categorical column `j`
AUGMENTATION_SEED_OFFSET = 2000  # the augmentation of image rows (`kerasopt.models`), which have no embeddings
PERIODIC_SEED_OFFSET = 3000  # to 3003: the periodic embedding's weights


def make_regularizer(l1: float = 0.0, l2: float = 0.0) -> keras.regularizers.Regularizer | None:
    """Returns the Keras weight penalty for L1 and L2 strengths.

    Args:
        l1: L1 strength (adds `l1 * sum(|w|)` to the loss).
        l2: L2 strength (adds `l2 * sum(w**2)` to the loss).

    Returns:
        `keras.regularizers.L1`, `L2` or `L1L2`, or `None` when both are 0.
    """
    l1 = check.non_negative_float("l1", l1)
    l2 = check.non_negative_float("l2", l2)
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    return keras.regularizers.L1(l1) if l1 else keras.regularizers.L2(l2) if l2 else None


def _keras_lookup(name: str, getter, value):
    try:
        return getter(value)
    except (ValueError, TypeError):
        raise ArgumentError(f"Invalid value for `{name}`: could not interpret it. Received: {name}={value!r}") from None


def _flag(name: str, value) -> bool:
    """`_validation.flag` that also takes a NumPy bool."""
    return check.flag(name, bool(value) if isinstance(value, np.bool_) else value)


def _regularizers(l1, l2, kernel_regularizer, count: int) -> tuple:
    if kernel_regularizer is None:
        l1s = check.per_layer("l1", l1, count, check.non_negative_float)
        l2s = check.per_layer("l2", l2, count, check.non_negative_float)
        return tuple(make_regularizer(a, b) for a, b in zip(l1s, l2s))
    if not (np.all(np.asarray(l1, dtype=object) == DEFAULTS["l1"])
            and np.all(np.asarray(l2, dtype=object) == DEFAULTS["l2"])):  # l1 and l2 at their defaults give way
        raise ArgumentError("Pass either `kernel_regularizer` or `l1`/`l2`, not both. "
                            f"Received: kernel_regularizer={kernel_regularizer!r}, l1={l1!r}, l2={l2!r}")
    return tuple(_keras_lookup("kernel_regularizer", keras.regularizers.get, r)
                 for r in check.per_layer("kernel_regularizer", kernel_regularizer, count, lambda n, v: v))


def _offset(seed: int | None, offset: int) -> int | None:
    return None if seed is None else seed + offset


@dataclass(frozen=True)
class Network:
    """The layers, penalties, dropout, normalization and seeds of a Dense network (see the module docstring).

    Build it with `Network.create`, which checks every argument.

    Attributes:
        units: Units of each hidden layer.
        num_classes: Classes of the softmax output, or `None` for one linear output.
        activation: Activation of the hidden layers.
        kernel_initializer: Initializer (name, dict or instance) of every kernel.
        regularizers: One kernel penalty (or `None`) per Dense layer, the output last.
        dropout: One dropout rate per hidden layer.
        batch_norm: One batch-normalization flag per hidden layer.
        embeddings: `(start, width, dim, index)` of each one-hot block to embed
            (`kerasopt.tabular.embedding_blocks`).
        periodic: Positions of the features to embed periodically
            (`kerasopt.tabular.periodic_columns`).
    """

    units: tuple[int, ...]
    num_classes: int | None
    activation: Any
    kernel_initializer: Any
    regularizers: tuple
    dropout: tuple[float, ...]
    batch_norm: tuple[bool, ...]
    embeddings: tuple[tuple[int, int, int, int], ...] = ()
    periodic: tuple[int, ...] = ()

    @classmethod
    def create(cls, num_classes: int | None, hidden_units: int | Sequence[int] | None = None,
               activation: str = DEFAULTS["activation"],
               kernel_initializer: str | dict = DEFAULTS["kernel_initializer"],
               l1: float | Sequence[float] = DEFAULTS["l1"], l2: float | Sequence[float] = DEFAULTS["l2"],
               kernel_regularizer=None, dropout: float | Sequence[float] = DEFAULTS["dropout"],
               batch_norm: bool | Sequence[bool] = DEFAULTS["batch_norm"], embeddings=(),
               rows: int | None = None, periodic=()) -> Network:
        """Checks `kerasopt.build_model`'s network arguments (same names and meaning) and returns the description.

        `hidden_units=None` is sized to the task and the training `rows` (`kerasopt.budget.hidden_units_for`).

        Raises:
            ArgumentError: naming the argument and echoing the value.
        """
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer))
                                        or num_classes < 2):
            raise ArgumentError("Invalid value for `num_classes`: expected an integer >= 2, or None for regression. "
                                f"Received: num_classes={check.shown(num_classes)}")
        if hidden_units is None:
            hidden_units = hidden_units_for(rows, regression=num_classes is None)
        units = tuple(check.units("hidden_units", hidden_units))
        _keras_lookup("activation", keras.activations.get, activation)
        _keras_lookup("kernel_initializer", keras.initializers.get, kernel_initializer)
        return cls(units, None if num_classes is None else int(num_classes), activation, kernel_initializer,
                   _regularizers(l1, l2, kernel_regularizer, len(units) + 1),
                   tuple(check.per_layer("dropout", dropout, len(units), check.unit_interval)),
                   tuple(check.per_layer("batch_norm", batch_norm, len(units), _flag)),
                   tuple(tuple(int(v) for v in block) for block in embeddings), tuple(int(c) for c in periodic))

    @property
    def outputs(self) -> int:
        return 1 if self.num_classes is None else int(self.num_classes)

    @property
    def output_activation(self) -> str | None:
        return None if self.num_classes is None else "softmax"

    def kernel_initializer_of(self, i: int, seed: int | None) -> keras.initializers.Initializer:
        """The initializer of Dense layer `i`'s kernel (the output layer is `len(units)`), seeded `seed + i`."""
        init = keras.initializers.get(self.kernel_initializer)
        config = init.get_config()
        if seed is not None and "seed" in config:
            init = init.__class__.from_config({**config, "seed": seed + i})
        return init

    def apply(self, x, seed: int | None = None):
        """Applies the plain Keras layers (`dense_{i}`, `batch_norm_{i}`, `activation_{i}`, `dropout_{i}`,
        `output`) to the Keras tensor `x` of shape `(batch, features)` and returns the output tensor."""
        layers = keras.layers
        x = self._embed(self._periodic(x, [seed]), [seed])
        for i, (units, rate, norm) in enumerate(zip(self.units, self.dropout, self.batch_norm)):
            x = layers.Dense(units, use_bias=not norm, kernel_initializer=self.kernel_initializer_of(i, seed),
                             kernel_regularizer=self.regularizers[i], name=f"dense_{i}")(x)
            if norm:
                x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = layers.Activation(self.activation, name=f"activation_{i}")(x)
            if rate:
                x = layers.Dropout(rate, seed=_offset(seed, DROPOUT_SEED_OFFSET + i), name=f"dropout_{i}")(x)
        return layers.Dense(self.outputs, activation=self.output_activation, name="output",
                            kernel_initializer=self.kernel_initializer_of(len(self.units), seed),
                            kernel_regularizer=self.regularizers[-1])(x)

    def apply_stacked(self, x, row_mask, seeds: Sequence[int | None], population: dict | None = None,
                      threefry: bool = False):
        """Applies K stacked members to `x` of shape `(batch, K, features)`, K = `len(seeds)`.

        Args:
            x: Keras tensor `(batch, K, features)`.
            row_mask: Keras tensor `(batch, K)`: 1 for a member's real row (batch statistics), 0 for padding.
            seeds: Member `k` starts from the weights `apply(x, seeds[k])` gives.
            population: `{key: one value per member}` of `l1` and `l2` (both) and `dropout`, replacing the
                network's own.
            threefry: `StackedDropout`'s generator (for XLA on TensorFlow).

        Returns:
            The output tensor `(batch, K, outputs)`.
        """
        from kerasopt.stacking.layers import StackedBatchNormalization, StackedDropout  # stacking imports this module

        population = population or {}
        x = self._embed(self._periodic(x, seeds), seeds)
        for i, (units, norm) in enumerate(zip(self.units, self.batch_norm)):
            x = self._stacked_dense(x, i, units, None, not norm, seeds, population)
            if norm:
                x = StackedBatchNormalization(name=f"batch_norm_{i}")(x, row_mask=row_mask)
            x = keras.layers.Activation(self.activation, name=f"activation_{i}")(x)
            rate = population.get("dropout", self.dropout[i])
            if np.any(rate):
                x = StackedDropout(rate, seed=_offset(seeds[0], DROPOUT_SEED_OFFSET + i), threefry=threefry,
                                   name=f"dropout_{i}")(x)
        return self._stacked_dense(x, len(self.units), self.outputs, self.output_activation, True, seeds, population)

    def _stacked_dense(self, x, i: int, units: int, activation, bias: bool, seeds, population: dict):
        from kerasopt.stacking.layers import ADDITIVE_REGULARIZERS, EQUATION, MemberwiseL1L2, MemberwiseRegularizer

        reg = self.regularizers[i]
        if "l1" in population:
            reg = MemberwiseL1L2(population["l1"], population["l2"])
        elif reg is not None and not isinstance(reg, ADDITIVE_REGULARIZERS):
            reg = MemberwiseRegularizer(reg)
        dense = keras.layers.EinsumDense(EQUATION, output_shape=(len(seeds), units), bias_axes="ko" if bias else None,
                                         activation=activation, kernel_initializer="zeros", kernel_regularizer=reg,
                                         name="output" if i == len(self.units) else f"dense_{i}")
        x = dense(x)
        shape = tuple(dense.kernel.shape[1:])
        dense.kernel.assign(np.stack([keras.ops.convert_to_numpy(self.kernel_initializer_of(i, s)(shape, "float32"))
                                      for s in seeds]))
        return x

    def _embed(self, x, seeds: Sequence[int | None]):
        """The `BlockEmbedding` stage: one seeded table per block (and member, for a stacked `x`)."""
        if not self.embeddings:
            return x
        layer = BlockEmbedding([block[:3] for block in self.embeddings], name="embeddings")
        x = layer(x)
        for table, (_, width, dim, index) in zip(layer.tables, self.embeddings):
            values = [keras.ops.convert_to_numpy(  # uniform in [-0.05, 0.05]
                keras.initializers.RandomUniform(-0.05, 0.05, seed=_offset(s, EMBEDDING_SEED_OFFSET + index))(
                    (width, dim), "float32")) for s in seeds]
            table.assign(values[0] if len(table.shape) == 2 else np.stack(values))
        return x

    def _periodic(self, x, seeds: Sequence[int | None]):
        """The `PeriodicEmbedding` stage: weights seeded `seed + 3000` (per member, for a stacked `x`)."""
        if not self.periodic:
            return x
        stacked = len(x.shape) == 3
        layer = PeriodicEmbedding(self.periodic, name="periodic")
        x = layer(x)
        inits = [layer.initializers(_offset(s, PERIODIC_SEED_OFFSET)) for s in seeds]
        for v, variable in enumerate((layer.frequency, layer.phase, layer.kernel, layer.bias)):
            shape = tuple(variable.shape[1:] if stacked else variable.shape)
            values = [keras.ops.convert_to_numpy(member[v](shape, "float32")) for member in inits]
            variable.assign(np.stack(values) if stacked else values[0])
        return x

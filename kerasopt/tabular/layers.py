"""The preprocessing layers of a table model, and `build_preprocessing`, which wires them from a `Schema`.

Plain Keras layers with their statistics in their config, not `keras.utils.FeatureSpace` (docs/preprocessing.md
says why). The encoding has no trainable weights; the network embeds the one-hot blocks of columns with many
categories (`BlockEmbedding`, `embedding_blocks`).
"""

from __future__ import annotations

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.tabular.schema import ONE_HOT_MAX, Column, Schema

__all__ = ["BlockEmbedding", "Impute", "MissingIndicator", "PiecewiseLinearEncoding", "RobustScaling",
           "SMOOTH_CLIP_BOUND", "build_preprocessing", "embedding_blocks", "embedding_dim", "encoded_width"]

_OOV = "[unseen]"  # StringLookup's out-of-vocabulary token: categories first seen after training


def embedding_dim(n_categories: int) -> int:
    """Embedding size for a column of `n_categories`: `min(16, round(1.6 * n ** 0.56))`.

    The rule of thumb of fast.ai's tabular models, capped at 16 for small networks.
    """
    return int(min(16, max(2, round(1.6 * n_categories ** 0.56))))


@keras.saving.register_keras_serializable(package="kerasopt")
class Impute(keras.layers.Layer):
    """Replaces missing (NaN or infinite) values, column by column, with fixed values.

    Args:
        values: One fill value per column of the last axis (e.g. training means).
    """

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, inputs):
        inputs = keras.ops.cast(inputs, self.compute_dtype)
        fill = keras.ops.convert_to_tensor(self.values, dtype=inputs.dtype)
        return keras.ops.where(keras.ops.isfinite(inputs), inputs, fill)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "values": list(self.values)}


@keras.saving.register_keras_serializable(package="kerasopt")
class MissingIndicator(keras.layers.Layer):
    """Returns 1.0 where a value is missing (NaN or infinite), for selected columns.

    Args:
        columns: Indices on the last axis of the columns to report.
    """

    def __init__(self, columns, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, inputs):
        picked = keras.ops.take(inputs, self.columns, axis=-1)
        return keras.ops.cast(keras.ops.logical_not(keras.ops.isfinite(picked)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.columns))

    def get_config(self):
        return {**super().get_config(), "columns": list(self.columns)}


SMOOTH_CLIP_BOUND = 3.0
"""`RobustScaling`'s smooth clipping maps a scaled value `z` to `z / sqrt(1 + (z / 3) ** 2)`, into (-3, 3)."""

_FLOAT32_MAX = float(np.finfo(np.float32).max)  # the clip that keeps a float32 difference finite
_FINITE_BOUND = 1e6  # a scaled value beyond this clips to 3.0 in float32 anyway; the bound keeps (z/3)**2 finite


@keras.saving.register_keras_serializable(package="kerasopt")
class RobustScaling(keras.layers.Layer):
    """Scales each column by fixed statistics, then clips the extremes smoothly.

    For column `j`, `z = (x - center[j]) / scale[j]`; a column in `clip` then
    becomes `z / sqrt(1 + (z / 3) ** 2)`, which is close to `z` near 0 and
    tends to -3 and 3 for extreme values, so a value of `1e30` reaches the
    network as 3.0 instead of overflowing (RealMLP's robust scaling and
    smooth clipping). A column of scale 0 becomes 0. The layer has no
    trainable weights: its statistics are in its config (and in two
    non-trainable variables that hold them, as `Normalization` does).

    Args:
        center: One value per column of the last axis (a numeric column's
            training median, a boolean column's mean).
        scale: One positive value, or 0, per column (the interquartile range
            of `kerasopt.tabular.robust_statistics`, a standard deviation).
        clip: Indices on the last axis of the columns to clip smoothly;
            `None` for all.

    Example:

    >>> layer = RobustScaling(center=[0.0], scale=[1.0])
    >>> [round(float(v), 4) for v in layer(np.array([[0.0], [3.0], [-1e30]], "float32"))[:, 0]]
    [0.0, 2.1213, -3.0]
    """

    def __init__(self, center, scale, clip=None, **kwargs):
        super().__init__(**kwargs)
        self.center = [float(v) for v in center]
        self.scale = [float(v) for v in scale]
        if len(self.center) != len(self.scale) or any(not np.isfinite(v) or v < 0 for v in self.scale):
            raise ArgumentError(f"Invalid value for `scale`: expected one finite value >= 0 per value of `center`. "
                                f"Received: center={center!r}, scale={scale!r}")
        self.clip = list(range(len(self.center))) if clip is None else [int(c) for c in clip]

    def build(self, input_shape):
        # Non-trainable variables, as in keras.layers.Normalization: TensorFlow would rewrite a division
        # by a constant as a multiplication by its reciprocal, which differs in the last bit.
        positive = np.array(self.scale) > 0
        for name, values in (("center_values", self.center), ("divisor", np.where(positive, self.scale, 1.0))):
            setattr(self, name, self.add_weight(name=name, shape=(len(self.center),), trainable=False,
                                                initializer=keras.initializers.Constant(np.asarray(values)),
                                                dtype=self.compute_dtype))

    def call(self, inputs):
        ops = keras.ops
        x = ops.cast(inputs, self.compute_dtype)
        positive = np.array(self.scale) > 0
        # float32 limits: x - center and the quotient may overflow; clipped, they stay finite
        shifted = ops.clip(x - self.center_values, -_FLOAT32_MAX, _FLOAT32_MAX)
        z = ops.clip(shifted / self.divisor, -_FINITE_BOUND, _FINITE_BOUND)
        z = ops.where(ops.convert_to_tensor(positive), z, ops.zeros_like(z))
        clipped = z / ops.sqrt(1.0 + ops.square(z / SMOOTH_CLIP_BOUND))
        mask = np.zeros(len(self.center), dtype=bool)
        mask[self.clip] = True
        return ops.where(ops.convert_to_tensor(mask), clipped, z)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "center": list(self.center), "scale": list(self.scale),
                "clip": list(self.clip)}


@keras.saving.register_keras_serializable(package="kerasopt")
class PiecewiseLinearEncoding(keras.layers.Layer):
    """Encodes each column by where its value falls among fixed bin edges (piecewise-linear encoding).

    A column `j` with edges `b_0 < b_1 < ... < b_T` (training quantiles,
    `kerasopt.tabular.bin_edges`) becomes `T` values, one per bin:
    `e_t = clip((x - b_{t-1}) / (b_t - b_{t-1}), 0, 1)`, so the bins below
    `x` read 1, those above 0, and the bin holding `x` its position within
    it (the encoding of TabM's numeric embeddings, without trainable
    weights). A column without edges adds nothing. The outputs of all
    columns are concatenated in order; extreme values give 0 or 1. The
    edges are in the config (and in two non-trainable variables, as in
    `RobustScaling`).

    Args:
        edges: One list of increasing edges per column of the last axis
            (an empty list: the column is not encoded).

    Example:

    >>> layer = PiecewiseLinearEncoding([[0.0, 1.0, 3.0], []])
    >>> layer(np.array([[2.0, 7.0], [-1e30, 0.0]], "float32")).numpy().tolist()
    [[1.0, 0.5], [0.0, 0.0]]
    """

    def __init__(self, edges, **kwargs):
        super().__init__(**kwargs)
        self.edges = [[float(b) for b in column] for column in edges]
        if any(len(column) == 1 or not np.all(np.isfinite(column)) or np.any(np.diff(column) <= 0)
               for column in self.edges):
            raise ArgumentError("Invalid value for `edges`: expected per column an empty list or at least two "
                                f"finite increasing edges. Received: edges={edges!r}")
        # bin t of column j: the column it reads, its lower edge and its width (computed in float64)
        self.sources = [j for j, column in enumerate(self.edges) for _ in column[1:]]
        self.lower = [b for column in self.edges for b in column[:-1]]
        tiny = float(np.finfo(np.float32).tiny)  # a subnormal width could flush to 0
        self.width = [min(max(float(w), tiny), _FLOAT32_MAX) for column in self.edges for w in np.diff(column)]

    def build(self, input_shape):
        for name, values in (("lower_edges", self.lower), ("bin_widths", self.width)):
            setattr(self, name, self.add_weight(name=name, shape=(len(values),), trainable=False, dtype="float32",
                                                initializer=keras.initializers.Constant(np.asarray(values)
                                                                                        .astype("float32"))))

    def call(self, inputs):
        ops = keras.ops
        x = ops.take(ops.cast(inputs, "float32"), self.sources, axis=-1)
        # float32 limits: x - b may overflow; clipped, it stays finite (a NaN input stays NaN)
        shifted = ops.clip(x - self.lower_edges, -_FLOAT32_MAX, _FLOAT32_MAX)
        return ops.cast(ops.clip(shifted / self.bin_widths, 0.0, 1.0), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.sources))

    def get_config(self):
        return {**super().get_config(), "edges": [list(column) for column in self.edges]}


def build_preprocessing(schema: Schema):
    """Returns the Keras inputs of a schema and the encoded feature tensor (no trainable weights).

    Numeric and boolean columns are concatenated, imputed (`Impute`) and
    scaled (`RobustScaling`): with the schema's `scaling` `"standard"`, by
    their training mean and standard deviation; with `"robust"`, a numeric
    column by its median and interquartile range, then smoothly clipped into
    (-3, 3). A 0/1 missing indicator (`MissingIndicator`) follows for each
    column that had gaps in training. Each categorical column becomes the
    one-hot block of a `StringLookup` with one out-of-vocabulary bucket (a
    category first seen after training); the network embeds the blocks of
    columns with more than `ONE_HOT_MAX` categories (`embedding_blocks`).
    Last, when the schema has `numeric_bins`, the imputed numeric columns
    with `edges` get their `PiecewiseLinearEncoding` (named `tabular_ple`).

    Args:
        schema: A `Schema` from `infer_schema`.

    Returns:
        `(inputs, encoded)`: a dict `{column key: keras.Input}` and the
        float tensor of shape `(batch, encoded_width(schema))`.
    """
    layers = keras.layers
    inputs = {c.key: keras.Input(shape=(1,), dtype="string" if c.kind == "categorical" else "float32", name=c.key)
              for c in schema.features}
    parts, filled = [], None
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    if numbers:
        stacked = [inputs[c.key] for c in numbers]
        x = stacked[0] if len(stacked) == 1 else layers.Concatenate(name="tabular_numeric")(stacked)
        filled, scaled = _scale_numbers(numbers, x, schema.scaling)
        parts.append(scaled)
        gaps = [i for i, c in enumerate(numbers) if c.has_gaps]
        if gaps:
            parts.append(MissingIndicator(gaps, name="tabular_missing")(x))
    for j, col in enumerate(c for c in schema.features if c.kind == "categorical"):
        parts.append(layers.StringLookup(vocabulary=col.vocabulary, num_oov_indices=1, oov_token=_OOV,
                                         output_mode="one_hot", name=f"tabular_lookup_{j}")(inputs[col.key]))
    if _ple_width(numbers):
        parts.append(PiecewiseLinearEncoding([c.edges or [] for c in numbers], name="tabular_ple")(filled))
    encoded = parts[0] if len(parts) == 1 else layers.Concatenate(name="tabular_features")(parts)
    return inputs, encoded


def _standard_divisor(std: float) -> float:
    """The divisor of a standardized column, as `keras.layers.Normalization(variance=std ** 2)` computes it
    in float32 (so standardized runs keep their figures to the last bit), or `std` where `std ** 2` overflows."""
    with np.errstate(over="ignore"):
        divisor = np.sqrt(np.float32(std ** 2))
    return float(max(divisor, np.float32(keras.config.epsilon()))) if np.isfinite(divisor) else float(std)


def _scale_numbers(numbers: list[Column], x, scaling: str):
    """The imputed and the scaled numeric block (see `build_preprocessing`)."""
    robust = [scaling == "robust" and c.kind == "numeric" and c.median is not None for c in numbers]
    fill = [c.median if r else c.mean for c, r in zip(numbers, robust)]
    filled = Impute(fill, name="tabular_impute")(x)
    scaled = RobustScaling(center=fill, scale=[c.spread if r else _standard_divisor(c.std)
                                               for c, r in zip(numbers, robust)],
                           clip=[i for i, r in enumerate(robust) if r], name="tabular_scale")(filled)
    return filled, scaled


def embedding_blocks(schema: Schema) -> list[tuple[int, int, int, int]]:
    """The one-hot blocks of `build_preprocessing(schema)` that a network embeds (> `ONE_HOT_MAX` categories).

    Returns:
        One `(start, width, dim, index)` per embedded column: the position
        and width (categories + 1 out-of-vocabulary slot) of its one-hot
        block in the encoded features, its `embedding_dim`, and its index
        among the categorical columns (which seeds its initializer).
    """
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    position = len(numbers) + sum(c.has_gaps for c in numbers)
    blocks = []
    for j, col in enumerate(c for c in schema.features if c.kind == "categorical"):
        n = len(col.vocabulary)
        if n > ONE_HOT_MAX:
            blocks.append((position, n + 1, embedding_dim(n), j))
        position += n + 1
    return blocks


def encoded_width(schema: Schema) -> int:
    """Width of `build_preprocessing(schema)`'s encoded features."""
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    return (len(numbers) + sum(c.has_gaps for c in numbers)
            + sum(len(c.vocabulary) + 1 for c in schema.features if c.kind == "categorical") + _ple_width(numbers))


def _ple_width(numbers: list[Column]) -> int:
    """Width of the `PiecewiseLinearEncoding` of the numeric block: one value per bin."""
    return sum(len(c.edges) - 1 for c in numbers if c.edges)


@keras.saving.register_keras_serializable(package="kerasopt")
class BlockEmbedding(keras.layers.Layer):
    """Embeds one-hot blocks of the features, each with its own `(width, dim)` matrix.

    An `Embedding` lookup is the product of the category's one-hot vector
    with the embedding matrix, so a one-hot block times a `(width, dim)`
    matrix is that `Embedding` (same output, same gradient). Each block
    `(start, width, dim)` is replaced by its `dim` embedded values; the other
    features pass through in order. Features of shape `(batch, K, features)`
    (K stacked networks) get one matrix per member, `(K, width, dim)`.

    Args:
        blocks: `(start, width, dim)` of each one-hot block, in order of
            `start` (see `embedding_blocks`).
        **kwargs: Base layer arguments.
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
        width = int(input_shape[-1])
        if self.blocks[-1][0] + self.blocks[-1][1] > width:
            raise ArgumentError(f"Invalid value for `blocks`: they exceed the {width} input features. "
                                f"Received: blocks={self.blocks}")
        members = tuple(int(d) for d in input_shape[1:-1])
        self.tables = [self.add_weight(shape=(*members, w, d), initializer="random_uniform", name=f"embeddings_{j}")
                       for j, (_, w, d) in enumerate(self.blocks)]

    def call(self, inputs):
        parts, position = [], 0
        equation = "bi,id->bd" if len(inputs.shape) == 2 else "bki,kid->bkd"
        for (start, width, _), table in zip(self.blocks, self.tables):
            if start > position:
                parts.append(inputs[..., position:start])
            parts.append(keras.ops.einsum(equation, inputs[..., start:start + width], table))
            position = start + width
        if position < inputs.shape[-1]:
            parts.append(inputs[..., position:])
        return parts[0] if len(parts) == 1 else keras.ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], int(input_shape[-1]) + sum(d - w for _, w, d in self.blocks))

    def get_config(self):
        return {**super().get_config(), "blocks": [list(b) for b in self.blocks]}


@keras.saving.register_keras_serializable(package="kerasopt")
class PeriodicEmbedding(keras.layers.Layer):
    """Appends a learned periodic embedding of some columns to the features (RealMLP's PBLD embedding).

    Column `x_j` becomes `dim` values `cos(2 pi x_j w_j + b_j) V_j + c_j`:
    `frequencies` cosines of learned frequencies `w_j` (initialized
    `N(0, sigma^2)`) and phases `b_j` (uniform in `[-pi, pi]`), mapped by a
    learned `(frequencies, dim)` matrix `V_j` with bias `c_j`. The features
    pass through unchanged in front (the column itself stays an input, as in
    a DenseNet), so the output has `len(columns) * dim` more values. An
    extreme value gives finite cosines.
    Features of shape `(batch, K, features)` (K stacked networks) get one
    set of weights per member, `(K, columns, ...)`.

    Args:
        columns: Positions of the columns to embed on the last axis.
        frequencies: Cosines per column.
        dim: Embedded values per column.
        sigma: Standard deviation of the initial frequencies.
        **kwargs: Base layer arguments.

    Example:

    >>> layer = PeriodicEmbedding([0], frequencies=4, dim=2)
    >>> layer(np.zeros((3, 2), "float32")).shape
    (3, 4)
    """

    def __init__(self, columns, frequencies: int = 16, dim: int = 3, sigma: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]
        if not self.columns or min(self.columns) < 0 or len(set(self.columns)) != len(self.columns):
            raise ArgumentError("Invalid value for `columns`: expected distinct non-negative positions. "
                                f"Received: columns={columns!r}")
        self.frequencies = check.positive_int("frequencies", frequencies)
        self.dim = check.positive_int("dim", dim)
        self.sigma = check.positive_float("sigma", sigma)

    def build(self, input_shape):
        width = int(input_shape[-1])
        if max(self.columns) >= width:
            raise ArgumentError(f"Invalid value for `columns`: the input has {width} features. "
                                f"Received: columns={self.columns}")
        lead = (*(int(d) for d in input_shape[1:-1]), len(self.columns))
        f, d = self.frequencies, self.dim
        init = self.initializers()
        self.frequency = self.add_weight(shape=(*lead, f), name="frequency", initializer=init[0])
        self.phase = self.add_weight(shape=(*lead, f), name="phase", initializer=init[1])
        self.kernel = self.add_weight(shape=(*lead, f, d), name="kernel", initializer=init[2])
        self.bias = self.add_weight(shape=(*lead, d), name="bias", initializer=init[3])

    def initializers(self, seed: int | None = None) -> tuple:
        """The initializers of `frequency`, `phase`, `kernel` and `bias`, in that order (seeded
        `seed`, `seed + 1`, ... unless `seed` is `None`)."""
        bound = 1.0 / np.sqrt(self.frequencies)
        seeds = [None] * 4 if seed is None else [seed + v for v in range(4)]
        return (keras.initializers.RandomNormal(0.0, self.sigma, seed=seeds[0]),
                keras.initializers.RandomUniform(-np.pi, np.pi, seed=seeds[1]),
                keras.initializers.RandomUniform(-bound, bound, seed=seeds[2]),
                keras.initializers.RandomUniform(-bound, bound, seed=seeds[3]))

    def call(self, inputs):
        ops = keras.ops
        x = ops.take(inputs, self.columns, axis=-1)[..., None]
        # an extreme x would overflow to inf (cos: NaN); clipped, its cosines stay finite
        waves = ops.cos(ops.clip(2.0 * np.pi * x * self.frequency, -_FLOAT32_MAX, _FLOAT32_MAX) + self.phase)
        equation = "bcf,cfd->bcd" if len(inputs.shape) == 2 else "bkcf,kcfd->bkcd"
        embedded = ops.einsum(equation, waves, self.kernel) + self.bias
        embedded = ops.reshape(embedded, (*ops.shape(embedded)[:-2], len(self.columns) * self.dim))
        return ops.concatenate([inputs, ops.cast(embedded, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], int(input_shape[-1]) + len(self.columns) * self.dim)

    def get_config(self):
        return {**super().get_config(), "columns": list(self.columns), "frequencies": self.frequencies,
                "dim": self.dim, "sigma": self.sigma}


def periodic_columns(schema: Schema) -> list[int]:
    """The columns a network embeds with `PeriodicEmbedding`: with the schema's `numeric_embedding`
    `"periodic"`, the positions of its numeric columns (not booleans) in `build_preprocessing(schema)`'s
    encoded features; else none."""
    if schema.numeric_embedding != "periodic":
        return []
    numbers = [c for c in schema.features if c.kind in ("numeric", "boolean")]
    return [i for i, c in enumerate(numbers) if c.kind == "numeric"]

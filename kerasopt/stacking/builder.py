"""`build_stacked_model`: K copies of a `kerasopt.build_model` network as one Keras model.

Small Dense networks on small tables spend a training step on dispatch
overhead, not arithmetic, so K networks cost little more than one when they
run as one model. `build_stacked_model` makes K copies of the network that
`kerasopt.build_model` makes, with one `keras.layers.EinsumDense`
(`"bki,kio->bko"`: kernels of shape `(K, in, out)`, biases `(K, out)`) per
`Dense` layer. The model takes `{"features": (batch, K, features),
"row_mask": (batch, K)}` (`row_mask` is 1 for a member's real row and 0 for
padding; only `StackedBatchNormalization` reads it) and returns `(batch, K,
outputs)`. Member `k` is its own network:

- its initial weights are exactly those of `build_model(seed=seeds[k])`, its
  `Normalization` is adapted on its own training rows;
- its loss is its own batch mean (fed with `plan_batches`'s weights, `1 /
  rows` for a real row and 0 for padding); the model's loss is the SUM of
  the members' losses (a given `keras.losses.Loss` gets reduction `"sum"`),
  and every weight penalty is the member's own, so each member's gradient is
  the one its single network would get (optimizers that couple the entries
  of a variable, such as norm clipping, are refused; a penalty that is not a
  sum over the entries is applied to each member's kernel,
  `MemberwiseRegularizer`);
- Dropout draws its own masks for each member's rows (`StackedDropout`), and
  `StackedBatchNormalization` keeps batch statistics per member and unit
  (over the member's real rows only);
- with `embeddings`, it embeds each one-hot block `(start, width, dim)` of
  the features with its own `(width, dim)` matrix (`StackedEmbedding`,
  initialized uniformly in [-0.05, 0.05]).

`jit_compile="auto"` compiles with XLA on TensorFlow also on a CPU, where
Keras's own `"auto"` does not (15 stacked phone networks train an epoch about
3x faster with it); `jit_for` is the policy callers use for a run of a given
length.

Populations: members that share the layer shapes may differ in their
continuous hyperparameters, so that one stacked model trains several trials
of a search (`population={"learning_rate": [...], "l1": [...], "l2": [...],
"dropout": [...]}`, one value per member for any of the keys; l1, l2 and
dropout apply to every layer). Member `k` then trains exactly as
`build_model(..., learning_rate=lr[k], l1=l1[k], l2=l2[k],
dropout=dropout[k], seed=seeds[k])` would (dropout: the same rate, its own
masks):

- learning rates: the optimizer (a plain Keras class, not a subclass)
  becomes its `Memberwise` class (`kerasopt.stacking.optimizers`) with
  `member_scales` the rates themselves (the base rate is 1.0). A
  `LearningRateSchedule` `learning_rate` gives the members' common shape:
  member `k` follows `schedule(step) * lr[k] / schedule(0)`;
- penalties: `MemberwiseL1L2` weights each member's slice of every kernel by
  its own strengths; `population["l1"]` or `["l2"]` cannot be combined with
  `kernel_regularizer`, and the other penalty comes from its scalar;
- dropout: `StackedDropout` drops each member's units at its own rate.

A key replaces its scalar argument, which must keep its default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import models as models_lib  # the module: stacking may register while models imports
from kerasopt.config import DEFAULTS
from kerasopt.errors import ArgumentError
from kerasopt.stacking.layers import (ADDITIVE_REGULARIZERS, EQUATION, MemberwiseL1L2, MemberwiseRegularizer,
                                      StackedBatchNormalization, StackedDropout, StackedEmbedding)
from kerasopt.stacking.optimizers import check_optimizer, memberwise_optimizer

__all__ = ["POPULATION_KEYS", "XLA_MIN_STEPS", "build_stacked_model", "forward", "is_regression", "jit_for",
           "member_seeds", "member_variables", "model_members", "stacked_layers"]


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


def member_seeds(name: str, seed, members: int) -> list[int | None]:
    """One seed per member from `seed` (member `k` gets `seed + k`), a list of seeds, or `None`."""
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


def _initial_kernel(kernel_initializer, seed: int | None, index: int, shape) -> np.ndarray:
    """The kernel `build_model(seed=seed)` gives its Dense layer number `index`."""
    init = keras.initializers.get(kernel_initializer)
    config = init.get_config()
    if seed is not None and "seed" in config:
        config["seed"] = seed + index
        init = init.__class__.from_config(config)
    return keras.ops.convert_to_numpy(init(shape, dtype="float32"))


def forward(layers: dict[str, keras.layers.Layer], x, row_mask):
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
    inputs: int | np.ndarray | Sequence[np.ndarray], members: int | None = None, num_classes: int | None = 2,
    hidden_units: int | Sequence[int] = tuple(DEFAULTS["hidden_units"]), activation: str = DEFAULTS["activation"],
    kernel_initializer: str | dict = DEFAULTS["kernel_initializer"], l1: float | Sequence[float] = DEFAULTS["l1"],
    l2: float | Sequence[float] = DEFAULTS["l2"], kernel_regularizer=None,
    dropout: float | Sequence[float] = DEFAULTS["dropout"], batch_norm: bool | Sequence[bool] = DEFAULTS["batch_norm"],
    normalize: bool = True, optimizer: str | dict | keras.optimizers.Optimizer = DEFAULTS["optimizer"],
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None, loss: Any = None,
    seed: int | Sequence[int] | None = None, jit_compile: bool | str = "auto", steps_per_execution: int = 1,
    name: str = "kerasopt_stacked", embeddings: Sequence[Sequence[int]] | None = None,
    population: dict[str, Sequence[float]] | None = None,
) -> keras.Model:
    """Builds and compiles K independent copies of a `build_model` network as one model.

    Member `k` starts from `build_model(..., seed=seeds[k])`'s weights and gets its single network's
    gradient (see the module docstring). The model takes `{"features": (batch, K, features),
    "row_mask": (batch, K)}` and returns `(batch, K, outputs)`.

    Args:
        inputs: The number of input features; or training features that adapt each member's leading
            `Normalization` (a 2-D array shared by all members, or a list with one per member).
        members: Number of members K; optional when `inputs` is a list.
        num_classes, hidden_units, activation, kernel_initializer, l1, l2, kernel_regularizer, dropout,
            batch_norm, normalize, optimizer, learning_rate: As in `kerasopt.build_model`, for every member;
            the optimizer must update each weight entry from its own gradient (no `clipnorm`).
        loss: `None` (the single network's loss) or a `keras.losses.Loss`, summed over the members.
        seed: One seed (member `k` gets `seed + k`), one seed per member, or `None`.
        jit_compile: Passed to `Model.compile`; `"auto"` compiles with XLA on TensorFlow, also on a CPU.
        steps_per_execution: Passed to `Model.compile`.
        name: Model name.
        embeddings: Optional `(start, width, dim)` one-hot blocks of the features that each member embeds
            with its own matrix (`StackedEmbedding`). Needs `normalize=False`.
        population: Optional `{key: one value per member}` for keys in `POPULATION_KEYS`: member `k`
            trains as `build_model(..., key=values[k])` would.

    Returns:
        A compiled `keras.Model`, e.g. of output shape `(None, 3, 4)` for
        `build_stacked_model(20, members=3, num_classes=4)`.
    """
    n_inputs, features, members = _member_features(inputs, members)
    seeds = member_seeds("seed", seed, members)
    embedding = _embedding(embeddings, n_inputs, normalize and features is not None)
    if jit_compile == "auto" and keras.backend.backend() == "tensorflow":
        jit_compile = True  # Keras's "auto" leaves XLA off on a CPU; the stacked einsums run several times faster
    per_member = _check_population(population, members, learning_rate=learning_rate, l1=l1, l2=l2,
                                   dropout=dropout, kernel_regularizer=kernel_regularizer)
    template = _template(
        n_inputs, embedding, per_member, num_classes=num_classes, hidden_units=hidden_units, activation=activation,
        kernel_initializer=kernel_initializer, l1=l1, l2=l2, kernel_regularizer=kernel_regularizer, dropout=dropout,
        batch_norm=batch_norm, normalize=normalize, optimizer=optimizer, learning_rate=learning_rate, seed=seeds[0],
        jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    opt = _stacked_optimizer(template.optimizer, per_member, learning_rate)
    stacked_loss = _stacked_loss(loss, num_classes)
    model, stack = _assemble(template, n_inputs, members, per_member, seeds[0], embedding,
                             normalization=features is not None and normalize, jit_compile=jit_compile, name=name)
    _initialize(stack, template, features, seeds, kernel_initializer)
    model.compile(optimizer=opt, loss=stacked_loss, metrics=_data_loss_metrics(loss, num_classes),
                  jit_compile=jit_compile, steps_per_execution=check.positive_int("steps_per_execution",
                                                                                  steps_per_execution))
    return model


def _template(n_inputs: int, embedding: StackedEmbedding | None, per_member: dict, **arguments) -> keras.Model:
    """The single network whose layers the members copy (after the embeddings); `build_model` checks every argument.

    A population's penalties and dropout replace the template's (its `l1`, `l2` and `dropout` are 0).
    """
    if embedding is not None:
        n_inputs += sum(d - w for _, w, d in embedding.blocks)
    if "l1" in per_member:
        arguments.update(l1=0.0, l2=0.0)
    if "dropout" in per_member:
        arguments["dropout"] = 0.0
    return models_lib.build_model(n_inputs, **arguments)


def _assemble(template: keras.Model, n_inputs: int, members: int, per_member: dict, seed: int | None,
              embedding: StackedEmbedding | None, normalization: bool, jit_compile, name: str
              ) -> tuple[keras.Model, dict[str, keras.layers.Layer]]:
    """The stacked model of `template`'s layers (before its weights are set), and its layers by name."""
    threefry = jit_compile is True and keras.backend.backend() == "tensorflow"  # see StackedDropout
    stack = _stack_template(template, members, per_member, seed, threefry)
    if embedding is not None:
        stack["embeddings"] = embedding
    if normalization:
        stack["normalization"] = keras.layers.Normalization(axis=(1, 2), name="normalization")
    x_in = keras.Input(shape=(members, n_inputs), name="features")
    mask_in = keras.Input(shape=(members,), name="row_mask")
    model = keras.Model({"features": x_in, "row_mask": mask_in}, forward(stack, x_in, mask_in), name=name)
    return model, stack


def _embedding(embeddings, n_inputs: int, normalized: bool) -> StackedEmbedding | None:
    """The `StackedEmbedding` of `build_stacked_model`'s `embeddings`, or `None`."""
    if not embeddings:
        return None
    if normalized:
        raise ArgumentError("`embeddings` needs `normalize=False`: a Normalization layer would rescale the "
                            f"one-hot blocks. Received: embeddings={embeddings!r}, normalize=True")
    embedding = StackedEmbedding(embeddings, name="embeddings")
    if embedding.blocks[-1][0] + embedding.blocks[-1][1] > n_inputs:
        raise ArgumentError(f"Invalid value for `embeddings`: the blocks exceed the {n_inputs} input "
                            f"features. Received: embeddings={embeddings!r}")
    return embedding


def _stacked_optimizer(opt: keras.optimizers.Optimizer, per_member: dict, learning_rate):
    """The template's optimizer, checked, as its `Memberwise` class for a population's learning rates."""
    check_optimizer(opt)
    if "learning_rate" in per_member:
        return memberwise_optimizer(opt, per_member["learning_rate"], learning_rate)
    return opt


def _stack_template(template: keras.Model, members: int, per_member: dict, seed: int | None,
                    threefry: bool) -> dict[str, keras.layers.Layer]:
    """The stacked layer of every layer of the single network `template` after its `Normalization`, by name."""
    layers = keras.layers
    stack: dict[str, keras.layers.Layer] = {}
    for layer in template.layers:
        if isinstance(layer, layers.Dense):
            reg = layer.kernel_regularizer
            if "l1" in per_member:
                reg = MemberwiseL1L2(per_member["l1"], per_member["l2"])
            elif reg is not None and not isinstance(reg, ADDITIVE_REGULARIZERS):
                reg = MemberwiseRegularizer(reg)
            stack[layer.name] = layers.EinsumDense(
                EQUATION, output_shape=(members, layer.units), bias_axes="ko" if layer.use_bias else None,
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
        hidden = sum(isinstance(layer, layers.Dense) for layer in template.layers) - 1
        for i in range(hidden):
            stack[f"dropout_{i}"] = StackedDropout(per_member["dropout"], name=f"dropout_{i}", threefry=threefry,
                                                   seed=None if seed is None else seed + 1000 + i)
    return stack


def _initialize(stack: dict[str, keras.layers.Layer], template: keras.Model, features, seeds,
                kernel_initializer) -> None:
    """Gives member `k` the initial weights of `build_model(seed=seeds[k])` and its own adapted `Normalization`."""
    if "normalization" in stack:
        _adapt_members(stack["normalization"], features)
    dense_layers = [layer for layer in template.layers if isinstance(layer, keras.layers.Dense)]
    for index, layer in enumerate(dense_layers):
        shape = (int(layer.kernel.shape[0]), int(layer.kernel.shape[1]))
        stack[layer.name].kernel.assign(
            np.stack([_initial_kernel(kernel_initializer, s, index, shape) for s in seeds]))
    if "embeddings" in stack:
        embedding = stack["embeddings"]
        for j, (table, (_, width, dim)) in enumerate(zip(embedding.tables, embedding.blocks)):
            table.assign(np.stack([_initial_kernel(keras.initializers.RandomUniform(-0.05, 0.05),
                                                   None if s is None else s + 2000, j, (width, dim))
                                   for s in seeds]))


def _adapt_members(norm: keras.layers.Normalization, features: list[np.ndarray]) -> None:
    """Adapts member `k`'s slice of the stacked `norm` on `features[k]`, as `build_model` adapts its own."""
    means, variances, adapted = [], [], {}
    for member_features in features:
        if id(member_features) not in adapted:  # members that share their features share the statistics
            single = keras.layers.Normalization()
            single.adapt(member_features)
            adapted[id(member_features)] = (keras.ops.convert_to_numpy(single.adapt_mean),
                                            keras.ops.convert_to_numpy(single.adapt_variance))
        means.append(adapted[id(member_features)][0])
        variances.append(adapted[id(member_features)][1])
    norm.adapt_mean.assign(np.stack(means))
    norm.adapt_variance.assign(np.stack(variances))
    norm.finalize_state()


def _data_loss_metrics(loss, num_classes: int | None) -> list | None:
    """With the default loss: the members' mean data loss per row, without the weight penalties."""
    if loss is not None:
        return None
    return [keras.metrics.MeanSquaredError(name="mse") if num_classes is None
            else keras.metrics.SparseCategoricalCrossentropy(name="log_loss")]


def stacked_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """The layers of a `build_stacked_model` model by name; raises `ArgumentError` for any other model."""
    layers = {layer.name: layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    output = layers.get("output")
    if not isinstance(output, keras.layers.EinsumDense) or output.equation != EQUATION:
        raise ArgumentError("Invalid value for `model`: expected a model from `build_stacked_model`. "
                         f"Received: model={getattr(model, 'name', model)!r}")
    return layers


def is_regression(layers: dict[str, keras.layers.Layer]) -> bool:
    """Whether the stacked `layers` (`stacked_layers`) regress (a linear output)."""
    return keras.activations.serialize(layers["output"].activation) == "linear"


def model_members(model: keras.Model) -> tuple[int, int]:
    """(K, features) of a stacked model."""
    features = model.input["features"] if isinstance(model.input, dict) else model.inputs[0]
    return int(features.shape[1]), int(features.shape[2])


def member_variables(layers: dict[str, keras.layers.Layer]) -> list:
    """The variables whose leading axis is the member (everything that training changes)."""
    found = []
    for layer in layers.values():
        if isinstance(layer, (keras.layers.EinsumDense, StackedBatchNormalization, StackedEmbedding)):
            found.extend(layer.weights)
    return found

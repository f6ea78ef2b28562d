"""`build_stacked_model`: K copies of a `kerasopt.build_model` network as one Keras model (`docs/stacking.md`).

The model takes `{"features": (batch, K, features), "row_mask": (batch, K)}`
and returns `(batch, K, outputs)`; member `k` is the `kerasopt.network.Network`
that `build_model(seed=seeds[k])` makes, rendered with `Network.apply_stacked`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import losses
from kerasopt import models as models_lib  # modules, not names: models -> network -> stacking imports back
from kerasopt import network as network_lib
from kerasopt.config import DEFAULTS
from kerasopt.errors import ArgumentError
from kerasopt.stacking.layers import EQUATION
from kerasopt.stacking.optimizers import check_optimizer, memberwise_optimizer

__all__ = ["POPULATION_KEYS", "XLA_MIN_STEPS", "build_stacked_model", "is_regression", "jit_for", "member_seeds",
           "member_variables", "model_members", "stacked_layers"]


#: Gradient steps (all epochs) from which compiling a stacked model with XLA pays on TensorFlow:
#: the compile takes about 2-4 s, and 15 stacked phone networks then train about 3x faster
#: (23 ms against about 70 ms an epoch of 40 steps, about 1 ms saved per step).
XLA_MIN_STEPS = 2000


def jit_for(steps: int) -> bool | str:
    """kerasopt's XLA policy: the `jit_compile` for a run of `steps` gradient steps in all.

    On TensorFlow, XLA from `XLA_MIN_STEPS` steps on (also on a CPU), none for a shorter run; on
    other backends `"auto"`.

    Args:
        steps: Steps per epoch times epochs.

    Returns:
        `True`, `False` or `"auto"`, for `jit_compile`.
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
    for key, other, scalar in (("l1", "l2", l2), ("l2", "l1", l1)):  # the other penalty: its scalar, every layer
        if key in values and other not in values:
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


def _stacked_loss(loss, num_classes, label_smoothing: float):
    if loss is None:
        return losses.default_loss(num_classes, label_smoothing, reduction="sum")
    try:
        resolved = keras.losses.get(loss)
    except (ValueError, TypeError):
        resolved = None
    if not isinstance(resolved, keras.losses.Loss):
        raise ArgumentError("Invalid value for `loss`: expected None or a `keras.losses.Loss` (instance, class "
                         f"name or dict), which stacking sums over the members. Received: loss={loss!r}")
    return resolved.__class__.from_config({**resolved.get_config(), "reduction": "sum"})


def build_stacked_model(
    inputs: int | np.ndarray | Sequence[np.ndarray], members: int | None = None, num_classes: int | None = 2,
    hidden_units: int | Sequence[int] | None = None, activation: str = DEFAULTS["activation"],
    kernel_initializer: str | dict = DEFAULTS["kernel_initializer"], l1: float | Sequence[float] = DEFAULTS["l1"],
    l2: float | Sequence[float] = DEFAULTS["l2"], kernel_regularizer=None,
    dropout: float | Sequence[float] = DEFAULTS["dropout"], batch_norm: bool | Sequence[bool] = DEFAULTS["batch_norm"],
    normalize: bool = True, optimizer: str | dict | keras.optimizers.Optimizer = DEFAULTS["optimizer"],
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None, loss: Any = None,
    label_smoothing: float = DEFAULTS["label_smoothing"], seed: int | Sequence[int] | None = None,
    jit_compile: bool | str = "auto", steps_per_execution: int = 1, name: str = "kerasopt_stacked",
    embeddings: Sequence[Sequence[int]] | None = None,
    population: dict[str, Sequence[float]] | None = None, periodic: Sequence[int] = (),
) -> keras.Model:
    """Builds and compiles K independent copies of a `build_model` network as one model.

    Member `k` starts from `build_model(..., seed=seeds[k])`'s weights and gets its single network's
    gradient (`docs/stacking.md`). The model takes `{"features": (batch, K, features),
    "row_mask": (batch, K)}` and returns `(batch, K, outputs)`.

    Args:
        inputs: The number of input features; or training features that adapt each member's leading
            `Normalization` (a 2-D array shared by all members, or a list with one per member).
        members: Number of members K; optional when `inputs` is a list.
        num_classes, hidden_units, activation, kernel_initializer, l1, l2, kernel_regularizer, dropout,
            batch_norm, normalize, optimizer, learning_rate: As in `kerasopt.build_model`, for every member;
            the optimizer must update each weight entry from its own gradient (no `clipnorm`).
        loss, label_smoothing: `None` (the single network's loss, as `build_model` smooths it) or a
            `keras.losses.Loss`; summed over the members.
        seed: One seed (member `k` gets `seed + k`), one seed per member, or `None`.
        jit_compile, steps_per_execution: Passed to `Model.compile` (kerasopt's XLA policy: `jit_for`).
        name: Model name.
        embeddings: Optional `(start, width, dim[, index])` one-hot blocks of the features that each member
            embeds with its own matrix (`kerasopt.tabular.BlockEmbedding`, seeded by `index`, by default the
            block's place). Needs `normalize=False`.
        population: Optional `{key: one value per member}` for keys in `POPULATION_KEYS`: member `k`
            trains as `build_model(..., key=values[k])` would.
        periodic: Positions of the features that each member embeds with its own
            `kerasopt.tabular.PeriodicEmbedding` (`kerasopt.tabular.periodic_columns`).

    Returns:
        A compiled `keras.Model`, e.g. of output shape `(None, 3, 4)` for
        `build_stacked_model(20, members=3, num_classes=4)`.
    """
    n_inputs, features, members = _member_features(inputs, members)
    seeds = member_seeds("seed", seed, members)
    per_member = _check_population(population, members, learning_rate=learning_rate, l1=l1, l2=l2,
                                   dropout=dropout, kernel_regularizer=kernel_regularizer)
    network = network_lib.Network.create(num_classes, hidden_units, activation, kernel_initializer, l1, l2,
                                         kernel_regularizer, dropout, batch_norm,
                                         embeddings=_blocks(embeddings, normalize and features is not None),
                                         rows=None if features is None else max(len(a) for a in features),
                                         periodic=periodic)
    opt = _stacked_optimizer(optimizer, learning_rate, per_member)
    model = _stacked_graph(network, (members, n_inputs), features if normalize else None, seeds, per_member,
                           threefry=jit_compile is True and keras.backend.backend() == "tensorflow", name=name)
    metrics = None if loss is not None else [losses.data_loss_metric(num_classes)]  # the members' mean, no penalty
    model.compile(optimizer=opt, loss=_stacked_loss(loss, num_classes, label_smoothing), metrics=metrics,
                  jit_compile=jit_compile,
                  steps_per_execution=check.positive_int("steps_per_execution", steps_per_execution))
    return model


def _stacked_graph(network, shape: tuple[int, int], features, seeds, per_member: dict, threefry: bool,
                   name: str) -> keras.Model:
    """The uncompiled stacked model of `network`: inputs `features` `(batch, K, n)` and `row_mask`
    `(batch, K)`, a leading `Normalization` adapted to `features` unless `None`, then the K members
    (`threefry`: `StackedDropout`'s generator, for XLA on TensorFlow)."""
    x_in = keras.Input(shape=shape, name="features")
    mask_in = keras.Input(shape=shape[:1], name="row_mask")
    x = _normalized(x_in, features) if features is not None else x_in
    outputs = network.apply_stacked(x, mask_in, seeds, per_member, threefry=threefry)
    return keras.Model({"features": x_in, "row_mask": mask_in}, outputs, name=name)


def _stacked_optimizer(optimizer, learning_rate, per_member: dict) -> keras.optimizers.Optimizer:
    """`build_model`'s optimizer, checked, as its `Memberwise` class for a population's learning rates."""
    opt = models_lib.make_optimizer(optimizer, learning_rate)
    check_optimizer(opt)
    if "learning_rate" in per_member:
        return memberwise_optimizer(opt, per_member["learning_rate"], learning_rate)
    return opt


def _normalized(x, features: list[np.ndarray]):
    """`x` through a `Normalization` whose member `k` is adapted on `features[k]`, as `build_model` adapts its own."""
    norm = keras.layers.Normalization(axis=(1, 2), name="normalization")
    x = norm(x)
    adapted = {}
    for member_features in features:
        if id(member_features) not in adapted:  # members that share their features share the statistics
            single = keras.layers.Normalization()
            single.adapt(member_features)
            adapted[id(member_features)] = (keras.ops.convert_to_numpy(single.adapt_mean),
                                            keras.ops.convert_to_numpy(single.adapt_variance))
    means, variances = zip(*(adapted[id(member_features)] for member_features in features))
    norm.adapt_mean.assign(np.stack(means))
    norm.adapt_variance.assign(np.stack(variances))
    norm.finalize_state()
    return x


def _blocks(embeddings, normalized: bool) -> list:
    """`embeddings` as `(start, width, dim, index)` blocks (`index`: the block's place unless given)."""
    if not embeddings:
        return []
    if normalized:
        raise ArgumentError("`embeddings` needs `normalize=False`: a Normalization layer would rescale the "
                            f"one-hot blocks. Received: embeddings={embeddings!r}, normalize=True")
    if any(len(block) not in (3, 4) for block in embeddings):
        raise ArgumentError("Invalid value for `embeddings`: expected (start, width, dim) blocks. "
                            f"Received: embeddings={embeddings!r}")
    return [(*block[:3], block[3] if len(block) == 4 else j) for j, block in enumerate(embeddings)]


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
    """The variables that training changes, each with the member as its leading axis.

    These are all the weights of every layer that has trainable weights (batch normalization's moving
    statistics included). The leading `Normalization`'s statistics are fixed before training, and
    dropout's seed generators are not weights.
    """
    return [variable for layer in layers.values() if layer.trainable_weights for variable in layer.weights]

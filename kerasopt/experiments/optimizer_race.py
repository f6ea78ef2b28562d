"""Optimizers compared: a race on `y = x**3 + noise` and a few steps on `f(w) = w**2 / 2`.

`optimizer_race` trains a 1-20-1 ReLU network per optimizer from the same weights and batches;
`trajectories` runs each optimizer by hand-checkable steps (momentum 0.9, lr 0.01: 1 -> 0.99 -> 0.9711).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.plotting import finish, new_figure, style

__all__ = ["DEFAULT_OPTIMIZERS", "RaceResult", "coinciding", "cubic_data", "optimizer_race", "trajectories",
           "format_race_table", "format_trajectory_table", "plot_race"]

#: The optimizers of the course, as `kerasopt.optimizers` names.
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def _names(optimizers) -> list[str]:
    from kerasopt import optimizers as optimizers_lib

    names = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    known = optimizers_lib.available()
    bad = [n for n in names if not isinstance(n, str) or n.lower() not in known]
    if not names or bad:
        raise ArgumentError(f"Invalid value for `optimizers`: expected names from {', '.join(known)}. "
                         f"Received: optimizers={optimizers!r}")
    return [n.lower() for n in names]


def _rates(learning_rate, names: list[str]) -> dict[str, float]:
    if isinstance(learning_rate, Mapping):
        missing = [n for n in names if n not in learning_rate]
        if missing:
            raise ArgumentError(f"Invalid value for `learning_rate`: no rate for {', '.join(missing)}. "
                             f"Received: learning_rate={dict(learning_rate)!r}")
        return {n: check.positive_float("learning_rate", learning_rate[n]) for n in names}
    rate = check.positive_float("learning_rate", learning_rate)
    return {n: rate for n in names}


def trajectories(optimizers: Sequence[str] = DEFAULT_OPTIMIZERS, learning_rate: float | Mapping[str, float] = 0.01,
                 steps: int = 2) -> dict[str, np.ndarray]:
    """Runs each optimizer for a few steps on `f(w) = w**2 / 2` (gradient `w`).

    The Keras optimizers (through `kerasopt.optimizers.get`, so with the
    course's presets) update a float64 `keras.Variable`.

    Args:
        optimizers: `kerasopt.optimizers` names.
        learning_rate: One rate for all, or `{name: rate}`.
        steps: Number of steps.

    Returns:
        `{name: array [w_0, w_1, ..., w_steps]}`.

    Example:

    >>> trajectories(["momentum"])["momentum"].round(6).tolist()
    [1.0, 0.99, 0.9711]
    """
    import keras

    from kerasopt import optimizers as optimizers_lib

    names = _names(optimizers)
    rates = _rates(learning_rate, names)
    steps = check.positive_int("steps", steps)
    result = {}
    for name in names:
        optimizer = optimizers_lib.get(name, learning_rate=rates[name])
        w = keras.Variable(np.float64(1.0), dtype="float64", name="w")
        path = [1.0]
        for _ in range(steps):
            gradient = keras.ops.convert_to_tensor(w.value)  # d/dw (w**2 / 2) = w
            optimizer.apply([gradient], [w])
            path.append(float(keras.ops.convert_to_numpy(w.value)))
        result[name] = np.asarray(path)
    return result


def cubic_data(n_samples: int = 1500, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns `x` uniform in [-1, 1] and `y = x**3 + noise * N(0, 1)`, float32, shape `(n, 1)`."""
    n_samples = check.positive_int("n_samples", n_samples)
    noise = check.non_negative_float("noise", noise)
    seed = check.non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_samples, 1))
    y = x ** 3 + noise * rng.normal(size=(n_samples, 1))
    return x.astype("float32"), y.astype("float32")


@dataclass
class RaceResult:
    """What `optimizer_race` returns; dicts are keyed by optimizer name.

    Attributes:
        losses: Training loss (MSE) of each epoch, as logged by `fit`.
        initial_loss: Loss on all the data before training (equal for all,
            since all start from the same weights).
        final_loss: Loss on all the data after the last epoch.
        learning_rates: The learning rate of each optimizer.
        initial_weights: The shared initial weights.
    """

    losses: dict[str, list[float]]
    initial_loss: dict[str, float]
    final_loss: dict[str, float]
    learning_rates: dict[str, float]
    initial_weights: list[np.ndarray]


def optimizer_race(optimizers: Sequence[str] = DEFAULT_OPTIMIZERS,
                   learning_rate: float | Mapping[str, float] = 0.01, epochs: int = 10,
                   batch_size: int = 20, n_samples: int = 1500, hidden_units: int = 20,
                   seed: int = 0) -> RaceResult:
    """Trains the same 1-`hidden_units`-1 ReLU network with each optimizer on cubic data.

    One model is built (`kerasopt.build_model(1, num_classes=None)`) and
    its weights are copied into each optimizer's model; `kerasopt.train`
    runs with the same `seed`, hence the same batch order, and without early
    stopping.

    Args:
        optimizers: `kerasopt.optimizers` names.
        learning_rate: One rate for all, or `{name: rate}`.
        epochs: Epochs per optimizer.
        batch_size: Mini-batch size.
        n_samples: Number of points of `cubic_data`.
        hidden_units: Units of the hidden layer.
        seed: Seed of the data, the initial weights and the shuffling.

    Returns:
        A `RaceResult`.
    """
    import keras

    from kerasopt.models import build_model
    from kerasopt.experiments import train_curves

    names = _names(optimizers)
    rates = _rates(learning_rate, names)
    epochs = check.positive_int("epochs", epochs)
    batch_size = check.positive_int("batch_size", batch_size)
    hidden_units = check.positive_int("hidden_units", hidden_units)
    x, y = cubic_data(n_samples, seed=seed)

    def build(name: str) -> keras.Model:
        return build_model(1, num_classes=None, hidden_units=(hidden_units,), activation="relu", l1=0.0,
                           optimizer=name, learning_rate=rates[name], seed=seed, jit_compile=False)

    initial = build(names[0]).get_weights()
    losses, initial_loss, final_loss = {}, {}, {}
    for name in names:
        keras.backend.clear_session()
        model = build(name)
        model.set_weights(initial)
        initial_loss[name] = float(model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)["loss"])
        result, curves = train_curves(model, x, y, epochs=epochs, batch_size=batch_size, seed=seed)
        losses[name] = curves["loss"]
        final_loss[name] = result.metrics["train"]["loss"]
    return RaceResult(losses=losses, initial_loss=initial_loss, final_loss=final_loss,
                      learning_rates=rates, initial_weights=initial)


def format_race_table(result: RaceResult) -> str:
    """Returns the final losses, best first, as text."""
    lines = [f"{'optimizer':<10} {'lr':>8} {'initial loss':>13} {'final loss':>11}"]
    for name in sorted(result.final_loss, key=result.final_loss.get):
        lines.append(f"{name:<10} {result.learning_rates[name]:>8g} {result.initial_loss[name]:>13.6f} "
                     f"{result.final_loss[name]:>11.6f}")
    return "\n".join(lines)


def format_trajectory_table(paths: Mapping[str, np.ndarray]) -> str:
    """Returns `w_0, w_1, ...` of each optimizer as text."""
    steps = len(next(iter(paths.values())))
    lines = [f"{'optimizer':<10}" + "".join(f" {'w_' + str(i):>12}" for i in range(steps))]
    for name, path in paths.items():
        lines.append(f"{name:<10}" + "".join(f" {w:>12.8f}" for w in path))
    return "\n".join(lines)


def coinciding(result: RaceResult, rtol: float = 0.01) -> list[tuple[str, str, float]]:
    """Returns the pairs of optimizers whose loss curves lie within `rtol` of each other.

    Such curves hide one another in `plot_race` (e.g. Adam and AdamW; see docs/course.md).

    Args:
        result: A `RaceResult`.
        rtol: Largest relative difference, at every epoch, of two coinciding curves.

    Returns:
        `(name_a, name_b, largest relative difference)` per pair, in the order of `result.losses`.
    """
    rtol = check.positive_float("rtol", rtol)
    names = list(result.losses)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ca, cb = np.asarray(result.losses[a]), np.asarray(result.losses[b])
            if ca.shape != cb.shape:
                continue
            diff = float(np.max(np.abs(ca - cb) / np.maximum(np.abs(ca), np.abs(cb))))
            if diff <= rtol:
                pairs.append((a, b, diff))
    return pairs


_STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ("-", "v"), ("--", "x"), (":", "P"),
           ("-.", "*")]


def plot_race(result: RaceResult) -> Figure:
    """Draws each optimizer's loss per epoch (epoch 0: before training), log scale.

    Every optimizer has its own colour, line style and marker, so curves
    that coincide stay visible; a note under the axes names the pairs
    within 1 % of each other at every epoch (see `coinciding`).
    """
    pairs = coinciding(result)
    figure, ax = new_figure(6.4, 4.4 if pairs else 4.0)
    for i, (name, curve) in enumerate(result.losses.items()):
        line, marker = _STYLES[i % len(_STYLES)]
        ax.plot(np.arange(len(curve) + 1), [result.initial_loss[name], *curve], linestyle=line,
                marker=marker, markersize=6 if i % 2 else 4, markerfacecolor="none" if i % 2 else None,
                color=f"C{i % 10}", label=name)
    style(ax, "epoch", "training loss (MSE)", "y = x^3 + 0.1 noise, 1-20-1 ReLU net, same initial weights",
          yscale="log", grid={"which": "both"}, legend={"fontsize": 8})
    if not pairs:
        return finish(figure)
    text = "; ".join(f"{a} and {b} coincide (within {100 * d:.1f} %)" for a, b, d in pairs)
    figure.text(0.01, 0.01, text, fontsize=7.5, va="bottom", ha="left", wrap=True)
    return finish(figure, rect=(0, 0.06, 1, 1))

"""Backpropagation, checked against Matt Mazur's worked example of a 2-2-2 sigmoid network.

`backprop_step` builds the network as a float64 Keras model, takes TensorFlow's gradients and
one `keras.optimizers.SGD` step: error 0.298371109 before, w5 = 0.35891648 and w1 = 0.149780716
after. The article's weights feed neurons (w1 = i1->h1, w2 = i2->h1, w3 = i1->h2, ...), so the
Keras kernel `[inputs, outputs]` is `[[w1, w3], [w2, w4]]`; biases are reported per neuron
(b_h1, b_h2, b_o1, b_o2) and stay fixed unless `update_biases=True`. See docs/course.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.plotting import finish, new_figure, style

__all__ = ["MAZUR", "BackpropResult", "build_network", "backprop_step", "format_table", "plot_step"]

#: The worked example's starting point.
MAZUR = {
    "inputs": (0.05, 0.10),
    "targets": (0.01, 0.99),
    "weights": {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30,
                "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55},
    "biases": {"b1": 0.35, "b2": 0.60},
    "learning_rate": 0.5,
}

# article name -> (Dense layer, kernel row = input index, kernel column = neuron index)
_KERNEL_INDEX = {"w1": (0, 0, 0), "w2": (0, 1, 0), "w3": (0, 0, 1), "w4": (0, 1, 1),
                 "w5": (1, 0, 0), "w6": (1, 1, 0), "w7": (1, 0, 1), "w8": (1, 1, 1)}
_BIAS_INDEX = {"b_h1": (0, 0), "b_h2": (0, 1), "b_o1": (1, 0), "b_o2": (1, 1)}


@dataclass
class BackpropResult:
    """What `backprop_step` returns; every dict is keyed by the article's names.

    Attributes:
        outputs: Network outputs before the step, `{"o1": ..., "o2": ...}`.
        total_error: `sum((out - target)**2) / 2` before the step.
        errors: The error of each output before the step.
        gradients: dE/dw for w1..w8 and dE/db for b_h1, b_h2, b_o1, b_o2.
        weights_before: w1..w8 and the four biases before the step.
        weights_after: The same after one SGD step.
        total_error_after: The total error with the updated parameters.
    """

    outputs: dict[str, float]
    total_error: float
    errors: dict[str, float]
    gradients: dict[str, float]
    weights_before: dict[str, float]
    weights_after: dict[str, float]
    total_error_after: float


def build_network(weights: Mapping[str, float] | None = None,
                  biases: Mapping[str, float] | None = None):
    """Builds the 2-2-2 sigmoid network of the worked example as a Keras model.

    Args:
        weights: `{"w1": ..., ..., "w8": ...}` in the article's naming;
            defaults to the article's values.
        biases: `{"b1": hidden bias, "b2": output bias}`, each shared by the
            neurons of its layer as in the article.

    Returns:
        An uncompiled float64 `keras.Sequential` model with Dense layers
        named `hidden` and `output`.
    """
    import keras

    weights = dict(MAZUR["weights"] if weights is None else weights)
    biases = dict(MAZUR["biases"] if biases is None else biases)
    missing = sorted(set(_KERNEL_INDEX) - set(weights)) + sorted({"b1", "b2"} - set(biases))
    if missing:
        raise ArgumentError(f"Invalid value for `weights`/`biases`: missing {', '.join(missing)}. "
                         f"Received: weights={weights!r}, biases={biases!r}")
    kernels = [np.zeros((2, 2)), np.zeros((2, 2))]
    for name, (layer, row, col) in _KERNEL_INDEX.items():
        kernels[layer][row, col] = float(weights[name])
    model = keras.Sequential([
        keras.Input(shape=(2,), dtype="float64"),
        keras.layers.Dense(2, activation="sigmoid", dtype="float64", name="hidden"),
        keras.layers.Dense(2, activation="sigmoid", dtype="float64", name="output"),
    ], name="mazur_2_2_2")
    model.get_layer("hidden").set_weights([kernels[0], np.full(2, float(biases["b1"]))])
    model.get_layer("output").set_weights([kernels[1], np.full(2, float(biases["b2"]))])
    return model


def _named(layer_values: Sequence[np.ndarray]) -> dict[str, float]:
    """Maps [hidden kernel, hidden bias, output kernel, output bias] to article names."""
    named = {name: float(layer_values[2 * layer][row, col]) for name, (layer, row, col) in _KERNEL_INDEX.items()}
    named.update({name: float(layer_values[2 * layer + 1][col]) for name, (layer, col) in _BIAS_INDEX.items()})
    return named


def _loss_and_gradients(model, x, t):
    """Returns (loss, outputs, gradients) with TensorFlow's autodiff."""
    import keras
    from keras import ops

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise NotImplementedError(
            f"backprop_step computes gradients with TensorFlow's GradientTape; the Keras backend "
            f"is {backend!r}. Set KERAS_BACKEND=tensorflow.")
    import tensorflow as tf

    with tf.GradientTape() as tape:
        out = model(x)
        loss = ops.sum(ops.square(out - t)) / 2.0
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss), ops.convert_to_numpy(out)[0], [ops.convert_to_numpy(g) for g in grads]


def backprop_step(learning_rate: float = MAZUR["learning_rate"],
                  inputs: Sequence[float] = MAZUR["inputs"],
                  targets: Sequence[float] = MAZUR["targets"],
                  weights: Mapping[str, float] | None = None,
                  biases: Mapping[str, float] | None = None,
                  update_biases: bool = False) -> BackpropResult:
    """Runs one forward pass, backpropagation and SGD step of the worked example.

    Args:
        learning_rate: SGD learning rate (0.5 in the article).
        inputs: The two inputs i1, i2.
        targets: The two targets for o1, o2.
        weights: w1..w8 (article naming); default the article's.
        biases: `{"b1": ..., "b2": ...}`; default the article's.
        update_biases: Whether the SGD step also updates the biases (the article's does not).

    Returns:
        A `BackpropResult` with the error, every gradient and every updated parameter.

    Raises:
        ArgumentError: for an invalid argument.
        NotImplementedError: when the Keras backend is not TensorFlow.

    Example:

    >>> r = backprop_step()
    >>> round(r.total_error, 9), round(r.weights_after["w5"], 8)
    (0.298371109, 0.35891648)
    """
    import keras

    learning_rate = check.positive_float("learning_rate", learning_rate)
    x = np.asarray(inputs, dtype="float64").reshape(1, -1)
    t = np.asarray(targets, dtype="float64").reshape(1, -1)
    if x.shape != (1, 2) or t.shape != (1, 2):
        raise ArgumentError("Invalid value for `inputs`/`targets`: expected two numbers each. "
                         f"Received: inputs={inputs!r}, targets={targets!r}")
    model = build_network(weights, biases)
    variables = model.trainable_variables  # hidden kernel, hidden bias, output kernel, output bias
    before = _named([keras.ops.convert_to_numpy(v) for v in variables])
    loss, out, grads = _loss_and_gradients(model, x, t)
    step = [0, 1, 2, 3] if check.flag("update_biases", update_biases) else [0, 2]  # kernels only, as in the article
    keras.optimizers.SGD(learning_rate=learning_rate).apply([grads[i] for i in step],
                                                            [variables[i] for i in step])
    after = _named([keras.ops.convert_to_numpy(v) for v in variables])
    out_after = keras.ops.convert_to_numpy(model(x))[0]
    return BackpropResult(
        outputs={"o1": float(out[0]), "o2": float(out[1])},
        total_error=loss,
        errors={f"E_o{i + 1}": float((out[i] - t[0, i]) ** 2 / 2) for i in range(2)},
        gradients=_named(grads),
        weights_before=before,
        weights_after=after,
        total_error_after=float(np.sum((out_after - t[0]) ** 2) / 2),
    )


def format_table(result: BackpropResult) -> str:
    """Returns the step as text: outputs, errors, and per parameter value, gradient, update."""
    f, w = "{:.9f}", 13
    lines = [f"out_o1 = {f.format(result.outputs['o1'])}   out_o2 = {f.format(result.outputs['o2'])}",
             f"E_total before = {f.format(result.total_error)}   "
             f"after = {f.format(result.total_error_after)}",
             "",
             f"{'param':<6} {'before':>{w}} {'dE/dparam':>{w}} {'after':>{w}}"]
    for name in result.weights_before:
        lines.append(f"{name:<6} {f.format(result.weights_before[name]):>{w}} "
                     f"{f.format(result.gradients[name]):>{w}} "
                     f"{f.format(result.weights_after[name]):>{w}}")
    return "\n".join(lines)


def plot_step(result: BackpropResult) -> Figure:
    """Draws each parameter's gradient and its change in the step.

    Returns:
        A `matplotlib.figure.Figure` with one bar chart of gradients.
    """
    names = list(result.gradients)
    figure, ax = new_figure(6.4, 3.2)
    values = [result.gradients[n] for n in names]
    ax.bar(names, values, color=["tab:blue" if n.startswith("w") else "tab:gray" for n in names])
    ax.axhline(0.0, color="black", linewidth=0.8)
    style(ax, ylabel="dE / dparameter", grid={"axis": "y"},
          title=f"One backprop step: E {result.total_error:.6f} -> {result.total_error_after:.6f}")
    return finish(figure)

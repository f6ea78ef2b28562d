"""Weight decay on high-dimensional linear regression (Dive into Deep Learning, "Weight Decay"; docs/course.md).

The book's penalty `lambda / 2 * ||w||**2` is `keras.regularizers.L2(lambda / 2)` and its loss is
`half_squared_error`, so each plain SGD step is `w <- (1 - lr * lambda) * w - lr * grad`.
Reported losses are the data loss without the penalty.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd
from keras import ops

from kerasopt import _validation as check
from kerasopt.plotting import finish, new_figure, style

__all__ = [
    "LinearData",
    "compare_l1_l2",
    "half_squared_error",
    "make_data",
    "plot_curves",
    "plot_sweep",
    "plot_weight_histogram",
    "run_experiment",
    "sweep",
    "train_linear",
]

#: D2L's initializer for `w`: normal with mean 0 and standard deviation 1.
D2L_INITIALIZER = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 1.0}}


class LinearData(NamedTuple):
    """Synthetic linear-regression data and the true parameters.

    Attributes:
        x_train: float32 `(n_train, num_inputs)`.
        y_train: float32 `(n_train, 1)`.
        x_test: float32 `(n_test, num_inputs)`.
        y_test: float32 `(n_test, 1)`.
        true_w: float32 `(num_inputs,)`, every entry `w`.
        true_b: The true bias.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    true_w: np.ndarray
    true_b: float


def make_data(n_train: int = 20, n_test: int = 100, num_inputs: int = 200, w: float = 0.01,
              b: float = 0.05, noise: float = 0.01, seed: int = 0) -> LinearData:
    """Generates the book's data: `y = b + x @ w + eps`, `x ~ N(0, 1)`, `eps ~ N(0, noise**2)`.

    Args:
        n_train: Number of training samples (the book: 20).
        n_test: Number of test samples (the book: 100).
        num_inputs: Number of inputs (the book: 200).
        w: Value of every true weight (the book: 0.01).
        b: True bias (the book: 0.05).
        noise: Standard deviation of the label noise (the book: 0.01).
        seed: Seed of the generator.

    Returns:
        A `LinearData`.

    Example:

    >>> data = make_data()
    >>> data.x_train.shape, data.y_test.shape, float(data.true_w[0]), data.true_b
    ((20, 200), (100, 1), 0.01, 0.05)
    """
    n_train = check.positive_int("n_train", n_train)
    n_test = check.positive_int("n_test", n_test)
    num_inputs = check.positive_int("num_inputs", num_inputs)
    noise = check.non_negative_float("noise", noise)
    rng = np.random.default_rng(seed)
    true_w = np.full(num_inputs, w, dtype="float32")
    x = rng.standard_normal((n_train + n_test, num_inputs)).astype("float32")
    y = (x @ true_w + b + noise * rng.standard_normal(n_train + n_test)).astype("float32")[:, None]
    return LinearData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], true_w, float(b))


@keras.saving.register_keras_serializable(package="kerasopt")
def half_squared_error(y_true, y_pred):
    """The book's squared loss `(y_pred - y_true)**2 / 2` (mean over outputs); half of `"mse"`."""
    return 0.5 * ops.mean(ops.square(ops.cast(y_true, y_pred.dtype) - y_pred), axis=-1)


def _data_loss(weights: np.ndarray, bias: float, x: np.ndarray, y: np.ndarray) -> float:
    """The book's squared loss / 2 of the linear model, in float64 (no penalty)."""
    pred = np.asarray(x, dtype="float64") @ weights + bias
    return float(0.5 * np.mean((pred - np.asarray(y, dtype="float64").ravel()) ** 2))


def train_linear(data: LinearData, lambd: float = 0.0, penalty: str = "l2", epochs: int = 100,
                 batch_size: int = 5, learning_rate: float = 0.003, seed: int = 0,
                 record_history: bool = True) -> dict:
    """Trains the book's linear model (`build_model` with no hidden layer, plain SGD, `w ~ N(0, 1)`).

    The loss is `half_squared_error`; the kernel (not the bias) gets the Keras L1 or L2
    strength `lambd / 2`, the book's `lambda / 2 * ||w||**2` for L2.

    Args:
        data: A `LinearData` from `make_data`.
        lambd: The book's lambda, >= 0.
        penalty: `"l2"` or `"l1"`.
        epochs: Number of epochs (the book: 100).
        batch_size: Minibatch size (the book: 5).
        learning_rate: Plain SGD learning rate (the book: 0.003).
        seed: Seed of the initial weights and the shuffling.
        record_history: Whether to evaluate the test loss after every epoch (slower).

    Returns:
        A dict with `lambda`, `penalty`, `train_loss` and `test_loss` (the book's squared
        loss `/2` without the penalty), `w_norm`, `bias`, `weights` and per-epoch `history`.
    """
    from kerasopt.models import build_model
    from kerasopt.experiments import train_curves

    lambd = check.non_negative_float("lambd", lambd)
    penalty = check.one_of("penalty", penalty, ("l2", "l1"))
    strength = {"l1": 0.0, "l2": 0.0, penalty: lambd / 2}
    model = build_model(int(data.x_train.shape[1]), num_classes=None, hidden_units=(),
                        kernel_initializer=D2L_INITIALIZER, normalize=False, optimizer="sgd",
                        learning_rate=learning_rate, loss=half_squared_error,
                        metrics=[half_squared_error], seed=seed, name="linear_regression", **strength)
    validation = (data.x_test, data.y_test) if record_history else None
    _, logs = train_curves(model, data.x_train, data.y_train, validation_data=validation,
                           epochs=epochs, batch_size=batch_size, seed=seed)
    kernel, bias = model.get_layer("output").get_weights()
    weights = kernel.ravel().astype("float64")
    return {
        "lambda": lambd,
        "penalty": penalty,
        "train_loss": _data_loss(weights, float(bias[0]), data.x_train, data.y_train),
        "test_loss": _data_loss(weights, float(bias[0]), data.x_test, data.y_test),
        "w_norm": float(np.linalg.norm(weights)),
        "bias": float(bias[0]),
        "weights": weights,
        "history": {"train_loss": logs["half_squared_error"],
                    **({"test_loss": logs["val_half_squared_error"]} if record_history else {})},
    }


def sweep(lambdas: Sequence[float] = tuple(range(11)), data: LinearData | None = None,
          epochs: int = 100, seed: int = 0, **kwargs) -> pd.DataFrame:
    """Trains one model per lambda (same data, same initial weights) and tabulates the results.

    Args:
        lambdas: The book's lambda values; default 0, 1, ..., 10.
        data: The data; default `make_data(seed=seed)`.
        epochs: Epochs per model.
        seed: Seed of the data (when generated), weights and shuffling.
        **kwargs: Passed to `train_linear` (`penalty`, `batch_size`,
            `learning_rate`).

    Returns:
        A `pandas.DataFrame` with one row per lambda: `lambda`, `keras_l2`
        (`lambda / 2`), `train_loss`, `test_loss` (squared loss `/2`, no
        penalty), `w_norm`.
    """
    data = make_data(seed=seed) if data is None else data
    rows = []
    for lambd in lambdas:
        run = train_linear(data, lambd, epochs=epochs, seed=seed, record_history=False, **kwargs)
        rows.append({"lambda": run["lambda"], "keras_l2": run["lambda"] / 2,
                     "train_loss": run["train_loss"], "test_loss": run["test_loss"], "w_norm": run["w_norm"]})
    return pd.DataFrame(rows)


def compare_l1_l2(lambd: float = 3.0, data: LinearData | None = None, epochs: int = 100,
                  threshold: float = 1e-3, seed: int = 0, return_weights: bool = False, **kwargs):
    """Trains with an L1 and with an L2 penalty of equal strength and counts near-zero weights.

    Both use the Keras strength `lambd / 2`. SGD on L1 moves every weight by `lr * lambd / 2`
    toward 0 per step, so unneeded weights end at (or within a step of) 0; L2 only scales them.

    Args:
        lambd: The book's lambda (strength `lambd / 2` for both penalties).
        data: The data; default `make_data(seed=seed)`.
        epochs: Epochs per model.
        threshold: A weight with `|w| < threshold` counts as near zero.
        seed: Seed of data, weights and shuffling.
        return_weights: Whether to return the learned weights too.
        **kwargs: Passed to `train_linear`.

    Returns:
        A DataFrame indexed by penalty (`"none"`, `"l2"`, `"l1"`) with `train_loss`, `test_loss`,
        `w_norm`, `l1_norm`, `near_zero`, `near_zero_fraction`; with `return_weights`, also
        `{penalty: weights}`.
    """
    threshold = check.positive_float("threshold", threshold)
    data = make_data(seed=seed) if data is None else data
    rows, weights = [], {}
    for name, penalty, strength in (("none", "l2", 0.0), ("l2", "l2", lambd), ("l1", "l1", lambd)):
        run = train_linear(data, strength, penalty=penalty, epochs=epochs, seed=seed,
                           record_history=False, **kwargs)
        w = run["weights"]
        weights[name] = w
        rows.append({"penalty": name, "keras_strength": strength / 2, "train_loss": run["train_loss"],
                     "test_loss": run["test_loss"], "w_norm": run["w_norm"],
                     "l1_norm": float(np.abs(w).sum()), "near_zero": int((np.abs(w) < threshold).sum()),
                     "near_zero_fraction": float((np.abs(w) < threshold).mean())})
    table = pd.DataFrame(rows).set_index("penalty")
    return (table, weights) if return_weights else table


def plot_sweep(table: pd.DataFrame, title: str | None = None):
    """Draws train/test loss and `||w||` against lambda from `sweep`; returns a Figure."""
    figure, (left, right) = new_figure(9.0, 3.4, 1, 2)
    left.semilogy(table["lambda"], table["train_loss"], "o-", label="train")
    left.semilogy(table["lambda"], table["test_loss"], "s-", label="test")
    style(left, "lambda", "squared loss / 2 (no penalty)", legend={})
    right.plot(table["lambda"], table["w_norm"], "o-", color="tab:purple")
    style(right, "lambda", "||w||", yscale="log")
    return finish(figure, title)


def plot_curves(runs: dict[str, dict], title: str | None = None):
    """Draws the per-epoch train and test loss of `train_linear` runs, one panel per run."""
    figure, axes = new_figure(4.0 * len(runs), 3.2, 1, len(runs), squeeze=False)
    for ax, (label, run) in zip(axes[0], runs.items()):
        epochs = np.arange(1, len(run["history"]["train_loss"]) + 1)
        ax.semilogy(epochs, run["history"]["train_loss"], label="train")
        ax.semilogy(epochs, run["history"]["test_loss"], label="test")
        style(ax, "epoch", title=label, legend={})
    axes[0, 0].set_ylabel("squared loss / 2")
    return finish(figure, title)


def plot_weight_histogram(weights: dict[str, np.ndarray], title: str | None = None):
    """Draws histograms of learned weights, e.g. from `compare_l1_l2(return_weights=True)`."""
    figure, axes = new_figure(4.0 * len(weights), 3.0, 1, len(weights), squeeze=False)
    for ax, (label, w) in zip(axes[0], weights.items()):
        ax.hist(w, bins=40, color="tab:blue")
        style(ax, "w", title=f"{label}: ||w|| = {np.linalg.norm(w):.3g}", grid=False)
    return finish(figure, title)


OUTPUT_FILES = ("weight_decay_sweep.csv", "weight_decay_l1_l2.csv", "weight_decay_sweep.png",
                "weight_decay_curves.png", "weight_decay_l1_l2.png")


def run_experiment(out_dir: str | os.PathLike | None = None, lambdas: Sequence[float] = tuple(range(11)),
                   curve_lambdas: Sequence[float] = (0.0, 3.0), compare_lambda: float = 3.0,
                   epochs: int = 100, threshold: float = 1e-3, seed: int = 0,
                   overwrite: bool = False) -> dict:
    """Runs the whole section: the lambda sweep, training curves and L1 versus L2.

    Args:
        out_dir: Where to write `OUTPUT_FILES` (CSV tables and PNG figures),
            atomically; `None` writes nothing.
        lambdas: Lambdas of the sweep.
        curve_lambdas: Lambdas whose per-epoch train/test curves are drawn.
        compare_lambda: Lambda of the L1-versus-L2 comparison.
        epochs: Epochs per model.
        threshold: `|w|` below which a weight counts as near zero.
        seed: Seed of data, weights and shuffling.
        overwrite: Whether to replace files of an earlier run in `out_dir`.

    Returns:
        A dict with `sweep` and `l1_l2` (DataFrames), `runs` (the
        `train_linear` results of `curve_lambdas`), `weights` (per penalty)
        and `figures` (name -> Figure).

    Raises:
        OutputExistsError: if `out_dir` holds an earlier run and `overwrite`
            is False (checked before any training).
    """
    from kerasopt.experiments import check_outputs, write_outputs

    check_outputs(out_dir, OUTPUT_FILES, overwrite)
    data = make_data(seed=seed)
    table = sweep(lambdas, data=data, epochs=epochs, seed=seed)
    runs = {f"lambda = {lam:g}": train_linear(data, lam, epochs=epochs, seed=seed) for lam in curve_lambdas}
    l1_l2, weights = compare_l1_l2(compare_lambda, data=data, epochs=epochs, threshold=threshold,
                                   seed=seed, return_weights=True)
    figures = {
        "weight_decay_sweep.png": plot_sweep(table, title="Weight decay: loss and ||w|| against lambda"),
        "weight_decay_curves.png": plot_curves(runs, title="Train and test loss per epoch"),
        "weight_decay_l1_l2.png": plot_weight_histogram(
            weights, title=f"Learned weights (penalty strength lambda/2 = {compare_lambda / 2:g})"),
    }
    write_outputs(out_dir, {"weight_decay_sweep.csv": table.to_csv(index=False),
                            "weight_decay_l1_l2.csv": l1_l2.to_csv(), **figures})
    return {"sweep": table, "l1_l2": l1_l2, "runs": runs, "weights": weights, "figures": figures}

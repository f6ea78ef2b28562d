"""Data augmentation on MNIST: the transforms, and the train/test gap with and without them.

`compare_augmentation` trains the same network with and without augmentation and records, per
epoch, the clean training rows (inference mode) beside the test rows; augmentation narrows the gap.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.plotting import finish, new_figure, style

__all__ = ["OUTPUT_FILES", "augmented_examples", "compare_augmentation", "plot_augmentation_curves",
           "plot_augmentation_grid", "run_experiment"]

OUTPUT_FILES = ("augmentation_grid.png", "augmentation_curves.png", "augmentation.json")


def augmented_examples(rows: np.ndarray, augment: Any = "rotation,shift,zoom", variants: int = 5,
                       seed: int = 0) -> np.ndarray:
    """Returns `variants` random augmentations of each row, as images.

    Args:
        rows: Flat pixel rows, shape `(n, pixels)`.
        augment: A name, dict or layer for `kerasopt.augmentation.get`.
        variants: Augmented copies per row.
        seed: Seed of the transforms.

    Returns:
        float32 array `(n, variants, height, width)` (one channel shown).
    """
    from kerasopt import augmentation

    rows = np.asarray(rows, dtype="float32")
    variants = check.positive_int("variants", variants)
    layer = augmentation.get(augment, seed=seed)
    if layer is None:
        raise ArgumentError(f"Invalid value for `augment`: expected some augmentation. Received: augment={augment!r}")
    out = [np.asarray(layer(rows, training=True)) for _ in range(variants)]
    height, width, channels = layer.image_shape
    return np.stack(out, axis=1).reshape(len(rows), variants, height, width, channels)[..., 0]


def plot_augmentation_grid(rows: np.ndarray, examples: np.ndarray, title: str | None = None):
    """Draws each original digit (first column) beside its augmented variants; returns a Figure."""
    n, variants, height, width = examples.shape
    figure, axes = new_figure(1.1 * (variants + 1), 1.1 * n + (0.4 if title else 0.1), n, variants + 1,
                              squeeze=False)
    originals = np.asarray(rows).reshape(n, height, width)
    for i in range(n):
        for j in range(variants + 1):
            ax = axes[i, j]
            ax.imshow(originals[i] if j == 0 else examples[i, j - 1], cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("original" if j == 0 else f"random {j}", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout(pad=0.3, rect=(0, 0, 1, 1 - (0.3 / figure.get_figheight() if title else 0)))
    return figure


def compare_augmentation(data, augment: Any = "rotation,shift,zoom",
                         seed: int = 0, **settings) -> dict[str, Any]:
    """Trains one network without and one with augmentation on the same rows; returns both runs.

    Args:
        data: `kerasopt.experiments.mnist.Images`.
        augment: The augmentation of the second run.
        seed: Seed of both runs (same initial weights and batch order).
        **settings: `run_mnist` settings shared by both runs (e.g.
            `hidden_units`, `epochs`, `dropout`, `schedule`).

    Returns:
        `{"none": MnistResult, "augmented": MnistResult}`; each `history` also holds
        `clean_train_accuracy` and `clean_train_loss` per epoch (first 10,000 training rows).
    """
    import keras

    from kerasopt.experiments import mnist

    x_clean, y_clean = data.x_train[:10000], data.y_train[:10000]

    class CleanTrain(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            loss, accuracy = self.model.evaluate(x_clean, y_clean, batch_size=1000, verbose=0)[:2]
            logs["clean_train_loss"], logs["clean_train_accuracy"] = float(loss), float(accuracy)

    runs = {}
    for label, value in (("none", None), ("augmented", augment)):
        keras.backend.clear_session()
        runs[label] = mnist.run_mnist(data, augment=value, seed=seed, callbacks=[CleanTrain()],
                                      **settings)
    return runs


def plot_augmentation_curves(runs: dict[str, Any], title: str | None = None):
    """Draws clean-train and test accuracy per epoch of each run, and their gap; returns a Figure."""
    figure, (acc_ax, gap_ax) = new_figure(10.0, 3.8, 1, 2)
    for i, (label, run) in enumerate(runs.items()):
        history = run.history
        epochs = np.arange(1, len(history["val_accuracy"]) + 1)
        train = np.asarray(history["clean_train_accuracy"])
        test = np.asarray(history["val_accuracy"])
        acc_ax.plot(epochs, train, "--", color=f"C{i}", label=f"{label}: train rows")
        acc_ax.plot(epochs, test, "-", color=f"C{i}", label=f"{label}: test rows")
        gap_ax.plot(epochs, 100 * (train - test), "-", color=f"C{i}", label=label)
    gap_ax.axhline(0.0, color="black", linewidth=0.8)
    style(acc_ax, "epoch", "accuracy (inference mode)", legend={"fontsize": "small"})
    style(gap_ax, "epoch", "train - test accuracy (points)", legend={"fontsize": "small"})
    return finish(figure, title)


def run_experiment(data, out_dir: str | os.PathLike | None = None, augment: Any = "rotation,shift,zoom",
                   digits: int = 6, variants: int = 7, overwrite: bool = False, seed: int = 0,
                   **settings) -> dict[str, Any]:
    """Draws the grid of augmented digits, runs `compare_augmentation` and writes `OUTPUT_FILES`.

    Args:
        data: `kerasopt.experiments.mnist.Images` (e.g. a `subsample`).
        out_dir: Where to write the figures and `augmentation.json`
            (atomically); `None` writes nothing.
        augment: The augmentation shown and compared.
        digits: Rows of the grid (the first test images).
        variants: Augmented variants per digit in the grid.
        overwrite: Whether to replace files of an earlier run.
        seed: Seed of the transforms and of both training runs.
        **settings: `run_mnist` settings shared by both runs.

    Returns:
        A dict with `runs`, `summary` (JSON-ready numbers) and `figures`.

    Raises:
        OutputExistsError: if `out_dir` holds an earlier run and `overwrite`
            is False (checked before any training).
    """
    from kerasopt.experiments import check_outputs, write_outputs

    check_outputs(out_dir, OUTPUT_FILES, overwrite)
    rows = data.x_test[:check.positive_int("digits", digits)]
    examples = augmented_examples(rows, augment, variants=variants, seed=seed)
    runs = compare_augmentation(data, augment, seed=seed, **settings)
    summary = {"data": data.name, "train_rows": int(len(data.x_train)), "test_rows": int(len(data.x_test)),
               "augment": augment, "runs": {}}
    for label, run in runs.items():
        history = run.history
        summary["runs"][label] = {"test_accuracy": run.test_accuracy, "train_accuracy": run.train_accuracy,
                                  "gap": run.train_accuracy - run.test_accuracy, "seconds": round(run.seconds, 1),
                                  "seconds_per_epoch": round(run.seconds / len(history["loss"]), 2),
                                  "config": run.config, "history": history}
    network = "-".join(str(u) for u in [data.x_train.shape[1], *runs["none"].config["hidden_units"], 10])
    figures = {
        "augmentation_grid.png": plot_augmentation_grid(rows, examples, title=f"augment={augment!r}"),
        "augmentation_curves.png": plot_augmentation_curves(
            runs, title=f"{network} on {len(data.x_train)} training rows; test rows: {len(data.x_test)}"),
    }
    write_outputs(out_dir, {**figures, "augmentation.json": summary})
    return {"runs": runs, "summary": summary, "figures": figures}

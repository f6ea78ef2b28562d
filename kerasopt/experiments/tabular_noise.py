"""Augmenting table rows with Gaussian noise after the `Normalization` layer (it did not help).

`cross_validate_noise` scores each noise level by stratified k-fold cross-validation over seeds
on the core default network; `plot_noise` draws the result. See docs/course.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kerasopt import _validation as check

__all__ = ["cross_validate_noise", "noisy_model", "plot_noise"]


def noisy_model(x_train: np.ndarray, num_classes: int, stddev: float, seed: int = 0, epochs_steps: int = 1):
    """Returns the core default network with `GaussianNoise(stddev)` after its `Normalization` layer.

    Args:
        x_train: Training features (adapt the `Normalization` layer).
        num_classes: Number of classes.
        stddev: Standard deviation of the noise on the standardized
            features (0 for none).
        seed: Seed of the weights and the noise.
        epochs_steps: Steps per epoch, for the per-epoch learning-rate decay.

    Returns:
        A compiled `keras.Model`.
    """
    import keras

    from kerasopt import schedules
    from kerasopt.experiments import classifier
    from kerasopt.models import build_model

    stddev = check.non_negative_float("stddev", stddev)
    rate = schedules.get("exponential", learning_rate=0.01, steps_per_epoch=epochs_steps, gamma=0.98)
    core = build_model(x_train, num_classes=num_classes, hidden_units=(128,), activation="elu", l1=0.01,
                       learning_rate=rate, seed=seed)
    layers = core.layers[1:]
    if stddev:
        at = next(i for i, layer in enumerate(layers) if layer.name == "normalization") + 1
        layers.insert(at, keras.layers.GaussianNoise(stddev, seed=seed + 7, name="gaussian_noise"))
    return classifier(core, layers, "noisy_dense", "features")


def cross_validate_noise(x: np.ndarray, y: np.ndarray, stddevs: Sequence[float] = (0.0, 0.1, 0.3),
                         seeds: Sequence[int] = (0, 1), folds: int = 5, epochs: int = 60,
                         batch_size: int = 32) -> pd.DataFrame:
    """Held-out accuracy of each noise level, fold and seed (stratified k-fold cross-validation).

    Every noise level trains on the same folds from the same initial weights.

    Args:
        x: Raw features.
        y: Integer labels.
        stddevs: Noise levels on the standardized features (0: none).
        seeds: Seeds of the folds, the weights and the noise.
        folds: Number of folds (>= 2).
        epochs: Epochs per training (no early stopping).
        batch_size: Mini-batch size.

    Returns:
        A `DataFrame` with one row per (seed, fold, stddev): `test_accuracy`
        on the held-out fold and `train_accuracy` on the others.
    """
    import keras

    from kerasopt.data import kfold_rows
    from kerasopt.experiments import train_curves

    folds = check.folds("folds", folds)
    stddevs = [check.non_negative_float("stddevs", s) for s in stddevs]
    epochs = check.positive_int("epochs", epochs)
    x, y = np.asarray(x, "float32"), np.asarray(y, "int32")
    num_classes = int(y.max()) + 1
    rows = []
    for seed in seeds:
        for fold, (train_rows, test_rows) in enumerate(kfold_rows(y, folds, check.non_negative_int("seeds", seed),
                                                                  stratify=True)):
            for stddev in stddevs:
                keras.backend.clear_session()
                steps = int(np.ceil(len(train_rows) / batch_size))
                model = noisy_model(x[train_rows], num_classes, stddev, seed=seed, epochs_steps=steps)
                result, _ = train_curves(model, x[train_rows], y[train_rows], test_data=(x[test_rows], y[test_rows]),
                                         epochs=epochs, batch_size=batch_size, seed=seed)
                rows.append({"seed": seed, "fold": fold, "stddev": stddev,
                             "test_accuracy": result.metrics["test"]["accuracy"],
                             "train_accuracy": result.metrics["train"]["accuracy"]})
    return pd.DataFrame(rows)


def plot_noise(table: pd.DataFrame, title: str | None = None):
    """Draws the mean held-out accuracy per seed (thin) and over seeds (thick) against the noise level."""
    from kerasopt.plotting import finish, new_figure, style

    figure, ax = new_figure(5.6, 3.6)
    per_seed = table.groupby(["seed", "stddev"])["test_accuracy"].mean().unstack("seed")
    for seed in per_seed.columns:
        ax.plot(per_seed.index, per_seed[seed], "o-", color="0.6", linewidth=0.8, markersize=3)
    ax.plot(per_seed.index, per_seed.mean(axis=1), "o-", color="C0", linewidth=2,
            label=f"mean over {per_seed.shape[1]} seeds (grey: each seed)")
    style(ax, "Gaussian noise std on standardized features", "cross-validated accuracy",
          legend={"fontsize": "small"})
    if title:
        ax.set_title(title, fontsize="medium")
    return finish(figure)

"""Dropout, batch normalization and L2 against overfitting: the train/validation gap.

`compare_regularizers` trains one over-parameterised network per regularizer (same split, seed,
no early stopping). Losses are the data cross-entropy without the L2 penalty; training metrics
are evaluated after training in inference mode, like the validation ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.plotting import finish, new_figure, style

__all__ = ["VARIANTS", "compare_regularizers", "load_phone", "plot_gap", "plot_regularization_curves",
           "run_experiment"]

#: The regularizers compared by default: `build_model` arguments per variant
#: (dropout rate 0.5 after each hidden layer, batch norm before each hidden
#: activation, L2 strength 1e-3 on every kernel).
VARIANTS: dict[str, dict] = {
    "none": {},
    "dropout": {"dropout": 0.5},
    "batch_norm": {"batch_norm": True},
    "l2": {"l2": 1e-3},
    "dropout+batch_norm": {"dropout": 0.5, "batch_norm": True},
}


def load_phone(path: str | os.PathLike | None = None, n_samples: int = 2000,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns phone features and labels: from a CSV file, or generated.

    Args:
        path: A labelled phone CSV (e.g. the course's `train.csv`); `None`
            generates rows with `kerasopt.data.make_phone_data`.
        n_samples: Rows to generate when `path` is `None`.
        seed: Seed of the generated rows.

    Returns:
        `(x, y)`: float32 features and int32 labels 0-3.
    """
    from kerasopt import data as data_lib

    frame = data_lib.make_phone_data(n_samples, seed=seed) if path is None else data_lib.load_csv(path)
    x, y, _ = data_lib.to_arrays(frame, data_lib.PHONE_TARGET)
    return x, y


def compare_regularizers(x: np.ndarray, y: np.ndarray, variants: Mapping[str, dict] | list[str] | None = None,
                         hidden_units=(512, 512), epochs: int = 100, batch_size: int = 32,
                         validation_size: float = 0.5, learning_rate: float = 1e-3,
                         optimizer: str = "adam", seed: int = 0):
    """Trains one network per regularizer on the same split and tabulates the gap.

    Args:
        x: Raw features (a `Normalization` layer is adapted on the training rows).
        y: Integer labels.
        variants: `{label: build_model arguments}` (e.g. `{"dropout": {"dropout": 0.5}}`) or
            names of `VARIANTS`; default all of `VARIANTS`.
        hidden_units: Hidden layer sizes of the (over-parameterised) network.
        epochs: Epochs per variant (no early stopping).
        batch_size: Mini-batch size.
        validation_size: Fraction of the rows held out for validation (stratified).
        learning_rate: Learning rate of `optimizer`.
        optimizer: Optimizer name.
        seed: Seed of the split, the initial weights, dropout and shuffling.

    Returns:
        `(table, histories)`: a DataFrame indexed by variant with `train_accuracy`, `val_accuracy`,
        `train_loss`, `val_loss` (cross-entropy without penalty), `accuracy_gap`, `loss_gap`,
        `params` and `seconds`; and `{variant: History.history}`.

    Example:

    >>> x, y = load_phone(n_samples=200)
    >>> table, _ = compare_regularizers(x, y, {"none": {}}, hidden_units=(8,), epochs=1)
    >>> list(table.columns[:3])
    ['train_accuracy', 'val_accuracy', 'train_loss']
    """
    from kerasopt import data as data_lib

    variants = _variants(variants)
    splits = data_lib.split(np.asarray(x, "float32"), np.asarray(y, "int32"),
                            validation_size=check.open_unit_interval("validation_size", validation_size),
                            test_size=0.0, seed=seed)
    options = {"num_classes": int(np.max(y)) + 1, "hidden_units": hidden_units, "activation": "relu", "l1": 0.0,
               "optimizer": optimizer, "learning_rate": learning_rate, "seed": seed}
    rows, histories = [], {}
    for label, variant in variants.items():
        row, histories[label] = _train_variant(splits, {**options, **dict(variant)}, epochs, batch_size, seed)
        rows.append({"variant": label, **row})
    return pd.DataFrame(rows).set_index("variant"), histories


def _variants(variants) -> dict[str, dict]:
    """`{label: build_model arguments}` of a mapping, a list of names of `VARIANTS` or `None` (all)."""
    if variants is not None and not isinstance(variants, Mapping):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ArgumentError(f"Unknown variant(s): {', '.join(map(repr, unknown))}. Known variants: "
                             f"{', '.join(VARIANTS)}. Received: variants={list(variants)!r}")
        variants = {v: VARIANTS[v] for v in variants}
    variants = dict(VARIANTS if variants is None else variants)
    if not variants:
        raise ArgumentError("Invalid value for `variants`: expected at least one variant. "
                         f"Received: variants={variants!r}")
    return variants


def _train_variant(splits, options: dict, epochs: int, batch_size: int, seed: int) -> tuple[dict, dict]:
    """Trains one network without early stopping; returns its row of the table and its curves."""
    import keras

    from kerasopt.models import build_model
    from kerasopt.experiments import train_curves

    keras.backend.clear_session()
    model = build_model(splits.x_train, **options,
                        metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")])
    start = time.perf_counter()
    result, curves = train_curves(model, splits.x_train, splits.y_train, validation_data=(splits.x_val, splits.y_val),
                                  epochs=epochs, batch_size=batch_size, seed=seed)
    seconds = time.perf_counter() - start
    tr, va = result.metrics["train"], result.metrics["validation"]
    row = {"train_accuracy": tr["accuracy"], "val_accuracy": va["accuracy"],
           "train_loss": tr["cross_entropy"], "val_loss": va["cross_entropy"],
           "accuracy_gap": tr["accuracy"] - va["accuracy"], "loss_gap": va["cross_entropy"] - tr["cross_entropy"],
           "params": int(sum(np.prod(w.shape) for w in model.trainable_weights)), "seconds": round(seconds, 1)}
    return row, curves


def plot_regularization_curves(histories: Mapping[str, Mapping[str, list]], title: str | None = None):
    """Draws the train (dashed) and validation (solid) accuracy and cross-entropy of each variant.

    Args:
        histories: `{variant: History.history}` from `compare_regularizers`.
        title: Optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    figure, (acc_ax, loss_ax) = new_figure(10.0, 3.8, 1, 2)
    colors = [f"C{i}" for i in range(10)]
    for (label, history), color in zip(histories.items(), colors * 3):
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        acc_ax.plot(epochs, history["accuracy"], "--", color=color, alpha=0.7)
        acc_ax.plot(epochs, history["val_accuracy"], "-", color=color, label=label)
        loss_ax.plot(epochs, history["cross_entropy"], "--", color=color, alpha=0.7)
        loss_ax.plot(epochs, history["val_cross_entropy"], "-", color=color, label=label)
    style(acc_ax, "epoch", "accuracy",
          legend={"fontsize": "small", "title": "solid: validation, dashed: train", "title_fontsize": "small"})
    style(loss_ax, "epoch", "cross-entropy (no penalty)", yscale="log")
    return finish(figure, title)


def plot_gap(table: pd.DataFrame, title: str | None = None):
    """Draws final train and validation accuracy per variant, and their gap; returns a Figure.

    The left panel's bars start at 0, so their heights compare honestly; the
    right panel shows the gap itself (train - validation accuracy, in
    points), the quantity the regularizers are meant to shrink.
    """
    figure, (acc_ax, gap_ax) = new_figure(9.6, 3.6, 1, 2, gridspec_kw={"width_ratios": [3, 2]})
    index = np.arange(len(table))
    labels = list(table.index)
    acc_ax.bar(index - 0.2, table["train_accuracy"], 0.4, label="train")
    acc_ax.bar(index + 0.2, table["val_accuracy"], 0.4, label="validation")
    acc_ax.set_ylim(0.0, 1.0)
    style(acc_ax, ylabel="accuracy", grid={"axis": "y"}, legend={
        "loc": "lower center", "bbox_to_anchor": (0.5, 1.0), "ncol": 2, "fontsize": "small", "frameon": False})
    gap = 100 * (table["train_accuracy"] - table["val_accuracy"])
    bars = gap_ax.bar(index, gap, 0.6, color="C3")
    gap_ax.bar_label(bars, fmt="%.1f", fontsize="small")
    gap_ax.set_ylim(0.0, max(1.0, float(gap.max())) * 1.15)
    style(gap_ax, ylabel="train - validation accuracy (points)", grid={"axis": "y"})
    for ax in (acc_ax, gap_ax):
        ax.set_xticks(index, labels, rotation=15, fontsize="small")
    return finish(figure, title)


OUTPUT_FILES = ("regularization.csv", "regularization_history.json", "regularization_curves.png",
                "regularization_gap.png")


def run_experiment(out_dir: str | os.PathLike | None = None, data_path: str | os.PathLike | None = None,
                   n_samples: int = 2000, overwrite: bool = False, **kwargs) -> dict:
    """Loads the phone data, runs `compare_regularizers` and writes its table and figures.

    Args:
        out_dir: Where to write `OUTPUT_FILES` (the table as CSV, the
            per-epoch curves as JSON, two PNG figures) atomically; `None`
            writes nothing.
        data_path: A labelled phone CSV; `None` generates `n_samples` rows.
        n_samples: Rows to generate when `data_path` is `None`.
        overwrite: Whether to replace files of an earlier run in `out_dir`.
        **kwargs: Passed to `compare_regularizers` (`variants`,
            `hidden_units`, `epochs`, `validation_size`, `seed`, ...).

    Returns:
        A dict with `table`, `histories`, `data` (a description) and
        `figures` (name -> Figure).

    Raises:
        OutputExistsError: if `out_dir` holds an earlier run and `overwrite`
            is False (checked before any training).
        DataError: if `data_path` cannot be read.
    """
    from kerasopt.experiments import check_outputs, write_outputs

    check_outputs(out_dir, OUTPUT_FILES, overwrite)
    x, y = load_phone(data_path, n_samples=n_samples, seed=kwargs.get("seed", 0))
    source = os.path.abspath(data_path) if data_path is not None else f"make_phone_data({n_samples})"
    # Figures name the file, not where it lies on this machine.
    shown = os.path.basename(source) if data_path is not None else source
    table, histories = compare_regularizers(x, y, **kwargs)
    hidden = check.units("hidden_units", kwargs.get("hidden_units", (512, 512)))
    shape = "-".join(str(u) for u in [x.shape[1], *hidden, int(np.max(y)) + 1])
    figures = {
        "regularization_curves.png": plot_regularization_curves(histories, title=f"{shape} network on {shown}"),
        "regularization_gap.png": plot_gap(table, title="Final train and validation accuracy"),
    }
    write_outputs(out_dir, {"regularization.csv": table.to_csv(), "regularization_history.json": histories,
                            **figures})
    return {"table": table, "histories": histories, "data": source, "figures": figures}

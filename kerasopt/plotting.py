"""Figures: training curves and learning-rate schedules (matplotlib, no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _io

__all__ = ["plot_history", "plot_schedule", "save_figure", "save_figures"]


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 110) -> None:
    """Saves a figure to `path` atomically (the format follows the suffix)."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".") or "png"
    _io.write_with(path, lambda tmp: figure.savefig(tmp, dpi=dpi, format=fmt, bbox_inches="tight"))


def save_figures(figures: Mapping[str, Figure], out_dir: str | os.PathLike) -> list[str]:
    """Saves `{file name: figure}` into `out_dir` atomically; returns the paths written."""
    paths = []
    for name, figure in figures.items():
        path = os.path.join(os.fspath(out_dir), name)
        save_figure(figure, path)
        paths.append(path)
    return paths


def plot_history(history: Mapping[str, Sequence[float]], title: str | None = None) -> Figure:
    """Draws the loss, the first metric (train vs validation), the weight penalty and the learning rate per epoch.

    The loss panel shows the data loss, `log_loss` or `mse`, when the
    history has it (a table model's), else Keras's `loss`; a `penalty`
    entry gets its own panel.

    Args:
        history: `History.history`, a dict of per-epoch lists.
        title: Optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    loss = next((k for k in ("log_loss", "mse", "loss", "objective") if k in history), None)
    skip = {"loss", "log_loss", "mse", "objective", "penalty", "learning_rate"}
    metric = next((k for k in history if k not in skip and not k.startswith("val_")), None)
    panels = [k for k in (loss, metric, "penalty", "learning_rate") if k is not None and k in history]
    figure = Figure(figsize=(4.2 * len(panels), 3.4))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        epochs = np.arange(1, len(history[key]) + 1)
        if key == "learning_rate":
            ax.plot(epochs, history[key], color="tab:green")
            ax.set_yscale("log")
        elif key == "penalty":
            ax.plot(epochs, history[key], color="tab:red")
        else:
            ax.plot(epochs, history[key], label="train")
            if f"val_{key}" in history:
                ax.plot(epochs, history[f"val_{key}"], label="validation")
            ax.legend()
        ax.set_title(key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_schedule(schedules, epochs: int, steps_per_epoch: int | None = None, ax=None,
                  log_scale: bool = False):
    """Draws the per-epoch learning rate of one schedule or a dict of named schedules.

    Args:
        schedules: A `LearningRateSchedule`, a float, or a dict `{label: schedule}`.
        epochs: Number of epochs to draw.
        steps_per_epoch: Passed to `kerasopt.schedules.epoch_values`.
        ax: A matplotlib Axes to draw into; a new figure is made when `None`.
        log_scale: Whether the y axis is logarithmic.

    Returns:
        The matplotlib Axes.
    """
    from kerasopt.schedules import epoch_values

    if ax is None:
        ax = Figure(figsize=(6.4, 4.0)).subplots()
    items = schedules.items() if isinstance(schedules, Mapping) else [(None, schedules)]
    for label, schedule in items:
        values = epoch_values(schedule, epochs, steps_per_epoch)
        ax.step(np.arange(len(values)), values, where="post", label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    if isinstance(schedules, Mapping):
        ax.legend()
    return ax

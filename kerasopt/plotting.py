"""Figures: training curves and learning-rate schedules (matplotlib, no pyplot state)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _io

__all__ = ["finish", "new_figure", "plot_history", "plot_schedule", "save_figure", "style"]


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = 110) -> None:
    """Saves a figure to `path` atomically (the format follows the suffix)."""
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".") or "png"
    _io.write_with(path, lambda tmp: figure.savefig(tmp, dpi=dpi, format=fmt, bbox_inches="tight"))


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **subplots):
    """Returns a new figure of `width` x `height` inches and its axes.

    Args:
        width: Width in inches.
        height: Height in inches.
        nrows: Rows of axes.
        ncols: Columns of axes.
        **subplots: Passed to `Figure.subplots` (`squeeze`, `gridspec_kw`, ...).

    Returns:
        `(figure, axes)`, the axes as `Figure.subplots` returns them.
    """
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots(nrows, ncols, **subplots)


def style(ax, xlabel: str | None = None, ylabel: str | None = None, title: str | None = None,
          yscale: str | None = None, legend: dict | None = None, grid: bool | dict = True):
    """Labels an Axes, sets its y scale, grids it (alpha 0.3) and adds a legend.

    Args:
        ax: A matplotlib Axes.
        xlabel: x-axis label.
        ylabel: y-axis label.
        title: Axes title.
        yscale: y scale, e.g. `"log"`.
        legend: `Axes.legend` options (`{}` for the defaults); `None` draws no legend.
        grid: Whether to draw the grid, or `Axes.grid` options besides the alpha.

    Returns:
        The Axes.
    """
    for value, setter in ((xlabel, ax.set_xlabel), (ylabel, ax.set_ylabel), (title, ax.set_title),
                          (yscale, ax.set_yscale)):
        if value is not None:
            setter(value)
    if grid is not False:
        ax.grid(alpha=0.3, **(grid if isinstance(grid, dict) else {}))
    if legend is not None:
        ax.legend(**legend)
    return ax


def finish(figure: Figure, title: str | None = None, **layout) -> Figure:
    """Adds the figure title, if any, and lays the figure out tightly (`**layout`: `tight_layout` options)."""
    if title:
        figure.suptitle(title)
    figure.tight_layout(**layout)
    return figure


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
    figure, axes = new_figure(4.2 * len(panels), 3.4, 1, len(panels), squeeze=False)
    for ax, key in zip(axes[0], panels):
        epochs = np.arange(1, len(history[key]) + 1)
        own = {"learning_rate": "tab:green", "penalty": "tab:red"}.get(key)
        ax.plot(epochs, history[key], **({"color": own} if own else {"label": "train"}))
        if own is None and f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="validation")
        style(ax, "epoch", title=key.replace("_", " "), yscale="log" if key == "learning_rate" else None,
              legend=None if own else {})
    return finish(figure, title)


def plot_schedule(schedules, epochs: int, steps_per_epoch: int | None = None, ax=None,
                  log_scale: bool = False):
    """Draws the per-epoch learning rate of one schedule or a dict of named schedules.

    Args:
        schedules: A `LearningRateSchedule`, a float, or a dict `{label: schedule}`.
        epochs: Number of epochs to draw.
        steps_per_epoch: Steps in one epoch, passed to `kerasopt.schedules.epoch_values`: required
            for Keras's schedules, which count steps (`step`, `exponential`, `multistep`,
            `piecewise`, `inverse_time`); a `cosine` schedule has its own, a float needs none.
        ax: A matplotlib Axes to draw into; a new figure is made when `None`.
        log_scale: Whether the y axis is logarithmic.

    Returns:
        The matplotlib Axes.
    """
    from kerasopt.schedules import epoch_values

    if ax is None:
        ax = new_figure(6.4, 4.0)[1]
    items = schedules.items() if isinstance(schedules, Mapping) else [(None, schedules)]
    for label, schedule in items:
        values = epoch_values(schedule, epochs, steps_per_epoch)
        ax.step(np.arange(len(values)), values, where="post", label=label)
    return style(ax, "epoch", "learning rate", yscale="log" if log_scale else None,
                 legend={} if isinstance(schedules, Mapping) else None)

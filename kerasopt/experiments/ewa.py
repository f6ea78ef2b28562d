"""Exponentially weighted averages, the idea behind momentum, RMSprop and Adam.

`v_t = beta * v_{t-1} + (1 - beta) * theta_t` from `v_0 = 0`, biased towards 0 at first;
`v_t / (1 - beta**t)` corrects it and equals pandas' `ewm(alpha=1 - beta, adjust=True).mean()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.plotting import finish, new_figure, style

__all__ = ["EWAResult", "daily_temperatures", "exponentially_weighted_average", "ewa_experiment",
           "format_table", "plot_ewa"]


def daily_temperatures(days: int = 30, seed: int = 0) -> np.ndarray:
    """Returns `days` seeded daily temperatures in degrees Celsius.

    A slow warming trend (from about 10 to 20 degrees) plus Gaussian day-to-day
    noise with standard deviation 3, rounded to 0.1 degree.

    Args:
        days: Number of days.
        seed: Seed of the noise.

    Returns:
        A float64 array of shape `(days,)`.
    """
    days = check.positive_int("days", days)
    seed = check.non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    trend = 10.0 + 10.0 * np.arange(days) / max(days - 1, 1)
    return np.round(trend + rng.normal(0.0, 3.0, size=days), 1)


def exponentially_weighted_average(values: Sequence[float], beta: float,
                                   bias_correction: bool = False) -> np.ndarray:
    """Returns the exponentially weighted average of a series, step by step.

    Args:
        values: The series `theta_1, ..., theta_T`.
        beta: Weight of the past, in [0, 1).
        bias_correction: Whether to divide `v_t` by `1 - beta**t`.

    Returns:
        A float64 array `v_1, ..., v_T`.

    Example:

    >>> exponentially_weighted_average([10.0, 10.0], beta=0.9).round(2).tolist()
    [1.0, 1.9]
    >>> exponentially_weighted_average([10.0, 10.0], beta=0.9, bias_correction=True).round(2).tolist()
    [10.0, 10.0]
    """
    beta = check.unit_interval("beta", beta)
    theta = np.asarray(values, dtype="float64")
    if theta.ndim != 1 or not np.all(np.isfinite(theta)):
        raise ArgumentError("Invalid value for `values`: expected a 1-D sequence of finite numbers. "
                         f"Received: values with shape {theta.shape}")
    averages = np.empty_like(theta)
    v = 0.0
    for t, x in enumerate(theta):
        v = beta * v + (1.0 - beta) * x
        averages[t] = v
    if bias_correction:
        averages = averages / (1.0 - beta ** np.arange(1, len(theta) + 1))
    return averages


@dataclass
class EWAResult:
    """What `ewa_experiment` returns.

    Attributes:
        temperatures: The series.
        averages: `{beta: uncorrected averages}`.
        corrected: `{beta: bias-corrected averages}`.
    """

    temperatures: np.ndarray
    averages: dict[float, np.ndarray]
    corrected: dict[float, np.ndarray]


def ewa_experiment(days: int = 30, betas: Sequence[float] = (0.5, 0.9), seed: int = 0) -> EWAResult:
    """Smooths seeded daily temperatures with each `beta`, with and without bias correction.

    Args:
        days: Number of days.
        betas: The betas to compare.
        seed: Seed of the temperatures.

    Returns:
        An `EWAResult`.
    """
    betas = [check.unit_interval("betas", b) for b in betas]
    if not betas:
        raise ArgumentError("Invalid value for `betas`: expected at least one beta. Received: betas=[]")
    temps = daily_temperatures(days, seed)
    return EWAResult(
        temperatures=temps,
        averages={b: exponentially_weighted_average(temps, b) for b in betas},
        corrected={b: exponentially_weighted_average(temps, b, bias_correction=True) for b in betas},
    )


def format_table(result: EWAResult) -> str:
    """Returns the temperatures and averages of days 1, 2, 3, 5, 10, the middle and the last as text."""
    n = len(result.temperatures)
    days = sorted(d for d in {1, 2, 3, 5, 10, n // 2, n} if 1 <= d <= n)
    header = f"{'day':>4} {'theta':>7}" + "".join(
        f" {'b=' + str(b):>9} {'b=' + str(b) + ' corr':>12}" for b in result.averages)
    lines = [header]
    for d in days:
        row = f"{d:>4} {result.temperatures[d - 1]:>7.2f}"
        for b in result.averages:
            row += f" {result.averages[b][d - 1]:>9.3f} {result.corrected[b][d - 1]:>12.3f}"
        lines.append(row)
    return "\n".join(lines)


def plot_ewa(result: EWAResult) -> Figure:
    """Draws the temperatures and each average, solid when corrected, dashed when not."""
    figure, ax = new_figure(6.4, 3.8)
    days = np.arange(1, len(result.temperatures) + 1)
    ax.scatter(days, result.temperatures, s=12, color="black", label="temperature")
    for i, (beta, raw) in enumerate(result.averages.items()):
        color = f"C{i}"
        ax.plot(days, result.corrected[beta], color=color, label=f"beta={beta} corrected")
        ax.plot(days, raw, color=color, linestyle="--", label=f"beta={beta} no correction")
    style(ax, "day", "degrees C", "Exponentially weighted averages", legend={"fontsize": 8})
    return finish(figure)

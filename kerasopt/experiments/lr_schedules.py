"""The course's learning-rate schedules over 200 epochs, from `kerasopt.schedules`.

| label         | schedule                                                   |
|---------------|------------------------------------------------------------|
| step          | halve every 50 epochs                                      |
| multistep     | x0.1 at epochs 50, 125 and 160                             |
| exponential   | x0.95 every epoch                                          |
| piecewise     | 0.1, then 0.05 from epoch 30, 0.01 from 80, 0.001 from 150 |
| inverse_time  | lr / (1 + 0.1 e)                                           |
| cosine        | 10 warm-up epochs, then cosine over 190 epochs to 1% of lr |

The values (for `learning_rate=0.1`) are scaled with `learning_rate`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from kerasopt import _validation as check
from kerasopt.plotting import finish, new_figure, plot_schedule, style

__all__ = ["COURSE_SCHEDULES", "course_schedules", "schedule_values", "format_table", "plot_schedules"]

#: label -> `kerasopt.schedules.get` arguments (besides `learning_rate`).
COURSE_SCHEDULES: dict[str, dict] = {
    "step": {"name": "step", "step_size": 50, "gamma": 0.5},
    "multistep": {"name": "multistep", "milestones": [50, 125, 160], "gamma": 0.1},
    "exponential": {"name": "exponential", "gamma": 0.95},
    "piecewise": {"name": "piecewise", "boundaries": [30, 80, 150], "values": [1.0, 0.5, 0.1, 0.01]},
    "inverse_time": {"name": "inverse_time", "decay_rate": 0.1},
    "cosine": {"name": "cosine", "warmup_epochs": 10, "decay_epochs": 190, "alpha": 0.01},
}


def course_schedules(learning_rate: float = 0.1, steps_per_epoch: int = 1) -> dict:
    """Returns the course's schedules as `{label: LearningRateSchedule}`.

    Args:
        learning_rate: The initial (peak, for cosine) learning rate; the
            piecewise values are fractions of it.
        steps_per_epoch: Optimizer steps per epoch.

    Returns:
        A dict of `kerasopt.schedules.get` schedules, usable as an optimizer's
        `learning_rate`.
    """
    from kerasopt import schedules

    learning_rate = check.positive_float("learning_rate", learning_rate)
    result = {}
    for label, spec in COURSE_SCHEDULES.items():
        spec = dict(spec)
        if spec["name"] == "piecewise":
            spec["values"] = [learning_rate * v for v in spec["values"]]
        result[label] = schedules.get(spec, learning_rate=learning_rate, steps_per_epoch=steps_per_epoch)
    return result


def schedule_values(epochs: int = 200, learning_rate: float = 0.1) -> dict[str, np.ndarray]:
    """Returns each course schedule's learning rate for epochs `0 .. epochs - 1`."""
    from kerasopt.schedules import epoch_values

    return {label: epoch_values(s, epochs, steps_per_epoch=1) for label, s in course_schedules(learning_rate).items()}


def format_table(values: dict[str, np.ndarray]) -> str:
    """Returns the learning rate of each schedule at epochs 0, 9, 10, 49, 50, 100, 125, 160 and 199 as text."""
    n = len(next(iter(values.values())))
    epochs = [e for e in (0, 9, 10, 49, 50, 100, 125, 160, 199) if e < n]
    lines = [f"{'epoch':>5}" + "".join(f" {label:>12}" for label in values)]
    for e in epochs:
        lines.append(f"{e:>5}" + "".join(f" {v[e]:>12.6g}" for v in values.values()))
    return "\n".join(lines)


def plot_schedules(epochs: int = 200, learning_rate: float = 0.1) -> Figure:
    """Draws every course schedule with `kerasopt.plotting.plot_schedule`, log scale."""
    figure, ax = new_figure(7.0, 4.2)
    plot_schedule(course_schedules(learning_rate), epochs, steps_per_epoch=1, ax=ax, log_scale=True)
    style(ax, title=f"Learning-rate schedules over {epochs} epochs (lr = {learning_rate:g})", grid=False,
          legend={"fontsize": 8})
    return finish(figure)

"""TensorBoard HParams logs of a search (`kerasopt tune --tensorboard DIR`, docs/tuning.md): one run per trial."""

from __future__ import annotations

import os
from typing import Any

from kerasopt.tuning.report import RESULT_METRICS

__all__ = ["write_config", "write_trial"]


def _plain(value: Any):
    """A value HParams accepts (bool, int, float, str)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_config(logdir: str | os.PathLike, objective: str) -> None:
    """Declares the search's metrics (the objective first) in `logdir`.

    Args:
        logdir: The TensorBoard log directory of the search.
        objective: The search objective (a metric name).
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    with tf.summary.create_file_writer(os.fspath(logdir)).as_default():
        hp_api.hparams_config(hparams=[], metrics=[hp_api.Metric(name) for name in (objective, *RESULT_METRICS)])


def write_trial(logdir: str | os.PathLike, trial_id: str, values: dict[str, Any], metrics: dict[str, float]) -> None:
    """Writes the run `logdir/trial_<trial_id>`: the trial's hyperparameters and metrics.

    Args:
        logdir: The TensorBoard log directory of the search.
        trial_id: The KerasTuner trial id.
        values: The hyperparameter values the trial used.
        metrics: The trial's results (its objective and `kerasopt.tuning.report.RESULT_METRICS`).
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    writer = tf.summary.create_file_writer(os.path.join(os.fspath(logdir), f"trial_{trial_id}"))
    with writer.as_default():
        hp_api.hparams({name: _plain(v) for name, v in values.items()}, trial_id=str(trial_id))
        for name, value in metrics.items():
            tf.summary.scalar(name, float(value), step=1)
    writer.close()

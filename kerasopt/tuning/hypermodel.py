"""`DenseHyperModel`, the `keras_tuner.HyperModel` of a search, and `model_kwargs`, a trial's network.

`kerasopt.tuning._stacked` builds and trains each trial's stacked model from
`values(hp)` and `model_kwargs`.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner

from kerasopt import config as config_lib
from kerasopt.tuning import space as space_lib

__all__ = ["DenseHyperModel", "model_kwargs"]


def model_kwargs(values: dict[str, Any], space: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Returns the `build_model` arguments (all but the inputs and the seed) of a trial's `values`.

    They are a run's (`kerasopt.config.model_arguments`) for the configuration of the trial's values,
    its momentum as the optimizer's argument and the space's `schedule_args` of its schedule; the
    options a search does not set keep their defaults, and the schedule spans the trial's epochs of
    `n_rows` rows.
    """
    momentum = values["momentum"]
    config = config_lib.resolve({name: value for name, value in values.items() if name != "momentum"},
                                optimizer_args={} if momentum is None else {"momentum": float(momentum)},
                                schedule_args=space["schedule_args"].get(values["schedule"], {}))
    kwargs = config_lib.model_arguments(config, max(1, math.ceil(n_rows / config["batch_size"])))
    del kwargs["seed"]  # a trial seeds its members
    return kwargs


class DenseHyperModel(keras_tuner.HyperModel):
    """The search space of a `kerasopt` Dense network, and what its trials need.

    Args:
        space: A space from `kerasopt.tuning.space.resolve_space`.
        target: The `kerasopt.tabular.TargetInfo` of the table's target.
        columns: Column overrides: `{"categorical": [...], "numeric": [...], "drop": [...]}`.
        patience: Early-stopping patience in epochs (the search's `patience` option).
    """

    def __init__(self, space: dict[str, Any], target, *, columns: dict[str, list[str]] | None = None,
                 patience: int):
        super().__init__(name="kerasopt_dense", tunable=True)
        self.space = space
        self.target = target
        self.columns = dict(columns or {})
        self.patience = patience

    @property
    def classification(self) -> bool:
        """Whether the network is a classifier (stratified folds)."""
        return self.target.task == "classification"

    def values(self, hp) -> dict[str, Any]:
        """Declares the space on `hp` and returns this trial's values."""
        values = space_lib.declare(hp, self.space)
        if "tuner/epochs" in hp.values:  # Hyperband's budget for this trial
            values["epochs"] = int(hp.values["tuner/epochs"])
        return values

    def build(self, hp):
        """Declares the space on `hp`: KerasTuner calls it to learn the space; trials build stacked models."""
        self.values(hp)

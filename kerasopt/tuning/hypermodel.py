"""`DenseHyperModel`, the `keras_tuner.HyperModel` of a search, and `model_kwargs`, a trial's network.

`kerasopt.tuning._stacked` builds and trains each trial's stacked model from
`values(hp)` and `model_kwargs`.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner

from kerasopt import spec
from kerasopt.tuning import space as space_lib

__all__ = ["DenseHyperModel", "model_kwargs"]


def model_kwargs(values: dict[str, Any], space: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Returns the `build_model` arguments (all but the inputs) of a trial's `values`.

    Every option of `kerasopt.spec.BUILD_MODEL_ARGS` a search sets (`kernel_initializer` keeps its
    default); the schedule is built as a run builds it, spanning the trial's epochs of `n_rows` rows.
    """
    from kerasopt import schedules

    optimizer: Any = values["optimizer"]
    if values["momentum"] is not None:
        optimizer = {"name": optimizer, "momentum": float(values["momentum"])}
    steps_per_epoch = max(1, math.ceil(n_rows / values["batch_size"]))
    learning_rate = schedules.get(values["schedule"], learning_rate=float(values["learning_rate"]),
                                  steps_per_epoch=steps_per_epoch, epochs=values["epochs"],
                                  **space["schedule_args"].get(values["schedule"], {}))
    kwargs = {name: values[name] for name in spec.BUILD_MODEL_ARGS if name in values}
    kwargs.update(hidden_units=list(values["hidden_units"]), dropout=float(values["dropout"]),
                  batch_norm=bool(values["batch_norm"]), l1=float(values["l1"]), l2=float(values["l2"]),
                  optimizer=optimizer, learning_rate=learning_rate)
    return kwargs


class DenseHyperModel(keras_tuner.HyperModel):
    """The search space of a `kerasopt` Dense network, and what its trials need.

    Args:
        space: A space from `kerasopt.tuning.space.resolve_space`.
        target: The `kerasopt.tabular.TargetInfo` of the table's target.
        columns: Column overrides: `{"categorical": [...], "numeric": [...], "drop": [...]}`.
        patience: Early-stopping patience in epochs.
    """

    def __init__(self, space: dict[str, Any], target, *, columns: dict[str, list[str]] | None = None,
                 patience: int = 10):
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

"""`DenseHyperModel`: a `keras_tuner.HyperModel` over `kerasopt.build_model`.

`values(hp)` declares the search space (see `kerasopt.tuning.space`) and
returns a trial's values, from which `kerasopt.tuning._stacked` builds and
trains the trial's stacked model (`model_kwargs`). `build(hp, features,
seed=...)` returns the plain network of a trial (`kerasopt.build_model` on
the rows it is given); KerasTuner calls it to learn the space. Everything
else the hypermodel needs is given at construction; nothing is set on it from
outside.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner
import numpy as np
import pandas as pd

from kerasopt import spec
from kerasopt.tuning import space as space_lib

__all__ = ["DenseHyperModel", "model_kwargs"]


def model_kwargs(values: dict[str, Any], space: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Returns the `build_model` arguments (minus inputs) of a trial's values.

    The names are the options of `kerasopt.spec.BUILD_MODEL_ARGS` that a
    search sets (every one but `kernel_initializer`, which keeps its default):
    a trial is a run configuration. The schedule is built as a run builds it
    (`kerasopt.schedules.get` with the trial's epochs as the default length).

    Args:
        values: The dict returned by `space.declare`.
        space: The resolved space (for `schedule_args`).
        n_rows: Number of training rows, for the schedule's steps per epoch.
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
    """A HyperModel that builds `kerasopt` Dense networks.

    Args:
        space: A space from `kerasopt.tuning.space.resolve_space`.
        num_classes: Number of classes of an array-input classifier (`None`
            for regression); ignored when `target` is given.
        features: Training rows used by `build(hp)` without `features`
            (KerasTuner's own calls, which only declare the space): a
            DataFrame of raw columns (each build then types them and learns
            their statistics, and the model is a
            `kerasopt.tabular.TabularModel`), or a numeric array that adapts
            the `Normalization` layer.
        target: The `kerasopt.tabular.TargetInfo` of a table's target.
        columns: Column overrides for tables: `{"categorical": [...],
            "numeric": [...], "drop": [...]}`.
        objective: The score the search ranks trials on (see
            `kerasopt.tuning._stacked.OBJECTIVES`).
        patience: Early-stopping patience in epochs.
        seed: Default seed for initializers, dropout and shuffling (a
            `build` or `fit` call may pass its own).
    """

    def __init__(self, space: dict[str, Any], num_classes: int | None = None, features=None, *, target=None,
                 columns: dict[str, list[str]] | None = None, objective: str = "val_accuracy",
                 patience: int = 10, seed: int | None = None):
        super().__init__(name="kerasopt_dense", tunable=True)
        self.space = space
        self.target = target
        self.num_classes = target.num_classes if target is not None else num_classes
        self.features = features
        self.columns = dict(columns or {})
        self.objective = objective
        self.patience = patience
        self.seed = seed

    @property
    def classification(self) -> bool:
        """Whether the network is a classifier (stratified folds, accuracy objectives)."""
        return self.num_classes is not None

    def values(self, hp) -> dict[str, Any]:
        """Declares the space on `hp` and returns this trial's values."""
        values = space_lib.declare(hp, self.space)
        if "tuner/epochs" in hp.values:  # Hyperband's budget for this trial
            values["epochs"] = int(hp.values["tuner/epochs"])
        return values

    def build(self, hp, features=None, *, seed=None):
        """Returns the network of the trial `hp`, its preprocessing learned on `features`.

        Args:
            hp: The trial's `keras_tuner.HyperParameters` (the space is declared on it).
            features: The training rows of this training (a fold's, or all
                rows for a retraining); `None` uses the rows given at construction.
            seed: Seed of the initializers and dropout; `None` uses the
                construction's `seed`.

        Returns:
            A compiled `keras.Model`.
        """
        from kerasopt.models import build_model

        features = self.features if features is None else features
        seed = self.seed if seed is None else seed
        values = self.values(hp)
        kwargs = model_kwargs(values, self.space, len(features))
        if isinstance(features, pd.DataFrame):
            from kerasopt.tabular import infer_schema

            schema = infer_schema(features, **self.columns)
            return build_model(schema, target=self.target, seed=seed, **kwargs)
        return build_model(np.asarray(features, dtype="float32"), num_classes=self.num_classes,
                           seed=seed, **kwargs)


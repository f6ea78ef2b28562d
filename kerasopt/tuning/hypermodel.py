"""`DenseHyperModel`: a `keras_tuner.HyperModel` over `kerasopt.build_model` and `kerasopt.train`.

`build(hp)` declares the search space (see `kerasopt.tuning.space`) and calls
`kerasopt.build_model` with the training features of the current fold, so
the leading `Normalization` layer is adapted on those rows only. `fit(hp,
model, x, y, ...)` reads `batch_size` and `epochs` from `hp` and trains with
`kerasopt.train` and early stopping on the objective.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner
import numpy as np

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
    """A HyperModel that builds `kerasopt` Dense classifiers.

    Args:
        space: A space from `kerasopt.tuning.space.resolve_space`.
        num_classes: Number of classes.
        features: Training features that adapt the `Normalization` layer;
            set `self.features` to the current fold's rows before `build`.
        objective: The metric the search optimizes (early stopping monitors
            the validation loss, which is smoother than accuracy; the trial's
            score is `objective` at the epoch early stopping keeps).
        patience: Early-stopping patience in epochs.
        seed: Seed for initializers, dropout and shuffling.
        max_epochs: Overrides the `epochs` of the space when set (the
            Hyperband budget of a trial).

    Example:

    >>> import keras_tuner
    >>> hm = DenseHyperModel(resolve_space(), num_classes=4, features=x)  # doctest: +SKIP
    >>> model = hm.build(keras_tuner.HyperParameters())  # doctest: +SKIP
    """

    def __init__(self, space: dict[str, Any], num_classes: int, features: np.ndarray,
                 objective: str = "val_accuracy", patience: int = 10, seed: int | None = None):
        super().__init__(name="kerasopt_dense", tunable=True)
        self.space = space
        self.num_classes = num_classes
        self.features = np.asarray(features, dtype="float32")
        self.objective = objective
        self.patience = patience
        self.seed = seed

    def values(self, hp) -> dict[str, Any]:
        """Declares the space on `hp` and returns this trial's values."""
        values = space_lib.declare(hp, self.space)
        if "tuner/epochs" in hp.values:  # Hyperband's budget for this trial
            values["epochs"] = int(hp.values["tuner/epochs"])
        return values

    def build(self, hp):
        from kerasopt.models import build_model

        values = self.values(hp)
        return build_model(self.features, num_classes=self.num_classes, seed=self.seed,
                           **model_kwargs(values, self.space, len(self.features)))

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        """Trains `model` with `kerasopt.train`; batch size and epochs come from `hp`.

        Returns:
            The `kerasopt.TrainResult` (its `history` is the Keras History).
        """
        from kerasopt.training import train

        values = self.values(hp)
        kwargs.setdefault("patience", self.patience)
        kwargs.setdefault("seed", self.seed)
        return train(model, x, y, validation_data=validation_data, epochs=values["epochs"],
                     batch_size=values["batch_size"], early_stopping=True,
                     monitor="val_loss" if validation_data is not None else "loss", **kwargs)

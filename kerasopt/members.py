"""`train_members`: the one procedure that trains a table model of K members (docs/stacking.md).

The rows are encoded once (`kerasopt.stacking.encode_table`) and K networks (member `k` seeded `seed + k`)
train as one stacked model, each on its own rows and stopping early on its own validation rows
(`kerasopt.stacking.train_stacked`); the returned `TabularModel` averages them. Bagging is K members on K
folds (`kerasopt.bagging`); one network is K = 1 (`kerasopt.pipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import budget as budget_lib
from kerasopt import config as config_lib
from kerasopt.errors import ArgumentError
from kerasopt.signals import data_loss_name
from kerasopt.spec import NUMERIC_EMBEDDING, NUMERIC_SCALING

__all__ = ["train_members"]


@dataclass
class _Data:
    """A table as the members see it: raw rows, the shared encoding (schema learned on the training rows),
    targets and the rows' class weights."""

    features: pd.DataFrame
    labels: pd.Series
    target: Any
    schema: Any
    x: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None

    @classmethod
    def of(cls, config, features, labels, train_rows, target, drop) -> _Data:
        from kerasopt import stacking, tabular, training

        features = features.reset_index(drop=True)
        labels = pd.Series(labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels, dtype=object))
        fitted = np.unique(np.concatenate(train_rows))
        if target is None:
            target = tabular.encode_target(labels.iloc[fitted], task=config.get("task"))[1]
        drop = list(drop) + [c for c in config.get("drop") or () if c not in drop]
        bins = config.get("numeric_bins")  # None: sized to the rows per network, as `budget.sized` does
        bins = budget_lib.numeric_bins_for(max(len(r) for r in train_rows)) if bins is None else bins
        schema = tabular.infer_schema(
            features.iloc[fitted], categorical=[c for c in config.get("categorical") or () if c not in drop],
            numeric=[c for c in config.get("numeric") or () if c not in drop], drop=drop,
            scaling=config.get("numeric_scaling") or NUMERIC_SCALING, numeric_bins=bins,
            numeric_embedding=config.get("numeric_embedding") or NUMERIC_EMBEDDING)
        sample_weight = None
        if config.get("class_weight") is not None:
            encoded = target.encode(labels)
            weights = training.class_weights(config["class_weight"], encoded[fitted])
            sample_weight = np.asarray([weights.get(int(c), 1.0) for c in encoded], dtype="float32")
        return cls(features, labels, target, schema, stacking.encode_table(schema, features),
                   stacking.table_targets(target, labels), sample_weight)

    @property
    def classification(self) -> bool:
        return self.target.task == "classification"


def train_members(config: dict[str, Any], features: pd.DataFrame, labels: Sequence,
                  train_rows: Sequence[np.ndarray], validation_rows: Sequence[np.ndarray] | None = None, *,
                  target=None, drop: Sequence[str] = (), progress: str | None = None, verbose: int = 0
                  ) -> tuple[Any, dict[str, Any]]:
    """Trains K networks on a table, each on its own rows, and averages them into one model.

    Args:
        config: A resolved configuration, for every member (member `k` is
            seeded `seed + k`; options left `None` sized to the largest
            member's rows by `kerasopt.budget.sized`; `class_weight` a dict
            of class indices or `"balanced"`). With K = 1,
            `reduce_lr_on_plateau` watches the member's data loss.
        features: The raw feature columns of the rows.
        labels: Their labels (original values) or regression targets.
        train_rows: One array of row positions per member (K = its length).
        validation_rows: `None` (every member trains for `epochs`), or one
            non-empty array per member, on which it stops early and gets its
            best epoch's weights back.
        target: The `kerasopt.tabular.TargetInfo` (default: learned from
            the training rows' labels with the configuration's `task`).
        drop: Columns to leave out besides the configuration's `drop`.
        progress: Text of a progress line shown on a terminal, or `None`.
        verbose: Verbosity of `fit` without validation rows.

    Returns:
        `(model, record)`: the averaging `kerasopt.tabular.TabularModel`
        (of one member for K = 1), and a dict with `history` (per epoch,
        the members' mean of the data losses in the target's units,
        `penalty`, `objective` / `val_objective` and `learning_rate`),
        `epochs`, `best_epoch` (the members' median), `member_best_epochs`,
        `member_stopped_epochs`, `epochs_run`, `steps_per_epoch`, `budget`,
        `penalty` (the members' mean weight penalty at the end), `train`
        (the model's Keras metrics on the training rows), `seconds`,
        `members` and `validation` (see `_held_out`; empty without
        validation rows).

    Raises:
        ArgumentError: for `reduce_lr_on_plateau` with K > 1 (each member
            would need its own learning rate).
    """
    from kerasopt import stacking

    members = len(train_rows)
    if config.get("reduce_lr_on_plateau") and members > 1:
        raise ArgumentError("`reduce_lr_on_plateau` is not supported with bagging (each network would need its "
                            "own learning rate); pass bagging=0 (--bagging 0) to use it. "
                            f"Received: reduce_lr_on_plateau={config['reduce_lr_on_plateau']!r}")
    data = _Data.of(config, features, labels, train_rows, target, drop)
    config, budget = budget_lib.sized(config, max(len(r) for r in train_rows), regression=not data.classification)
    stacked, steps = _build(config, data, train_rows)
    callbacks = _callbacks(config, stacked, data, validation_rows is not None, progress)
    monitor = data_loss_name(data.target.task)  # the data loss: no weight penalty
    result = stacking.train_stacked(stacked, data.x, data.y, train_rows, validation_rows, epochs=config["epochs"],
                                    batch_size=config["batch_size"], early_stopping=True, monitor=monitor,
                                    patience=config["patience"], seed=config["seed"], callbacks=callbacks,
                                    sample_weight=data.sample_weight, verbose=verbose)
    model = stacking.stacked_ensemble(stacked, data.schema, data.target,
                                      name="kerasopt_bagged" if members > 1 else "kerasopt_model")
    return model, _record(result, model, stacked, data, train_rows, validation_rows, steps, budget)


def _record(result, model, stacked, data: _Data, train_rows, validation_rows, steps: int, budget: dict
            ) -> dict[str, Any]:
    """`train_members`'s record of a finished `train_stacked` run."""
    from kerasopt import training
    from kerasopt.stacking.training import member_penalties

    members = len(train_rows)
    history = _history(result.history, members, data.target)
    fitted = np.unique(np.concatenate(train_rows))
    record = {"history": history, "epochs": list(range(result.epochs_run)),
              "best_epoch": int(np.median(result.best_epochs)),
              "member_best_epochs": [int(e) for e in result.best_epochs], "epochs_run": result.epochs_run,
              "member_stopped_epochs": [int(e) for e in result.stopped_epochs],
              "penalty": float(np.mean(member_penalties(stacked))),
              "train": training.evaluate(model, data.features.iloc[fitted], data.labels.iloc[fitted]),
              "seconds": result.seconds, "members": members, "steps_per_epoch": steps, "budget": budget,
              "validation": {}}
    if validation_rows is not None:
        record.update(_held_out(stacked, data, validation_rows))
    return record


def _build(config: dict[str, Any], data: _Data, train_rows: Sequence[np.ndarray]):
    """The compiled stacked table model of the members, and the steps of an epoch."""
    import math

    from kerasopt import stacking

    steps = math.ceil(max(len(r) for r in train_rows) / config["batch_size"])
    kwargs = config_lib.model_arguments(config, steps)  # `seed`: member `k` gets `seed + k`
    kwargs["jit_compile"] = stacking.jit_for(steps * config["epochs"])
    model = stacking.build_stacked_table_model(data.schema, len(train_rows), data.target, **kwargs)
    return model, steps


def _callbacks(config: dict[str, Any], stacked, data: _Data, validation: bool, progress: str | None):
    """The Keras callbacks of a run: plateau, original units, progress."""
    from kerasopt import training
    from kerasopt.callbacks import ProgressLine

    callbacks = []
    if not data.classification:  # the members learn the standardized target: show its original units
        callbacks.append(_original_units(data.target))
    monitor = data_loss_name(data.target.task, validation)
    if config.get("reduce_lr_on_plateau"):
        callbacks.insert(0, training._plateau(stacked, monitor, config["patience"]))
    if progress is not None:
        # `train_stacked` hands the line its members' early stopping
        callbacks.append(ProgressLine(progress, config["epochs"], monitor=monitor if validation else None,
                                      bounded=validation))
    return callbacks


def _held_out(stacked, data: _Data, validation_rows: Sequence[np.ndarray]) -> dict[str, Any]:
    """`validation`: the `kerasopt.evaluation` scores (plus `mse` for regression) of each validation row
    predicted by the member that held it out (the last one, for a row several hold out); `out_of_fold`:
    those predictions in the order of the rows (class probabilities, or values in the target's units);
    `predict_out_of_fold(frame, positions)`: the same for rows whose cells may differ, `positions` naming
    the row of each (for `kerasopt.importance.permutation_importance`)."""
    from kerasopt import evaluation, stacking

    owner = np.full(len(data.features), -1, dtype="int64")
    for k, rows in enumerate(validation_rows):
        owner[rows] = k

    def predict(frame: pd.DataFrame, positions) -> np.ndarray:
        outputs = stacking.predict_members(stacked, stacking.encode_table(data.schema, frame))
        chosen = outputs[np.arange(len(frame)), owner[np.asarray(positions)]].astype("float64")
        return chosen if data.classification else data.target.unstandardized(chosen[:, 0])

    held = np.flatnonzero(owner >= 0)
    predictions, truth = predict(data.features.iloc[held], held), data.labels.iloc[held].to_numpy()
    validation = evaluation.target_scores(data.target, truth, predictions)
    if not data.classification:
        validation = {"rows": validation.pop("rows"), "mse": validation["rmse"] ** 2, **validation}
    return {"validation": validation, "out_of_fold": predictions, "predict_out_of_fold": predict}


def _member_mean(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype="float64").reshape(len(values), -1).mean(axis=1)]


def _history(stacked: dict[str, np.ndarray], members: int, target) -> dict[str, list[float]]:
    """The members' mean per epoch: data losses in the target's units (`TargetInfo.units_factor`), the
    penalty, and `objective` (the training loss the optimizer minimizes, scaled and with the penalty)."""
    history = {}
    for key, values in stacked.items():
        if key == "loss":
            history["objective"] = [float(v) / members for v in values]
        elif key != "val_loss":
            factor = target.units_factor(key)
            history[key] = [v * factor for v in _member_mean(values)]
    if "val_loss" in stacked:
        history["val_objective"] = _member_mean(stacked["val_loss"])
    return history


def _original_units(target):
    """A callback that shows the members' standardized validation errors in the target's units."""
    import keras

    def rescale(epoch, logs):
        for key in [k for k in logs if k.startswith("val_")]:
            factor = target.units_factor(key)
            if factor != 1.0:
                logs[key] = np.asarray(logs[key]) * factor  # a new array: the recorded one is kept

    return keras.callbacks.LambdaCallback(on_epoch_end=rescale)

"""Stacked trials: a trial's folds and executions, and the final ensemble, as ONE stacked Keras model.

Small Dense networks spend a step on dispatch overhead, not arithmetic, so the K members of one
`kerasopt.stacking` model cost little more than one network (docs/tuning.md, "How trials train").
The rows are typed and encoded once per search, without labels (`SearchEncoding`). A member's
history holds its network's validation scores on its fold's held-out rows, cut at the epoch its
early stopping ended it, none with the weight penalty (`kerasopt.spec.TUNE_OBJECTIVES`):
`val_accuracy` and `val_log_loss` (which early stopping and the trial's epoch follow) for a
classification; `val_rmse`, `val_mae` and `val_r2` in the target's original units for a regression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kerasopt.signals import data_loss_name

__all__ = ["EPOCH_MONITOR", "POOLED", "SearchEncoding", "population_key", "population_runs", "stacked_retrain"]

#: The hyperparameters that may differ between the trials of one population (one stacked model).
POOLED = ("learning_rate", "l1", "l2", "dropout")

#: Schedules whose rate at every step is proportional to the initial rate: a population's members
#: share the schedule's shape (`kerasopt.stacking.build_stacked_model`'s `population`).
_PROPORTIONAL_SCHEDULES = ("constant", "step", "multistep", "exponential", "inverse_time", "cosine")

#: The curve that early stopping and the choice of a trial's epoch follow, per task.
EPOCH_MONITOR = {"classification": "val_log_loss", "regression": "val_rmse"}


@dataclass
class SearchEncoding:
    """The search rows typed and encoded once: what every stacked trial trains on.

    Attributes:
        schema: `kerasopt.tabular.infer_schema` of all search rows (with the
            search's column overrides).
        x: `kerasopt.stacking.encode_table` of the rows, float32 `(rows, width)`.
        y: The targets the members train on (`kerasopt.stacking.table_targets`:
            class indices, or the standardized regression target).
    """

    schema: Any
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, frame, y, target, columns: dict | None = None) -> SearchEncoding:
        """Types, learns and encodes `frame` (raw rows) and its encoded targets `y`."""
        from kerasopt import stacking, tabular

        schema = tabular.infer_schema(frame, **(columns or {}))
        y = np.asarray(y)
        targets = stacking.table_targets(target, y) if target.task == "regression" else y.astype("int32")
        return cls(schema, stacking.encode_table(schema, frame), targets)


def _pooled(values: dict) -> tuple[str, ...]:
    return POOLED if values["schedule"] in _PROPORTIONAL_SCHEDULES else ("l1", "l2", "dropout")


def population_key(hypermodel, hp) -> str:
    """The trial's values except the pooled ones: trials with equal keys train as one population.

    The learning rate is pooled only under a schedule proportional to it
    (not `piecewise`, whose rates are given outright).
    """
    import json

    values = hypermodel.values(hp)
    pooled = _pooled(values)
    return json.dumps({k: v for k, v in values.items() if k not in pooled}, sort_keys=True, default=repr)


def _build(hypermodel, hps, encoding: SearchEncoding, members: int, n_rows: int, seeds):
    """One stacked model whose members `i * members ... (i + 1) * members - 1` are trial `hps[i]`'s."""
    from kerasopt import stacking
    from kerasopt.tuning.hypermodel import model_kwargs

    all_values = [hypermodel.values(hp) for hp in hps]
    values = all_values[0]
    kwargs = model_kwargs(values, hypermodel.space, n_rows)
    if len(hps) > 1:
        kwargs["population"] = {}
        for key in _pooled(values):
            # A schedule stays: it gives the shape every member's rate follows (its own rate times it).
            if key != "learning_rate" or values["schedule"] == "constant":
                kwargs.pop(key)
            kwargs["population"][key] = [float(v[key]) for v in all_values for _ in range(members)]
    # XLA for a trial long enough to pay for the compile
    jit = stacking.jit_for(math.ceil(n_rows / values["batch_size"]) * values["epochs"])
    model = stacking.build_stacked_table_model(encoding.schema, members * len(hps), hypermodel.target,
                                               seed=list(seeds), jit_compile=jit, **kwargs)
    return model, values


def _member_history(result, k: int, target, y_val: np.ndarray) -> dict[str, list[float]]:
    """Member `k`'s validation curves (see the module docstring), cut at its last epoch."""
    stop = int(result.stopped_epochs[k])
    # `val_loss`, the data loss plus the member's weight penalty, is never a score
    h = {name: np.asarray(values, dtype="float64")[:stop, k] for name, values in result.history.items()
         if name.startswith("val_") and name != "val_loss"}
    if target.task != "classification":
        mse = h.pop("val_mse")
        h["val_mae"] = h["val_mae"] * target.units_factor("val_mae")
        h["val_rmse"] = np.sqrt(mse) * target.units_factor("val_rmse")
        # R^2 does not change under the standardization: 1 - MSE / the validation rows' own variance.
        variance = float(np.var(np.asarray(y_val, dtype="float64")))
        h["val_r2"] = 1.0 - mse / variance if variance > 0 else np.full_like(mse, np.nan)
    return {name: [float(v) for v in values] for name, values in h.items()}


def population_runs(hypermodel, hps, encoding: SearchEncoding, folds, executions: int,
                    seed: int) -> list[list[dict[str, Any]]]:
    """Trains several trials' executions x folds as one stacked model; returns each trial's run dicts.

    The trials must share a `population_key`; one trial alone is a population of one. Trial `i`'s
    member `(execution e, fold f)` trains on the fold's training rows with initial weights of `seed`,
    shuffling with `seed + e`, and its own learning rate, penalties and dropout (`kerasopt.stacking`'s
    `population`); it is scored and early-stopped (`hypermodel.patience`, on `EPOCH_MONITOR`) on the
    fold's held-out rows. So its runs do not depend on the other trials of the population (up to
    floating-point rounding; dropout masks are drawn for the whole stacked tensor and do depend on the
    member's place).

    Args:
        hypermodel: The search's `DenseHyperModel` (a table target).
        hps: The trials' `keras_tuner.HyperParameters`.
        encoding: The search's `SearchEncoding`.
        folds: `(train_rows, validation_rows)` pairs.
        executions: Trainings per fold.
        seed: The search's seed.

    Returns:
        One list per trial of run dicts (execution by execution, fold by fold), each holding
        `execution`, `fold`, `best_epoch`, `epochs_run` and `history` (see the module docstring).
    """
    from kerasopt import stacking

    members = [(e, f) for e in range(executions) for f in range(len(folds))]
    train_rows = [folds[f][0] for _, f in members] * len(hps)
    val_rows = [folds[f][1] for _, f in members] * len(hps)
    n_rows = max(len(r) for r in train_rows)
    model, values = _build(hypermodel, hps, encoding, len(members), n_rows, [seed] * len(train_rows))
    result = stacking.train_stacked(model, encoding.x, encoding.y, train_rows, val_rows,
                                    epochs=int(values["epochs"]), batch_size=int(values["batch_size"]),
                                    early_stopping=True, patience=hypermodel.patience,
                                    # the standardized MSE: the RMSE in target units, up to a constant
                                    monitor=data_loss_name(hypermodel.target.task),
                                    seed=[seed + e for e, _ in members] * len(hps))
    runs = [{"execution": e, "fold": f, "best_epoch": int(result.best_epochs[k]),
             "epochs_run": int(result.stopped_epochs[k]),
             "history": _member_history(result, k, hypermodel.target, encoding.y[val_rows[k]])}
            for k, (e, f) in enumerate(members * len(hps))]
    return [runs[i * len(members):(i + 1) * len(members)] for i in range(len(hps))]


def stacked_retrain(hypermodel, hp, frame, y, *, columns: dict | None, epochs: int, members: int, seed: int,
                    callbacks=None):
    """Trains `members` networks of a configuration on all rows as one stacked model.

    Member `i` starts from `build_model(seed=seed + i)`'s weights and shuffles
    with seed `seed + i`; there is no validation and no early stopping.

    Args:
        hypermodel: The search's `DenseHyperModel`.
        hp: The configuration's `HyperParameters` (with `tuner/epochs` set to
            `epochs`, so the schedule spans the retraining).
        frame: All search rows (raw).
        y: Their encoded targets.
        columns: The search's column overrides.
        epochs: Epochs of the retraining.
        members: Number of networks.
        seed: Seed of member 0.
        callbacks: More Keras callbacks (a progress line).

    Returns:
        A `kerasopt.tabular.TabularModel` averaging the members
        (`kerasopt.stacking.stacked_ensemble`), which takes raw rows.
    """
    from kerasopt import stacking

    encoding = SearchEncoding.of(frame, y, hypermodel.target, columns)
    seeds = [seed + i for i in range(members)]
    model, values = _build(hypermodel, [hp], encoding, members, len(frame), seeds)
    rows = [np.arange(len(frame))] * members
    stacking.train_stacked(model, encoding.x, encoding.y, rows, epochs=epochs,
                           batch_size=int(values["batch_size"]), early_stopping=False, seed=seeds,
                           callbacks=callbacks)
    return stacking.stacked_ensemble(model, encoding.schema, hypermodel.target,
                                   name="ensemble" if members > 1 else "model")

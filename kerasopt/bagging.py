"""Bagging: K networks, each trained on all but one of K folds, averaged into one model.

`train_bagged` splits the rows it is given into K folds (stratified for
classification). Member `k` trains on the other K-1 folds and stops early on
fold `k`, which it never trains on; the K members train together as one
stacked model (`kerasopt.stacking`), so they cost little more than one
network. The saved model averages the members' class probabilities (or
predictions). Each row is held out by exactly one member, so that member's
predictions for its fold (the out-of-fold predictions) score the procedure
on rows no member chose its epoch on or trained on, at no extra cost.

Compared with one network that stops early on a validation split and is then
refit on all rows for the chosen epoch count, bagging uses every row for
training (in K-1 of the K members) and for early stopping (in one), and
averaging K networks removes most of a single network's seed-to-seed spread.

The members share one encoding of the columns (`kerasopt.stacking.encode_table`),
learned on all rows given: the column statistics (means, variances,
categories) of a member's held-out fold take part in its encoding, though its
labels do not. The out-of-fold estimate is therefore not a strict
cross-validation of the encoding; `kerasopt.pipeline.cross_validate_config`
re-learns everything, encoding included, inside each of its outer folds.

Example:

>>> from kerasopt import bagging, config
>>> model, record = bagging.train_bagged(config.resolve(bagging=5), frame, labels)  # doctest: +SKIP
>>> record["validation"]["accuracy"]  # out-of-fold accuracy  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import budget as budget_lib
from kerasopt import config as config_lib
from kerasopt.errors import ArgumentError

__all__ = ["fold_rows", "train_bagged"]


def fold_rows(labels: Sequence, members: int, seed: int | None, classification: bool
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Returns each member's training rows (K-1 folds) and held-out rows (its fold).

    The folds are stratified when every class has at least `members` rows,
    and shuffled with `seed`.

    Args:
        labels: The labels of the rows (for stratification).
        members: Number of folds and members K (>= 2).
        seed: Seed of the shuffle.
        classification: Whether to stratify by label.

    Returns:
        `(train_rows, held_out_rows)`: two lists of K sorted index arrays.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = np.asarray(labels)
    if len(labels) < 2 * members:
        raise ArgumentError(f"Invalid value for `bagging`: {members} members need at least {2 * members} rows "
                            f"(two per fold). Received: bagging={members} for {len(labels)} rows")
    stratify = classification and np.unique(labels, return_counts=True)[1].min() >= members
    splitter = (StratifiedKFold if stratify else KFold)(members, shuffle=True, random_state=seed)
    train, held_out = [], []
    for tr, va in splitter.split(np.zeros(len(labels)), labels if stratify else None):
        train.append(np.sort(tr))
        held_out.append(np.sort(va))
    return train, held_out


def _member_mean(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype="float64").reshape(len(values), -1).mean(axis=1)]


def _out_of_fold_predictor(stacked, schema, target, held_out: list[np.ndarray], rows: int):
    """Returns `predict(frame, positions)`: each row predicted by the member that held out row `positions[i]`
    of the training rows, as class probabilities or values in the target's units."""
    from kerasopt import stacking

    owner = np.empty(rows, dtype="int64")
    for k, held in enumerate(held_out):
        owner[held] = k

    def predict(frame: pd.DataFrame, positions) -> np.ndarray:
        outputs = stacking.predict_members(stacked, stacking.encode_table(schema, frame))
        chosen = outputs[np.arange(len(frame)), owner[np.asarray(positions)]].astype("float64")
        if target.task == "regression":
            return chosen[:, 0] * (target.std or 1.0) + target.mean
        return chosen

    return predict
def _history(stacked: dict[str, np.ndarray], members: int, std: float) -> dict[str, list[float]]:
    """The members' mean per epoch: data losses in the target's units (`std` of a regression target, else 1),
    the penalty, and `objective` (the training loss the optimizer minimizes, scaled and with the penalty)."""
    scale = {"mse": std ** 2, "val_mse": std ** 2, "val_mae": std}
    history = {}
    for key, values in stacked.items():
        if key == "loss":
            history["objective"] = [float(v) / members for v in values]
        elif key != "val_loss":
            history[key] = [v * scale.get(key, 1.0) for v in _member_mean(values)]
    if "val_loss" in stacked:
        history["val_objective"] = _member_mean(stacked["val_loss"])
    return history


def train_bagged(config: dict[str, Any], features: pd.DataFrame, labels: Sequence, *, target=None,
                 drop: Sequence[str] = (), class_weight="config", progress: str | None = None
                 ) -> tuple[Any, dict[str, Any]]:
    """Trains `config["bagging"]` networks on K-fold splits of a table and averages them.

    Args:
        config: A resolved configuration (`kerasopt.config.resolve`) with
            `bagging` >= 2; its architecture, optimizer, schedule, epochs,
            batch size, patience and seed apply to every member (member `k`
            is seeded `seed + k`); epochs, batch size and patience left
            `None` are sized to a member's rows (`kerasopt.budget.sized`).
            `validation_split` and `refit` do not apply: each member's
            held-out fold is its validation rows.
        features: The raw feature columns of the rows.
        labels: Their labels (original values) or regression targets.
        target: The `kerasopt.tabular.TargetInfo` (default: learned from
            `labels` with the configuration's `task`).
        drop: Columns to leave out besides the configuration's `drop`.
        class_weight: `"balanced"`, a dict `{class index: weight}`, `None`,
            or `"config"` for the configuration's `class_weight`; weights each
            member's training loss as `kerasopt.train` does.
        progress: Prefix of a progress line shown on a terminal, or `None`.

    Returns:
        `(model, record)`: the averaging `kerasopt.tabular.TabularModel`, and
        a dict with `history` (per epoch, the members' mean of: the data
        loss `log_loss` / `val_log_loss` and `val_accuracy`, or `mse` /
        `val_mse` and `val_mae` in the target's units; `penalty`, the weight
        penalty; `objective` / `val_objective`, the loss early stopping and
        the optimizer see, penalty included, on the standardized target for
        regression; and the learning rate), `epochs`, `best_epoch` (the
        members' median), `member_best_epochs`, `member_stopped_epochs`
        (the epoch each member stopped at, `epochs_run` for one that never
        stopped), `epochs_run`, `steps_per_epoch`, `budget`
        (`kerasopt.budget.Budget.as_dict()`), `penalty` (the members'
        mean weight penalty at the end), `validation` (the out-of-fold
        scores: `kerasopt.evaluation` scores in the original labels, plus
        `mse` for regression), `train` (the average model's Keras metrics on
        all rows), `seconds`, `members`, `out_of_fold` (each row's prediction by the member that held it out,
        in the order of the rows: class probabilities, or values in the
        target's units) and `predict_out_of_fold` (`predict(frame, positions)`:
        the same for rows whose cells may differ, `positions` naming the row
        of each, for `kerasopt.importance.permutation_importance`).

    Raises:
        ArgumentError: for a configuration without bagging, or with
            `reduce_lr_on_plateau`, which bagging does not support.
    """
    import keras

    from kerasopt import evaluation, stacking, tabular, training
    from kerasopt.callbacks import LearningRateLogger, ProgressLine

    members = config.get("bagging") or 0
    if members < 2:
        raise ArgumentError(f"Invalid value for `bagging`: train_bagged needs 2 or more members. "
                            f"Received: bagging={members!r}")
    if config.get("reduce_lr_on_plateau"):
        raise ArgumentError("`reduce_lr_on_plateau` is not supported with bagging (each network would need its "
                            "own learning rate); pass bagging=0 (--bagging 0) to use it. "
                            f"Received: reduce_lr_on_plateau={config['reduce_lr_on_plateau']!r}")
    if isinstance(class_weight, str) and class_weight == "config":
        class_weight = config.get("class_weight")
    features = features.reset_index(drop=True)
    labels = pd.Series(np.asarray(labels, dtype=object) if not isinstance(labels, pd.Series) else labels.to_numpy())
    if target is None:
        target = tabular.encode_target(labels, task=config.get("task"))[1]
    classification = target.task == "classification"
    drop = list(drop) + [c for c in config.get("drop") or () if c not in drop]
    schema = tabular.infer_schema(features, categorical=[c for c in config.get("categorical") or () if c not in drop],
                                  numeric=[c for c in config.get("numeric") or () if c not in drop], drop=drop,
                                  scaling=config.get("numeric_scaling") or "standard")
    encoded_labels = target.encode(labels)
    train_rows, held_out = fold_rows(encoded_labels, members, config["seed"], classification)
    x = stacking.encode_table(schema, features)
    y = stacking.table_targets(target, labels)
    sample_weight = None
    if class_weight is not None:
        weights = training.class_weights(class_weight, encoded_labels)
        sample_weight = np.asarray([weights.get(int(c), 1.0) for c in encoded_labels], dtype="float32")

    config, budget = budget_lib.sized(config, max(len(r) for r in train_rows))
    seed = config["seed"]
    seeds = None if seed is None else [seed + k for k in range(members)]
    steps = budget["steps_per_epoch"]
    kwargs = config_lib.model_arguments(config, steps)
    kwargs.pop("seed")
    kwargs["jit_compile"] = stacking.jit_for(steps * config["epochs"])
    stacked = stacking.build_stacked_table_model(schema, members, target, seed=seeds, **kwargs)
    rates: list[float] = []
    callbacks = [LearningRateLogger(),
                 keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: rates.append(logs["learning_rate"]))]
    if not classification:  # the members learn the standardized target: show and record its original units
        callbacks.append(_original_units(target.std or 1.0))
    monitor = "val_log_loss" if classification else "val_mse"  # the data loss: no weight penalty
    if progress is not None:
        callbacks.append(ProgressLine(f"{progress}bagging {members} networks", config["epochs"],
                                      monitor=monitor, bounded=True, patience=config["patience"],
                                      stop_monitor=monitor))
    result = stacking.train_stacked(stacked, x, y, train_rows, held_out, epochs=config["epochs"],
                                    batch_size=config["batch_size"], early_stopping=True, monitor=monitor,
                                    patience=config["patience"], seed=seeds, callbacks=callbacks,
                                    sample_weight=sample_weight)

    outputs = stacking.predict_members(stacked, x)
    out_of_fold = np.zeros(outputs.shape[:1] + outputs.shape[2:], dtype="float64")
    for k, rows in enumerate(held_out):
        out_of_fold[rows] = outputs[rows, k]
    if classification:
        validation = evaluation.classification_scores(labels.to_numpy(), target.decode(out_of_fold), out_of_fold,
                                                      target.classes)
        predictions = out_of_fold
    else:
        restored = out_of_fold[:, 0] * (target.std or 1.0) + target.mean
        validation = evaluation.regression_scores(np.asarray(labels, dtype="float64"), restored)
        validation = {"rows": validation.pop("rows"), "mse": validation["rmse"] ** 2, **validation}
        predictions = restored
    model = stacking.stacked_ensemble(stacked, schema, target, name="kerasopt_bagged")
    history = _history({**result.losses, **result.history}, members, 1.0 if classification else target.std or 1.0)
    history["learning_rate"] = rates
    record = {"history": history, "epochs": list(range(result.epochs_run)),
              "best_epoch": int(np.median(result.best_epochs)),
              "member_best_epochs": [int(e) for e in result.best_epochs], "epochs_run": result.epochs_run,
              "member_stopped_epochs": [int(e) for e in result.stopped_epochs],
              "penalty": float(np.mean(result.validation["penalty"])),
              "validation": validation, "train": training.evaluate(model, features, labels),
              "seconds": result.seconds, "members": members, "steps_per_epoch": steps, "budget": budget,
              "out_of_fold": predictions,
              "predict_out_of_fold": _out_of_fold_predictor(stacked, schema, target, held_out, len(features))}
    return model, record


def _original_units(std: float):
    """A callback that shows the members' standardized validation errors in the target's units."""
    import keras

    def rescale(epoch, logs):
        for key, power in (("val_mse", 2), ("val_mae", 1)):
            if key in logs:
                logs[key] = np.asarray(logs[key]) * std ** power  # a new array: the recorded one is kept

    return keras.callbacks.LambdaCallback(on_epoch_end=rescale)

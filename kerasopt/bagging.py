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


def train_bagged(config: dict[str, Any], features: pd.DataFrame, labels: Sequence, *, target=None,
                 drop: Sequence[str] = (), class_weight="config", progress: str | None = None
                 ) -> tuple[Any, dict[str, Any]]:
    """Trains `config["bagging"]` networks on K-fold splits of a table and averages them.

    Member `k` trains on all folds but fold `k` (`fold_rows`, seeded with
    the configuration's `seed`) and stops early on fold `k`, through
    `kerasopt.members.train_members`.

    Args:
        config: A resolved configuration (`kerasopt.config.resolve`) with
            `bagging` >= 2 (see `train_members`). `validation_split` and
            `refit` do not apply: each member's held-out fold is its
            validation rows.
        features: The raw feature columns of the rows.
        labels: Their labels (original values) or regression targets.
        target: The `kerasopt.tabular.TargetInfo` (default: learned from
            `labels` with the configuration's `task`).
        drop: Columns to leave out besides the configuration's `drop`.
        class_weight: `"balanced"`, a dict `{class index: weight}`, `None`,
            or `"config"` for the configuration's `class_weight`.
        progress: Prefix of a progress line shown on a terminal, or `None`.

    Returns:
        `(model, record)` as `train_members` returns them: `validation`
        holds the out-of-fold scores, `out_of_fold` every row's prediction
        by the member that held it out, in the order of the rows.

    Raises:
        ArgumentError: for a configuration without bagging, or with
            `reduce_lr_on_plateau`, which bagging does not support.
    """
    from kerasopt import members as members_lib
    from kerasopt import tabular

    members = config.get("bagging") or 0
    if members < 2:
        raise ArgumentError(f"Invalid value for `bagging`: train_bagged needs 2 or more members. "
                            f"Received: bagging={members!r}")
    labels = pd.Series(labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels, dtype=object))
    if target is None:
        target = tabular.encode_target(labels, task=config.get("task"))[1]
    train_rows, held_out = fold_rows(target.encode(labels), members, config["seed"],
                                     target.task == "classification")
    return members_lib.train_members(config, features, labels, train_rows, held_out, target=target, drop=drop,
                                     class_weight=class_weight,
                                     progress=None if progress is None else f"{progress}bagging {members} networks")

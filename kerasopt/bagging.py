"""Bagging: K networks, each trained on all but one of K folds, averaged into one model (docs/stacking.md).

Member `k` trains on the other K-1 folds (`fold_rows`) and stops early on fold `k`; the K members train as
one stacked model (`kerasopt.members.train_members`). Each row's out-of-fold prediction comes from the one
member that held it out. The members share one encoding of the columns, learned on all rows given.

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

    The folds are shuffled with `seed` and, for a classification, stratified as far as the classes
    allow (`kerasopt.data.kfold_rows`).

    Args:
        labels: The labels of the rows (for stratification).
        members: Number of folds and members K (>= 2).
        seed: Seed of the shuffle.
        classification: Whether to stratify by label.

    Returns:
        `(train_rows, held_out_rows)`: two lists of K sorted index arrays.
    """
    from kerasopt.data import kfold_rows

    labels = np.asarray(labels)
    if len(labels) < 2 * members:
        raise ArgumentError(f"Invalid value for `bagging`: {members} members need at least {2 * members} rows "
                            f"(two per fold). Received: bagging={members} for {len(labels)} rows")
    folds = kfold_rows(labels, members, seed, classification)
    return [train for train, _ in folds], [held_out for _, held_out in folds]


def train_bagged(config: dict[str, Any], features: pd.DataFrame, labels: Sequence, *, target=None,
                 drop: Sequence[str] = (), progress: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Trains `config["bagging"]` networks on K-fold splits of a table and averages them.

    Args:
        config: A resolved configuration with `bagging` >= 2 (see
            `kerasopt.members.train_members`); `validation_split` and `refit`
            do not apply.
        features: The raw feature columns of the rows.
        labels: Their labels (original values) or regression targets.
        target: The `kerasopt.tabular.TargetInfo` (default: learned from
            `labels` with the configuration's `task`).
        drop: Columns to leave out besides the configuration's `drop`.
        progress: Prefix of a progress line shown on a terminal, or `None`.

    Returns:
        `(model, record)` as `train_members` returns them: `validation` holds
        the out-of-fold scores, `out_of_fold` every row's prediction by the
        member that held it out.

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
                                     progress=None if progress is None else f"{progress}bagging {members} networks")

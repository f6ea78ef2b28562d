"""Permutation importance of a saved model's original columns.

A column's importance is the score (accuracy, or R^2) on the intact rows minus the mean score
with that column's cells shuffled among the rows. The model reads raw rows, so a column is the
table's own, not its one-hot or embedding parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["permutation_importance", "plot_importance"]

_ROWS_PER_CALL = 200_000  # shuffled rows predicted per call: few calls, bounded memory


def _score(target, truth: np.ndarray, outputs: np.ndarray) -> float:
    """Accuracy of class outputs against class indices, or R^2 of values."""
    if target.task == "classification":
        return float(np.mean(outputs.argmax(axis=-1) == truth))
    from sklearn.metrics import r2_score

    return float(r2_score(truth, outputs.reshape(len(outputs), -1)[:, 0]))


def _shuffled_drops(model, x: pd.DataFrame, truth: np.ndarray, keep: np.ndarray, base: float, repeats: int,
                    rng: np.random.Generator, predict) -> list[dict]:
    """One `{column, importance, std}` per used column: the score drop over `repeats` shuffles of its cells."""
    n = len(x)
    names = list(model.schema.names)
    per_call = max(1, _ROWS_PER_CALL // (n * repeats))  # columns whose shuffled copies share one predict call
    rows = []
    for start in range(0, len(names), per_call):
        group = names[start:start + per_call]
        blocks = []
        for name in group:
            cells = x[name].to_numpy()
            for _ in range(repeats):
                block = x.copy()
                block[name] = cells[rng.permutation(n)]
                blocks.append(block)
        outputs = np.asarray(predict(pd.concat(blocks, ignore_index=True), np.tile(keep, len(blocks))))
        for i, name in enumerate(group):
            scores = [_score(model.target, truth, outputs[(i * repeats + r) * n:(i * repeats + r + 1) * n])
                      for r in range(repeats)]
            rows.append({"column": name, "importance": base - float(np.mean(scores)),
                         "std": float(np.std(scores))})
    return rows


def permutation_importance(model, features: pd.DataFrame, labels, *, repeats: int = 5, max_rows: int = 2000,
                           seed: int | None = 0, predict=None, outputs=None) -> pd.DataFrame:
    """Scores each column the model uses by the drop in score when its cells are shuffled.

    Args:
        model: A `kerasopt.tabular.TabularModel`.
        features: Raw feature rows.
        labels: Their labels in the original values (or regression targets).
        repeats: Shuffles per column.
        max_rows: At most this many rows are used (a seeded sample).
        seed: Seed of the sample and the shuffles.
        predict: Optional `predict(frame, positions) -> outputs` instead of `model.predict`
            (`positions`: the rows' places in `features`, for out-of-fold predictions).
        outputs: Optional outputs of the model for the intact `features`, already predicted: the
            intact score is theirs (the shuffled copies are still predicted).

    Returns:
        A DataFrame sorted by importance (intact score minus mean shuffled score), one row per
        column: `column`, `importance`, `std`, `metric`, `score` and `rows`.
    """
    from kerasopt import _validation as check

    repeats = check.positive_int("repeats", repeats)
    max_rows = check.positive_int("max_rows", max_rows)
    if predict is None:
        predict = lambda frame, positions: model.predict(frame, batch_size=4096, verbose=0)  # noqa: E731
    rng = np.random.default_rng(seed)
    x = features.reset_index(drop=True)
    truth = model.target.encode(labels)  # checks the labels; class indices
    if model.target.task == "regression":  # the values at full precision, as the run's scores take them
        truth = pd.to_numeric(pd.Series(np.asarray(labels))).to_numpy(dtype="float64")
    keep = np.arange(len(x))
    if len(x) > max_rows:
        keep = np.sort(rng.choice(len(x), max_rows, replace=False))
        x, truth = x.iloc[keep].reset_index(drop=True), truth[keep]
    n = len(x)
    intact = predict(x, keep) if outputs is None else np.asarray(outputs)[keep]
    base = _score(model.target, truth, np.asarray(intact))
    rows = _shuffled_drops(model, x, truth, keep, base, repeats, rng, predict)
    frame = pd.DataFrame(rows, columns=["column", "importance", "std"])
    frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    frame["metric"] = "accuracy" if model.target.task == "classification" else "r2"
    frame["score"] = base
    frame["rows"] = n
    return frame


def plot_importance(frame: pd.DataFrame, title: str | None = None, top: int = 30) -> Figure:
    """Draws the importances of `permutation_importance` as horizontal bars with their spread.

    Args:
        frame: The result of `permutation_importance`.
        title: Optional title.
        top: At most this many columns (the most important) are drawn.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    shown = frame.head(top).iloc[::-1]
    figure = Figure(figsize=(6.4, max(2.4, 0.28 * len(shown) + 1.2)))
    ax = figure.subplots()
    ax.barh([str(c) for c in shown["column"]], shown["importance"], xerr=shown["std"], color="tab:blue",
            alpha=0.8, error_kw={"alpha": 0.6})
    metric = frame["metric"].iloc[0] if len(frame) else "score"
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure

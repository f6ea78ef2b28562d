"""What a training run reports besides its model: named losses, row counts and warnings.

A run reports the data loss as `log_loss` / `mse` and the weight penalty as
`penalty`; Keras's `loss` appears only in `history.csv`, as `objective`. Every
score carries its row count, and a run warns when early stopping never stopped
it or a judged score rests on fewer than `SMALL_ROWS` rows (docs/cli.md).

Example:

>>> split_scores({"loss": 0.9, "accuracy": 0.75, "log_loss": 0.6}, rows=8)
{'rows': 8, 'accuracy': 0.75, 'log_loss': 0.6}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["SMALL_ROWS", "data_loss_name", "early_stopping_warning", "few_rows_warning", "higher_is_better",
           "scalar_scores", "small_rows_warnings", "split_scores", "summary_lines"]

SMALL_ROWS = 50
"""A validation, out-of-fold or test score on fewer rows than this gets a warning: one row is more than
2% of it, so a 1.0000 on 6 rows says little (its 95% interval spans about +-0.4 at accuracy 0.5)."""

_SCALARS = ("rows", "accuracy", "balanced_accuracy", "log_loss", "roc_auc", "loss", "rmse", "mae", "r2")


def higher_is_better(name: str) -> bool:
    """Whether a higher value of a score is better.

    Args:
        name: A score's name, with or without `val_`: accuracy, AUC, precision, recall and R^2 (and names
            containing them, such as `balanced_accuracy`) are better higher; losses and errors lower.

    Returns:
        `True` for a score to maximize, `False` for one to minimize.
    """
    return any(key in name.removeprefix("val_") for key in ("acc", "auc", "precision", "recall", "r2"))


def data_loss_name(task: str | None, validation: bool = True) -> str:
    """Returns the name of the loss without weight penalties that a run reports and early stopping watches.

    Args:
        task: `"classification"` (`log_loss`), `"regression"` (`mse`) or `None` (Keras's `loss`).
        validation: Whether the name is that of the validation data (`val_` first).

    Returns:
        The name, e.g. `"val_log_loss"`.
    """
    name = {"classification": "log_loss", "regression": "mse"}.get(task, "loss")
    return f"val_{name}" if validation else name


def scalar_scores(scores: Mapping[str, Any]) -> dict[str, Any]:
    """Returns the one-number scores of a split, in a fixed order.

    Args:
        scores: A dict of `kerasopt.evaluation` scores (or a run's split scores).

    Returns:
        A new dict of those among `rows`, `accuracy`, `balanced_accuracy`, `log_loss`, `roc_auc`,
        `loss`, `rmse`, `mae` and `r2` that `scores` holds.
    """
    return {k: scores[k] for k in _SCALARS if k in scores}


def split_scores(scores: Mapping[str, Any], rows: int) -> dict[str, Any]:
    """Returns one split's scores as a run reports them: its row count first, Keras's penalized `loss` left out.

    Args:
        scores: The scores of one split, e.g. `kerasopt.training.evaluate`'s
            dict (with the `log_loss` or `mse` metric of a table model).
        rows: The number of rows they were computed on.

    Returns:
        A new dict `{"rows": rows, **scores}` without `loss`.
    """
    return {"rows": int(rows), **{k: v for k, v in scores.items() if k not in ("rows", "loss")}}


def early_stopping_warning(epochs: int, patience: int, best_epochs: Sequence[int],
                           stopped_epochs: Sequence[int]) -> str | None:
    """Returns a warning when early stopping never stopped at least half the networks, else `None`.

    Args:
        epochs: The maximum number of epochs (`--epochs`).
        patience: The early stopping's patience (`--patience`).
        best_epochs: Each network's best epoch (1-based).
        stopped_epochs: The epoch each network's training ended at
            (`epochs` for one that early stopping never stopped).

    Returns:
        One line naming `--epochs`, or `None`.
    """
    ran_all = sum(int(e) >= epochs for e in stopped_epochs)
    count = len(stopped_epochs)
    if count == 0 or 2 * ran_all < count:
        return None
    best = sorted(int(e) for e in best_epochs)[len(best_epochs) // 2]
    if count == 1:
        what = f"early stopping never stopped the network: it ran all {epochs} epochs (best epoch {best} of {epochs})"
    else:
        what = (f"early stopping never stopped {ran_all} of {count} networks: they ran all {epochs} epochs "
                f"(median best epoch {best} of {epochs})")
    if patience >= epochs:
        return (f"{what}; --patience {patience} is not shorter than --epochs {epochs}, so it cannot stop "
                f"{'it' if count == 1 else 'them'}: raise --epochs (e.g. --epochs {2 * max(epochs, patience)}) "
                "or lower --patience")
    return f"{what}; the scores may still be improving: raise --epochs (e.g. --epochs {2 * epochs})"


def small_rows_warnings(metrics: Mapping[str, Mapping[str, Any]], out_of_fold: bool = False) -> list[str]:
    """Returns one warning per validation, out-of-fold or test split whose scores rest on fewer than `SMALL_ROWS` rows.

    Args:
        metrics: `{split: scores}` with each split's `rows`.
        out_of_fold: Whether `validation` holds out-of-fold scores.

    Returns:
        A list of lines (empty when every such split is large enough).
    """
    lines = []
    for split in ("validation", "test"):
        rows = metrics.get(split, {}).get("rows")
        name = "out-of-fold" if split == "validation" and out_of_fold else split
        line = None if rows is None else few_rows_warning(name, rows)
        if line:
            lines.append(line)
    return lines


def few_rows_warning(name: str, rows: int) -> str | None:
    """Returns a warning when scores named `name` (e.g. `"test"`) rest on fewer than `SMALL_ROWS` rows, else `None`."""
    if rows >= SMALL_ROWS:
        return None
    return (f"the {name} scores rest on {rows} rows (fewer than {SMALL_ROWS}): each row is "
            f"{100 / max(rows, 1):.0f}% of them, so treat them as rough")


def summary_lines(summary: Mapping[str, Any], out_of_fold: bool = False) -> list[str]:
    """Returns the score lines `kerasopt train` prints: one per split with its row count, then the penalty.

    Args:
        summary: `kerasopt.pipeline.run_training`'s summary (`metrics`,
            `scores`, `penalty`).
        out_of_fold: Whether `validation` holds out-of-fold scores.

    Returns:
        A list of lines, e.g. `"  test (40 rows)    accuracy 0.9750, log_loss 0.0912"`.
    """
    lines = []
    for split, values in summary["metrics"].items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float) and k != "rows")
        if split == "test" and "balanced_accuracy" in summary.get("scores", {}):
            shown += f", balanced_accuracy {summary['scores']['balanced_accuracy']:.4f}"
        label = "out-of-fold" if split == "validation" and out_of_fold else split
        head = f"{label} ({values.get('rows', '?')} rows)"
        lines.append(f"  {head:<22} {shown}")
    if summary.get("penalty") is not None:
        whose = "the networks' mean weight penalty" if out_of_fold else "the saved network's weight penalty"
        lines.append(f"  {'penalty':<22} {summary['penalty']:.4f} ({whose}, not part of the scores above)")
    return lines

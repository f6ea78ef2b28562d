"""Scores of predictions against true targets, in the original labels, with their figures.

`kerasopt evaluate` and the run directory's metrics use these: accuracy,
balanced accuracy, log loss, per-class precision / recall / F1, a confusion
matrix (and ROC AUC for two classes) for classification; RMSE, MAE and R^2
with a residual plot for regression. All computed by `sklearn.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as sk

__all__ = [
    "classification_scores",
    "regression_scores",
    "format_scores",
    "plot_confusion_matrix",
    "plot_residuals",
    "scores_and_figure",
    "target_scores",
]


def classification_scores(y_true: Sequence, y_pred: Sequence, proba: np.ndarray | None = None,
                          classes: Sequence | None = None) -> dict[str, Any]:
    """Scores class predictions.

    Args:
        y_true: True labels, in the original values (strings, integers, ...).
        y_pred: Predicted labels, same values.
        proba: Optional probabilities `(rows, len(classes))`; adds `log_loss` (and binary `roc_auc`).
        classes: Every class in output order (default: the sorted labels seen).

    Returns:
        A JSON-ready dict: `rows`, `accuracy`, `balanced_accuracy`, optional `log_loss` and
        `roc_auc`, `per_class`, `classes` and `confusion_matrix` (rows: true class).
    """
    y_true, y_pred = (pd.Series(np.asarray(v)).infer_objects().to_numpy() for v in (y_true, y_pred))
    if classes is None:
        classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes]  # as JSON writes them
    scores: dict[str, Any] = {
        "rows": int(len(y_true)),
        "accuracy": float(sk.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(sk.balanced_accuracy_score(y_true, y_pred)),
    }
    if proba is not None:
        proba = np.asarray(proba, dtype="float64")
        proba = proba / proba.sum(axis=1, keepdims=True)  # float32 softmax sums to 1 only within 1e-7
        scores["log_loss"] = float(sk.log_loss(y_true, proba, labels=classes))
        if len(classes) == 2 and len(set(y_true.tolist())) == 2:
            scores["roc_auc"] = float(sk.roc_auc_score(y_true == classes[1], proba[:, 1]))
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0)
    scores["per_class"] = {
        str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for c, p, r, f, s in zip(classes, precision, recall, f1, support)}
    scores["classes"] = classes
    scores["confusion_matrix"] = sk.confusion_matrix(y_true, y_pred, labels=classes).tolist()
    return scores


def regression_scores(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, Any]:
    """Scores continuous predictions.

    Args:
        y_true: True values.
        y_pred: Predicted values.

    Returns:
        `{"rows", "rmse", "mae", "r2"}`.
    """
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64").reshape(y_true.shape)
    return {"rows": int(len(y_true)),
            "rmse": float(np.sqrt(sk.mean_squared_error(y_true, y_pred))),
            "mae": float(sk.mean_absolute_error(y_true, y_pred)),
            "r2": float(sk.r2_score(y_true, y_pred))}


def target_scores(target, truth: Sequence, outputs: np.ndarray) -> dict[str, Any]:
    """Scores a model's outputs against the true targets, in the original labels.

    Args:
        target: The `kerasopt.tabular.TargetInfo` of the model, which decodes its outputs.
        truth: True labels in their original values (not class indices: see
            `TargetInfo.labels`), or true values of a regression target.
        outputs: The model's outputs: class probabilities `(rows, len(target.classes))`,
            or values in the target's units (`(rows,)` or `(rows, 1)`).

    Returns:
        `classification_scores` (with `log_loss`) of the decoded labels for a
        classification target, else `regression_scores`.
    """
    if target.task == "classification":
        return classification_scores(truth, target.decode(outputs), outputs, target.classes)
    return regression_scores(truth, outputs)


def format_scores(scores: dict[str, Any]) -> str:
    """Returns the scores as lines of text for a terminal."""
    from kerasopt.signals import scalar_scores

    lines = [f"{'rows':<18} {scores['rows']}"]
    lines += [f"{k:<18} {v:.4f}" for k, v in scalar_scores(scores).items() if k not in ("rows", "loss")]
    if "per_class" in scores:
        width = max(5, *(len(c) for c in scores["per_class"]))
        lines.append(f"{'class':<{width}}  precision  recall      f1  support")
        for label, s in scores["per_class"].items():
            lines.append(f"{label:<{width}}  {s['precision']:9.4f}  {s['recall']:6.4f}  {s['f1']:6.4f}  "
                         f"{s['support']:7d}")
    return "\n".join(lines)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence, title: str | None = None) -> Figure:
    """Draws a confusion matrix (rows: true class, columns: predicted class) with counts.

    Args:
        matrix: Square matrix of counts.
        classes: Class labels in matrix order.
        title: Optional title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    size = max(3.6, 0.55 * len(classes) + 2.4)
    figure = Figure(figsize=(size + 0.8, size))
    ax = figure.subplots()
    sk.ConfusionMatrixDisplay(np.asarray(matrix), display_labels=[str(c) for c in classes]).plot(
        ax=ax, colorbar=False, values_format="d")
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def plot_residuals(y_true: Sequence[float], y_pred: Sequence[float], title: str | None = None) -> Figure:
    """Draws predicted against true values and the residuals against the predictions.

    Args:
        y_true: True values.
        y_pred: Predicted values.
        title: Optional title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64").reshape(y_true.shape)
    figure = Figure(figsize=(9, 3.8))
    left, right = figure.subplots(1, 2)
    sk.PredictionErrorDisplay(y_true=y_true, y_pred=y_pred).plot(ax=left, kind="actual_vs_predicted")
    sk.PredictionErrorDisplay(y_true=y_true, y_pred=y_pred).plot(ax=right, kind="residual_vs_predicted")
    left.set_title("predicted vs true")
    right.set_title("residuals")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def scores_and_figure(y_true: Sequence, y_pred: Sequence, proba: np.ndarray | None, classes: Sequence | None,
                      title: str | None = None) -> tuple[dict[str, Any], Figure]:
    """Returns the scores and their figure: a confusion matrix with `classes`, else a residual plot.

    Args:
        y_true: True labels or values.
        y_pred: Predicted labels or values.
        proba: Class probabilities, one column per class (classification), or `None`.
        classes: The class labels, or `None` for a regression.
        title: Optional figure title.

    Returns:
        `(classification_scores or regression_scores, Figure)`.
    """
    if classes is not None:
        scores = classification_scores(y_true, y_pred, proba, classes)
        return scores, plot_confusion_matrix(scores["confusion_matrix"], scores["classes"], title=title)
    return regression_scores(y_true, y_pred), plot_residuals(y_true, y_pred, title=title)

import numpy as np
import pytest

from kerasopt import evaluation


def test_classification_scores_speak_in_the_original_labels():
    y_true = ["cat", "cat", "dog", "dog", "emu", "emu"]
    y_pred = ["cat", "dog", "dog", "dog", "emu", "cat"]
    scores = evaluation.classification_scores(y_true, y_pred, classes=["cat", "dog", "emu"])
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["balanced_accuracy"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert scores["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert scores["per_class"]["dog"] == {"precision": pytest.approx(2 / 3), "recall": 1.0,
                                          "f1": pytest.approx(0.8), "support": 2}
    assert "log_loss" not in scores and "roc_auc" not in scores


def test_binary_scores_add_log_loss_and_auc():
    y_true = np.array([-1, -1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.35, 0.65], [0.2, 0.8]])
    y_pred = np.where(proba[:, 1] > 0.5, 1, -1)
    scores = evaluation.classification_scores(y_true, y_pred, proba, classes=[-1, 1])
    assert scores["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 positive-negative pairs are ordered
    expected = -np.mean(np.log([0.9, 0.3, 0.65, 0.8]))
    assert scores["log_loss"] == pytest.approx(expected)
    assert scores["classes"] == [-1, 1] and all(type(c) is int for c in scores["classes"])


def test_regression_scores_from_their_formulas():
    scores = evaluation.regression_scores([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 5.0])
    assert scores["mae"] == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    assert scores["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert scores["r2"] == pytest.approx(1 - 2.25 / 5)


def test_target_scores_decode_the_model_outputs_with_the_target():
    from kerasopt.tabular import TargetInfo

    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.35, 0.65], [0.2, 0.8]])
    target = TargetInfo("classification", classes=[-1, 1])
    assert evaluation.target_scores(target, [-1, -1, 1, 1], proba) == evaluation.classification_scores(
        [-1, -1, 1, 1], [-1, 1, 1, 1], proba, classes=[-1, 1])
    target = TargetInfo("regression", mean=2.5, std=1.1)
    assert evaluation.target_scores(target, [1.0, 2.0, 3.0, 4.0], np.array([[1.5], [2.0], [2.0], [5.0]])) == \
        evaluation.regression_scores([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, 5.0])


def test_format_and_figures():
    scores = evaluation.classification_scores(["a", "b", "b"], ["a", "b", "a"])
    text = evaluation.format_scores(scores)
    assert text.splitlines()[1] == f"{'accuracy':<18} {2 / 3:.4f}"
    figure = evaluation.plot_confusion_matrix(scores["confusion_matrix"], scores["classes"], title="t")
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["a", "b"]
    figure = evaluation.plot_residuals([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    assert len(figure.axes) == 2

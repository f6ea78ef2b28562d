"""What a run reports: data losses apart from the penalty, row counts, and its warnings."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, mean_squared_error

from kerasopt import signals
from kerasopt.callbacks import ProgressLine
from kerasopt.cli import main
from kerasopt.pipeline import run_training

FAST = {"epochs": 4, "hidden_units": [6], "batch_size": 8, "seed": 0, "patience": 2}


def _table(rows=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows),
                          "color": rng.choice(["red", "blue"], size=rows)})
    frame["label"] = np.where(frame["a"] + 0.5 * rng.normal(size=rows) > 0, "yes", "no")
    frame["price"] = 1000.0 + 300.0 * frame["a"] - 100.0 * frame["b"]  # far from standardized units
    return frame


def _l1_penalty(model, l1):
    """The L1 penalty computed from the kernels, independently of Keras's regularizers."""
    return l1 * sum(float(np.abs(np.asarray(w.numpy())).sum()) for w in model.weights if w.path.endswith("/kernel"))


@pytest.mark.parametrize("bagging", [0, 2])
def test_train_loss_is_the_log_loss_of_the_saved_model_without_the_penalty(tmp_path, bagging):
    import keras

    frame = _table().drop(columns="price")
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = {**FAST, "data": str(tmp_path / "t.csv"), "target": "label", "l1": 0.5, "test_split": 0.0,
              "bagging": bagging}
    summary = run_training(config, tmp_path / "run", progress=False)
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # without test rows the saved model trained on every row: refit (bagging 0) or the folds' pool
    assert metrics["train"]["rows"] == len(frame)
    expected = log_loss(frame["label"], model.predict_proba(frame.drop(columns="label")), labels=model.classes)
    assert metrics["train"]["log_loss"] == pytest.approx(expected, rel=1e-4)
    assert "loss" not in metrics["train"] and "loss" not in metrics["validation"]
    assert summary["metrics"]["train"]["log_loss"] == metrics["train"]["log_loss"]
    # the penalty is reported on its own, and with l1 0.5 it is far from negligible
    assert metrics["penalty"] > 0.1 * metrics["train"]["log_loss"]
    if not bagging:
        assert metrics["penalty"] == pytest.approx(_l1_penalty(model, 0.5), rel=1e-4)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert {"log_loss", "val_log_loss", "penalty", "objective", "val_objective"} <= set(history.columns)
    assert "loss" not in history.columns and "val_loss" not in history.columns


def test_single_network_history_objective_is_the_data_loss_plus_the_penalty(tmp_path):
    frame = _table().drop(columns="price")
    frame.to_csv(tmp_path / "t.csv", index=False)
    run_training({**FAST, "data": str(tmp_path / "t.csv"), "target": "label", "l1": 0.5, "bagging": 0},
                 tmp_path / "run", progress=False)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    # val_objective (Keras's val_loss) = val_log_loss + the penalty of the weights the epoch ended with
    np.testing.assert_allclose(history["val_objective"], history["val_log_loss"] + history["penalty"], rtol=1e-4)


@pytest.mark.parametrize("bagging", [0, 2])
def test_regression_mse_is_in_the_targets_units(tmp_path, bagging):
    import keras

    frame = _table().drop(columns="label")
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = {**FAST, "data": str(tmp_path / "t.csv"), "target": "price", "l1": 0.5, "test_split": 0.0,
              "bagging": bagging}
    run_training(config, tmp_path / "run", progress=False)
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    expected = mean_squared_error(frame["price"], model.predict_labels(frame.drop(columns="price")))
    assert expected > 1000  # prices in the hundreds: a standardized MSE would be near 1
    assert metrics["train"]["mse"] == pytest.approx(expected, rel=1e-4)
    assert metrics["validation"]["mse"] == pytest.approx(metrics["validation"]["rmse"] ** 2, rel=1e-6)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert history["val_mse"].min() > 1000


def test_bagged_history_is_in_the_targets_units(tmp_path):
    frame = _table().drop(columns="label")
    frame.to_csv(tmp_path / "t.csv", index=False)
    run_training({**FAST, "data": str(tmp_path / "t.csv"), "target": "price", "test_split": 0.0, "bagging": 2,
                  "epochs": 1}, tmp_path / "run", progress=False)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # the members learn the standardized target: the objective is on that scale, the mse in the target's
    assert history["mse"].iloc[0] > 100 * history["objective"].iloc[0]
    # one epoch, two folds of 20 rows: the members' mean validation error is the out-of-fold error
    assert history["val_mse"].iloc[0] == pytest.approx(metrics["validation"]["mse"], rel=1e-4)
    assert history["val_mae"].iloc[0] == pytest.approx(metrics["validation"]["mae"], rel=1e-4)


# ---------------------------------------------------------------------------------------------
# Warnings


def test_early_stopping_warning_names_the_flag_when_most_networks_ran_every_epoch():
    line = signals.early_stopping_warning(300, 50, [300, 298, 120, 300, 290], [300, 300, 170, 300, 300])
    assert line == ("early stopping never stopped 4 of 5 networks: they ran all 300 epochs (median best epoch 298 "
                    "of 300); the scores may still be improving: raise --epochs (e.g. --epochs 600)")
    assert signals.early_stopping_warning(300, 50, [100, 120, 300], [150, 170, 300]) is None
    single = signals.early_stopping_warning(20, 50, [20], [20])
    assert single == ("early stopping never stopped the network: it ran all 20 epochs (best epoch 20 of 20); "
                      "--patience 50 is not shorter than --epochs 20, so it cannot stop it: raise --epochs "
                      "(e.g. --epochs 100) or lower --patience")
    assert signals.early_stopping_warning(20, 5, [12], [17]) is None


def test_small_rows_warnings_below_the_threshold_only():
    metrics = {"train": {"rows": 24}, "validation": {"rows": 30}, "test": {"rows": 6}}
    lines = signals.small_rows_warnings(metrics, out_of_fold=True)
    assert lines == [
        "the out-of-fold scores rest on 30 rows (fewer than 50): each row is 3% of them, so treat them as rough",
        "the test scores rest on 6 rows (fewer than 50): each row is 17% of them, so treat them as rough"]
    assert signals.small_rows_warnings({"test": {"rows": signals.SMALL_ROWS}, "validation": {"rows": 400}}) == []


def test_summary_lines_say_how_many_rows_each_score_rests_on():
    summary = {"metrics": {"train": {"rows": 24, "accuracy": 1.0, "log_loss": 0.125},
                           "test": {"rows": 6, "accuracy": 1.0, "log_loss": 0.25}},
               "scores": {"balanced_accuracy": 1.0}, "penalty": 0.5}
    assert signals.summary_lines(summary) == [
        "  train (24 rows)        accuracy 1.0000, log_loss 0.1250",
        "  test (6 rows)          accuracy 1.0000, log_loss 0.2500, balanced_accuracy 1.0000",
        "  penalty                0.5000 (the saved network's weight penalty, not part of the scores above)"]


def test_cli_warns_on_a_30_row_file_and_records_the_warnings(tmp_path, capsys):
    frame = _table(30).drop(columns="price")
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "t.csv"), "--target", "label", "--out", str(out), "--epochs", "3",
                 "--hidden-units", "4", "--batch-size", "8", "--seed", "0", "--bagging", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "  test (6 rows) " in captured.out and "  out-of-fold (24 rows) " in captured.out
    assert not re.search(r"\bloss \d", captured.out)  # no penalized loss under the name of a loss
    warnings = json.loads((out / "metrics.json").read_text())["warnings"]
    assert [f"warning: {w}" for w in warnings] == captured.err.strip().splitlines()
    assert warnings[0].startswith("early stopping never stopped 2 of 2 networks: they ran all 3 epochs")
    assert "raise --epochs (e.g. --epochs 100) or lower --patience" in warnings[0]  # the default patience is 50
    assert warnings[1:] == ["the out-of-fold scores rest on 24 rows (fewer than 50): each row is 4% of them, "
                            "so treat them as rough",
                            "the test scores rest on 6 rows (fewer than 50): each row is 17% of them, "
                            "so treat them as rough"]
    frame.head(6).to_csv(tmp_path / "six.csv", index=False)
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(tmp_path / "six.csv"),
                 "--out", str(tmp_path / "report")]) == 0
    line = "the evaluation scores rest on 6 rows (fewer than 50): each row is 17% of them, so treat them as rough"
    assert capsys.readouterr().err == f"warning: {line}\n"
    assert json.loads((tmp_path / "report" / "evaluation.json").read_text())["warnings"] == [line]


# ---------------------------------------------------------------------------------------------
# The progress line's time left


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_leaves_the_first_epoch_out_of_the_time_per_epoch():
    line = ProgressLine("early-stopping run", epochs=300, monitor="val_loss", bounded=True)
    # the first epoch traced the model for 1.7 s: no estimate yet, only the time elapsed
    assert line.line(0, {"val_loss": 0.5}, 1.7, 1, first=1.7) == \
        "early-stopping run: epoch 1/300, val_loss 0.5000, 0:02 elapsed"
    # 10 more epochs in 0.2 s: 0.02 s per epoch, 289 epochs at most to go: 5.78 s, not 289 * 0.17 s
    assert line.line(10, {"val_loss": 0.25}, 1.9, 11, first=1.7) == \
        "early-stopping run: epoch 11/300, val_loss 0.2500, 0:02 elapsed, at most 0:06 left"


class _Stoppable:
    stop_training = False


def _shown(stopper, values, model=None) -> list:
    """The fewest epochs left that a progress line shows after each epoch of `values` (the watched `val_loss`)
    reaches `stopper`, then the line."""
    stopper.set_model(model or _Stoppable())
    stopper.on_train_begin()
    line = ProgressLine("run", epochs=100, bounded=True, stopper=stopper)
    shown = []
    for epoch, value in enumerate(values):
        stopper.on_epoch_end(epoch, {"val_loss": value})
        shown.append(line.epochs_to_stop())
        assert shown[-1] == max(0, np.max(stopper.patience - np.asarray(stopper.wait)))
    return shown


def test_progress_line_shows_the_earliest_and_latest_end_of_early_stopping():
    import keras

    values = [0.9, 0.8, 0.85, 0.7, 0.75, 0.76]  # best at the 4th epoch, then two without improvement
    assert _shown(keras.callbacks.EarlyStopping("val_loss", patience=10, mode="min"), values) == [10, 10, 9, 10, 9, 8]
    # 1 s per epoch after the first: at least 8 epochs, at most 94
    line = ProgressLine("run", epochs=100, monitor="val_accuracy", bounded=True)
    assert line.line(5, {"val_accuracy": 0.5}, 12.0, 6, first=7.0, to_stop=8) == \
        "run: epoch 6/100, val_accuracy 0.5000, 0:12 elapsed, 0:08 to 1:34 left"
    assert line.epochs_to_stop() is None  # no stopper: no earliest end


def test_progress_line_tracks_every_member_of_a_stacked_model():
    from kerasopt import stacking

    values = [[1.0, 1.0], [1.1, 0.9], [1.2, 0.95], [0.1, 1.0]]
    model = stacking.build_stacked_model(2, members=2, hidden_units=(4,))
    # member 1 improved at the 2nd epoch; member 0 stopped at the 3rd (2 epochs without improvement): its later
    # improvement no longer counts
    assert _shown(stacking.MemberEarlyStopping("val_loss", patience=2), np.array(values), model) == [2, 2, 1, 0]


def test_progress_line_follows_the_stoppers_min_delta():
    import keras

    from kerasopt import stacking

    # with min_delta 0.1, 0.95 and 0.75 are no improvements: a rule of the line's own would count them
    values = [1.0, 0.95, 0.8, 0.75, 0.74, 0.73]
    assert _shown(keras.callbacks.EarlyStopping("val_loss", patience=3, min_delta=0.1, mode="min"), values) == \
        [3, 2, 3, 2, 1, 0]
    model = stacking.build_stacked_model(2, members=2, hidden_units=(4,))
    stopper = stacking.MemberEarlyStopping("val_loss", patience=3, min_delta=0.1)
    assert _shown(stopper, np.repeat(np.array(values)[:, None], 2, axis=1), model) == [3, 2, 3, 2, 1, 0]


def test_train_stacked_hands_its_early_stopping_to_the_progress_line():
    from kerasopt import stacking

    class Recorded(ProgressLine):
        def line(self, epoch, logs, seconds, done, first=None, to_stop=None):
            self.shown.append((to_stop, self.stopper.patience - np.asarray(self.stopper.wait)))
            return super().line(epoch, logs, seconds, done, first, to_stop)

    x, y = np.random.default_rng(0).normal(size=(40, 2)).astype("float32"), np.arange(40) % 2
    model = stacking.build_stacked_model([x[:30], x[10:]], num_classes=2, hidden_units=(4,), jit_compile=False)
    line = Recorded("bagging", epochs=8, bounded=True, stream=_Tty())
    line.shown = []
    stacking.train_stacked(model, x, y, [np.arange(30), np.arange(10, 40)], [np.arange(30, 40), np.arange(10)],
                           epochs=8, batch_size=8, patience=2, min_delta=0.05, seed=0, callbacks=[line])
    assert isinstance(line.stopper, stacking.MemberEarlyStopping) and line.shown
    assert all(to_stop == max(0, left.max()) for to_stop, left in line.shown)


def test_train_hands_its_early_stopping_to_the_progress_line():
    import keras

    import kerasopt

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    line = ProgressLine("run", epochs=3, bounded=True)
    kerasopt.train(model, x, x[:, 0], validation_split=0.25, epochs=3, patience=1, batch_size=8, callbacks=[line])
    assert isinstance(line.stopper, keras.callbacks.EarlyStopping) and line.epochs_to_stop() in (0, 1)


def test_progress_line_says_when_early_stopping_ended_the_phase():
    stream = _Tty()
    callback = ProgressLine("run", epochs=300, monitor="val_loss", bounded=True, stream=stream)
    callback.on_train_begin()
    for epoch, value in enumerate([0.5, 0.6]):
        callback.on_epoch_end(epoch, {"val_loss": value})
    callback.on_train_end()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith("run: stopped early at epoch 2/300, val_loss 0.6000, done in 0:0")


def test_curves_draw_the_data_loss_and_the_penalty_apart():
    from kerasopt.plotting import plot_history

    history = {"objective": [2.0, 1.5], "log_loss": [0.9, 0.7], "accuracy": [0.5, 0.6], "val_objective": [2.1, 1.6],
               "val_log_loss": [1.0, 0.8], "val_accuracy": [0.4, 0.5], "penalty": [1.1, 0.8],
               "learning_rate": [0.01, 0.01]}
    figure = plot_history(history)
    assert [ax.get_title() for ax in figure.axes] == ["log loss", "accuracy", "penalty", "learning rate"]
    loss_panel = figure.axes[0]
    assert [list(line.get_ydata()) for line in loss_panel.get_lines()] == [[0.9, 0.7], [1.0, 0.8]]


# -- early stopping watches the data loss, not the penalized loss -----------------------------------

@pytest.mark.parametrize("task", ["classification", "regression"])
def test_early_stopping_of_a_table_model_watches_the_data_loss(task):
    import kerasopt
    from kerasopt.training import data_loss

    frame = _table(60)
    y = frame.pop("label") if task == "classification" else frame.pop("price")
    frame = frame.drop(columns=["label", "price"], errors="ignore")
    model = kerasopt.build_model(frame, y, hidden_units=(6,), l1=0.5, seed=0)
    monitor = "val_log_loss" if task == "classification" else "val_mse"
    assert data_loss(model) == monitor and data_loss(model, validation=False) == monitor[4:]
    result = kerasopt.train(model, frame, y, validation_split=0.25, epochs=12, patience=3, batch_size=8, seed=0)
    watched = result.history.history[monitor]
    # restore_best_weights restored the epoch of the lowest data loss, whatever the penalized val_loss did
    assert result.best_epoch == int(np.argmin(watched)) + 1


def test_stacked_members_stop_on_their_own_log_loss():
    from kerasopt import stacking, tabular

    frame = _table(80).drop(columns="price")
    labels = frame.pop("label")
    schema = tabular.infer_schema(frame)
    _, target = tabular.encode_target(labels)
    model = stacking.build_stacked_table_model(schema, 2, target, seed=[1, 2], hidden_units=(6,), l1=0.5,
                                               jit_compile=False)
    rows = np.arange(80)
    train_rows, val_rows = [rows[:60], rows[20:]], [rows[60:], rows[:20]]
    result = stacking.train_stacked(model, stacking.encode_table(schema, frame), stacking.table_targets(target, labels),
                                    train_rows, val_rows, epochs=15, batch_size=8, patience=2,
                                    monitor="val_log_loss", seed=[1, 2])
    watched = result.history["val_log_loss"]
    for k in range(2):
        ran = int(result.stopped_epochs[k])
        assert result.best_epochs[k] == int(np.argmin(watched[:ran, k])) + 1


@pytest.mark.parametrize("name, higher", [
    ("accuracy", True), ("val_accuracy", True), ("balanced_accuracy", True), ("roc_auc", True), ("val_r2", True),
    ("precision", True), ("recall", True), ("val_log_loss", False), ("val_loss", False), ("mse", False),
    ("val_rmse", False), ("val_mae", False), ("objective", False), ("penalty", False)])
def test_higher_is_better(name, higher):
    assert signals.higher_is_better(name) is higher


def test_train_reports_the_epoch_of_the_highest_r2():
    import kerasopt

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=64), "b": rng.normal(size=64)})
    y = frame["a"] * 2.0 + rng.normal(scale=0.1, size=64)
    model = kerasopt.build_model(frame, y, hidden_units=(4,), seed=0)
    result = kerasopt.train(model, frame, y, epochs=6, batch_size=16, early_stopping=False, monitor="val_r2",
                            validation_split=0.25, seed=0)
    r2 = result.history.history["val_r2"]
    assert result.best_epoch == int(np.argmax(r2)) + 1 and int(np.argmax(r2)) != int(np.argmin(r2))

"""What a search ranks trials on: a validation score without the weight penalty; the trials.png it draws."""

import json

import numpy as np
import pandas as pd
import pytest

from kerasopt.tuning import _stacked, report
from kerasopt.tuning._tuner import trial_metrics
from kerasopt.tuning.search import tune

LINEAR = {"num_layers": 0, "optimizer": "adam", "schedule": "constant", "batch_size": 16, "learning_rate": 0.01,
          "l2": 0.0, "dropout": 0.0, "batch_norm": False}


@pytest.fixture
def regression_frame():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["y"] = 1000.0 + 300.0 * frame.a + rng.normal(scale=10.0, size=40)
    return frame


def _runs(val_loss, val_rmse):
    """Two folds' histories as `_stacked` records them; `val_loss` is the data loss plus the penalty."""
    return [{"execution": 0, "fold": f, "best_epoch": 1, "epochs_run": 1,
             "history": {"val_loss": [val_loss], "val_rmse": [val_rmse], "val_mae": [val_rmse / 2],
                         "val_r2": [1 - val_rmse / 1000]}} for f in (0, 1)]


def test_trials_whose_penalty_and_error_disagree_are_ranked_by_error(regression_frame, tmp_path, monkeypatch):
    # The strongly penalized trial (l1 0.5) predicts better (RMSE 50) but its penalized loss is the larger
    # (0.1 + a penalty of 5): ranked on the penalized loss, as before, the search would keep the l1 1e-6 trial.
    fake = {0.5: _runs(val_loss=5.1, val_rmse=50.0), 1e-6: _runs(val_loss=0.9, val_rmse=400.0)}

    def population_runs(hypermodel, hps, encoding, folds, executions, seed):
        return [fake[hp.values["l1"]] for hp in hps]

    monkeypatch.setattr(_stacked, "population_runs", population_runs)
    space = {**LINEAR, "l1": {"choices": [1e-6, 0.5]}}
    result = tune(regression_frame, "y", tuner="grid", max_trials=2, epochs=1, cv=2, space=space,
                  out=tmp_path / "s", ensemble=1, test_split=0.0, verbose=0)
    assert result.best["hyperparameters"]["l1"] == 0.5  # the smaller error, the larger penalty
    assert result.best["objective"] == "val_rmse" and result.best["score"] == 50.0
    trials = pd.read_csv(tmp_path / "s" / "trials.csv").set_index("l1")
    assert trials.loc[0.5, "val_rmse"] == 50.0 and trials.loc[1e-6, "val_rmse"] == 400.0
    assert trials.loc[0.5, "val_r2"] == pytest.approx(0.95)
    assert "val_loss" not in trials.columns  # no penalized number in trials.csv


def test_a_regression_search_reports_rmse_and_r2_in_target_units(regression_frame, tmp_path, capsys):
    out = tmp_path / "reg"
    result = tune(regression_frame, "y", tuner="random", max_trials=2, epochs=2, cv=2, space=LINEAR, out=out,
                  ensemble=1)
    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.columns[-6:]) == ["score", "val_rmse", "val_r2", "best_epoch", "epochs_run", "seconds"]
    np.testing.assert_array_equal(trials.score, trials.val_rmse)
    # the target's standard deviation is about 300 and the network is two epochs old: RMSE in target units
    # is of the order of hundreds (on the standardized scale it would be about 1)
    assert (trials.val_rmse > 30).all()
    record = json.loads((out / "history" / "trial_0.json").read_text())
    runs = record["runs"]
    assert record["val_rmse"] == pytest.approx(np.mean([r["history"]["val_rmse"][int(record["best_epoch"]) - 1]
                                                        for r in runs]))
    printed = capsys.readouterr().out
    assert "trial 0: val_rmse" in printed and "(r2 " in printed
    assert "no hyperparameter influence shown: 2 completed trial(s), it needs at least 5" in printed
    assert result.test_metrics  # the default test split, as `kerasopt train`'s: 8 of 40 rows
    assert len(result.trials) == 2


def test_trial_metrics_take_the_objective_at_the_common_epoch():
    runs = [{"epochs_run": 3, "history": {"val_rmse": [3.0, 1.0, 2.0], "val_r2": [0.1, 0.5, 0.3],
                                          "val_mae": [2.0, 0.5, 1.0]}},
            {"epochs_run": 2, "history": {"val_rmse": [2.0, 2.0], "val_r2": [0.2, 0.4], "val_mae": [1.0, 1.5]}}]
    metrics = trial_metrics(runs, "val_mae", "regression", seconds=1.5)
    assert metrics == {"val_mae": 1.0, "val_rmse": 1.5, "val_r2": pytest.approx(0.45), "best_epoch": 2.0,
                       "epochs_run": 2.0, "seconds": 1.5}


def test_summary_lists_tied_trials_in_trial_order():
    frame = pd.DataFrame({"trial_id": [str(i) for i in range(40)], "status": ["COMPLETED"] * 40,
                          "score": [0.25 * (i % 2) for i in range(40)], "best_epoch": [1] * 40, "epochs_run": [2] * 40,
                          "seconds": [1.0] * 40})
    lines = report.summary_table(frame, "val_accuracy").splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["1", "3", "5", "7", "9"]  # as report.html's leaderboard
    assert list(report.ranked(frame, "val_loss").trial_id[:3]) == ["0", "2", "4"]


def test_trials_figure_of_a_small_search(tmp_path):
    frame = pd.DataFrame({"trial_id": ["0", "1", "2"], "status": ["COMPLETED"] * 3, "l1": [0.1, 0.01, 0.001],
                          "score": [0.5, 0.75, 0.625], "best_epoch": [1, 2, 3], "epochs_run": [3, 3, 3],
                          "seconds": [1.0, 1.0, 1.0]})
    figure = report.plot_trials(frame, "val_accuracy", rows=80)
    (ax,) = figure.axes  # no influence panel with 3 trials
    assert "3 completed trial(s), it needs at least 5" in figure._suptitle.get_text()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks) and {0, 1, 2} <= set(ticks)
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]  # trial_id of trials.csv
    assert ax.get_ylabel() == "val_accuracy\n(one step = 1 of 80 held-out rows = 0.0125)"
    assert ax.get_title() == "Score by trial (best and worst 20 rows apart)"  # (0.75 - 0.5) * 80
    more = pd.concat([frame, frame.assign(trial_id=["3", "4", "5"], score=[0.9, 0.2, 0.4])], ignore_index=True)
    assert len(report.plot_trials(more, "val_accuracy").axes) == 2 and report.influence_note(more) == ""

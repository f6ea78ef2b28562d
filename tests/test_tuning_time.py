"""Searches that respect the user's time: the time budget, the status line, TensorBoard logs, quiet TensorFlow."""

import io
import json
import logging

import pandas as pd
import pytest

from kerasopt.cli import main
from kerasopt.tuning import report
from kerasopt.tuning.search import tune

TINY = {"num_layers": 0, "optimizer": "adam", "schedule": "constant", "batch_size": [16, 32]}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_tiny_time_budget_runs_exactly_one_trial_then_finalizes(tiny_csv, tmp_path):
    out = tmp_path / "budget"
    result = tune(tiny_csv, target="price_range", tuner="random", max_trials=3, epochs=1, cv=None, space=TINY,
                  out=out, time_budget=0.001, ensemble=1, verbose=0)
    assert len(pd.read_csv(out / "trials.csv")) == 1 and result.stopped_by_time_budget
    assert (out / "best_model.keras").exists()  # finalized as usual
    search = json.loads((out / "search.json").read_text())
    assert search["last_run"] == {"time_budget": 0.001, "stopped_by_time_budget": True, "trials": 1}
    # the record is not part of the search's definition: rerunning without a budget resumes it
    again = tune(tiny_csv, target="price_range", tuner="random", max_trials=2, epochs=1, cv=None, space=TINY,
                 out=out, ensemble=1, verbose=0)
    assert len(again.trials) == 2 and not again.stopped_by_time_budget


def test_cli_time_budget_and_tensorboard_hparams(tiny_csv, tmp_path, capsys):
    out, logdir = tmp_path / "cli", tmp_path / "tb"
    assert main(["tune", "--data", str(tiny_csv), "--target", "price_range", "--tuner", "random", "--max-trials", "2",
                 "--epochs", "1", "--cv", "0", "--space", _space(tmp_path), "--out", str(out), "--ensemble", "1",
                 "--time-budget", "1h", "--tensorboard", str(logdir)]) == 0
    assert json.loads((out / "search.json").read_text())["last_run"]["stopped_by_time_budget"] is False
    runs = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    assert runs == ["trial_0", "trial_1"]
    for run in runs:
        assert list((logdir / run).glob("events.out.tfevents.*"))
    assert list(logdir.glob("events.out.tfevents.*"))  # the HParams configuration
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir / "trial_0"), size_guidance={"tensors": 0}).Reload()
    assert {"val_accuracy", "seconds", "_hparams_/session_start_info"} <= set(events.Tags()["tensors"])


def _space(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(TINY))
    return str(path)


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("5m", 300), ("1h", 3600), ("2.5", 2.5), ("1.5H", 5400)])
def test_durations(text, seconds):
    from kerasopt.cli import build_parser

    assert build_parser().parse_args(["tune", "--time-budget", text]).time_budget == seconds


@pytest.mark.parametrize("text", ["0", "-5m", "soon", "5d", "inf", ""])
def test_bad_durations_are_one_line_errors(text, capsys):
    with pytest.raises(SystemExit) as e:
        main(["tune", f"--time-budget={text}"])
    assert e.value.code == 2 and "argument --time-budget: Invalid value for `time_budget`: expected a positive " \
        in capsys.readouterr().err


def test_status_line_on_a_terminal_only():
    terminal = _Terminal()
    status = report.StatusLine(4, "val_accuracy", stream=terminal)
    status.trial_started(1)
    status.trial_ended(0.75, {"num_layers": 2, "units_0": 128, "units_1": 64, "activation": "elu",
                              "optimizer": "adam", "learning_rate": 0.003, "dropout": 0.2}, seconds=10.0)
    status.trial_started(2)
    status.trial_ended(0.5, {"num_layers": 0, "optimizer": "sgd", "learning_rate": 0.1}, seconds=20.0)
    text = status.text()
    # the better score is kept; 2 of 4 trials done at 15 s each on average: 2 x 15 s left
    assert text.startswith("trial 2/4, best 0.7500 (128-64 elu, adam lr 3.00e-03, dropout 0.2), 0:00 elapsed")
    assert text.endswith("~0:30 left")
    status.trial_started(3)  # a running trial counts as still to run: 2 x 15 s
    assert status.text().endswith("~0:30 left")
    assert terminal.getvalue().startswith("\rtrial 1/4")
    status.clear()
    assert terminal.getvalue().endswith("\r")
    status.announce("retraining")
    assert terminal.getvalue().endswith("\rretraining\n")
    log = io.StringIO()  # not a terminal: nothing is written
    quiet = report.StatusLine(4, "val_loss", stream=log)
    quiet.trial_started(1)
    quiet.trial_ended(0.3, {}, 1.0)
    quiet.trial_ended(0.1, {}, 1.0)
    assert log.getvalue() == "" and quiet.best[0] == 0.1  # losses: lower is better


def test_status_line_time_left_is_bounded_by_the_budget():
    status = report.StatusLine(10, "val_accuracy", budget=30.0, stream=io.StringIO())
    status.trial_started(1)
    status.trial_ended(0.5, {}, seconds=60.0)
    assert status.text().endswith("~0:30 left")


def test_the_retracing_warning_is_dropped_and_nothing_else():
    from kerasopt._quiet import quiet_retracing

    logger = logging.getLogger("tensorflow")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        with quiet_retracing():
            logger.warning("5 out of the last 13 calls to <function f> triggered tf.function retracing. Tracing")
            logger.warning("something else")
        logger.warning("after: 5 out of the last 5 calls triggered tf.function retracing.")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage()[:6] for r in records] == ["someth", "after:"]


def test_a_search_on_a_terminal_shows_its_status_and_quiet_is_quiet(tiny_csv, tmp_path, monkeypatch):
    import sys

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    tune(tiny_csv, target="price_range", tuner="random", max_trials=2, epochs=1, cv=None, space=TINY,
         out=tmp_path / "t", ensemble=2, verbose=1)
    shown = terminal.getvalue()
    assert "\rtrial 1/2, 0:0" in shown and "\rtrial 2/2, best " in shown
    assert "retraining trial " in shown and "retraining 2 seeds: epoch 1/1, done in " in shown  # stacked: at once
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    tune(tiny_csv, target="price_range", tuner="random", max_trials=1, epochs=1, cv=None, space=TINY,
         out=tmp_path / "q", ensemble=1, verbose=0)
    assert quiet.getvalue() == ""

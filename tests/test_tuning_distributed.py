"""The distributed launcher on loopback: a chief and two workers, bounded in time, always cleaned up."""

import json
import os
import pathlib

import pandas as pd
import pytest

from kerasopt.tuning.search import tune

# Puts tests/fault_injection/sitecustomize.py into every process the launcher starts.
FAULTS = pathlib.Path(__file__).parent / "fault_injection"
FAULT_ENV = "KERASOPT_TEST_FAULT"

SPACE = {"num_layers": 0, "optimizer": "adam", "schedule": "constant", "batch_size": [16, 32]}


def _log(out):
    return [line.split() for line in (out / "logs" / "trials.log").read_text().splitlines()]


@pytest.mark.slow  # three processes start TensorFlow: end to end, like the two tests below
def test_two_workers_run_every_trial_once_and_the_chief_exits(tiny_csv, tmp_path, capsys):
    out = tmp_path / "dist"
    data = tmp_path / "comma.csv"  # a column name with a comma reaches the workers (a flag cannot carry it)
    pd.read_csv(tiny_csv).rename(columns={"wifi": "wifi, yes/no"}).to_csv(data, index=False)
    result = tune(data, target="price_range", tuner="random", max_trials=3, epochs=1, space=SPACE, out=out,
                  workers=2, timeout=240, drop=["wifi, yes/no"])
    ends = sorted(line[1] for line in _log(out) if line[0] == "end")
    assert ends == ["0", "1", "2"]
    exits = json.loads((out / "logs" / "exit_codes.json").read_text())
    assert exits["codes"] == {"chief": 0, "worker0": 0, "worker1": 0}
    assert exits["restarts"] == {"worker0": 0, "worker1": 0}
    # the results are collected as in a single-process run
    assert len(result.trials) == 3 and set(result.trials.status) == {"COMPLETED"}
    assert (out / "best_model.keras").exists() and (out / "trials.png").exists()
    assert capsys.readouterr().out.count("] trial ") == 3  # a progress line per trial


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_restarted_and_nothing_is_lost(tiny_csv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "dist"
    marker = tmp_path / "crashed"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAULTS), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv(FAULT_ENV, f"worker0:{marker}")  # worker0 dies after epoch 1 of its first trial
    result = tune(tiny_csv, target="price_range", tuner="random", max_trials=3, epochs=2, space=SPACE, out=out,
                  workers=2, timeout=300)
    assert marker.exists()
    log = _log(out)
    ends = sorted(line[1] for line in log if line[0] == "end")
    assert ends == ["0", "1", "2"]  # every trial finished exactly once
    crashed = next(line[1] for line in log if line[0] == "start" and line[2] == "worker0")
    assert [line[2] for line in log if line[0] == "start" and line[1] == crashed] == ["worker0", "worker0"]
    exits = json.loads((out / "logs" / "exit_codes.json").read_text())
    assert exits["restarts"]["worker0"] == 1 and exits["codes"]["chief"] == 0
    assert "restarting it with the same id" in capsys.readouterr().out
    assert set(pd.read_csv(out / "trials.csv").status) == {"COMPLETED"} and len(result.trials) == 3


@pytest.mark.slow
def test_the_time_budget_holds_across_processes(tiny_csv, tmp_path):
    out = tmp_path / "budget"
    result = tune(tiny_csv, target="price_range", tuner="random", max_trials=4, epochs=1, space=SPACE, out=out,
                  workers=2, timeout=240, time_budget=0.001, ensemble=1, verbose=0)
    # the chief's oracle starts the first trial, then no other
    assert [line[1] for line in _log(out) if line[0] == "end"] == ["0"]
    assert len(result.trials) == 1 and result.stopped_by_time_budget
    assert json.loads((out / "logs" / "exit_codes.json").read_text())["codes"] == {"chief": 0, "worker0": 0,
                                                                                  "worker1": 0}

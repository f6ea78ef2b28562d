"""Population search: trials that differ only in learning rate, penalties and dropout train as one stacked model."""

import json

import numpy as np
import pytest

from kerasopt import stacking
from kerasopt.cli import main
from kerasopt.data import make_phone_data
from kerasopt.errors import ArgumentError
from kerasopt.tuning import search
from kerasopt.tuning.search import tune

RATES = [0.003, 0.01, 0.03]
SPACE = {"num_layers": 1, "units": 8, "activation": "relu", "l1": 0.0, "l2": 0.0, "dropout": 0.0, "batch_norm": False,
         "schedule": "constant", "optimizer": "momentum", "momentum": 0.9, "batch_size": 16, "learning_rate": RATES}


@pytest.fixture
def frame():
    return make_phone_data(40, seed=3)


@pytest.fixture
def builds(monkeypatch):
    """The member counts of the stacked models the search builds."""
    counts = []
    real = stacking.build_stacked_table_model

    def spy(schema, members, target, **kwargs):
        counts.append((members, "population" in kwargs))
        return real(schema, members, target, **kwargs)

    monkeypatch.setattr(stacking, "build_stacked_table_model", spy)
    return counts


def _trials(out):
    records = [json.loads(p.read_text()) for p in sorted((out / "history").glob("trial_*.json"))]
    # the trial's mean penalized validation loss at its epoch: continuous, unlike its accuracy
    return {r["trial_id"]: (r["hyperparameters"], float(np.mean([run["history"]["val_log_loss"][
        int(r["best_epoch"]) - 1] for run in r["runs"]])), r["best_epoch"]) for r in records}


def _search(frame, out, **kwargs):
    options = {"tuner": "grid", "max_trials": 9, "epochs": 3, "patience": 2, "cv": 2, "space": SPACE,
               "verbose": 0, "finalize": False}
    return tune(frame, "price_range", out=out, **{**options, **kwargs})


def test_a_population_scores_every_trial_as_it_scores_alone(frame, tmp_path, builds):
    _search(frame, tmp_path / "one", population=1)
    alone = list(builds)
    builds.clear()
    _search(frame, tmp_path / "pop", population=8)
    assert alone == [(2, False)] * 3  # one model per trial (its 2 folds)
    assert builds == [(6, True)]  # one model for the 3 trials x 2 folds
    one, pop = _trials(tmp_path / "one"), _trials(tmp_path / "pop")
    assert sorted(one) == sorted(pop) == ["0", "1", "2"]
    assert sorted(h["learning_rate"] for h, _, _ in one.values()) == RATES
    for trial_id, (values, loss, epoch) in one.items():
        assert pop[trial_id][0] == values and pop[trial_id][2] == epoch
        assert pop[trial_id][1] == pytest.approx(loss, rel=1e-5, abs=1e-6)
    record = json.loads((tmp_path / "pop" / "history" / "trial_1.json").read_text())
    assert record["population"] == 3


def test_trials_with_other_layer_sizes_are_not_stacked_together(frame, tmp_path, builds):
    space = {**SPACE, "units": [4, 8], "learning_rate": [0.01, 0.03]}
    _search(frame, tmp_path / "s", space=space, population=4)
    assert sorted(builds) == [(4, True), (4, True)]  # units 4 (two rates), units 8 (two rates)
    trials = _trials(tmp_path / "s")
    assert sorted((h["units_0"], h["learning_rate"]) for h, _, _ in trials.values()) == \
        [(4, 0.01), (4, 0.03), (8, 0.01), (8, 0.03)]


def test_max_trials_caps_the_population(frame, tmp_path, builds):
    _search(frame, tmp_path / "s", max_trials=2, population=8)
    assert builds == [(4, True)] and len(_trials(tmp_path / "s")) == 2


def test_no_population_starts_past_the_time_budget(frame, tmp_path, builds):
    # The first request after the deadline is answered; the budget is spent before the second.
    _search(frame, tmp_path / "s", population=2, time_budget=1e-6)
    assert builds == [(2, False)] and len(_trials(tmp_path / "s")) == 1


def test_a_killed_population_resumes_its_unfinished_trials(frame, tmp_path, builds):
    out = tmp_path / "s"
    real = stacking.train_stacked

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    stacking.train_stacked = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            _search(frame, out, population=8)
    finally:
        stacking.train_stacked = real
    builds.clear()
    _search(frame, out, population=2)  # resumed with a smaller population: every trial runs once
    assert sorted(builds) == [(2, False), (4, True)]
    assert sorted(_trials(out)) == ["0", "1", "2"]


def test_a_resumed_grid_search_runs_the_combinations_not_tried_yet(frame, tmp_path, builds):
    out = tmp_path / "s"
    _search(frame, out, max_trials=2, population=1)
    builds.clear()
    _search(frame, out, max_trials=3, population=8)  # KerasTuner's own grid oracle would stop at once
    assert builds == [(2, False)]
    assert sorted(h["learning_rate"] for h, _, _ in _trials(out).values()) == RATES


def test_default_population_per_tuner():
    assert search.DEFAULT_POPULATION == {"grid": 8, "random": 8, "bayesian": 1, "hyperband": 1}


@pytest.mark.parametrize("value", [-1, 1.5, "4", True])
def test_bad_population_names_the_argument(frame, tmp_path, value):
    with pytest.raises(ArgumentError, match=r"Invalid value for `population`.*Received: population="):
        _search(frame, tmp_path / "s", population=value)


def test_cli_population_reaches_tune(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(search, "tune", fake)
    (tmp_path / "x.csv").write_text("a,y\n1,0\n2,1\n")  # the command line reads it before calling tune
    with pytest.raises(SystemExit):
        main(["tune", "--data", str(tmp_path / "x.csv"), "--target", "y", "--population", "5",
              "--out", str(tmp_path / "o")])
    assert seen["population"] == 5


def test_cli_bad_population_is_one_line(tmp_path, capsys):
    frame = make_phone_data(30, seed=1)
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(SystemExit) as info:
        main(["tune", "--data", str(tmp_path / "d.csv"), "--target", "price_range", "--population", "-2",
              "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and "population" in err[0] and "Traceback" not in err[0]

"""Stacked trials (how `kerasopt tune` trains) against `train_stacked`, and the options handed to workers."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasopt import stacking
from kerasopt.cli import main
from kerasopt.data import make_phone_data
from kerasopt.errors import ArgumentError
from kerasopt.tuning import search
from kerasopt.tuning._tuner import common_epoch_scores
from kerasopt.tuning.search import tune

SPACE = {"num_layers": 1, "units": 8, "dropout": 0.0, "batch_norm": False, "schedule": "constant",
         "optimizer": "adam", "batch_size": 16, "learning_rate": 0.01}

LOAD = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import kerasopt, keras
import numpy as np, pandas as pd
model = keras.saving.load_model("best_model.keras")
np.save("loaded.npy", model.predict(pd.read_csv("rows.csv"), verbose=0))
"""


@pytest.fixture
def mixed_csv(tmp_path):
    """80 phone-like rows with a string column and gaps."""
    frame = make_phone_data(80, seed=5)
    rng = np.random.default_rng(0)
    frame.insert(0, "color", rng.choice(["red", "green", "blue"], len(frame)))
    frame.loc[rng.random(len(frame)) < 0.1, "ram"] = np.nan
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def spy_train_stacked(monkeypatch):
    calls = []
    real = stacking.train_stacked

    def spy(model, x, y, *rows, **kwargs):
        result = real(model, x, y, *rows, **kwargs)
        calls.append({"rows": rows, "kwargs": kwargs, "result": result, "y": np.asarray(y)})
        return result

    monkeypatch.setattr(stacking, "train_stacked", spy)
    return calls


def test_a_stacked_trial_reports_what_train_stacked_computed(mixed_csv, tmp_path, spy_train_stacked):
    out = tmp_path / "cv"
    tune(mixed_csv, target="price_range", tuner="random", max_trials=1, epochs=6, patience=1, cv=2,
         executions_per_trial=2, space=SPACE, out=out, ensemble=2, test_split=0.0, verbose=0)
    trial, retrain = spy_train_stacked
    record = json.loads((out / "history" / "trial_0.json").read_text())
    runs = record["runs"]
    assert [(r["execution"], r["fold"]) for r in runs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    train_rows, val_rows = trial["rows"]
    for k in range(2):  # the 2 folds: disjoint, and the held-out rows cover the 80 rows once
        assert not set(train_rows[k]) & set(val_rows[k]) and len(train_rows[k]) + len(val_rows[k]) == 80
    assert sorted(np.concatenate(val_rows[:2])) == list(range(80))
    assert [list(r) for r in train_rows[2:]] == [list(r) for r in train_rows[:2]]  # execution 1: the same folds
    assert trial["kwargs"]["seed"] == [0, 0, 1, 1] and trial["kwargs"]["patience"] == 1
    result = trial["result"]
    for k, run in enumerate(runs):  # member k's curves, cut where its early stopping ended it
        stop = result.stopped_epochs[k]
        assert run["epochs_run"] == stop and run["best_epoch"] == result.best_epochs[k]
        assert sorted(run["history"]) == ["val_accuracy", "val_log_loss"]
        assert run["history"]["val_log_loss"] == [float(v) for v in result.history["val_log_loss"][:stop, k]]
        assert run["history"]["val_accuracy"] == [float(v) for v in result.history["val_accuracy"][:stop, k]]
    epoch, scores = common_epoch_scores(runs, "val_log_loss")
    assert (record["best_epoch"], record["val_accuracy"]) == (epoch, scores["val_accuracy"])
    # the final ensemble: 2 members on all 80 rows for the trial's epoch, seeds 0 and 1, no validation
    assert [len(r) for r in retrain["rows"][0]] == [80, 80] and len(retrain["rows"]) == 1
    assert retrain["kwargs"]["epochs"] == epoch and retrain["kwargs"]["seed"] == [0, 1]
    assert retrain["kwargs"]["early_stopping"] is False
    # the stacked run's best_model.keras: an averaging TabularModel that takes raw rows in a fresh process
    folder = out
    rows = pd.read_csv(mixed_csv).drop(columns="price_range")[:6]
    rows.loc[0, "ram"] = np.nan
    rows.loc[1, "color"] = "purple"  # a category never seen
    rows.to_csv(folder / "rows.csv", index=False)
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=folder, capture_output=True, text=True, timeout=120,
                          env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    import keras

    model = keras.saving.load_model(folder / "best_model.keras")
    expected = model.predict(rows, verbose=0)
    assert expected.shape == (6, 4) and np.allclose(expected.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.load(folder / "loaded.npy"), expected, rtol=0, atol=1e-6)
    assert main(["predict", "--model", str(folder / "best_model.keras"), "--data", str(folder / "rows.csv"),
                 "--out", str(folder / "predictions.csv")]) == 0  # `kerasopt predict` reads it as any model
    predictions = pd.read_csv(folder / "predictions.csv")
    assert predictions.price_range.tolist() == expected.argmax(axis=1).tolist()


def test_regression_members_report_metrics_on_the_target_scale(tmp_path, spy_train_stacked):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = 1000.0 + 200.0 * frame.a + rng.normal(scale=50.0, size=60)
    out = tmp_path / "reg"
    tune(frame, target="y", tuner="random", max_trials=1, epochs=3, cv=2, space=SPACE, out=out, ensemble=1,
         test_split=0.0, verbose=0)
    trial = spy_train_stacked[0]
    result, y = trial["result"], trial["y"]
    std = float(frame.y.std(ddof=0))
    np.testing.assert_allclose(y, (frame.y - frame.y.mean()) / std, rtol=0, atol=1e-6)  # the standardized target
    record = json.loads((out / "history" / "trial_0.json").read_text())
    assert record["objective"] == "val_rmse"  # the default of a regression search
    assert trial["kwargs"]["monitor"] == "val_mse"  # early stopping follows the error, not the penalty
    for k, run in enumerate(record["runs"]):
        stop = result.stopped_epochs[k]
        h = {name: np.asarray(v) for name, v in run["history"].items()}
        assert sorted(h) == ["val_mae", "val_r2", "val_rmse"]
        mse = result.history["val_mse"][:stop, k]
        np.testing.assert_allclose(h["val_mae"], result.history["val_mae"][:stop, k] * std, rtol=1e-6)
        np.testing.assert_allclose(h["val_rmse"], np.sqrt(mse) * std, rtol=1e-6)
        z = y[trial["rows"][1][k]].astype("float64")
        np.testing.assert_allclose(h["val_r2"], 1 - mse / np.var(z), rtol=1e-6)


def test_workers_get_the_options_that_define_the_search(tiny_csv, tmp_path, monkeypatch):
    from kerasopt import spec
    from kerasopt.cli import build_parser
    from kerasopt.tuning import distributed

    class Launched(Exception):
        pass

    def fake_launch(args, out, **kwargs):  # the argv every chief and worker process would get
        launched.append(args)
        raise Launched

    launched = []
    monkeypatch.setattr(distributed, "launch", fake_launch)
    out = tmp_path / "p"
    with pytest.raises(Launched):
        tune(tiny_csv, "price_range", tuner="random", max_trials=2, cv=0, categorical=["ram"], test_split=0.1,
             space={"num_layers": 0}, out=out, workers=2, verbose=0, numeric_bins=4, numeric_scaling="robust")
    args = vars(build_parser().parse_args(["tune", *launched[0]]))
    from_file = json.loads(pathlib.Path(args["config"]).read_text())  # the --config file every process reads
    given = {name: args[name] if args[name] is not None else from_file.get(name) for name in spec.DEFINES_SEARCH}
    assert given["cv"] == 0 and given["categorical"] == ["ram"] and given["test_split"] == 0.1
    assert given["space"] == os.path.join(str(out), "logs", "space.json")  # the resolved space, as a file
    assert json.loads((out / "logs" / "space.json").read_text())["num_layers"] == 0
    assert given["objective"] == "val_accuracy" and given["max_trials"] == 2
    # a worker that parses them records the same search as the launcher did in search.json
    recorded = json.loads((out / "search.json").read_text())
    assert (given["numeric_bins"], given["numeric_scaling"]) == (4, "robust")  # every process encodes alike
    for name in ("tuner", "executions_per_trial", "objective", "cv", "patience", "seed", "test_split", "target",
                 "categorical", "numeric_bins", "numeric_scaling"):
        assert given[name] == recorded[name], name
    assert recorded["data"] == given["data"] == os.path.abspath(tiny_csv)


@pytest.mark.parametrize("flags", [["--sequential"], ["--objective", "val_loss"]])
def test_removed_options_are_refused(flags, capsys):
    with pytest.raises(SystemExit) as info:
        main(["tune", "--data", "x.csv", "--target", "y", *flags])
    assert info.value.code == 2


def test_cli_and_config_reach_tune(monkeypatch, tmp_path):
    seen = {}

    def fake_tune(data, target, config=None, **kwargs):
        seen.update(data=data, target=target, config=config, **kwargs)
        return search.TuneResult(str(tmp_path), pd.DataFrame())

    monkeypatch.setattr(search, "tune", fake_tune)
    config = tmp_path / "search.yaml"
    config.write_text("max_trials: 4\ntuner: grid\n")
    data = tmp_path / "x.csv"
    data.write_text("a,y\n1,0\n2,1\n")  # the command line reads it before calling tune
    assert main(["tune", "--data", str(data), "--target", "y", "--config", str(config), "--max-trials", "2",
                 "--no-finalize", "--cv", "0"]) == 0
    assert seen == {"data": str(data), "target": "y", "config": str(config), "max_trials": 2, "finalize": False,
                    "cv": 0, "overwrite": False, "verbose": 1}


def test_the_default_output_folder_and_test_split_follow_train(tiny_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArgumentError, match="objective"):  # a bad option: refused before anything is written
        tune(tiny_csv, "price_range", objective="val_rmse")
    assert not os.path.exists("runs")
    result = tune(tiny_csv, "price_range", tuner="random", max_trials=1, epochs=2, cv=0, space=SPACE, baseline=False,
                  verbose=0)
    assert result.out_dir == os.path.join("runs", "tiny-tune")  # train writes runs/tiny
    # the default test split of `kerasopt train`: 16 of the 80 rows are held out
    assert result.test_metrics["rows"] == 16


def test_a_search_recorded_before_an_option_existed_resumes(tiny_csv, tmp_path):
    out = str(tmp_path / "search")
    options = dict(tuner="random", max_trials=1, epochs=2, cv=0, space=SPACE, baseline=False, verbose=0, out=out)
    tune(tiny_csv, "price_range", **options)
    marker = tmp_path / "search" / "search.json"
    recorded = json.loads(marker.read_text())
    assert (recorded.pop("label_smoothing"), recorded.pop("numeric_embedding")) == (0.0, "none")
    marker.write_text(json.dumps(recorded))  # as a search of a release before these options recorded it
    assert tune(tiny_csv, "price_range", **options).out_dir == out  # ran without smoothing: the same search
    marker.write_text(json.dumps(recorded))
    with pytest.raises(search.OutputExistsError, match=r"label_smoothing: 0\.0 -> 0\.1"):
        tune(tiny_csv, "price_range", label_smoothing=0.1, **options)
    with pytest.raises(search.OutputExistsError, match=r"numeric_embedding: 'none' -> 'periodic'"):
        tune(tiny_csv, "price_range", numeric_embedding="periodic", **options)

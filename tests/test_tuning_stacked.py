"""Stacked trials (the default of `kerasopt tune`) against `train_stacked` and the sequential path."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasopt import stacking
from kerasopt.cli import main
from kerasopt.data import make_phone_data
from kerasopt.errors import OutputExistsError
from kerasopt.tuning import search
from kerasopt.tuning._tuner import common_epoch_score
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
         executions_per_trial=2, space=SPACE, out=out, ensemble=2, verbose=0)
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
        assert sorted(run["history"]) == ["val_accuracy", "val_loss"]
        for name in ("val_loss", "val_accuracy"):
            assert run["history"][name] == [float(v) for v in result.history[name][:stop, k]]
    epoch, score = common_epoch_score(runs, "val_accuracy")
    assert (record["best_epoch"], record["val_accuracy"]) == (epoch, score)
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


@pytest.mark.slow
def test_stacked_and_sequential_searches_write_the_same_outputs(mixed_csv, tmp_path):
    records, columns = [], []
    for sequential in (False, True):
        out = tmp_path / f"seq{sequential}"
        result = tune(mixed_csv, target="price_range", tuner="random", max_trials=1, epochs=2, cv=2, space=SPACE,
                      out=out, ensemble=2, test_split=0.25, verbose=0, sequential=sequential)
        records.append(json.loads((out / "history" / "trial_0.json").read_text()))
        columns.append(list(pd.read_csv(out / "trials.csv").columns))
        assert set(result.test_metrics) == {"accuracy", "loss"}
        assert json.loads((out / "search.json").read_text())["training"] == ("sequential" if sequential else
                                                                            "stacked")
    stacked, sequential = records
    assert sorted(stacked) == sorted(sequential) and columns[0] == columns[1]
    assert [sorted(r) for r in stacked["runs"]] == [sorted(r) for r in sequential["runs"]]
    assert set(stacked["runs"][0]["history"]) < set(sequential["runs"][0]["history"])  # no training-set metrics


def test_regression_members_report_metrics_on_the_target_scale(tmp_path, spy_train_stacked):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = 1000.0 + 200.0 * frame.a + rng.normal(scale=50.0, size=60)
    out = tmp_path / "reg"
    tune(frame, target="y", tuner="random", max_trials=1, epochs=3, cv=2, space=SPACE, out=out, ensemble=1,
         verbose=0)
    trial = spy_train_stacked[0]
    result, y = trial["result"], trial["y"]
    std = float(frame.y.std(ddof=0))
    np.testing.assert_allclose(y, (frame.y - frame.y.mean()) / std, rtol=0, atol=1e-6)  # the standardized target
    record = json.loads((out / "history" / "trial_0.json").read_text())
    assert record["objective"] == "val_loss"
    for k, run in enumerate(record["runs"]):
        stop = result.stopped_epochs[k]
        h = {name: np.asarray(v) for name, v in run["history"].items()}
        assert sorted(h) == ["val_loss", "val_mae", "val_r2", "val_rmse"]
        mse = result.history["val_mse"][:stop, k]
        np.testing.assert_allclose(h["val_loss"], result.history["val_loss"][:stop, k])
        np.testing.assert_allclose(h["val_mae"], result.history["val_mae"][:stop, k] * std, rtol=1e-6)
        np.testing.assert_allclose(h["val_rmse"], np.sqrt(mse) * std, rtol=1e-6)
        z = y[trial["rows"][1][k]].astype("float64")
        np.testing.assert_allclose(h["val_r2"], 1 - mse / np.var(z), rtol=1e-6)


def test_an_objective_on_the_training_rows_runs_sequentially_and_says_so(tiny_csv, tmp_path, capsys):
    def plan(objective):
        return search._prepare(tiny_csv, "price_range", task=None, categorical=(), numeric=(), drop=(),
                               tuner="random", max_trials=1, executions_per_trial=1, objective=objective, cv=2,
                               space=None, seed=0, out=str(tmp_path / "p"), epochs=1, patience=1,
                               validation_split=0.2, test_split=0.0, baselines=False)

    stacked = plan("val_loss")
    assert stacked.fingerprint["training"] == "stacked" and "--sequential" not in stacked.cli_args
    assert capsys.readouterr().out == ""
    fallback = plan("accuracy")
    assert fallback.fingerprint["training"] == "sequential"
    assert fallback.cli_args[-1] == "--sequential"  # the distributed workers train the same way
    assert capsys.readouterr().out.strip() == ("note: stacked trials compute val_accuracy, val_loss; the objective "
                                               "accuracy trains the trials one by one (--sequential).")


def test_a_search_resumes_only_the_way_it_trained(tmp_path):
    out = str(tmp_path / "r")
    fingerprint = {"data": "d", "target": "t", "tuner": "random"}
    search._prepare_out_dir(out, {**fingerprint, "training": "stacked"}, overwrite=False, role=None)
    with pytest.raises(OutputExistsError, match="holds a different search .training: 'stacked' -> 'sequential'"):
        search._prepare_out_dir(out, {**fingerprint, "training": "sequential"}, overwrite=False, role=None)
    # a search.json written before stacked trials existed: its trials ran sequentially
    with open(os.path.join(out, "search.json"), "w", encoding="utf-8") as f:
        json.dump(fingerprint, f)
    search._prepare_out_dir(out, {**fingerprint, "training": "sequential"}, overwrite=False, role=None)
    with pytest.raises(OutputExistsError, match="training: 'sequential' -> 'stacked'"):
        search._prepare_out_dir(out, {**fingerprint, "training": "stacked"}, overwrite=False, role=None)


@pytest.mark.parametrize("flags, expected", [([], False), (["--sequential"], True)])
def test_cli_sequential_reaches_tune(monkeypatch, tmp_path, flags, expected):
    seen = {}

    def fake_tune(*args, **kwargs):
        seen.update(kwargs)
        return search.TuneResult(str(tmp_path), pd.DataFrame())

    monkeypatch.setattr(search, "tune", fake_tune)
    (tmp_path / "x.csv").write_text("a,y\n1,0\n2,1\n")  # the command line reads it before calling tune
    assert main(["tune", "--data", str(tmp_path / "x.csv"), "--target", "y", "--out", str(tmp_path / "o"),
                 *flags]) == 0
    assert seen["sequential"] is expected


def test_sequential_must_be_a_bool(tiny_csv, tmp_path):
    with pytest.raises(ValueError, match="Invalid value for `sequential`: expected True or False. "
                                         "Received: sequential='yes'"):
        tune(tiny_csv, target="price_range", sequential="yes", out=tmp_path / "b")
    assert not (tmp_path / "b").exists()

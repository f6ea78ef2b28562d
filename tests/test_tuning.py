"""`kerasopt.tune` end to end on tiny data: tuners, batch size, k-fold, resume, bad input, CLI."""

import json

import keras
import numpy as np
import pandas as pd
import pytest


from kerasopt.cli import main
from kerasopt.data import make_phone_data
from kerasopt.errors import ArgumentError, ConfigError
from kerasopt.tuning import search
from kerasopt.tuning.search import tune

SMALL = {"num_layers": [0, 1], "units": 8, "dropout": 0.0, "batch_norm": False, "schedule": "constant",
         "optimizer": ["adam", "momentum"], "batch_size": [16, 32]}


def _log(out):
    return (out / "logs" / "trials.log").read_text().split("\n")


def _ends(out):
    return [line.split()[1] for line in _log(out) if line.startswith("end ")]


def test_random_search_writes_every_output(tiny_csv, tmp_path, capsys):
    out = tmp_path / "run"  # the default objective: 3-fold cross-validation
    result = tune(tiny_csv, target="price_range", tuner="random", max_trials=2, epochs=2, space=SMALL, out=out,
                  test_split=0.25)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and set(trials.status) == {"COMPLETED"}
    assert {"num_layers", "optimizer", "learning_rate", "batch_size", "epochs", "score", "best_epoch",
            "epochs_run", "seconds"} <= set(trials.columns)
    assert trials.epochs_run.between(1, 2).all() and trials.best_epoch.between(1, 2).all()
    for trial_id in trials.trial_id.astype(str):
        record = json.loads((out / "history" / f"trial_{trial_id}.json").read_text())
        assert [r["fold"] for r in record["runs"]] == [0, 1, 2]
        assert all(len(r["history"]["val_accuracy"]) >= 1 for r in record["runs"])
    best = json.loads((out / "best_config.json").read_text())
    assert best["score"] == pytest.approx(trials.score.max())
    assert (out / "trials.png").stat().st_size > 0
    # the retrained model takes raw feature rows and was scored on the 20 held-out rows
    model = keras.saving.load_model(out / "best_model.keras")
    from kerasopt.budget import NUMERIC_BINS  # the search encodes its columns as `train` does by default

    ple = [layer for layer in model._flatten_layers() if layer.name == "tabular_ple"]
    assert len(ple) == 1 and max(len(e) - 1 for e in ple[0].edges) == NUMERIC_BINS
    frame = make_phone_data(80, seed=5)
    probabilities = model.predict(frame.drop(columns="price_range").to_numpy("float32")[:3], verbose=0)
    assert probabilities.shape == (3, 4) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert result.test_metrics["rows"] == 20 and "loss" not in result.test_metrics  # the data loss only
    assert set(result.test_metrics) == {"rows", "accuracy", "log_loss"}
    printed = capsys.readouterr().out
    assert printed.count("trial ") >= 2 and "2 trial(s) completed" in printed


@pytest.mark.parametrize("tuner", ["grid", "bayesian", "hyperband"])
def test_other_tuners(tiny_csv, tmp_path, tuner):
    out = tmp_path / tuner
    result = tune(tiny_csv, target="price_range", tuner=tuner, max_trials=2, epochs=2, space=SMALL, out=out, cv=None,
                  verbose=0)
    assert len(result.trials) == 2 and set(result.trials.status) == {"COMPLETED"}
    assert _ends(out) == sorted(set(_ends(out)))  # every trial ran once
    if tuner == "hyperband":
        assert result.trials["tuner/epochs"].between(1, 2).all()


def test_batch_size_is_a_hyperparameter(tiny_csv, tmp_path, monkeypatch):
    from kerasopt import stacking

    calls = []
    real_stacked = stacking.train_stacked

    def spy(model, x, y, *rows, **kwargs):
        calls.append((len(rows[0][0]), kwargs["batch_size"], kwargs["epochs"]))
        return real_stacked(model, x, y, *rows, **kwargs)

    monkeypatch.setattr(stacking, "train_stacked", spy)
    space = {**SMALL, "num_layers": 0, "optimizer": "adam", "batch_size": [4, 64]}
    result = tune(tiny_csv, target="price_range", tuner="grid", max_trials=2, epochs=1, space=space, out=tmp_path / "b",
                  cv=None, test_split=0.0, population=1, verbose=0)
    assert sorted(result.trials.batch_size) == [4, 64]
    assert sorted(c[1] for c in calls[:2]) == [4, 64]  # fit used the trial's batch size
    assert calls[-1] == (80, result.best["batch_size"], 1)  # retrained on all rows


@pytest.mark.parametrize("kwargs, error", [
    ({"objective": "val_f1"}, "Invalid value for `objective`: expected one of 'val_accuracy', 'val_rmse', "
                              "'val_mae', 'val_r2'. Received: objective='val_f1'"),
    ({"objective": "val_loss"}, "expected a score without the weight penalty"),
    ({"objective": "val_rmse"}, "'val_rmse' is not a score of a classification search ('price_range'); "
                                "available: val_accuracy."),
    ({"epochs_per_trial": 3}, "Unknown option(s) of a search: epochs_per_trial."),
    ({"tuner": "annealing"}, "Invalid value for `tuner`: expected one of 'random', 'grid', 'bayesian', "
                             "'hyperband'. Received: tuner='annealing'"),
    ({"max_trials": 0}, "Invalid value for `max_trials`: expected a positive integer. Received: max_trials=0"),
    ({"cv": 1}, "Invalid value for `cv`: expected an integer >= 2"),
    ({"cv": 30}, "30 folds need at least 30 training rows of every class"),
    ({"cv": None, "validation_split": 0.0}, "Invalid value for `validation_split`"),
    ({"space": {"units": {"min": 64, "max": 16}}}, "min (64) is greater than max (16)"),
    ({"space": {"optimizer": "adamax"}}, "`space.optimizer`: expected one of 'adadelta', 'adagrad', 'adam', "
                                         "'adamw', 'momentum', 'nadam', 'nesterov', 'rmsprop', 'sgd'. "
                                         "Received: optimizer='adamax'"),
    ({"role": "worker", "oracle": "127.0.0.1:9999"}, "needs a `worker_id`"),
    ({"role": "chief", "oracle": "nohost"}, "Invalid value for `oracle`: expected HOST:PORT"),
    ({"role": "chief", "oracle": "127.0.0.1:1", "workers": 2}, "Pass either `workers`"),
    ({"target": "price"}, "Target column 'price' not found"),
    ({"target": None}, "Name the label column of"),
])
def test_bad_input_is_rejected_before_any_trial(tiny_csv, tmp_path, kwargs, error):
    out = tmp_path / "bad"
    with pytest.raises(ValueError) as info:
        tune(tiny_csv, **{"target": "price_range", "max_trials": 1, "epochs": 1, "out": out, **kwargs})
    assert error in str(info.value)
    assert not out.exists()


def test_a_worker_may_not_overwrite(tiny_csv, tmp_path):
    with pytest.raises(ConfigError, match="`overwrite` is for the chief only"):
        tune(tiny_csv, target="price_range", role="worker", oracle="127.0.0.1:9", worker_id="w1", overwrite=True,
             out=tmp_path / "shared")


def test_cli_tune_and_its_errors(tiny_csv, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["tune", "--data", str(tiny_csv), "--target", "price_range", "--tuner", "random", "--max-trials", "1",
            "--epochs", "1", "--out", str(out)]
    space = tmp_path / "space.yaml"
    space.write_text("num_layers: 0\nbatch_size: 16\noptimizer: adam\n")
    assert main([*argv, "--space", str(space)]) == 0
    assert "search written to" in capsys.readouterr().out
    assert pd.read_csv(out / "trials.csv").batch_size.tolist() == [16]
    assert len(json.loads((out / "history" / "trial_0.json").read_text())["runs"]) == 3  # --cv 3 by default
    single = tmp_path / "single"
    assert main([*argv, "--space", str(space), "--cv", "0", "--out", str(single)]) == 0
    assert len(json.loads((single / "history" / "trial_0.json").read_text())["runs"]) == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:  # a bad value is a usage error, checked as the flag is parsed
        main([*argv, "--cv", "1", "--out", str(tmp_path / "cv1")])
    assert info.value.code == 2 and "argument --cv: Invalid value for `cv`: expected an integer >= 2 (folds), or 0 " \
        "/ None for one validation split. Received: cv=1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--objective", "val_f1"])
    assert "argument --objective: Invalid value for `objective`" in capsys.readouterr().err
    assert not (tmp_path / "cv1").exists()
    space.write_text("learning_rate: {min: 0.1, max: 0.01}\n")
    assert main([*argv, "--space", str(space), "--out", str(tmp_path / "x")]) == 1
    assert "min (0.1) is greater than max (0.01)" in capsys.readouterr().err


def test_available_objectives():
    assert search.available_objectives() == ["val_accuracy", "val_rmse", "val_mae", "val_r2"]
    assert search.available_objectives("regression") == ["val_rmse", "val_mae", "val_r2"]


def test_baselines_are_grid_searched_with_scaling_inside_each_fold(tiny_xy):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kerasopt.tuning.baselines import run_baselines

    x, y = tiny_xy
    x = x * np.array([1000.0, 1.0, 0.01], dtype="float32")  # unscaled columns
    table = run_baselines(x[:40], y[:40], x[40:], y[40:], cv=3, seed=0, names=["LogisticRegression"])
    assert list(table.columns) == ["model", "best_params", "cv_accuracy", "test_accuracy", "seconds"]
    row = table.iloc[0]
    # the reported CV score is the scaled pipeline's, refitted inside each fold, at the chosen C
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    expected = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(C=row.best_params["C"],
                                                                                 max_iter=5000)),
                               x[:40], y[:40], cv=folds).mean()
    assert row.cv_accuracy == pytest.approx(expected)
    with pytest.raises(ValueError, match="Unknown baseline.s.: XGB"):
        run_baselines(x, y, x, y, names=["XGB"])
    with pytest.raises(ArgumentError, match=r"^Invalid value for `cv`: expected an integer >= 2. Received: cv=1$"):
        run_baselines(x, y, x, y, cv=1)  # not scikit-learn's error
    with pytest.raises(ArgumentError, match=r"^Invalid value for `cv`: expected at most one fold per row \(4 rows\). "
                                            r"Received: cv=5$"):
        run_baselines(x[:4], y[:4], x, y, cv=5)


def test_tune_baselines_prepare_a_table_as_a_run_s_baselines(monkeypatch):
    from sklearn.model_selection import GridSearchCV

    from kerasopt import baselines, tabular
    from kerasopt.tuning import baselines as tuning_baselines

    fitted = []

    class Recorded(GridSearchCV):
        def fit(self, x, y, **kwargs):
            fitted.append((self, x))
            return super().fit(x, y, **kwargs)

    monkeypatch.setattr(tuning_baselines, "GridSearchCV", Recorded)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=40), "constant": 1.0,
                          "colour": rng.choice(["red", "blue", "green"], 40).astype(object)})
    frame.loc[[2, 9], "size"] = np.nan
    frame.loc[[4], "colour"] = np.nan
    y = (frame["size"].fillna(0) > 0).to_numpy(dtype="int32")
    tuning_baselines.run_baselines(frame[:30], y[:30], frame[30:], y[30:], cv=3, names=["LogisticRegression"])
    search, x = fitted[0]
    schema = tabular.infer_schema(frame[:30])  # as a run types the rows: `constant` dropped
    run = baselines.baseline_models(schema, "classification")["logistic_regression"]
    run.fit(baselines.typed_frame(schema, frame[:30]), y[:30])
    ours, theirs = search.best_estimator_.named_steps["prepare"], run.named_steps["prepare"]
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out()) == [
        "numbers__size", "numbers__missingindicator_size", "categories__colour_[missing]",
        "categories__colour_blue", "categories__colour_green", "categories__colour_red"]
    for rows in (frame[:30], frame[30:]):
        typed = baselines.typed_frame(schema, rows)
        np.testing.assert_array_equal(ours.transform(typed), theirs.transform(typed))
    pd.testing.assert_frame_equal(x, baselines.typed_frame(schema, frame[:30]))


def test_tune_with_baselines_writes_the_comparison(tiny_csv, tmp_path, capsys):
    out = tmp_path / "cmp"
    result = tune(tiny_csv, target="price_range", tuner="random", max_trials=1, epochs=1, space=SMALL, out=out, test_split=0.25,
                  baselines=True)
    table = pd.read_csv(out / "comparison.csv")
    assert table.model.tolist() == ["kerasopt tune", "LogisticRegression", "SVC", "MLPClassifier"]
    assert table.test_accuracy.between(0, 1).all() and table.cv_accuracy.between(0, 1).all()
    assert table.seconds[0] == pytest.approx(result.trials.seconds.sum())
    assert result.comparison is not None and "comparison on the same rows" in capsys.readouterr().out

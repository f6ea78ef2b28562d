"""Size-aware training: hidden layers, batch size, epochs and patience sized to the training rows."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from kerasopt import budget, config, spec
from kerasopt.budget import training_budget
from kerasopt.cli import main
from kerasopt.errors import ArgumentError

ALL = ["numeric_bins", "hidden_units", "batch_size", "epochs", "patience"]


def as_tuple(b):
    return b.batch_size, b.steps_per_epoch, b.epochs, b.patience, b.max_steps


@pytest.mark.parametrize("rows", [1, 100, 1024, 1280, 4096])
def test_small_tables_keep_the_phone_values(rows):
    b = training_budget(rows)
    assert (b.numeric_bins, b.hidden_units, b.batch_size, b.epochs, b.patience, b.sized) == (
        16, [128], 32, 300, 50, tuple(ALL))
    assert training_budget(rows, regression=True).hidden_units == [128, 128]
    assert b.steps_per_epoch == math.ceil(rows / 32) and b.max_steps == 300 * b.steps_per_epoch


def test_phone_runs_keep_todays_values():
    # 1,600 rows: 1,280 non-test rows; a bagged network trains on 4/5 of them, a single one on 4/5 too
    assert as_tuple(training_budget(1024)) == (32, 32, 300, 50, 9600)


@pytest.mark.parametrize("rows, expected", [
    (4097, (64, 65, 153, 26, 9945)),        # 32 * ceil(4097 / 4096); 10,000 // 65; round(153 / 6)
    (40_000, (320, 125, 80, 13, 10_000)),   # 32 * 10
    (200_000, (1024, 196, 51, 8, 9996)),    # capped batch: fewer epochs
    (2_000_000, (1024, 1954, 20, 5, 39_080)),  # at least 20 epochs, patience at least 5
])
def test_larger_tables_get_a_budget_in_steps(rows, expected):
    assert as_tuple(training_budget(rows)) == expected
    units = [128, 128] if rows <= 16_384 else [128]
    assert training_budget(rows).hidden_units == training_budget(rows, regression=True).hidden_units == units
    assert training_budget(rows).numeric_bins == 48


@pytest.mark.parametrize("rows, expected", [(None, 16), (1, 16), (4096, 16), (4097, 48), (254_654, 48)])
def test_bins_are_finer_above_the_small_table_rows(rows, expected):
    assert budget.numeric_bins_for(rows) == expected
    assert training_budget(4097, numeric_bins=8).numeric_bins == 8 and training_budget(10, numeric_bins=0).numeric_bins == 0


@pytest.mark.parametrize("rows, regression, expected", [
    (None, True, [128, 128]), (1, True, [128, 128]), (4096, True, [128, 128]), (4097, True, [128, 128]),
    (16_384, True, [128, 128]), (16_385, True, [128]), (254_654, True, [128]),
    (None, False, [128]), (1, False, [128]), (4096, False, [128]), (4097, False, [128, 128]),
    (16_384, False, [128, 128]), (16_385, False, [128]), (254_654, False, [128]),
])
def test_two_layers_up_to_16384_rows_except_for_a_small_classification(rows, regression, expected):
    assert budget.hidden_units_for(rows, regression) == expected
    assert budget.hidden_units_for(rows) is not budget.hidden_units_for(rows)  # a fresh list each time


@pytest.mark.parametrize("units", [[], [16], [64, 32, 8]])
def test_set_hidden_units_are_kept(units):
    for rows, regression in ((100, True), (100, False), (100_000, True)):
        b = training_budget(rows, hidden_units=units, regression=regression)
        assert b.hidden_units == units and "hidden_units" not in b.sized


def test_cost_grows_no_faster_than_rows_and_steps_stay_bounded():
    sizes = [5_000, 10_000, 20_000, 50_000, 100_000, 250_000]
    budgets = [training_budget(n) for n in sizes]
    assert all(b.max_steps <= budget.STEP_BUDGET for b in budgets)
    assert [b.batch_size for b in budgets] == sorted(b.batch_size for b in budgets)
    # rows seen per training row (the cost per row): at most about half of a small table's 300 passes,
    # and falling once the batch is capped
    epochs = [b.epochs for b in budgets]
    assert max(epochs) <= 160 and epochs[-2] > epochs[-1]


def test_set_values_are_kept_and_the_others_sized_around_them():
    b = training_budget(40_000, batch_size=32)
    assert (b.batch_size, b.steps_per_epoch, b.epochs, b.patience, b.sized) == (
        32, 1250, 20, 5, ("numeric_bins", "hidden_units", "epochs", "patience"))
    b = training_budget(40_000, epochs=7, patience=0, hidden_units=[8], numeric_bins=4)
    assert (b.hidden_units, b.batch_size, b.epochs, b.patience, b.sized) == ([8], 320, 7, 0, ("batch_size",))
    with pytest.raises(ArgumentError, match="rows"):
        training_budget(0)


def test_sized_fills_the_config_and_reports_the_budget():
    resolved = config.resolve(epochs=5)
    assert (resolved["batch_size"], resolved["epochs"], resolved["patience"]) == (None, 5, None)
    filled, record = budget.sized(resolved, 9000)
    assert (filled["numeric_bins"], filled["hidden_units"], filled["batch_size"], filled["epochs"],
            filled["patience"]) == (48, [128, 128], 96, 5, 5)
    assert record == {"rows": 9000, "numeric_bins": 48, "hidden_units": [128, 128], "batch_size": 96, "epochs": 5,
                      "patience": 5, "steps_per_epoch": 94, "max_steps": 470,
                      "sized": ["numeric_bins", "hidden_units", "batch_size", "patience"]}
    assert spec.defaults()["batch_size"] is None and resolved["epochs"] == 5
    assert spec.defaults()["hidden_units"] is None and resolved["hidden_units"] is None
    assert budget.sized(resolved, 4096, regression=True)[0]["hidden_units"] == [128, 128]
    assert budget.sized(resolved, 4096)[0]["hidden_units"] == [128]


@pytest.mark.parametrize("inputs, num_classes, layers", [
    (20, None, 2), (20, 2, 1),                        # a shape: no rows, a small table's layers
    (np.zeros((4096, 3)), None, 2), (np.zeros((4097, 3)), 3, 2), (np.zeros((4096, 3)), 3, 1),
    (np.zeros((16_385, 3)), None, 1), (np.zeros((16_385, 3)), 3, 1),
    (pd.DataFrame({"a": np.linspace(0, 1, 16_385) ** 2, "c": ["x", "y"] * 8192 + ["x"]}), None, 1),
    ({"a": np.linspace(0, 1, 10) ** 2}, None, 2),
])
def test_build_model_sizes_its_depth_to_the_task_and_the_rows_of_its_inputs(inputs, num_classes, layers):
    from kerasopt import build_model

    y = None if isinstance(inputs, int) else np.linspace(0, 1, 10 if isinstance(inputs, dict) else len(inputs))
    if num_classes is not None and y is not None:
        y = np.arange(len(y)) % num_classes
    model = build_model(inputs, y=y, num_classes=num_classes)
    dense = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert [layer.units for layer in dense] == [128] * layers
    assert len(build_model(inputs, y=y, num_classes=num_classes, hidden_units=[8, 8, 8]).layers) > len(model.layers)


def test_a_bagged_regression_run_of_a_small_table_trains_two_layers(tmp_path):
    csv = _csv(tmp_path)
    frame = pd.read_csv(csv)
    frame["y"] = frame["a"] * 2 + frame["b"]
    frame.to_csv(csv, index=False)
    assert main(["train", "--data", str(csv), "--target", "y", "--epochs", "1", "--bagging", "2", "--quiet",
                 "--no-baseline", "--out", str(tmp_path / "reg")]) == 0
    assert json.loads((tmp_path / "reg" / "config.json").read_text())["derived"]["budget"]["hidden_units"] == [128, 128]


def _csv(tmp_path, n=200):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    frame["y"] = np.where(frame["a"] + (frame["c"] == "x") > 0.5, "hi", "lo")
    frame.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "t.csv"


def test_a_run_writes_its_budget_and_reproduces_it_from_config_json(tmp_path):
    csv = _csv(tmp_path)
    args = ["train", "--data", str(csv), "--target", "y", "--hidden-units", "4", "--epochs", "3", "--quiet",
            "--no-baseline"]
    assert main([*args, "--bagging", "0", "--no-refit", "--out", str(tmp_path / "one")]) == 0
    written = json.loads((tmp_path / "one" / "config.json").read_text())
    assert (written["batch_size"], written["epochs"], written["patience"]) == (None, 3, None)
    # 200 rows: 160 non-test, of which 128 train the network
    assert written["derived"]["budget"] == {"rows": 128, "numeric_bins": 16, "hidden_units": [4], "batch_size": 32, "epochs": 3,
                                            "patience": 50, "steps_per_epoch": 4, "max_steps": 12,
                                            "sized": ["numeric_bins", "batch_size", "patience"]}
    assert written["derived"]["steps_per_epoch"] == 4
    assert main(["train", "--config", str(tmp_path / "one" / "config.json"), "--out", str(tmp_path / "again"),
                 "--quiet"]) == 0
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["derived"]["budget"] == written["derived"]["budget"]


def test_bagging_and_cv_size_each_network_to_its_rows(tmp_path, monkeypatch):
    # a small threshold and step budget make a 200-row table "large", so the sizing shows in seconds
    monkeypatch.setattr(budget, "SMALL_TABLE_ROWS", 32)
    monkeypatch.setattr(budget, "STEP_BUDGET", 6)
    monkeypatch.setattr(budget, "MIN_EPOCHS", 2)
    csv = _csv(tmp_path)
    assert main(["train", "--data", str(csv), "--target", "y", "--hidden-units", "4", "--bagging", "2",
                 "--out", str(tmp_path / "bag"), "--quiet"]) == 0
    derived = json.loads((tmp_path / "bag" / "config.json").read_text())["derived"]
    # 160 non-test rows, 80 per network: batch 32 * ceil(80 / 32) = 96, 1 step, 6 epochs, patience 5
    assert derived["budget"] == {"rows": 80, "numeric_bins": 48, "hidden_units": [4], "batch_size": 96, "epochs": 6,
                                 "patience": 5, "steps_per_epoch": 1, "max_steps": 6,
                                 "sized": [k for k in ALL if k != "hidden_units"]}
    assert json.loads((tmp_path / "bag" / "metrics.json").read_text())["epochs_run"] <= 6
    assert main(["train", "--data", str(csv), "--target", "y", "--hidden-units", "4", "--bagging", "2", "--cv", "2",
                 "--out", str(tmp_path / "cv"), "--quiet"]) == 0
    budgets = json.loads((tmp_path / "cv" / "cv.json").read_text())["budgets"]
    assert [b["rows"] for b in budgets] == [50, 50] and {b["batch_size"] for b in budgets} == {64}


def test_estimators_size_their_fit(monkeypatch):
    from kerasopt.estimators import DenseClassifier

    monkeypatch.setattr(budget, "SMALL_TABLE_ROWS", 16)
    monkeypatch.setattr(budget, "STEP_BUDGET", 4)
    monkeypatch.setattr(budget, "MIN_EPOCHS", 2)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    labels = np.where(frame["a"] > 0, "p", "n")
    clf = DenseClassifier(hidden_units=(4,), bagging=0, validation_split=0.25).fit(frame, labels)
    # 45 training rows: batch 32 * ceil(45 / 16) = 96, one step, 4 epochs, patience 5
    assert clf.budget_ == {"rows": 45, "numeric_bins": 48, "hidden_units": [4], "batch_size": 96, "epochs": 4,
                           "patience": 5, "steps_per_epoch": 1, "max_steps": 4,
                           "sized": [k for k in ALL if k != "hidden_units"]}
    assert clf.best_epoch_ <= 4

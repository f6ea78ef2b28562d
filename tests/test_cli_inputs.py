"""The command line's inputs: required data, fail-fast checks, list flags, encodings, odd cells, row keys."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasopt.cli import build_parser, main, spec_overrides

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--epochs", "2", "--bagging", "0", "--hidden-units", "4", "--batch-size", "16", "--quiet"]


def cars(n=60):
    """A small mpg-like table: `displ` numeric, `drv` codes f / 4 / r (numbers and text), `hwy` target."""
    i = np.arange(n)
    drv = np.array(["f", "4", "r"], dtype=object)[i % 3]
    displ = 1.5 + (i * 7 % 20) / 5
    return pd.DataFrame({"displ": displ, "drv": drv, "hwy": 40 - 4 * displ + (drv == "f") * 3})


@pytest.fixture(scope="module")
def cars_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cars")
    cars().to_csv(root / "mpg.csv", index=False)
    out = root / "run"
    assert main(["train", "--data", str(root / "mpg.csv"), "--target", "hwy", "--out", str(out), *TINY]) == 0
    return root, out


# -- 1. --data is required; the demo data has its own flag ----------------------------------------

SOURCES = {"train": "--data (a labelled CSV file; config key `data`) or --demo (the embedded phone-like demo data; "
                    "config key `demo`)",
           "tune": "--data (a labelled CSV file; config key `data`) or --demo (the embedded phone-like demo data)"}
NEITHER = {command: f"Pass {sources}. Received: data=None, demo=False" for command, sources in SOURCES.items()}
BOTH = {command: f"Pass either {sources}, not both. Received: data='x.csv', demo=True"
        for command, sources in SOURCES.items()}


@pytest.mark.parametrize("argv, rule", [
    (["train", "--epochs", "2"], NEITHER),
    (["tune", "--max-trials", "1"], NEITHER),
    (["train", "--data", "x.csv", "--demo"], BOTH),
    (["tune", "--data", "x.csv", "--demo"], BOTH),
    (["train", "--config", "c.json", "--data", "x.csv", "--demo"], BOTH),
    (["tune", "--config", "c.json", "--data", "x.csv", "--demo"], BOTH),
])
def test_train_and_tune_flags_need_data_or_demo_not_both(argv, rule, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", "x"]) == 2
    assert capsys.readouterr().err == (f"kerasopt {argv[0]}: error: {rule[argv[0]]} "
                                       f"(see kerasopt {argv[0]} --help)\n")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("command", ["train", "tune"])
def test_train_and_tune_take_the_one_demo_flag(command):
    from kerasopt.cli import build_parser

    parser = build_parser()
    assert [parser.parse_args([command, *flag]).demo for flag in ([], ["--demo"], ["--no-demo"])] == [None, True, False]


def test_demo_flag_trains_on_the_demo_data_and_its_config_reproduces_that(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["train", "--demo", "--out", str(out), "--epochs", "1", "--bagging", "0", "--hidden-units", "2",
                 "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["demo"] is True and config["data"] is None and config["target"] == "price_range"
    assert config["derived"]["data_source"].startswith("embedded phone-like data")
    # the run's config.json names the demo data: fed back, it needs no --data
    args = build_parser().parse_args(["train", "--config", str(out / "config.json")])
    from kerasopt import config as config_lib
    assert config_lib.resolve(config_lib.load_file(args.config), **spec_overrides(args))["demo"] is True


@pytest.mark.parametrize("config, flags, rule", [
    ({"epochs": 2}, [], NEITHER),
    ({"demo": True}, ["--data", "x.csv"], BOTH),
    ({"data": "x.csv"}, ["--demo"], BOTH),
])
def test_a_config_file_and_flags_naming_no_data_or_both_are_refused(config, flags, rule, tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text(json.dumps(config))
    assert main(["train", "--config", "c.json", *flags]) == 1
    assert capsys.readouterr().err == f"kerasopt train: error: {rule['train']}\n"
    assert os.listdir(tmp_path) == ["c.json"]


# -- 2. fail fast: user errors before TensorFlow is imported --------------------------------------

FAIL_FAST = """
import sys
from kerasopt.cli import main
cases = {cases!r}
codes = [main(argv) for argv in cases]
print(codes, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


def test_user_errors_are_refused_before_tensorflow_is_imported(tmp_path):
    csv = tmp_path / "mpg.csv"
    cars(20).to_csv(csv, index=False)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_text("an earlier run")
    report = tmp_path / "report"
    report.mkdir()
    (report / "evaluation.json").write_text("{}")
    (tmp_path / "pred.csv").write_text("earlier predictions")
    model = str(run / "model.keras")
    cases = [
        ["train", "--data", str(tmp_path / "missing.csv"), "--target", "hwy", "--out", str(tmp_path / "a")],
        ["train", "--data", str(csv), "--target", "hwyy", "--out", str(tmp_path / "a")],
        ["train", "--data", str(csv), "--target", "hwy", "--out", str(run)],
        ["train", "--data", str(csv), "--target", "hwy", "--cv", "2", "--out", str(tmp_path / "a"),
         "--epochs", "0"],
        ["tune", "--data", str(csv), "--target", "hwyy", "--out", str(tmp_path / "t")],
        ["train", "--data", str(csv), "--target", "hwy", "--categorical", "drv,colour", "--out", str(tmp_path / "a")],
        ["tune", "--data", str(csv), "--target", "hwy", "--drop", "hwy", "--out", str(tmp_path / "t")],
        ["predict", "--model", model, "--data", str(csv), "--out", str(tmp_path / "pred.csv")],
        ["predict", "--model", model, "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "p.csv")],
        ["predict", "--model", model, "--data", str(csv), "--out", str(tmp_path / "p.csv"), "--id", "key"],
        ["predict", "--model", str(tmp_path / "none.keras"), "--data", str(csv), "--out", str(tmp_path / "p.csv")],
        ["evaluate", "--model", model, "--data", str(csv), "--out", str(report)],
    ]
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-c", FAIL_FAST.format(cases=cases)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.stdout.strip() == f"{[1] * len(cases)} False False", proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == len(cases) and all(line.startswith("kerasopt ") and ": error: " in line for line in lines)
    expected = ["Data file not found", "Target column 'hwyy' not found. Did you mean 'hwy'?",
                "already holds model.keras", "Received: epochs=0", "Target column 'hwyy' not found",
                "`categorical` column(s) 'colour' not found. Available columns: displ, drv.",
                "`drop` column(s) 'hwy' not found.",
                "pred.csv already exists", "Data file not found", "Id column 'key' not found",
                "Model file not found", "already holds evaluation.json"]
    for line, fragment in zip(lines, expected):
        assert fragment in line, (fragment, line)
    assert not (tmp_path / "a").exists() and (run / "model.keras").read_text() == "an earlier run"


@pytest.mark.parametrize("argv, message", [
    (["train", "--demo", "--cv", "1"], "argument --cv: Invalid value for `cv`: expected an integer >= 2. "
                                       "Received: cv=1"),
    (["train", "--demo", "--cv", "0"], "argument --cv: Invalid value for `cv`: expected an integer >= 2. "
                                       "Received: cv=0"),
    (["train", "--demo", "--cv", "2.5"], "argument --cv: expected int; got '2.5'"),
    (["train", "--demo", "--out", "", *TINY], "argument --out: Invalid value for `out`: expected a non-empty string. "
                                              "Received: out=''"),
])
def test_bad_flags_are_usage_errors_before_anything_is_read(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err == f"kerasopt {argv[0]}: error: {message} (see kerasopt {argv[0]} --help)\n"
    assert os.listdir(tmp_path) == []


def test_cross_validation_with_more_folds_than_rows_of_every_class(tmp_path, capsys):
    # 3 rows per class, 4 folds: scikit-learn's StratifiedKFold refuses, so the folds are not stratified
    cars(9).to_csv(tmp_path / "mpg.csv", index=False)
    argv = ["train", "--data", str(tmp_path / "mpg.csv"), "--target", "drv", "--validation-split", "0", *TINY]
    assert main([*argv, "--cv", "4", "--out", str(tmp_path / "four")]) == 0
    assert len(json.loads((tmp_path / "four" / "cv.json").read_text())["folds"]) == 4
    assert main([*argv, "--cv", "10", "--out", str(tmp_path / "ten")]) == 1
    assert capsys.readouterr().err == ("kerasopt train: error: Invalid value for `folds`: expected at most one fold "
                                       "per row (9 rows). Received: folds=10\n")


def test_cross_validation_into_a_file_is_refused_before_any_fold(tmp_path, monkeypatch, capsys):
    cars(20).to_csv(tmp_path / "mpg.csv", index=False)
    (tmp_path / "out").write_text("a file, not a folder")
    from kerasopt import pipeline

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing --out")

    monkeypatch.setattr(pipeline, "cross_validate_config", no_training)
    assert main(["train", "--data", str(tmp_path / "mpg.csv"), "--target", "hwy", "--cv", "2",
                 "--out", str(tmp_path / "out"), *TINY]) == 1
    assert capsys.readouterr().err == (f"kerasopt train: error: Output path {tmp_path / 'out'} is a file, not a "
                                       "directory. Choose another --out.\n")
    assert (tmp_path / "out").read_text() == "a file, not a folder"


# -- 3. column typing end to end --------------------------------------------------------------------

def test_codes_that_mix_numbers_and_text_train_as_categories(cars_run, capsys):
    root, out = cars_run
    config = json.loads((out / "config.json").read_text())
    assert config["derived"]["task"] == "regression" and config["derived"]["used_columns"] == ["displ", "drv"]
    assert config["derived"]["notes"] == ["Column 'drv' mixes numbers and text (f, 4, r): read as categorical "
                                          "(--numeric drv reads its text cells as missing instead)."]


# -- 4. list flags take commas (and spaces) alike; --encoding ---------------------------------------

@pytest.mark.parametrize("argv, key, value", [
    (["--hidden-units", "64,32"], "hidden_units", [64, 32]),
    (["--hidden-units", "64", "32"], "hidden_units", [64, 32]),
    (["--hidden-units", "64,", "32"], "hidden_units", [64, 32]),
    (["--hidden-units"], "hidden_units", []),
    (["--dropout", "0.2,0.1"], "dropout", [0.2, 0.1]),
    (["--dropout", "0.2"], "dropout", 0.2),
    (["--categorical", "island", "sex"], "categorical", ["island", "sex"]),
    (["--categorical", "island,sex"], "categorical", ["island", "sex"]),
    (["--drop", "a, b", "c"], "drop", ["a", "b", "c"]),
])
def test_every_list_flag_takes_commas_and_spaces(argv, key, value):
    from kerasopt import config

    args = build_parser().parse_args(["train", *argv])
    assert config.resolve(None, **spec_overrides(args))[key] == value


def test_config_files_take_the_comma_form_too():
    from kerasopt import config

    resolved = config.resolve({"hidden_units": "64, 32", "categorical": "island,sex"})
    assert (resolved["hidden_units"], resolved["categorical"]) == ([64, 32], ["island", "sex"])
    with pytest.raises(ValueError, match=r"e\.g\. 64,32\. Received: hidden_units='64,x'$"):
        config.resolve({"hidden_units": "64,x"})


def test_tune_list_flags_parse_like_train():
    args = build_parser().parse_args(["tune", "--data", "d.csv", "--categorical", "island", "sex", "--numeric", "a,b"])
    assert (args.categorical, args.numeric) == (["island", "sex"], ["a", "b"])


@pytest.mark.parametrize("name", ["a", "a b", "x=y", "-x", "-1", "größe"])
def test_to_argv_gives_back_every_column_name_the_command_line_takes(name):
    # The argv a distributed search hands its processes; a list flag splits its words at commas, so a name
    # with a comma is the one the command line cannot take (a --config file can).
    from kerasopt import spec

    values = {"data": f"{name}.csv", "target": name, "categorical": [name, "c"], "numeric": [name],
              "drop": ["d", name]}
    args = build_parser().parse_args(["tune", *spec.to_argv(values, values)])
    assert {key: getattr(args, key) for key in values} == values


def test_a_bad_list_item_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--demo", "--hidden-units", "64,x"])
    assert info.value.code == 2
    assert capsys.readouterr().err == ("kerasopt train: error: argument --hidden-units: expected integers separated "
                                       "by commas (or spaces), e.g. 64,32; got '64,x' (see kerasopt train --help)\n")


def test_latin1_files_train_predict_and_evaluate_with_encoding(tmp_path, capsys):
    frame = cars(60).assign(drv=lambda f: f["drv"].map({"f": "tracción delantera", "4": "4x4", "r": "trasera"}))
    csv = tmp_path / "coches.csv"
    csv.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    out = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--target", "hwy", "--out", str(out), *TINY]) == 1
    assert "is not UTF-8 text. Pass its encoding, e.g. --encoding latin-1" in capsys.readouterr().err
    assert main(["train", "--data", str(csv), "--target", "hwy", "--out", str(out), "--encoding", "latin-1",
                 *TINY]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["encoding"] == "latin-1"
    import keras
    vocabulary = keras.saving.load_model(out / "model.keras").schema.features[1].vocabulary
    assert sorted(vocabulary) == ["4x4", "tracción delantera", "trasera"]
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(csv), "--out", str(pred),
                 "--encoding", "latin-1"]) == 0
    assert len(pd.read_csv(pred)) == 60
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(csv), "--out",
                 str(tmp_path / "report"), "--encoding", "latin-1"]) == 0
    assert json.loads((tmp_path / "report" / "evaluation.json").read_text())["rows"] == 60


# -- 5. odd cells at predict time and infinite values in training ---------------------------------

def test_predict_reads_text_and_infinite_cells_as_missing_and_says_so_once(cars_run, tmp_path, capsys):
    root, out = cars_run
    rows = cars(8).drop(columns="hwy").astype({"displ": object})
    rows.loc[[1, 4], "displ"] = ["?", "big"]
    rows.loc[6, "displ"] = "inf"
    rows["note"] = "x"
    rows.to_csv(tmp_path / "rows.csv", index=False)
    pred = tmp_path / "pred.csv"
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "rows.csv"),
                 "--out", str(pred)]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: Ignored column(s) the model does not use: note.",
        "note: Read 2 cell(s) that are not numbers as missing (the model fills them with the training median (a 0/1 column's mean)), "
        "by numeric column: 'displ' 2 (e.g. '?').",
        "note: Read 1 infinite value(s) as missing (the model fills them with the training median (a 0/1 column's mean)), by column: "
        "'displ' 1."]
    result = pd.read_csv(pred)
    assert list(result.columns) == ["row", "hwy"] and result["row"].tolist() == list(range(1, 9))
    # a missing cell predicts what an empty cell predicts
    empty = cars(8).drop(columns="hwy")
    empty.loc[[1, 4, 6], "displ"] = np.nan
    empty.to_csv(tmp_path / "empty.csv", index=False)
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "empty.csv"),
                 "--out", str(tmp_path / "empty_pred.csv")]) == 0
    np.testing.assert_allclose(result["hwy"], pd.read_csv(tmp_path / "empty_pred.csv")["hwy"], rtol=1e-6)


def test_infinite_training_values_train_with_a_note(tmp_path, capsys):
    frame = cars(60)
    frame.loc[[3, 10], "displ"] = [np.inf, -np.inf]
    frame.to_csv(tmp_path / "inf.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "inf.csv"), "--target", "hwy", "--out", str(tmp_path / "run"),
                 *TINY]) == 0
    assert "note: Column 'displ': read 2 infinite value(s) as missing." in capsys.readouterr().out.splitlines()


# -- 6. predictions keep a row key ------------------------------------------------------------------

def test_predict_keys_rows_by_id_column_or_row_number(cars_run, tmp_path, capsys):
    root, out = cars_run
    rows = cars(5).drop(columns="hwy").assign(plate=["a1", "b2", "c3", "d4", "e5"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    model = str(out / "model.keras")
    assert main(["predict", "--model", model, "--data", str(tmp_path / "rows.csv"), "--out",
                 str(tmp_path / "by_plate.csv"), "--id", "plate"]) == 0
    assert "Ignored column" not in capsys.readouterr().out  # the key column is not an ignored column
    by_plate = pd.read_csv(tmp_path / "by_plate.csv")
    assert list(by_plate.columns) == ["plate", "hwy"] and by_plate["plate"].tolist() == rows["plate"].tolist()
    rows.assign(id=[7, 8, 9, 10, 11]).to_csv(tmp_path / "with_id.csv", index=False)
    assert main(["predict", "--model", model, "--data", str(tmp_path / "with_id.csv"), "--out",
                 str(tmp_path / "by_id.csv")]) == 0
    by_id = pd.read_csv(tmp_path / "by_id.csv")
    assert by_id["id"].tolist() == [7, 8, 9, 10, 11]
    np.testing.assert_allclose(by_id["hwy"], by_plate["hwy"], rtol=1e-6)
    assert main(["predict", "--model", model, "--data", str(tmp_path / "rows.csv"), "--out",
                 str(tmp_path / "x.csv"), "--id", "plat"]) == 1
    assert capsys.readouterr().err == (
        f"kerasopt predict: error: Id column 'plat' not found in {tmp_path / 'rows.csv'}. Did you mean 'plate'? "
        "Available columns: displ, drv, plate. Choose one with --id, or leave it out to number the rows.\n")


def test_evaluate_without_the_target_column_names_the_columns(cars_run, tmp_path, capsys):
    _, run = cars_run
    cars(5).rename(columns={"hwy": "hwy2"}).to_csv(tmp_path / "rows.csv", index=False)
    assert main(["evaluate", "--model", str(run / "model.keras"), "--data", str(tmp_path / "rows.csv"),
                 "--out", str(tmp_path / "report")]) == 1
    assert capsys.readouterr().err == (
        f"kerasopt evaluate: error: Target column 'hwy' not found in {tmp_path / 'rows.csv'}. Did you mean 'hwy2'? "
        "Available columns: displ, drv, hwy2. The model was trained to predict 'hwy'; evaluate needs its true "
        "values.\n")


@pytest.mark.parametrize("argv, added", [
    ([], True), (["--out", "x"], True), (["--data", "a.csv"], False), (["--data=a.csv"], False),
    (["--demo"], False), (["--config", "c.json"], False), (["--help"], False),
])
def test_phone_scripts_default_to_the_demo_data(argv, added):
    from kerasopt.cli import demo_unless_data

    assert demo_unless_data(argv) == ([*argv, "--demo"] if added else argv)


def test_train_phone_script_applies_the_course_preset_and_a_given_flag_wins(tmp_path, monkeypatch):
    import runpy

    from kerasopt import spec

    assert spec.COURSE_PRESET == {"l1": 0.01, "numeric_bins": 0, "numeric_scaling": "standard"}
    assert spec.FIELD["l1"].default != 0.01 and spec.FIELD["numeric_scaling"].default != "standard"
    assert spec.to_argv(spec.COURSE_PRESET, spec.COURSE_PRESET, spec.FIELD) == [
        "--l1", "0.01", "--numeric-bins", "0", "--numeric-scaling", "standard"]
    out = tmp_path / "phone"
    monkeypatch.setattr(sys, "argv", ["train_phone.py", "--out", str(out), "--epochs", "1", "--bagging", "0",
                                      "--hidden-units", "2", "--quiet", "--l1", "0.05"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(os.path.join(REPO, "scripts", "train_phone.py"), run_name="__main__")
    assert exit_.value.code == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["l1"], config["numeric_bins"], config["numeric_scaling"]) == (0.05, 0, "standard")  # given L1


@pytest.mark.slow  # a subprocess; `demo_unless_data` above and the --demo run cover it in-process
def test_train_phone_script_without_data_trains_on_the_demo_data(tmp_path):
    out = tmp_path / "phone"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train_phone.py"), "--out", str(out),
                           "--epochs", "1", "--bagging", "0", "--hidden-units", "2", "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": REPO}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "config.json").read_text())["demo"] is True


def test_tune_reads_a_latin1_file_with_encoding(tmp_path):
    frame = cars(60).assign(drv=lambda f: f["drv"].map({"f": "tracción delantera", "4": "4x4", "r": "trasera"}))
    csv = tmp_path / "coches.csv"
    csv.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    from kerasopt.tuning.search import tune

    result = tune(str(csv), "hwy", encoding="latin-1", tuner="random", max_trials=1, cv=2, epochs=1, patience=1,
                  ensemble=1, out=str(tmp_path / "t"), verbose=0)
    assert len(result.trials) == 1
    assert build_parser().parse_args(["tune", "--data", "d.csv", "--encoding", "latin-1"]).encoding == "latin-1"

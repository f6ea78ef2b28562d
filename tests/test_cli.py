import argparse
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import data, stacking
from kerasopt.cli import main, run_reporting_errors
from kerasopt.errors import ArgumentError, DataError
from kerasopt.pipeline import RUN_FILES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--target", "price_range", "--epochs", "3", "--hidden-units", "8", "--batch-size", "16", "--seed", "0"]
SINGLE = ["--bagging", "0"]  # one network, early stopping on a validation split, then the refit


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One small training run shared by the tests that only read its outputs."""
    root = tmp_path_factory.mktemp("cli")
    csv = root / "phone.csv"
    data.make_phone_data(200, seed=3).to_csv(csv, index=False)
    out = root / "run"
    assert main(["train", "--data", str(csv), "--out", str(out), *FAST]) == 0
    return out, csv


def test_train_writes_a_complete_run(run_dir):
    out, csv = run_dir
    assert sorted(os.listdir(out)) == sorted(RUN_FILES)  # no temporary or backup files left
    config = json.loads((out / "config.json").read_text())
    assert config["hidden_units"] == [8] and config["epochs"] == 3 and config["seed"] == 0
    derived = config["derived"]
    assert derived["feature_columns"] == data.PHONE_FEATURES and derived["classes"] == [0, 1, 2, 3]
    # the default bagging: 5 networks on 5 folds of the 160 non-test rows
    assert derived["rows"] == {"train": 160, "validation": 0, "test": 40, "refit": 0, "folds": 5}
    assert derived["steps_per_epoch"] == 8  # 128 rows per network, batches of 16
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"train", "validation", "test", "best_epoch", "epochs_run"}
    assert metrics["validation"]["rows"] == 160  # out-of-fold: every non-test row, once
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == list(range(1, metrics["epochs_run"] + 1))
    assert {"objective", "log_loss", "val_log_loss", "val_accuracy", "penalty", "learning_rate"} <= set(history.columns)
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_network_run_records_its_phases(tmp_path, phone_csv):
    out = tmp_path / "run"
    assert main(["train", "--data", str(phone_csv), "--out", str(out), *SINGLE, *FAST]) == 0
    assert json.loads((out / "config.json").read_text())["derived"]["rows"] == {
        "train": 128, "validation": 32, "test": 40, "refit": 160}
    history = pd.read_csv(out / "history.csv")
    # the columns of a bagged run's history: the member's (Keras metrics per member, kerasopt.members)
    assert {"objective", "log_loss", "val_objective", "val_log_loss", "val_accuracy", "penalty",
            "learning_rate"} <= set(history.columns)


def test_saved_model_takes_raw_rows_and_reproduces_the_test_metric(run_dir):
    out, csv = run_dir
    x, y, _ = data.to_arrays(pd.read_csv(csv))
    splits = data.split(x, y, 0.2, 0.2, seed=0)
    model = keras.saving.load_model(out / "model.keras")
    probabilities = model.predict(splits.x_test, verbose=0)  # raw, unscaled feature rows
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == splits.y_test))
    metrics = json.loads((out / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["test"]["accuracy"])


def test_predict_writes_id_and_class(run_dir, tmp_path):
    out, _ = run_dir
    rows = data.make_phone_data(30, seed=9).drop(columns="price_range")
    rows.insert(0, "id", np.arange(101, 131))
    rows.to_csv(tmp_path / "new.csv", index=False)
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "new.csv"),
                 "--out", str(pred)]) == 0
    result = pd.read_csv(pred)
    assert list(result.columns) == ["id", "price_range", "proba_0", "proba_1", "proba_2", "proba_3"]
    assert result["id"].tolist() == list(range(101, 131))
    model = keras.saving.load_model(out / "model.keras")
    expected = model.predict(rows.drop(columns="id"), verbose=0)
    assert result["price_range"].tolist() == expected.argmax(axis=1).tolist()
    np.testing.assert_allclose(result[["proba_0", "proba_1", "proba_2", "proba_3"]], expected, rtol=1e-6)


def test_no_refit_saves_the_early_stopping_model(tmp_path, phone_csv):
    out = tmp_path / "run"
    assert main(["train", "--data", str(phone_csv), "--out", str(out), "--no-refit", *SINGLE, *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["refit_rows"] == 0
    assert json.loads((out / "config.json").read_text())["derived"]["rows"]["refit"] == 0


def test_killed_refit_resumes_without_repeating_the_selection_run(tmp_path, phone_csv, monkeypatch):
    calls = []
    real_fit = keras.Model.fit

    def fit_killed_once_in_refit(self, *args, callbacks=None, **kwargs):
        # the selection run stops early; the refit trains for the chosen number of epochs
        early_stopping = any(isinstance(c, stacking.MemberEarlyStopping) for c in callbacks or ())
        calls.append("selection" if early_stopping else "refit")
        if calls == ["selection", "refit"]:
            raise KeyboardInterrupt
        return real_fit(self, *args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_killed_once_in_refit)
    out = tmp_path / "run"
    args = ["train", "--data", str(phone_csv), "--out", str(out), *SINGLE, *FAST]
    assert main(args) == 130
    assert (out / ".backup" / "selection.json").exists()
    assert not any((out / f).exists() for f in RUN_FILES)
    assert main(args) == 0  # no --overwrite needed: the directory holds no finished run
    assert calls == ["selection", "refit", "refit"]
    assert sorted(os.listdir(out)) == sorted(set(RUN_FILES) - {"oof_predictions.csv"})  # bagging only


def test_config_file_with_flag_override(tmp_path, phone_csv):
    (tmp_path / "config.yaml").write_text("hidden_units: [4]\nepochs: 2\nl2: 0.001\nschedule: step\n"
                                          "learning_rate: 0.2\nschedule_args: {step_size: 1, gamma: 0.5}\n")
    out = tmp_path / "run"
    assert main(["train", "--data", str(phone_csv), "--target", "price_range", "--config",
                 str(tmp_path / "config.yaml"), "--epochs", "3", "--out", str(out), "--seed", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["hidden_units"], config["epochs"], config["l2"], config["seed"]) == ([4], 3, 0.001, 1)
    history = pd.read_csv(out / "history.csv")
    np.testing.assert_allclose(history["learning_rate"], [0.2, 0.1, 0.05], rtol=1e-6)


def test_existing_run_is_kept_unless_overwrite(run_dir, phone_csv, capsys):
    out, _ = run_dir
    before = {f: (out / f).read_bytes() for f in RUN_FILES}
    assert main(["train", "--data", str(phone_csv), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"kerasopt train: error: Output directory {out} already holds model.keras, config.json")
    assert "--overwrite" in err
    assert {f: (out / f).read_bytes() for f in RUN_FILES} == before


def test_overwrite_replaces_a_run(tmp_path, phone_csv):
    out = tmp_path / "run"
    args = ["train", "--data", str(phone_csv), "--target", "price_range", "--out", str(out), "--epochs", "1",
            "--hidden-units", "4"]
    assert main(args) == 0
    assert main([*args, "--overwrite", "--epochs", "2"]) == 0
    assert json.loads((out / "config.json").read_text())["epochs"] == 2


def csv_file(tmp_path, text, name="bad.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def phone_text(n=40, changes=None):
    frame = data.make_phone_data(n, seed=1)
    for (column, row), value in (changes or {}).items():
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame.to_csv(index=False)


BAD_TRAIN = [
    (lambda t: ["--data", str(t / "nope.csv")], "Data file not found:"),
    (lambda t: ["--data", csv_file(t, "")], "Data file is empty:"),
    (lambda t: ["--data", csv_file(t, phone_text()), "--target", "price_rnage"],
     "Target column 'price_rnage' not found. Did you mean 'price_range'?"),
    (lambda t: ["--data", csv_file(t, phone_text(changes={("ram", 4): "lots"}))],
     "Column 'ram' mixes numbers and text, e.g. 'lots' in data row 5 (file line 6) (1 of 40 cells are text). "
     "Declare it: --numeric ram reads its text cells as missing, --categorical ram reads every value as a "
     "category"),
    (lambda t: ["--data", csv_file(t, phone_text(changes={("price_range", 0): 7}))],
     "Target column 'price_range' has a single row of class 7; every class needs at least two rows."),
    (lambda t: ["--data", csv_file(t, phone_text(changes={("price_range", 3): ""}))],
     "Target column 'price_range' has a missing value in data row 4 (file line 5)."),
    (lambda t: ["--data", csv_file(t, phone_text(changes={("price_range", 3): ""})), "--task", "regression"],
     "Target column 'price_range' has a missing value in data row 4 (file line 5)."),
    (lambda t: ["--data", csv_file(t, phone_text()), "--categorical", "colour"],
     "`categorical` column(s) 'colour' not found. Available columns: battery_power,"),
    (lambda t: ["--data", csv_file(t, "a,price_range\n1,2\n2,2\n")], "holds one class"),
    (lambda t: ["--data", csv_file(t, phone_text(8))], "Too few rows to split"),
    (lambda t: ["--data", csv_file(t, "a,b,price_range\n,p,1\n,q,2\n,r,1\n,s,2\n")],
     "No usable feature column: every column was dropped (Dropped column 'a': all cells are missing; "
     "Dropped column 'b':"),
    (lambda t: ["--dropout", "1.0"], "Invalid value for `dropout`: expected a number in [0, 1). Received: dropout=1.0"),
    (lambda t: ["--learning-rate", "-0.1"], "Received: learning_rate=-0.1"),
    (lambda t: ["--hidden-units", "16", "0"], "Invalid value for `hidden_units`: expected a positive integer. Received: hidden_units=0"),
    (lambda t: ["--l2", "-1"], "Received: l2=-1.0"),
    (lambda t: ["--epochs", "0"], "Received: epochs=0"),
    (lambda t: ["--batch-size", "0"], "Received: batch_size=0"),
    (lambda t: ["--optimizer", "adamm"], "Unknown optimizer: optimizer='adamm'."),
    (lambda t: ["--schedule", "stepp"], "Unknown schedule: schedule='stepp'."),
    (lambda t: ["--config", csv_file(t, "{epochs: [", "c.yaml")], "is not valid YAML"),
    (lambda t: ["--config", csv_file(t, '{"epoch": 3}', "c.json")], "Unknown configuration key 'epoch'. Did you mean 'epochs'?"),
    (lambda t: ["--config", str(t / "none.json")], "Config file not found"),
]


@pytest.mark.parametrize("make_args, message", BAD_TRAIN)
def test_bad_train_input_is_one_line_and_writes_nothing(tmp_path, make_args, message, capsys):
    out = tmp_path / "out"
    args = make_args(tmp_path)
    if "--data" not in args:
        args = ["--data", csv_file(tmp_path, phone_text(60), "ok.csv"), *args]
    if "--target" not in args:
        args += ["--target", "price_range"]
    elif args[args.index("--target") + 1] is None:
        args.remove("--target")
        args.remove(None)
    assert main(["train", *args, "--out", str(out), "--epochs", args[args.index("--epochs") + 1]
                 if "--epochs" in args else "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kerasopt train: error: ")
    assert message in err
    assert not out.exists()


def test_flag_syntax_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == ("kerasopt train: error: argument --epochs: invalid int value: 'many' "
                   "(see kerasopt train --help)\n")


def reorder(frame):
    columns = list(frame.columns)
    columns[1], columns[2] = columns[2], columns[1]
    return frame[columns]


BAD_PREDICT = [
    (lambda f: f.drop(columns="ram"), "Missing feature column(s): ram. The model needs: battery_power,"),
    (lambda f: f.rename(columns={"ram": "rma"}), "Missing feature column(s): ram. Did you mean 'rma'?"),
]


@pytest.mark.parametrize("change, message", BAD_PREDICT)
def test_bad_predict_input(run_dir, tmp_path, change, message, capsys):
    out, _ = run_dir
    rows = data.make_phone_data(10, seed=2).drop(columns="price_range")
    rows.insert(0, "id", range(10))
    change(rows).to_csv(tmp_path / "rows.csv", index=False)
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "rows.csv"),
                 "--out", str(pred)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not pred.exists()


def test_predict_refuses_bad_model_files_and_existing_output(run_dir, tmp_path, capsys):
    out, csv = run_dir
    garbage = tmp_path / "model.keras"
    garbage.write_bytes(b"not a zip file")
    for model, message in [(tmp_path / "missing.keras", "Model file not found"),
                           (garbage, "Cannot load model file")]:
        assert main(["predict", "--model", str(model), "--data", str(csv), "--out", str(tmp_path / "p.csv")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    existing = tmp_path / "existing.csv"
    existing.write_text("keep me\n")
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(csv), "--out", str(existing)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert existing.read_text() == "keep me\n"


def test_documented_command_fails_cleanly_in_a_fresh_process(tmp_path):
    """The real entry point: one line on stderr, no traceback, no TensorFlow start-up chatter."""
    env = {**os.environ, "PYTHONPATH": REPO}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train_phone.py"), "--data",
                           str(tmp_path / "missing.csv"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == f"kerasopt train: error: Data file not found: {tmp_path / 'missing.csv'}. " \
                          "Pass the path of an existing CSV file.\n"
    assert proc.stdout == ""


def test_cross_validation_writes_cv_json(tmp_path, phone_csv, capsys):
    out = tmp_path / "cv"
    assert main(["train", "--data", str(phone_csv), "--target", "price_range", "--cv", "2", "--out", str(out),
                 "--epochs", "1", "--hidden-units", "4"]) == 0
    result = json.loads((out / "cv.json").read_text())
    assert len(result["folds"]) == 2 and all(0 <= a <= 1 for a in result["folds"])
    assert result["mean"] == pytest.approx(np.mean(result["folds"]))
    assert "2-fold cross-validated accuracy" in capsys.readouterr().out
    assert main(["train", "--data", str(phone_csv), "--target", "price_range", "--cv", "2", "--out", str(out),
                 "--epochs", "1"]) == 1
    assert "cv.json already exists" in capsys.readouterr().err


# -- the spec-derived command line -------------------------------------------------------------

def _subparser(name):
    from kerasopt.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def test_every_train_flag_is_generated_from_the_spec_and_its_help_shows_the_true_default():
    from kerasopt import config, spec
    from kerasopt.cli import build_parser, spec_overrides

    train = _subparser("train")
    by_flag = {option: action for action in train._actions for option in action.option_strings}
    generated = [f for f in spec.FIELDS if f.cli is not None]
    assert {f.name for f in generated} == set(config.DEFAULTS)  # every config key is a flag
    for f in generated:
        shown = re.search(r"\(default: (.*)\)$", " ".join(by_flag[f.flag].help.split())).group(1)
        # the shown default, typed after the flag, gives the default value
        if shown == "none":
            argv = []
        elif f.cli == "bool":
            argv = [f.flag if shown == "on" else f.flag.replace("--", "--no-", 1)]
        elif f.cli == "nargs":
            argv = [f.flag, *shown.split()]
        else:
            argv = [f.flag, shown]
        args = build_parser().parse_args(["train", *argv])
        assert config.resolve(None, **spec_overrides(args))[f.name] == config.DEFAULTS[f.name], f.name
    assert "activation of the hidden layers (any Keras name) (default: elu)" in " ".join(
        by_flag["--activation"].help.split())


def test_every_help_line_of_every_command_shows_a_default():
    for name in ("train", "predict", "tune"):
        for action in _subparser(name)._actions:
            if action.option_strings and not action.required and action.dest not in ("help", "version"):
                assert "(default" in action.help, (name, action.option_strings)


def test_version(capsys):
    import kerasopt

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"kerasopt {kerasopt.__version__}\n"


def test_comma_lists_and_task_reach_the_config():
    from kerasopt import config
    from kerasopt.cli import build_parser, spec_overrides

    args = build_parser().parse_args(["train", "--categorical", "a, b", "--numeric", "c", "--drop", "d,e",
                                      "--task", "regression", "--dropout", "0.1"])
    resolved = config.resolve(None, **spec_overrides(args))
    assert (resolved["categorical"], resolved["numeric"], resolved["drop"]) == (["a", "b"], ["c"], ["d", "e"])
    assert resolved["task"] == "regression" and resolved["dropout"] == 0.1


def test_default_out_follows_the_data_file():
    from kerasopt.spec import default_out

    assert default_out(None) == os.path.join("runs", "phone")
    assert default_out(os.path.join("data", "loans.2024.csv")) == os.path.join("runs", "loans.2024")


def test_a_user_file_needs_target_and_the_error_names_its_columns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = csv_file(tmp_path, "size,colour,label\n1,red,0\n2,blue,1\n", "shop.csv")
    assert main(["train", "--data", path, "--epochs", "1"]) == 1
    assert capsys.readouterr().err == (f"kerasopt train: error: Name the label column of {path} with --target "
                                       "(config key `target`). Available columns: size, colour, label.\n")
    assert not (tmp_path / "runs").exists()


def test_run_config_json_resolves_to_the_run_configuration(run_dir):
    from kerasopt import config, spec
    from kerasopt.cli import build_parser, spec_overrides

    out, csv = run_dir
    written = json.loads((out / "config.json").read_text())
    assert set(written) - set(config.DEFAULTS) <= set(spec.DERIVED)  # the run's facts are ignorable keys
    # the configuration the run used: its flags (FAST) over the defaults
    args = build_parser().parse_args(["train", "--data", str(csv), "--out", str(out), *FAST])
    used = config.resolve(None, **spec_overrides(args))
    assert config.resolve(config.load_file(out / "config.json")) == used


def test_cosine_needs_no_arguments_and_config_json_fed_back_reproduces_the_run(tmp_path, phone_csv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "first", tmp_path / "runs" / "phone"  # the default --out: runs/<data file name>
    assert main(["train", "--data", str(phone_csv), "--out", str(first), "--schedule", "cosine", "--no-refit",
                 "--patience", "5", *FAST]) == 0
    # decay over the run's 3 epochs: lr(e) = 0.01 * (1 + cos(pi * e / 3)) / 2
    expected = [0.01 * (1 + np.cos(np.pi * e / 3)) / 2 for e in range(3)]
    np.testing.assert_allclose(pd.read_csv(first / "history.csv")["learning_rate"], expected, rtol=1e-6)
    assert main(["train", "--config", str(first / "config.json")]) == 0
    assert (second / "history.csv").read_text() == (first / "history.csv").read_text()
    assert json.loads((second / "config.json").read_text()) == json.loads((first / "config.json").read_text())


# -- which failures are one line --------------------------------------------------------------

def _raising(error):
    def body():
        raise error
    return body


@pytest.mark.parametrize("error, line", [
    (ArgumentError("Invalid value for `x`: expected 1. Received: x=2"),
     "Invalid value for `x`: expected 1. Received: x=2"),
    (DataError("Data file is empty:\n  a.csv"), "Data file is empty: a.csv"),
    (FileNotFoundError(2, "No such file or directory", "in.csv"), "No such file or directory: in.csv"),
    (PermissionError(13, "Permission denied", "/root/out"), "Permission denied: /root/out"),
])
def test_user_errors_are_one_line_and_status_1(error, line, capsys):
    assert run_reporting_errors("kerasopt train", _raising(error)) == 1
    assert capsys.readouterr().err == f"kerasopt train: error: {line}\n"


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("k"), TypeError("t"), OSError("no file named")])
def test_other_exceptions_are_bugs_and_keep_their_traceback(error, capsys):
    with pytest.raises(type(error)):
        run_reporting_errors("kerasopt train", _raising(error))
    assert capsys.readouterr().err == ""


def test_predict_matches_columns_by_name_and_ignores_extra_ones(run_dir, tmp_path, capsys):
    out, _ = run_dir
    rows = data.make_phone_data(10, seed=2).drop(columns="price_range")
    expected = keras.saving.load_model(out / "model.keras").predict(rows, verbose=0)
    shuffled = rows[list(reversed(rows.columns))].assign(colour="red")
    shuffled.to_csv(tmp_path / "rows.csv", index=False)
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "rows.csv"),
                 "--out", str(pred), "--no-proba"]) == 0
    assert "note: Ignored column(s) the model does not use: colour." in capsys.readouterr().out
    result = pd.read_csv(pred)
    assert list(result.columns) == ["row", "price_range"]  # no id column: the data row number is the key
    assert result["row"].tolist() == list(range(1, 11))
    assert result["price_range"].tolist() == expected.argmax(axis=1).tolist()


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    """A user's table: an id, a numeric column with gaps, a string column with gaps, an all-missing
    column, and string labels."""
    root = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "size": rng.normal(size=n),
                          "colour": rng.choice(["red", "green", "blue"], n), "empty": np.nan})
    frame.loc[::5, "size"] = np.nan
    frame.loc[::7, "colour"] = None
    frame["fruit"] = np.where(frame["colour"].eq("red") | (frame["size"] > 1), "apple", "pear")
    path = root / "fruit.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_users_table_trains_predicts_and_evaluates_in_its_labels(table_csv, tmp_path, capsys):
    path, frame = table_csv
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "fruit", "--out", str(out), "--epochs", "3",
                 "--hidden-units", "4"]) == 0
    printed = capsys.readouterr().out
    assert "note: Dropped column 'id': consecutive integers 1..120, one per row (an identifier)." in printed
    assert "note: Dropped column 'empty': all cells are missing." in printed
    config = json.loads((out / "config.json").read_text())
    assert config["derived"]["task"] == "classification" and config["derived"]["classes"] == ["apple", "pear"]
    assert config["derived"]["used_columns"] == ["size", "colour"]

    new = frame.drop(columns="fruit").head(6).assign(colour=["purple", None, "red", "green", "blue", "red"])
    new.to_csv(tmp_path / "new.csv", index=False)  # a colour never seen, and a gap
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(tmp_path / "new.csv"),
                 "--out", str(pred)]) == 0
    result = pd.read_csv(pred)
    assert list(result.columns) == ["id", "fruit", "proba_apple", "proba_pear"]
    assert set(result["fruit"]) <= {"apple", "pear"} and result["id"].tolist() == list(range(1, 7))

    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(path), "--out", str(report)]) == 0
    scores = json.loads((report / "evaluation.json").read_text())
    assert scores["classes"] == ["apple", "pear"] and scores["rows"] == 120
    assert sum(map(sum, scores["confusion_matrix"])) == 120 and "roc_auc" in scores
    assert (report / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(path), "--out", str(report)]) == 1
    assert "already holds evaluation.json" in capsys.readouterr().err


def test_a_continuous_target_is_a_regression(table_csv, tmp_path, capsys):
    path, frame = table_csv
    rng = np.random.default_rng(1)
    frame = frame.drop(columns="fruit").assign(weight=lambda f: 100 + 20 * f["size"].fillna(0)
                                               + rng.normal(size=len(f)))
    frame.to_csv(tmp_path / "weights.csv", index=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "weights.csv"), "--target", "weight", "--out", str(out),
                 "--epochs", "2", "--hidden-units", "4"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["derived"]["task"] == "regression" and config["derived"]["classes"] is None
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"rmse", "mae", "r2"} <= set(metrics["test"]) and {"rmse", "mae", "r2"} <= set(metrics["test_scores"])
    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(tmp_path / "weights.csv"),
                 "--out", str(report)]) == 0
    assert (report / "residuals.png").exists() and "r2" in capsys.readouterr().out


# -- a user's CSV as it comes: dialects, encodings and odd columns (tests/csv_cases.py) ---------

from .csv_cases import CASES, write_case  # noqa: E402


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_csv_case(case, tmp_path, capsys):
    train_csv, predict_csv = write_case(case, tmp_path)
    out = tmp_path / "run"
    code = main(["train", "--data", train_csv, "--target", case.target, "--out", str(out), "--epochs", "1",
                 "--hidden-units", "4", "--no-refit", "--quiet"])
    captured = capsys.readouterr()
    if case.outcome == "error":
        assert code == 1 and captured.err.count("\n") == 1 and case.message in captured.err
        assert not out.exists()
        return
    assert code == 0, captured.err
    notes = [line for line in captured.out.splitlines() if line.startswith("note: ")]
    assert (case.message in " ".join(notes)) if case.outcome == "note" else notes == []
    config = json.loads((out / "config.json").read_text())
    assert config["derived"]["task"] == case.task
    columns = config["derived"]["feature_columns"]
    assert columns[0] == "size" and all(not c.endswith("\r") for c in columns)
    used = config["derived"]["used_columns"]
    if "size" in used:  # read as numbers in every dialect
        assert keras.saving.load_model(out / "model.keras").schema.features[0].kind == "numeric"
    if predict_csv is not None:
        pred = tmp_path / "pred.csv"
        assert main(["predict", "--model", str(out / "model.keras"), "--data", predict_csv, "--out", str(pred)]) == 0
        assert len(pd.read_csv(pred)) == len(pd.read_csv(predict_csv))

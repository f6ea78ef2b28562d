"""What a run directory hands the user besides the model: baselines, importance, predictions, a report.

`train_extras` / `write_train_outputs` (`kerasopt train`), `write_evaluation_outputs`
(`kerasopt evaluate`) and `write_tune_outputs` (a finalized `kerasopt tune`); docs/cli.md lists
the files.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _io
from kerasopt import baselines as baselines_lib
from kerasopt import report
from kerasopt.signals import scalar_scores

__all__ = ["TRAIN_FILES", "EVALUATION_FILES", "TUNE_FILES", "train_extras", "write_train_outputs",
           "write_evaluation_outputs", "write_tune_outputs", "comparison_lines", "prediction_frame"]

#: Files `write_train_outputs` adds to a training run (`oof_predictions.csv` with bagging only).
TRAIN_FILES = ("importance.csv", "importance.png", "oof_predictions.csv", "report.html")
#: Files `write_evaluation_outputs` adds to an evaluation.
EVALUATION_FILES = ("importance.csv", "importance.png", "report.html")
#: Files `write_tune_outputs` adds to a search.
TUNE_FILES = ("baselines.json", "report.html")
IMPORTANCE_REPEATS = 5


# -- train ---------------------------------------------------------------------------------------

def train_extras(config: dict[str, Any], table, rows: dict[str, np.ndarray], model, record: dict[str, Any],
                 test_outputs: np.ndarray | None = None) -> dict[str, Any]:
    """Computes the baselines and the importance of a finished training run (nothing is written).

    Args:
        config: The resolved configuration (`baseline` switches the baselines).
        table: The `kerasopt.pipeline.Table` of the run.
        rows: Its row indices `{"train", "validation", "test"}`.
        model: The saved `TabularModel`.
        record: The training record (with `out_of_fold` for a bagged run).
        test_outputs: The model's outputs for the test rows, if already predicted (the importance's
            intact score is then theirs).

    Returns:
        `{"baselines": dict or None, "importance": DataFrame, "importance_rows": str,
        "scope": "test" | "out-of-fold" | None, "ours": the network's scores on that scope}`.
    """
    from kerasopt import importance

    pool = np.sort(np.concatenate([rows["train"], rows["validation"]]))
    test = rows["test"]
    target = model.target
    result: dict[str, Any] = {"baselines": None, "scope": None, "ours": {}}
    if config.get("baseline", True):
        result["baselines"] = baselines_lib.fit_baselines(
            model.schema, target, table.features.iloc[pool], target.encode(table.labels.iloc[pool]),
            table.features.iloc[test], target.encode(table.labels.iloc[test]), seed=config["seed"],
            folds=config["bagging"] or 5)
        result["scope"] = result["baselines"]["scored_on"]
    scored, predict = (test, None) if len(test) else (pool, record.get("predict_out_of_fold"))
    if len(test):
        result["importance_rows"] = f"the {len(test)} test rows"
    elif predict is not None:
        result["importance_rows"] = (f"the {len(pool)} training rows, out of fold (each predicted by the "
                                     "network that held it out)")
    else:
        result["importance_rows"] = (f"the {len(pool)} training rows (no test rows: this shows what the model "
                                     "relies on, not what generalizes)")
    result["importance"] = importance.permutation_importance(
        model, table.features.iloc[scored], table.labels.iloc[scored], repeats=IMPORTANCE_REPEATS,
        seed=config["seed"], predict=predict, outputs=test_outputs if len(test) else None)
    return result


def _ours(extras: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """The network's scores on the rows the baselines were scored on (test, or out-of-fold with bagging)."""
    if extras["scope"] == "test":
        return metrics.get("test_scores", {})
    if extras["scope"] == "out-of-fold" and metrics.get("validation", {}).get("rows") is not None:
        return metrics["validation"]  # a bagged run's out-of-fold scores, in the original labels
    return {}


def comparison_lines(extras: dict[str, Any], metrics: dict[str, Any], task: str) -> list[str]:
    """The lines `kerasopt train` prints to compare the network with the baselines (none without them)."""
    if not extras["baselines"]:
        return []
    return baselines_lib.comparison_lines(extras["scope"], _ours(extras, metrics), extras["baselines"], task)


def prediction_frame(columns: dict[str, Any], name: str, target, outputs: np.ndarray,
                     proba: bool = True) -> pd.DataFrame:
    """A table of predictions: the given columns, the predicted labels or values, the class probabilities.

    Args:
        columns: The leading columns, `{name: values}` (a row key, ...).
        name: The name of the prediction column.
        target: The `kerasopt.tabular.TargetInfo` that decodes the outputs.
        outputs: The model's outputs, one row per row of `columns`: class
            probabilities, or values in the target's units.
        proba: Whether a classifier's table ends with `proba_<label>`, the
            probability of each class in the order of `target.classes`.

    Returns:
        The `pandas.DataFrame`.
    """
    outputs = np.asarray(outputs)
    frame = pd.DataFrame(columns)
    frame[name] = target.decode(outputs)
    if proba and target.classes is not None:
        for i, label in enumerate(target.classes):
            frame[f"proba_{label}"] = outputs[:, i]
    return frame


def oof_frame(table, pool: np.ndarray, target, outputs: np.ndarray) -> pd.DataFrame:
    """Out-of-fold predictions as a table: `row` (position in the data, 0 = first data row), `true`,
    `predicted` and, for a classifier, `proba_<label>` per class."""
    return prediction_frame({"row": np.asarray(pool, dtype="int64"), "true": table.labels.iloc[pool].to_numpy()},
                            "predicted", target, outputs)


def _error_figure(target, truth, outputs: np.ndarray, title: str):
    """`(scores, report section)`: the scores of the model `outputs` against `truth` (original labels), and
    their confusion matrix or residuals."""
    from kerasopt import evaluation

    scores, figure = evaluation.scores_and_figure(truth, target.decode(outputs), outputs, target.classes,
                                                  title=title)
    classes = target.classes is not None
    key, heading = ("confusion-matrix", "Confusion matrix") if classes else ("residuals", "Residuals")
    return scores, report.Section(key, heading, report.image(figure, heading))


def _baseline_section(ours, baselines, source: str = "",
                      missing: str = "Not computed (--no-baseline).") -> report.Section:
    if not baselines:
        return report.Section("baselines", "Baselines", f'<p class="note">{missing}</p>')
    scope = ("the test rows" if baselines["scored_on"] == "test" else
             f"out-of-fold predictions of the {baselines['rows']['train']} training rows")
    note = (f'<p class="note">Fitted on the {baselines["rows"]["train"]} rows the network trained on and scored on '
            f'{scope}{source}.</p>')
    rows = [{"model": "kerasopt network", **scalar_scores(ours)}] if ours else []
    rows += [{"model": m["label"], **scalar_scores(m), "seconds": m["seconds"],
              **({"error": m["error"]} if "error" in m else {})} for m in baselines["models"].values()]
    return report.Section("baselines", "Baselines", note + report.table(rows))


def _importance_section(frame: pd.DataFrame, rows_text: str, png: str) -> report.Section:
    metric = frame["metric"].iloc[0] if len(frame) else "score"
    note = (f'<p class="note">Permutation importance on {rows_text}: the drop in {metric} when a column\'s cells '
            f"are shuffled ({IMPORTANCE_REPEATS} shuffles, seeded).</p>")
    return report.Section("importance", "Feature importance",
                          note + report.image(png, "feature importance") +
                          report.table(frame[["column", "importance", "std"]].to_dict("records")))


def _metrics_section(metrics: dict[str, Any], bagged: bool) -> report.Section:
    rows = [{"split": "out-of-fold" if split == "validation" and bagged else split, **scalar_scores(metrics[split])}
            for split in ("train", "validation", "test") if metrics.get(split)]
    if metrics.get("test_scores"):
        rows.append({"split": "test (original labels)", **scalar_scores(metrics["test_scores"])})
    facts = {k: metrics[k] for k in ("best_epoch", "epochs_run", "refit_rows", "seconds") if k in metrics}
    note = f'<p class="note">{metrics.get("note", "")}</p>' if metrics.get("note") else ""
    return report.Section("metrics", "Metrics", report.table(rows) + report.key_values(facts) + note)


def _image_sections(path: str, key: str, heading: str, alt: str) -> list[report.Section]:
    """A section showing the image at `path`, or none when there is no such file."""
    return [report.Section(key, heading, report.image(path, alt))] if os.path.isfile(path) else []


def _config_section(config: dict[str, Any]) -> report.Section:
    return report.Section("configuration", "Configuration", report.preformatted(json.dumps(config, indent=2,
                                                                                       default=str)))


def write_train_outputs(out_dir: str, config: dict[str, Any], metrics: dict[str, Any], extras: dict[str, Any],
                        table, rows: dict[str, np.ndarray], model, record: dict[str, Any],
                        test_outputs: np.ndarray | None) -> dict[str, str]:
    """Writes `importance.csv`, `importance.png`, `oof_predictions.csv` (bagging) and `report.html`.

    Args:
        out_dir: The run directory (holding `curves.png`).
        config: The `config.json` content.
        metrics: The `metrics.json` content.
        extras: The result of `train_extras`.
        table, rows, model, record: As for `train_extras`.
        test_outputs: The model's outputs for the test rows (`None` without test rows).

    Returns:
        `{file name: path}` of the files written.
    """
    paths = {name: os.path.join(out_dir, name) for name in TRAIN_FILES}
    target = model.target
    name = os.path.basename(os.path.normpath(out_dir))
    frame = extras["importance"]
    _write_importance(frame, paths, target.name)
    pool = np.sort(np.concatenate([rows["train"], rows["validation"]]))
    oof = None
    if "out_of_fold" in record:
        oof = oof_frame(table, pool, target, record["out_of_fold"])
        _io.write_with(paths["oof_predictions.csv"], lambda tmp: oof.to_csv(tmp, index=False))
    else:
        stale = paths.pop("oof_predictions.csv")
        if os.path.exists(stale):  # an earlier, overwritten bagged run
            os.remove(stale)
    sections = [_metrics_section(metrics, bool(config.get("bagging"))),
                _baseline_section(_ours(extras, metrics), extras["baselines"])]
    sections += _image_sections(os.path.join(out_dir, "curves.png"), "curves", "Training curves", "training curves")
    test = rows["test"]
    if len(test):
        sections.append(_error_figure(target, table.labels.iloc[test].to_numpy(), np.asarray(test_outputs),
                                      f"{target.name}: test rows")[1])
    elif oof is not None:
        sections.append(_error_figure(target, oof["true"].to_numpy(), np.asarray(record["out_of_fold"]),
                                      f"{target.name}: out-of-fold")[1])
    sections.append(_importance_section(frame, extras["importance_rows"], paths["importance.png"]))
    sections.append(_config_section(config))
    source = config.get("derived", {}).get("data_source")
    report.write_report(paths["report.html"], f"kerasopt run: {name}", sections,
                        subtitle=f"target {target.name} ({target.task}), data {source}")
    return paths


# -- evaluate ------------------------------------------------------------------------------------

def _write_importance(frame: pd.DataFrame, paths: dict[str, str], target: str):
    """Writes `importance.csv` and `importance.png` of a permutation-importance table."""
    from kerasopt import importance
    from kerasopt.plotting import save_figure

    _io.write_with(paths["importance.csv"], lambda tmp: frame.to_csv(tmp, index=False))
    figure = importance.plot_importance(frame, title=f"{target}: permutation importance")
    save_figure(figure, paths["importance.png"])


def write_evaluation_outputs(out_dir: str, model, model_path: str, data_path: str, features: pd.DataFrame,
                             truth, scores: dict[str, Any], seed: int | None = 0) -> dict[str, str]:
    """Writes `importance.csv`, `importance.png` and `report.html` of `kerasopt evaluate`.

    Args:
        out_dir: The evaluation's folder.
        model: The loaded `TabularModel`.
        model_path: Its file.
        data_path: The evaluated CSV.
        features: The evaluated raw feature rows.
        truth: Their true labels or values.
        scores: The scores of `kerasopt.evaluation`.
        seed: Seed of the importance shuffles.

    Returns:
        `{file name: path}` of the files written.
    """
    from kerasopt import importance

    paths = {name: os.path.join(out_dir, name) for name in EVALUATION_FILES}
    target = model.target
    frame = importance.permutation_importance(model, features, truth, repeats=IMPORTANCE_REPEATS, seed=seed)
    _write_importance(frame, paths, target.name)
    metrics = [{"rows on": os.path.basename(os.fspath(data_path)), **scalar_scores(scores)}]
    body = report.table(metrics)
    if "per_class" in scores:
        body += report.table([{"class": c, **v} for c, v in scores["per_class"].items()])
    sections = [report.Section("metrics", "Metrics", body)]
    run_folder = os.path.dirname(os.path.abspath(model_path))
    run_metrics = _io.read_json(os.path.join(run_folder, "metrics.json"), default={})
    sections.append(_baseline_section(run_metrics.get("test_scores", {}), run_metrics.get("baselines"),
                                      source=" of the training run (not these rows)",
                                      missing="None recorded: the model's folder holds no metrics.json with "
                                              "baselines."))
    sections += _image_sections(os.path.join(run_folder, "curves.png"), "curves", "Training curves",
                                "training curves")
    for file, key, heading in (("confusion_matrix.png", "confusion-matrix", "Confusion matrix"),
                               ("residuals.png", "residuals", "Residuals")):
        sections += _image_sections(os.path.join(out_dir, file), key, heading, heading)
    sections.append(_importance_section(frame, f"the {frame['rows'].iloc[0] if len(frame) else 0} evaluated rows",
                                        paths["importance.png"]))
    config = (_io.read_json(os.path.join(run_folder, "config.json"), default={})
              or {"model": os.path.abspath(model_path)})
    sections.append(_config_section(config))
    report.write_report(paths["report.html"], f"kerasopt evaluation: {os.path.basename(os.fspath(data_path))}",
                        sections, subtitle=f"model {os.path.abspath(model_path)}")
    return paths


# -- tune ----------------------------------------------------------------------------------------

def _leaderboard(out_dir: str, best: dict[str, Any], top: int = 20) -> str:
    from kerasopt.tuning.report import ranked

    path = os.path.join(out_dir, "trials.csv")
    if not os.path.isfile(path):
        return '<p class="note">No trials.csv.</p>'
    frame = pd.read_csv(path)
    objective = best.get("objective")  # none when no trial completed
    if objective:
        frame = ranked(frame, objective)
    note = (f'<p class="note">{len(frame)} trials' + (f", best first by {objective}" if objective else "")
            + (f"; the top {top} shown" if len(frame) > top else "") + ".</p>")
    return note + report.table(frame.head(top).to_dict("records"))


def write_tune_outputs(out_dir: str, x_train: pd.DataFrame, y_train, x_test: pd.DataFrame, y_test, target, *,
                       test_outputs: np.ndarray | None = None, schema=None,
                       seed: int | None = 0, baseline: bool = True, verbose: int = 1) -> str:
    """Writes `baselines.json` and `report.html` of a finalized search; prints the comparison.

    Args:
        out_dir: The search's output directory.
        x_train, y_train: The search's rows (raw features, encoded targets).
        x_test, y_test: The held-out rows (may be empty).
        target: The `kerasopt.tabular.TargetInfo`.
        test_outputs: The best model's outputs for the held-out rows (`None`:
            no held-out rows or no best model; the report then has no test scores).
        schema: The `kerasopt.tabular.Schema` of the search rows, which types the
            baselines' columns (`None`: `kerasopt.tabular.infer_schema(x_train)`).
        seed: Seed of the baselines.
        baseline: Whether to fit the baselines.
        verbose: Whether to print the comparison lines.

    Returns:
        The path of `report.html`.
    """
    from kerasopt import tabular

    best = _io.read_json(os.path.join(out_dir, "best_config.json"), default={})
    ours, errors = {}, None  # the best model's scores on the held-out rows in the original labels, its error figure
    if test_outputs is not None:
        ours, errors = _error_figure(target, target.labels(y_test), np.asarray(test_outputs),
                                     f"{target.name}: held-out test rows")
    found = None
    if baseline:
        schema = schema or tabular.infer_schema(x_train)
        found = baselines_lib.fit_baselines(schema, target, x_train, y_train, x_test, y_test, seed=seed)
        _io.write_json(os.path.join(out_dir, "baselines.json"), found)
        if verbose:
            scope = "test" if found["scored_on"] == "test" else "out-of-fold"
            for line in baselines_lib.comparison_lines(scope, ours, found, target.task):
                print(line)
    sections = [report.Section("metrics", "Best trial",
                               report.key_values({"trial": best.get("trial_id"), "objective": best.get("objective"),
                                                  "score": best.get("score"),
                                                  "retrain epochs": best.get("retrain_epochs"),
                                                  "ensemble": best.get("ensemble")}) +
                               (report.table([{"split": "held-out test", **scalar_scores(ours)}]) if ours else "")),
                _baseline_section(ours, found),
                report.Section("leaderboard", "Leaderboard", _leaderboard(out_dir, best))]
    sections += _image_sections(os.path.join(out_dir, "trials.png"), "curves", "Search progress", "trials")
    if errors is not None:
        sections.append(errors)
    search = _io.read_json(os.path.join(out_dir, "search.json"), default={})
    sections.append(_config_section({"best_config": best, "search": search}))
    path = os.path.join(out_dir, "report.html")
    report.write_report(path, f"kerasopt search: {os.path.basename(os.path.normpath(out_dir))}", sections,
                        subtitle=f"target {target.name} ({target.task})")
    return path

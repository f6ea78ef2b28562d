"""The tabular training pipeline behind `kerasopt train`, `predict` and `evaluate`.

`run_training` writes a run directory (`RUN_FILES`, see docs/cli.md). The model is a
`kerasopt.tabular.TabularModel` that types, imputes and encodes the columns itself and knows its
labels, so `predict_file` and `evaluate_file` need nothing but `model.keras` and a CSV of raw rows.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _io
from kerasopt import _validation as check
from kerasopt import budget as budget_lib
from kerasopt import config as config_lib
from kerasopt import data as data_lib
from kerasopt import run_outputs, signals, spec
from kerasopt._quiet import quiet_retracing
from kerasopt.errors import ConfigError, DataError

__all__ = [
    "RUN_FILES",
    "Table",
    "check_id_column",
    "cross_validate_config",
    "evaluate_file",
    "load_table",
    "table_from_frame",
    "target_column",
    "target_for",
    "predict_file",
    "run_training",
]

RUN_FILES = ("model.keras", "config.json", "metrics.json", "history.csv", "curves.png") + run_outputs.TRAIN_FILES
_BACKUP = ".backup"


def load_training_data(config: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """Returns the labelled frame of a configuration and a description of its source.

    The rows are the CSV file `data` (read in `encoding`), or with `demo` the
    embedded phone-like demo data; exactly one of the two.

    Raises:
        ConfigError: for neither or both (`kerasopt.spec.check_data_source`).
    """
    spec.check_data_source(config.get("data"), config.get("demo"))
    if config.get("demo"):
        return data_lib.make_phone_data(seed=0), "embedded phone-like data (make_phone_data, 2000 rows)"
    return data_lib.load_csv(config["data"], encoding=config.get("encoding")), os.path.abspath(config["data"])


@dataclass
class Table:
    """A labelled table as the pipeline trains on it.

    Attributes:
        features: The feature columns, raw (every column but the target).
        labels: The target column, raw.
        target: The `kerasopt.tabular.TargetInfo` (task, classes; for
            regression the statistics of all rows, refined per training set).
        source: Where the rows came from, for `config.json`.
        drop: Columns left out of every model: those declared in `drop` and
            those that carry no signal in the whole table (identifiers,
            constants, all missing), which a subset of rows can hide (the
            shuffled training ids 1..n are no longer one consecutive run).
        notes: One line per column dropped for carrying no signal.
    """

    features: pd.DataFrame
    labels: pd.Series
    target: Any
    source: str
    drop: list[str]
    notes: list[str]

    @property
    def classification(self) -> bool:
        return self.target.task == "classification"


def target_column(target: str | None, data, frame: pd.DataFrame) -> str:
    """Returns the label column of a run: `target`, or the demo data's when `data` is `None`.

    Args:
        target: The `target` option (`None` when not given).
        data: The `data` option: a path, a DataFrame, or `None` for the
            embedded demo data.
        frame: The loaded data, whose columns a missing `target` lists.

    Raises:
        ConfigError: when a user's data comes without `target`, naming its columns.
    """
    if target is not None:
        return target
    if data is None:
        return spec.DEMO_TARGET
    source = os.fspath(data) if isinstance(data, (str, os.PathLike)) else "the data"
    raise ConfigError(f"Name the label column of {source} with --target (config key `target`). "
                      f"Available columns: {', '.join(map(str, frame.columns))}.")


def table_from_frame(frame: pd.DataFrame, target: str, *, task: str | None = None, categorical=(),
                     numeric=(), drop=(), source: str = "a DataFrame") -> Table:
    """Splits a labelled frame into a `Table` and checks its labels and columns.

    Args:
        frame: The labelled rows, raw.
        target: The column to predict.
        task: `"classification"`, `"regression"` or `None` (detected).
        categorical, numeric, drop: Column overrides (see
            `kerasopt.tabular.infer_schema`).
        source: Where the rows came from.

    Returns:
        A `Table`.

    Raises:
        DataError: for a missing target column, bad labels or unusable columns.
    """
    from kerasopt import tabular

    data_lib.check_target(target, frame.columns)
    labels = frame[target]
    _, info = tabular.encode_target(labels, task=task)
    features = frame.drop(columns=[target])
    whole = tabular.infer_schema(features, categorical=categorical or (), numeric=numeric or (), drop=drop or ())
    return Table(features, labels, info, source, drop=list(whole.dropped), notes=list(whole.notes))


def load_table(config: dict[str, Any]) -> Table:
    """Loads and checks the labelled rows of a configuration.

    Args:
        config: A resolved configuration (`data`, `target`, `task`,
            `categorical`, `numeric`, `drop`).

    Returns:
        A `Table`.

    Raises:
        DataError, ConfigError: for a missing file or target column, or bad
            labels (see `kerasopt.tabular.encode_target`).
    """
    frame, source = load_training_data(config)
    data = None if config.get("demo") else config["data"]
    return table_from_frame(frame, target_column(config.get("target"), data, frame), task=config.get("task"),
                            categorical=config.get("categorical"), numeric=config.get("numeric"),
                            drop=config.get("drop"), source=source)


def target_for(table: Table, rows: np.ndarray):
    """Returns the table's target, with a regression target's statistics learned from `rows` only.

    A classification target (its classes come from all rows) is `table.target` itself; a regression
    target is standardized with the mean and standard deviation of the labels of `rows`, so that
    held-out rows play no part in training.

    Args:
        table: A `Table`.
        rows: Index array of the training rows.

    Returns:
        A `kerasopt.tabular.TargetInfo` (see `kerasopt.tabular.encode_target`).
    """
    from kerasopt import tabular

    if table.classification:
        return table.target
    return tabular.encode_target(table.labels.iloc[rows], task="regression")[1]


def _one_network(config: dict[str, Any], table: Table, train: np.ndarray, validation: np.ndarray,
                 progress: str | None, verbose: int) -> tuple[Any, dict[str, Any]]:
    """One network (`members.train_members`, K = 1) on `train`, stopping early on a non-empty `validation`;
    column statistics and a regression target's scale come from `train`."""
    from kerasopt import members

    model, record = members.train_members(config, table.features, table.labels, [train],
                                          [validation] if len(validation) else None,
                                          target=target_for(table, train), drop=table.drop, progress=progress,
                                          verbose=verbose)
    for key in ("out_of_fold", "predict_out_of_fold"):  # the held-out rows are a validation split, not folds
        record.pop(key, None)
    return model, record


def _fit_and_refit(config: dict[str, Any], table: Table, rows: dict[str, np.ndarray],
                   state_dir: str | None = None, verbose: int = 0,
                   progress: str | None = None) -> tuple[Any, dict[str, Any]]:
    """One network stopping early on the validation rows, then with `refit` a fresh one on the training and
    validation rows for the best epoch count. The record is the first phase's, with the final model's `train`
    and `penalty`, both phases' `seconds` and `refit_rows`. With `state_dir`, the first phase's record is kept
    there, so a run killed in the refit resumes at the refit. `progress`: the prefix of each phase's progress
    line (`None`: no lines)."""
    state_path = os.path.join(state_dir, "selection.json") if state_dir else None
    record = None
    if state_path and os.path.isfile(state_path):
        record = _io.read_json(state_path)
    refit = config["refit"] and len(rows["validation"]) > 0
    if record is None or not refit:
        model, record = _one_network(config, table, rows["train"], rows["validation"],
                                     None if progress is None else progress + "early-stopping run", verbose)
        record["refit_rows"] = 0
        if not refit:
            return model, record
        if state_path:
            _io.write_json(state_path, record)
    both = np.concatenate([rows["train"], rows["validation"]])
    model, final = _one_network({**config, "epochs": record["best_epoch"]}, table, both, both[:0],
                                None if progress is None else progress + "refit", verbose)
    record.update(train=final["train"], penalty=final["penalty"], seconds=record["seconds"] + final["seconds"],
                  refit_rows=len(both))
    return model, record


def _train_config(config: dict[str, Any], table: Table, rows: dict[str, np.ndarray],
                  state_dir: str | None = None, verbose: int = 0,
                  progress: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Trains as configured on `rows`: one network (`_fit_and_refit`), or K bagged networks on the
    training and validation rows together (`kerasopt.bagging`: `validation` is out of fold)."""
    from kerasopt import bagging

    if not config["bagging"]:
        config, budget = budget_lib.sized(config, len(rows["train"]), regression=not table.classification)
        model, record = _fit_and_refit(config, table, rows, state_dir=state_dir, verbose=verbose, progress=progress)
        record["budget"] = budget
    else:
        pool = np.sort(np.concatenate([rows["train"], rows["validation"]]))
        model, record = bagging.train_bagged(config, table.features.iloc[pool], table.labels.iloc[pool],
                                             target=target_for(table, pool), drop=table.drop, progress=progress)
        record["refit_rows"] = 0
    return model, record


def _split(config: dict[str, Any], table: Table) -> dict[str, np.ndarray]:
    train, val, test = data_lib.split_rows(table.labels.to_numpy(), config["validation_split"],
                                           config["test_split"], config["seed"], stratify=table.classification)
    return {"train": train, "validation": val, "test": test}


def _scores(model, table: Table, rows: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Scores of `model` on `rows` in the original labels (see `kerasopt.evaluation`), and its outputs."""
    from kerasopt import evaluation

    outputs = np.asarray(model.predict(table.features.iloc[rows], batch_size=1024, verbose=0))
    return evaluation.target_scores(model.target, table.labels.iloc[rows].to_numpy(), outputs), outputs


def _tested(model, table: Table, rows: np.ndarray) -> tuple[dict[str, Any], dict[str, float], np.ndarray | None]:
    """The test `rows` predicted once (`kerasopt.inference.outputs_and_metrics`): their scores in the original
    labels, the model's metrics (`training.evaluate`'s, less `loss`) and the outputs (for the report's figure);
    `({}, {}, None)` without rows."""
    from kerasopt import evaluation, inference

    outputs, metrics = inference.outputs_and_metrics(model, table.features.iloc[rows], table.labels.iloc[rows],
                                                     batch_size=1024)
    if outputs is None:
        return {}, {}, None
    return evaluation.target_scores(model.target, table.labels.iloc[rows].to_numpy(), outputs), metrics, outputs


def cross_validate_config(config: dict[str, Any], folds: int = 5, progress: bool = True) -> dict[str, Any]:
    """Estimates how well a configuration does by k-fold cross-validation.

    Each fold runs the same procedure as `run_training` on the other folds
    (bagging, or early stopping on `validation_split` of them and the refit,
    as configured; column statistics learned on the fold's training rows
    only) and scores the held-out fold, which no part of training saw. Folds are
    stratified for classification as far as the classes allow (`kerasopt.data.kfold_rows`).

    Args:
        config: A configuration; `test_split` is ignored (the folds are the test sets).
        folds: Number of folds (>= 2).
        progress: Whether to show a progress line per fold and phase when
            standard error is a terminal.

    Returns:
        `{"metric": "accuracy" | "r2", "folds": [score, ...], "mean": float, "std": float,
        "best_epochs": [...], "budgets": [...]}`, a fold's budget being
        `kerasopt.budget.Budget.as_dict()`.
    """
    config = config_lib.resolve(config)
    folds = check.folds("folds", folds)
    table = load_table(config)
    metric = "accuracy" if table.classification else "r2"
    labels = table.labels.to_numpy()
    scores, best_epochs, budgets = [], [], []
    with quiet_retracing():
        for fold, (train_rows, test_rows) in enumerate(data_lib.kfold_rows(labels, folds, config["seed"],
                                                                             table.classification)):
            inner, val, _ = data_lib.split_rows(labels[train_rows], config["validation_split"], 0.0, config["seed"],
                                                stratify=table.classification)
            rows = {"train": train_rows[inner], "validation": train_rows[val], "test": test_rows}
            model, record = _train_config(config, table, rows,
                                          progress=f"fold {fold + 1}/{folds}, " if progress else None)
            scores.append(_scores(model, table, test_rows)[0][metric])
            best_epochs.append(record["best_epoch"])
            budgets.append(record["budget"])
    return {"metric": metric, "folds": scores, "mean": float(np.mean(scores)), "std": float(np.std(scores)),
            "best_epochs": best_epochs, "budgets": budgets}


def run_training(config: dict[str, Any], out_dir: str | os.PathLike, overwrite: bool = False,
                 verbose: int = 0, progress: bool = True) -> dict[str, Any]:
    """Trains a model as configured and writes the run directory (see docs/cli.md).

    With `bagging` K >= 2, K networks train as one stacked model on K folds (`validation` metrics
    out-of-fold); with `bagging` 0, early stopping on the validation rows picks the epochs, then
    `refit` retrains on all non-test rows; a killed run resumes from `out_dir/.backup`.

    Args:
        config: A configuration (see `kerasopt.config.DEFAULTS`); missing keys take their defaults.
        out_dir: Directory for the outputs.
        overwrite: Whether to replace the outputs of an earlier run.
        verbose: Verbosity of `fit`.
        progress: Whether to show a progress line per phase when standard error is a terminal.

    Returns:
        A summary dict: metrics per split, test `scores` in the original labels, best epoch,
        epochs run, seconds, `notes` on dropped columns and the output paths.

    Raises:
        DataError, ConfigError, OutputExistsError, ValueError: for bad input, before anything is written.
    """
    config = config_lib.resolve(config)
    out_dir = os.fspath(out_dir)
    _io.check_out_dir(out_dir, RUN_FILES, overwrite)
    table = load_table(config)
    rows = _split(config, table)

    # Invalid hyperparameters raise while the first model is built, before anything is written.
    state_dir = os.path.join(out_dir, _BACKUP)
    with quiet_retracing():
        model, record = _train_config(config, table, rows, state_dir=state_dir, verbose=verbose,
                                      progress="" if progress else None)
    scores, record["test"], outputs = _tested(model, table, rows["test"])

    paths = {name: os.path.join(out_dir, name) for name in RUN_FILES}
    _io.write_with(paths["model.keras"], model.save)
    resolved = _resolved_config(config, table, rows, model, record)
    _io.write_json(paths["config.json"], resolved)
    metrics, warnings = _reported(config, record, resolved["derived"]["rows"])
    penalty = record["penalty"]  # the members' mean (the saved model's `losses` sum every member's)
    extras = run_outputs.train_extras(config, table, rows, model, record, outputs)
    written = {**metrics, "test_scores": scores, "penalty": penalty, "best_epoch": record["best_epoch"],
               "epochs_run": record["epochs_run"], "refit_rows": record["refit_rows"],
               "seconds": round(record["seconds"], 3), "warnings": warnings, "note": _metrics_note(config, record),
               **({"baselines": extras["baselines"]} if extras["baselines"] else {})}
    _io.write_json(paths["metrics.json"], written)
    _write_history(record, paths, title=f"kerasopt run: {os.path.basename(out_dir)}")
    extra_paths = run_outputs.write_train_outputs(out_dir, resolved, written, extras, table, rows, model, record,
                                                  outputs)
    paths = {name: path for name, path in paths.items() if name in extra_paths or name not in run_outputs.TRAIN_FILES}
    shutil.rmtree(state_dir, ignore_errors=True)
    return {"metrics": metrics, "scores": scores, "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"], "seconds": record["seconds"], "refit_rows": record["refit_rows"],
            "notes": table.notes, "task": model.target.task, "paths": paths, "baselines": extras["baselines"],
            "comparison": run_outputs.comparison_lines(extras, written, model.target.task), "penalty": penalty,
            "warnings": warnings}


def _resolved_config(config: dict[str, Any], table, rows, model, record: dict[str, Any]) -> dict[str, Any]:
    """The `config.json` of a run: the configuration and what training derived from the data."""
    return {**config, "target": model.target.name,
            "derived": {"task": model.target.task, "feature_columns": [str(c) for c in table.features.columns],
                        "used_columns": model.schema.names, "dropped_columns": model.schema.dropped,
                        "notes": table.notes, "classes": model.classes,
                        "steps_per_epoch": record["budget"]["steps_per_epoch"], "budget": record["budget"],
                        "data_source": table.source, "rows": _rows_used(config, rows, record),
                        **({"member_best_epochs": record["member_best_epochs"]} if config["bagging"] else {})}}


def _write_history(record: dict[str, Any], paths: dict[str, str], title: str) -> None:
    """Writes the curves of a run: `history.csv` and `curves.png`."""
    from kerasopt.plotting import plot_history, save_figure

    history = pd.DataFrame(record["history"])  # `kerasopt.members` named Keras's `loss` `objective`
    history.insert(0, "epoch", np.asarray(record["epochs"], dtype="int64") + 1)
    _io.write_with(paths["history.csv"], lambda tmp: history.to_csv(tmp, index=False))
    save_figure(plot_history(record["history"], title=title), paths["curves.png"])


def _reported(config: dict[str, Any], record: dict[str, Any], rows: dict[str, int]
              ) -> tuple[dict[str, dict], list[str]]:
    """The scores a run reports per split (data losses, row counts), and its warnings."""
    bagged = bool(config["bagging"])
    counts = {"train": rows["train"] if bagged else rows["refit"] or rows["train"],
              "validation": rows["train"] if bagged else rows["validation"], "test": rows["test"]}
    metrics = {split: signals.split_scores(record[split], counts[split])
               for split in ("train", "validation", "test") if record[split]}
    stopping = signals.early_stopping_warning(record["budget"]["epochs"], record["budget"]["patience"],
                                              record["member_best_epochs"], record["member_stopped_epochs"])
    return metrics, ([stopping] if stopping else []) + signals.small_rows_warnings(metrics, out_of_fold=bagged)


def _rows_used(config: dict[str, Any], rows: dict[str, np.ndarray], record: dict[str, Any]) -> dict[str, int]:
    if config["bagging"]:  # the members' folds split the training and validation rows together
        return {"train": len(rows["train"]) + len(rows["validation"]), "validation": 0, "test": len(rows["test"]),
                "refit": 0, "folds": config["bagging"]}
    return {"train": len(rows["train"]), "validation": len(rows["validation"]), "test": len(rows["test"]),
            "refit": record["refit_rows"]}


def _metrics_note(config: dict[str, Any], record: dict[str, Any]) -> str:
    if config["bagging"]:
        splits = (f"train and test: the saved model (the average of {config['bagging']} networks); validation: "
                  "out-of-fold scores, each train + validation row predicted by the one network that held it out "
                  "(best_epoch: the networks' median)")
    else:
        splits = ("train and test: the saved model; validation: the early-stopping run that chose best_epoch"
                  + (", before the refit on train + validation rows" if record["refit_rows"] else ""))
    return splits + (
        "; test_scores: the saved model on the test rows, in the original labels; rows: the rows each split's "
        "scores rest on; log_loss / mse: the data loss (mse in the target's units), without the weight penalty, "
        "which is `penalty`; warnings: what to check before trusting the scores")


def _load_tabular_model(model_path: str):
    _io.check_model_file(model_path)
    import keras

    from kerasopt import tabular

    try:
        model = keras.saving.load_model(model_path)
    except Exception as e:  # Keras raises many types for a corrupt or foreign file
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Cannot load model file {model_path}: {reason}. "
                        "Pass a .keras file written by `kerasopt train` or `kerasopt tune`.") from None
    if not isinstance(model, tabular.TabularModel) or model.schema is None or model.target is None:
        raise DataError(f"Model file {model_path} holds a {type(model).__name__} without a table schema; "
                        "`predict` and `evaluate` take models written by `kerasopt train` or `kerasopt tune`.")
    return model


def check_id_column(frame: pd.DataFrame, id_column: str | None, source="the data") -> None:
    """Raises `DataError` when a named `id_column` is not a column of `frame`."""
    if id_column is not None:
        check.known_columns("Id column", id_column, frame.columns, where=f" in {source}",
                            fix="Choose one with --id, or leave it out to number the rows.")


def _row_key(frame: pd.DataFrame, model, id_column: str | None) -> tuple[str, np.ndarray]:
    """The key column of the predictions: `id_column`, else `id` when it is not a feature, else `row`."""
    if id_column is None and "id" in frame.columns and "id" not in model.schema.names:
        id_column = "id"
    if id_column is not None:
        return id_column, frame[id_column].to_numpy()
    name = "row" if model.target.name != "row" else "row_number"
    return name, np.arange(1, len(frame) + 1)


def predict_file(model_path: str | os.PathLike, data_path: str | os.PathLike, out_path: str | os.PathLike,
                 overwrite: bool = False, id_column: str | None = None, proba: bool = True,
                 notes: list[str] | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Predicts every row of a CSV with a saved model and writes the predictions.

    The model carries its input schema: columns are matched by name (any
    order); a missing column is an error that names it. Strings, gaps and
    categories never seen in training are fine. What the rows hold beyond
    that is handled, with one line per kind in `notes` (naming the columns
    and how many cells): columns the model does not use are ignored; cells
    that are not numbers in a numeric column, and infinite values, are read
    as missing (the model fills them like any gap, see
    `kerasopt.tabular.Schema.to_inputs`).

    Args:
        model_path: A `model.keras` written by `kerasopt train` or `tune`.
        data_path: CSV of rows to predict.
        out_path: Output CSV: a row key (the `id_column`; without one, the
            file's `id` column when the model does not use it as a feature,
            else `row`, the data row number from 1), the prediction in the
            original labels under the target's name, and for a classifier
            one probability column per class (`proba_<label>`); not replaced
            unless `overwrite`.
        overwrite: Whether to replace an existing `out_path`.
        id_column: Name of the column copied to the output as the row key;
            it must exist.
        proba: Whether to write the class probabilities.
        notes: Optional list that receives lines about ignored columns and
            cells read as missing.
        encoding: Text encoding of the CSV (`None`: UTF-8).

    Returns:
        The predictions as a DataFrame (also written to `out_path`).
    """
    model_path, out_path = os.fspath(model_path), os.fspath(out_path)
    _io.check_out_file(out_path, overwrite)
    frame = data_lib.load_csv(data_path, encoding=encoding)
    check_id_column(frame, id_column, os.fspath(data_path))
    model = _load_tabular_model(model_path)
    key, keys = _row_key(frame, model, id_column)
    features = frame.drop(columns=[key]) if key in frame.columns and key not in model.schema.names else frame
    inputs = model.convert_inputs(features, notes=notes)
    outputs = model.predict(inputs, batch_size=1024, verbose=0)
    result = run_outputs.prediction_frame({key: keys}, model.target.name or "prediction", model.target, outputs,
                                          proba=proba)
    _io.write_with(out_path, lambda tmp: result.to_csv(tmp, index=False))
    return result


EVALUATION_FILES = ("evaluation.json", "confusion_matrix.png", "residuals.png") + run_outputs.EVALUATION_FILES


def evaluate_file(model_path: str | os.PathLike, data_path: str | os.PathLike, out_dir: str | os.PathLike,
                  overwrite: bool = False, notes: list[str] | None = None,
                  encoding: str | None = None) -> dict[str, Any]:
    """Scores a saved model on a labelled CSV and writes the report (`evaluation.json`, figures, importance).

    Args:
        model_path: A `model.keras` written by `kerasopt train` or `tune`.
        data_path: CSV with the feature columns and the target column the model was trained on.
        out_dir: Folder for the report.
        overwrite: Whether to replace an earlier report in `out_dir`.
        notes: Optional list that receives lines about ignored columns and cells read as missing.
        encoding: Text encoding of the CSV (`None`: UTF-8).

    Returns:
        The scores (see `kerasopt.evaluation`), with `warnings` (a line when
        they rest on fewer than `kerasopt.signals.SMALL_ROWS` rows).
    """
    from kerasopt import evaluation
    from kerasopt.plotting import save_figure

    model_path, out_dir, data_path = os.fspath(model_path), os.fspath(out_dir), os.fspath(data_path)
    _io.check_out_dir(out_dir, EVALUATION_FILES, overwrite)
    frame = data_lib.load_csv(data_path, encoding=encoding)
    model = _load_tabular_model(model_path)
    target = model.target.name
    check.known_columns("Target column", target, frame.columns, where=f" in {data_path}",
                        fix=f"The model was trained to predict {target!r}; evaluate needs its true values.")
    truth = frame[target]
    model.target.encode(truth)  # one clear line for a missing or unknown label
    features = frame.drop(columns=[target])
    inputs = model.convert_inputs(features, notes=notes)
    outputs = np.asarray(model.predict(inputs, batch_size=1024, verbose=0))
    scores, figure = evaluation.scores_and_figure(truth.to_numpy(), model.target.decode(outputs), outputs,
                                                  model.classes, title=f"{target}: {os.path.basename(data_path)}")
    save_figure(figure, os.path.join(out_dir, "confusion_matrix.png" if model.classes is not None else "residuals.png"))
    warning = signals.few_rows_warning("evaluation", scores["rows"])
    scores["warnings"] = [warning] if warning else []
    _io.write_json(os.path.join(out_dir, "evaluation.json"),
                   {"model": os.path.abspath(model_path), "data": os.path.abspath(data_path), "target": target,
                    **scores})
    run_outputs.write_evaluation_outputs(out_dir, model, model_path, data_path, features, truth, scores)
    return scores


"""The tabular training pipeline behind `kerasopt train` and `kerasopt predict`.

`run_training` goes from a configuration to a run directory holding
`model.keras`, `config.json`, `metrics.json`, `history.csv` and `curves.png`;
`predict_file` applies a saved model to a CSV of raw feature rows.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _io
from kerasopt import _validation as check
from kerasopt import config as config_lib
from kerasopt import data as data_lib
from kerasopt.errors import ConfigError, DataError, OutputExistsError

__all__ = ["run_training", "predict_file", "cross_validate_config", "model_from_config", "RUN_FILES"]

RUN_FILES = ("model.keras", "config.json", "metrics.json", "history.csv", "curves.png")
_BACKUP = ".backup"


def _check_training_values(config: dict[str, Any]) -> None:
    """Checks the training values that `train` would only check after data loading."""
    for key in ("epochs", "batch_size"):
        check.positive_int(key, config[key])
    check.non_negative_int("patience", config["patience"])
    if config["seed"] is not None:
        check.non_negative_int("seed", config["seed"])
    for key in ("validation_split", "test_split"):
        check.unit_interval(key, config[key])


def load_training_data(config: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """Returns the labelled frame of a configuration and a description of its source."""
    if config["data"] is None:
        return data_lib.make_phone_data(seed=0), "embedded phone-like data (make_phone_data, 2000 rows)"
    return data_lib.load_csv(config["data"]), os.path.abspath(config["data"])


def model_from_config(config: dict[str, Any], x_train: np.ndarray, num_classes: int | None, target=None,
                      schema=None):
    """Builds the compiled model that a configuration describes.

    Args:
        config: A resolved configuration (see `kerasopt.config.resolve`).
        x_train: Training features; they adapt the model's Normalization layer
            and fix the steps per epoch of an epoch-based schedule. A
            DataFrame of raw rows builds a `kerasopt.tabular.TabularModel`.
        num_classes: Number of classes (`None`: regression).
        target: For a DataFrame, the `kerasopt.tabular.TargetInfo` of the
            target (it replaces `num_classes`).
        schema: For a DataFrame, a `kerasopt.tabular.Schema` to build from
            instead of the one inferred from `x_train`.

    Returns:
        `(model, steps_per_epoch)`.
    """
    from kerasopt import models, schedules

    steps_per_epoch = math.ceil(len(x_train) / config["batch_size"])
    check.positive_float("learning_rate", config["learning_rate"])
    learning_rate = schedules.get(config["schedule"], learning_rate=config["learning_rate"],
                                  steps_per_epoch=steps_per_epoch, **config["schedule_args"])
    optimizer = config["optimizer"]
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer, **config["optimizer_args"]}
    model = models.build_model(
        x_train if schema is None else schema, num_classes=num_classes, hidden_units=config["hidden_units"],
        activation=config["activation"], kernel_initializer=config["kernel_initializer"],
        l1=config["l1"], l2=config["l2"], dropout=config["dropout"], batch_norm=config["batch_norm"],
        optimizer=optimizer, learning_rate=learning_rate, seed=config["seed"],
        **({} if target is None else {"target": target}))
    return model, steps_per_epoch


def _fit(model, config: dict[str, Any], splits: data_lib.Splits, backup_dir: str | None = None,
         verbose: int = 0, early_stopping: bool = True):
    from kerasopt import training

    return training.train(
        model, splits.x_train, splits.y_train,
        validation_data=(splits.x_val, splits.y_val) if len(splits.y_val) else None,
        test_data=(splits.x_test, splits.y_test) if len(splits.y_test) else None,
        epochs=config["epochs"], batch_size=config["batch_size"], patience=config["patience"],
        early_stopping=early_stopping, reduce_lr_on_plateau=config["reduce_lr_on_plateau"],
        class_weight=config["class_weight"], backup_dir=backup_dir, seed=config["seed"], verbose=verbose)


def _fit_and_refit(config: dict[str, Any], splits: data_lib.Splits, num_classes: int,
                   state_dir: str | None = None, verbose: int = 0) -> tuple[Any, dict[str, Any]]:
    """Trains with early stopping on the validation rows, then (with `refit`) retrains a fresh
    model on the training and validation rows together for the best epoch count.

    The test rows take part in neither phase. With `state_dir`, each phase backs up its
    training state there, and the outcome of the first phase is kept in a small JSON
    file, so a killed run started again resumes where it stopped.

    Returns:
        `(model, record)`: the final model and a dict with the selection run's `history`
        (per-epoch lists), `epochs` (absolute indices), `best_epoch`, `epochs_run`,
        `validation` metrics, and the final model's `train` and `test` metrics, `seconds`
        and `refit_rows`.
    """
    state_path = os.path.join(state_dir, "selection.json") if state_dir else None
    backup = (lambda name: os.path.join(state_dir, name)) if state_dir else (lambda name: None)
    record = None
    if state_path and os.path.isfile(state_path):
        with open(state_path, encoding="utf-8") as f:
            record = json.load(f)
    has_val = len(splits.y_val) > 0
    if record is None or not config["refit"] or not has_val:
        model, _ = model_from_config(config, splits.x_train, num_classes)
        result = _fit(model, config, splits, backup_dir=backup("selection"), verbose=verbose)
        record = {"history": result.history.history, "epochs": list(result.history.epoch),
                  "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                  "validation": result.metrics.get("validation", {}), "train": result.metrics["train"],
                  "test": result.metrics.get("test", {}), "seconds": result.seconds,
                  "refit_rows": 0}
        if not (config["refit"] and has_val):
            return model, record
        if state_path:
            _io.write_json(state_path, record)
    both = splits._replace(x_train=np.concatenate([splits.x_train, splits.x_val]),
                           y_train=np.concatenate([splits.y_train, splits.y_val]),
                           x_val=splits.x_val[:0], y_val=splits.y_val[:0])
    refit_config = {**config, "epochs": record["best_epoch"]}
    model, _ = model_from_config(refit_config, both.x_train, num_classes)
    final = _fit(model, refit_config, both, backup_dir=backup("refit"), verbose=verbose, early_stopping=False)
    record.update(train=final.metrics["train"], test=final.metrics.get("test", {}),
                  seconds=record["seconds"] + final.seconds, refit_rows=len(both.y_train))
    return model, record


def cross_validate_config(config: dict[str, Any], folds: int = 5) -> dict[str, Any]:
    """Estimates the accuracy of a configuration by stratified k-fold cross-validation.

    (Named apart from `sklearn.model_selection.cross_validate`, which takes an
    estimator; for that, use `kerasopt.DenseClassifier` with scikit-learn.)

    Each fold runs the same procedure as `run_training` on the other folds
    (early stopping on `validation_split` of them, then the refit when
    configured; normalization adapted on the fold's training rows only) and
    scores the held-out fold, which no part of training saw.

    Args:
        config: A configuration; `test_split` is ignored (the folds are the test sets).
        folds: Number of folds (>= 2).

    Returns:
        `{"folds": [accuracy, ...], "mean": float, "std": float, "best_epochs": [...]}`.
    """
    from sklearn.model_selection import StratifiedKFold

    config = config_lib.resolve(config)
    _check_training_values(config)
    folds = check.positive_int("folds", folds)
    if folds < 2:
        raise ValueError(f"Invalid value for `folds`: expected an integer >= 2. Received: folds={folds}")
    frame, _ = load_training_data(config)
    x, y, _ = data_lib.to_arrays(frame, config["target"])
    num_classes = int(y.max()) + 1
    scores, best_epochs = [], []
    for train_rows, test_rows in StratifiedKFold(folds, shuffle=True, random_state=config["seed"]).split(x, y):
        inner = data_lib.split(x[train_rows], y[train_rows], config["validation_split"], 0.0, config["seed"])
        splits = inner._replace(x_test=x[test_rows], y_test=y[test_rows])
        _, record = _fit_and_refit(config, splits, num_classes)
        scores.append(record["test"]["accuracy"])
        best_epochs.append(record["best_epoch"])
    return {"folds": scores, "mean": float(np.mean(scores)), "std": float(np.std(scores)),
            "best_epochs": best_epochs}


def run_training(config: dict[str, Any], out_dir: str | os.PathLike, overwrite: bool = False,
                 verbose: int = 0) -> dict[str, Any]:
    """Trains a model as configured and writes the run directory.

    Training runs in two phases: early stopping on the validation rows picks
    the number of epochs (its curves go to `history.csv` and `curves.png`),
    then, with `refit` (the default), a fresh model is trained on the
    training and validation rows together for that many epochs and saved.
    The test rows take part in neither phase, so the test metrics are an
    honest estimate for the saved model. Data errors and an existing run are
    reported before any training. Training state is backed up every epoch in
    `out_dir/.backup`; running the same command again resumes a killed run.

    Args:
        config: A configuration (see `kerasopt.config.DEFAULTS`); missing keys
            take their defaults.
        out_dir: Directory for the outputs.
        overwrite: Whether to replace the outputs of an earlier run.
        verbose: Verbosity of `fit`.

    Returns:
        A summary dict: the metrics per split, best epoch, epochs run, seconds
        and the output paths.

    Raises:
        DataError, ConfigError, OutputExistsError, ValueError: for bad input,
            before anything is written.
    """
    config = config_lib.resolve(config)
    _check_training_values(config)
    out_dir = os.fspath(out_dir)
    _io.check_out_dir(out_dir, RUN_FILES, overwrite)
    frame, source = load_training_data(config)
    x, y, columns = data_lib.to_arrays(frame, config["target"])
    num_classes = int(y.max()) + 1
    splits = data_lib.split(x, y, config["validation_split"], config["test_split"], config["seed"])

    # Keras loads only after the input checks.
    from kerasopt.plotting import plot_history, save_figure

    steps_per_epoch = math.ceil(len(splits.y_train) / config["batch_size"])
    # Invalid hyperparameters raise while the first model is built, before anything is written.
    state_dir = os.path.join(out_dir, _BACKUP)
    model, record = _fit_and_refit(config, splits, num_classes, state_dir=state_dir, verbose=verbose)

    paths = {name: os.path.join(out_dir, name) for name in RUN_FILES}
    _io.write_with(paths["model.keras"], model.save)
    resolved = {**config, "feature_columns": columns, "num_classes": num_classes,
                "steps_per_epoch": steps_per_epoch, "data_source": source,
                "rows": {"train": len(splits.y_train), "validation": len(splits.y_val),
                         "test": len(splits.y_test), "refit": record["refit_rows"]}}
    _io.write_json(paths["config.json"], resolved)
    metrics = {split: record[split] for split in ("train", "validation", "test") if record[split]}
    _io.write_json(paths["metrics.json"], {
        **metrics, "best_epoch": record["best_epoch"], "epochs_run": record["epochs_run"],
        "refit_rows": record["refit_rows"], "seconds": round(record["seconds"], 3),
        "note": ("train and test: the saved model; validation: the early-stopping run that chose "
                 "best_epoch" + (", before the refit on train + validation rows" if record["refit_rows"] else ""))})
    history = pd.DataFrame(record["history"])
    history.insert(0, "epoch", np.asarray(record["epochs"], dtype="int64") + 1)
    _io.write_with(paths["history.csv"], lambda tmp: history.to_csv(tmp, index=False))
    save_figure(plot_history(record["history"], title=f"kerasopt run: {os.path.basename(out_dir)}"),
                paths["curves.png"])
    shutil.rmtree(state_dir, ignore_errors=True)
    return {"metrics": metrics, "best_epoch": record["best_epoch"], "epochs_run": record["epochs_run"],
            "seconds": record["seconds"], "refit_rows": record["refit_rows"], "paths": paths}


def _load_model(model_path: str):
    if not os.path.isfile(model_path):
        raise DataError(f"Model file not found: {model_path}. Pass the model.keras of a training run.")
    import keras

    from kerasopt import callbacks, schedules  # noqa: F401  (registers custom objects)
    try:
        return keras.saving.load_model(model_path)
    except Exception as e:  # Keras raises many types for a corrupt or foreign file
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"Cannot load model file {model_path}: {reason}. "
                        "Pass a .keras file written by `kerasopt train`.") from None


def predict_file(model_path: str | os.PathLike, data_path: str | os.PathLike, out_path: str | os.PathLike,
                 overwrite: bool = False, id_column: str = "id") -> pd.DataFrame:
    """Predicts the class of every row of a CSV and writes `id,<target>`.

    The CSV holds an optional `id` column and the raw feature columns. When
    the model sits beside the `config.json` of its run, the columns must be
    exactly the trained ones, in the same order; otherwise their number must
    match the model's input.

    Args:
        model_path: A `model.keras` written by `run_training`.
        data_path: CSV of rows to predict.
        out_path: Output CSV; not replaced unless `overwrite`.
        overwrite: Whether to replace an existing `out_path`.
        id_column: Name of the identifier column (row numbers from 1 when absent).

    Returns:
        The predictions as a DataFrame (also written to `out_path`).
    """
    model_path, out_path = os.fspath(model_path), os.fspath(out_path)
    if os.path.exists(out_path) and not overwrite:
        raise OutputExistsError(f"Output file {out_path} already exists. Choose another --out, "
                                "or pass --overwrite to replace it.")
    frame = data_lib.load_csv(data_path)
    config_path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    columns, target = None, "price_range"
    if os.path.isfile(config_path):
        try:
            with open(config_path, encoding="utf-8") as f:
                saved = json.load(f)
            columns, target = saved.get("feature_columns"), saved.get("target", target)
        except (OSError, ValueError):
            raise ConfigError(f"The run's config file {config_path} is unreadable; restore it or move "
                              "the model out of that folder.") from None
    ids = frame[id_column].to_numpy() if id_column in frame.columns else np.arange(1, len(frame) + 1)
    features = frame.drop(columns=[id_column]) if id_column in frame.columns else frame
    x = data_lib.feature_matrix(features, columns)
    model = _load_model(model_path)
    expected = model.input_shape[-1]
    if x.shape[1] != expected:
        raise DataError(f"The model expects {expected} feature columns; {data_path} has {x.shape[1]}.")
    probabilities = model.predict(x, batch_size=1024, verbose=0)
    result = pd.DataFrame({"id": ids, target: probabilities.argmax(axis=1)})
    _io.write_with(out_path, lambda tmp: result.to_csv(tmp, index=False))
    return result

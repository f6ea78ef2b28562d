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

__all__ = ["run_training", "predict_file", "RUN_FILES"]

RUN_FILES = ("model.keras", "config.json", "metrics.json", "history.csv", "curves.png")
_BACKUP = ".backup"


def _check_out_dir(out_dir: str, overwrite: bool) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputExistsError(f"Output path {out_dir} is a file, not a directory. Choose another --out.")
    present = [f for f in RUN_FILES if os.path.exists(os.path.join(out_dir, f))]
    if present and not overwrite:
        raise OutputExistsError(f"Output directory {out_dir} already holds a run ({', '.join(present)}). "
                                "Choose another --out, or pass --overwrite to replace it.")


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


def run_training(config: dict[str, Any], out_dir: str | os.PathLike, overwrite: bool = False,
                 verbose: int = 0) -> dict[str, Any]:
    """Trains a model as configured and writes the run directory.

    Data errors and an existing run are reported before any training. The
    state of an interrupted run is backed up every epoch in `out_dir/.backup`;
    running the same command again resumes it.

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
    _check_out_dir(out_dir, overwrite)
    frame, source = load_training_data(config)
    x, y, columns = data_lib.to_arrays(frame, config["target"])
    num_classes = int(y.max()) + 1
    splits = data_lib.split(x, y, config["validation_split"], config["test_split"], config["seed"])

    # Imports that load Keras come after the input checks.
    from kerasopt import models, schedules, training
    from kerasopt.plotting import plot_history, save_figure

    steps_per_epoch = math.ceil(len(splits.y_train) / config["batch_size"])
    learning_rate = schedules.get(config["schedule"], learning_rate=config["learning_rate"],
                                  steps_per_epoch=steps_per_epoch, **config["schedule_args"])
    optimizer = {"name": config["optimizer"], **config["optimizer_args"]} if isinstance(
        config["optimizer"], str) else config["optimizer"]
    model = models.build_model(
        splits.x_train, num_classes=num_classes, hidden_units=config["hidden_units"],
        activation=config["activation"], kernel_initializer=config["kernel_initializer"],
        l1=config["l1"], l2=config["l2"], dropout=config["dropout"], batch_norm=config["batch_norm"],
        optimizer=optimizer, learning_rate=learning_rate, seed=config["seed"])

    os.makedirs(out_dir, exist_ok=True)
    has_val = len(splits.y_val) > 0
    result = training.train(
        model, splits.x_train, splits.y_train,
        validation_data=(splits.x_val, splits.y_val) if has_val else None,
        test_data=(splits.x_test, splits.y_test) if len(splits.y_test) else None,
        epochs=config["epochs"], batch_size=config["batch_size"], patience=config["patience"],
        reduce_lr_on_plateau=config["reduce_lr_on_plateau"], class_weight=config["class_weight"],
        backup_dir=os.path.join(out_dir, _BACKUP), seed=config["seed"], verbose=verbose)

    paths = {name: os.path.join(out_dir, name) for name in RUN_FILES}
    _io.write_with(paths["model.keras"], model.save)
    resolved = {**config, "feature_columns": columns, "num_classes": num_classes,
                "steps_per_epoch": steps_per_epoch, "data_source": source,
                "rows": {"train": len(splits.y_train), "validation": len(splits.y_val),
                         "test": len(splits.y_test)}}
    _io.write_json(paths["config.json"], resolved)
    metrics = {**result.metrics, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
               "seconds": round(result.seconds, 3)}
    _io.write_json(paths["metrics.json"], metrics)
    history = pd.DataFrame(result.history.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    _io.write_with(paths["history.csv"], lambda tmp: history.to_csv(tmp, index=False))
    save_figure(plot_history(result.history.history, title=f"kerasopt run: {os.path.basename(out_dir)}"),
                paths["curves.png"])
    shutil.rmtree(os.path.join(out_dir, _BACKUP), ignore_errors=True)
    return {"metrics": result.metrics, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "seconds": result.seconds, "paths": paths}


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

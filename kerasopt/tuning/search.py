"""`tune`: a hyperparameter search with KerasTuner, resumable, optionally distributed.

The search runs on KerasTuner's own engine (oracles, trials, project folder,
chief/worker mode). kerasopt adds the model-building hypermodel, a k-fold
objective, per-trial history, checks of every input before the first trial,
safe resumption and the outputs a user reads:

    DIR/trials.csv        one row per trial: hyperparameters used, score, best epoch, epochs, seconds
    DIR/trials.png        scores by trial and the most influential hyperparameters
    DIR/best_config.json  the best trial's hyperparameters and `build_model` arguments
    DIR/best_model.keras  the best configuration retrained on all training rows
    DIR/history/          per-trial training history (every fold and execution)
    DIR/search/           KerasTuner's project folder (oracle and trial state)
    DIR/search.json       what defines the search; a rerun must match it to resume
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _io
from kerasopt import _validation as check
from kerasopt import data as data_lib
from kerasopt import spec as spec_lib
from kerasopt.errors import ArgumentError, ConfigError, KerasoptError, OutputExistsError
from kerasopt.pipeline import target_column
from kerasopt.tuning import space as space_lib

__all__ = ["tune", "TuneResult", "TUNERS", "available_objectives"]

TUNERS = ("random", "grid", "bayesian", "hyperband")
ROLES = ("chief", "worker")
PROJECT = "search"
# The outputs `overwrite=True` removes (nothing else in DIR is touched).
_OWNED = ("search", "history", "logs", "search.json", "trials.csv", "trials.png", "best_config.json",
          "best_model.keras", "comparison.csv")


@dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        out_dir: The output directory.
        trials: The `trials.csv` table as a DataFrame.
        best: `best_config.json` as a dict (empty when no trial completed or
            for a distributed worker).
        test_metrics: Metrics of the retrained best model on the held-out
            test rows (`test_split`), or `{}`.
        seconds: Wall time of the call.
        comparison: With `baselines=True`, the comparison table.
    """

    out_dir: str
    trials: pd.DataFrame
    best: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    comparison: pd.DataFrame | None = None


def available_objectives(validation: bool = True) -> list[str]:
    """Returns the metric names a search can optimize."""
    names = ["accuracy", "loss"]
    return [f"val_{n}" for n in names] + names if validation else names


def _direction(objective: str) -> str:
    name = objective.removeprefix("val_")
    return "max" if any(k in name for k in ("acc", "auc", "precision", "recall")) else "min"


def _parse_oracle(value: str) -> tuple[str, int]:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Invalid value for `oracle`: expected HOST:PORT, e.g. 10.0.0.5:8000. "
                          f"Received: oracle={value!r}")
    return host, int(port)


def _fingerprint(data_id: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"data": data_id, "target": target, **options}


def _data_id(data) -> str:
    if data is None:
        return "embedded:make_phone_data(seed=0)"
    if isinstance(data, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).values.tobytes()).hexdigest()
        return f"dataframe:{digest[:16]}"
    return os.path.abspath(os.fspath(data))


def _load(data, target: str) -> pd.DataFrame:
    if data is None:
        return data_lib.make_phone_data(seed=0)
    if isinstance(data, pd.DataFrame):
        return data
    return data_lib.load_csv(data)


def _prepare_out_dir(out: str, fingerprint: dict, overwrite: bool, role: str | None) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputExistsError(f"Output path {out} is a file, not a directory. Choose another --out.")
    marker = os.path.join(out, "search.json")
    if overwrite:
        if role == "worker":
            raise ConfigError("`overwrite` is for the chief only: a worker that deletes the shared "
                              "output directory would destroy the other processes' trials.")
        for name in _OWNED:
            path = os.path.join(out, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    elif os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            earlier = json.load(f)
        changed = [k for k in sorted(set(earlier) | set(fingerprint)) if earlier.get(k) != fingerprint.get(k)
                   and not (k == "data" and role == "worker")]  # machines may mount the data elsewhere
        if changed:
            shown = "; ".join(f"{k}: {earlier.get(k)!r} -> {fingerprint.get(k)!r}" for k in changed[:3])
            raise OutputExistsError(f"Output directory {out} holds a different search ({shown}). Rerun the "
                                    "same command to resume it, choose another --out, or pass --overwrite.")
    elif os.path.isdir(os.path.join(out, PROJECT)):
        raise OutputExistsError(f"Output directory {out} holds a search folder without search.json. "
                                "Choose another --out, or pass --overwrite.")
    if role != "worker":
        _io.write_json(marker, fingerprint)


def _check_args(tuner, max_trials, executions_per_trial, objective, cv, seed, epochs, patience,
                validation_split, test_split, workers, role, oracle, worker_id, timeout):
    check.one_of("tuner", tuner, TUNERS)
    check.positive_int("max_trials", max_trials)
    check.positive_int("executions_per_trial", executions_per_trial)
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise ArgumentError(f"Invalid value for `cv`: expected an integer >= 2 (folds), or None (--cv 0) for a single "
                         f"validation split. Received: cv={cv!r}")
    if cv is None:
        check.open_unit_interval("validation_split", validation_split)
    check.unit_interval("test_split", test_split)
    check.non_negative_int("seed", seed)
    if epochs is not None:
        check.positive_int("epochs", epochs)
    check.non_negative_int("patience", patience)
    check.non_negative_int("workers", workers)
    if timeout is not None:
        check.positive_float("timeout", timeout)
    if role is not None:
        check.one_of("role", role, ROLES)
        if workers:
            raise ArgumentError(f"Pass either `workers` (a local launcher) or `role`, not both. "
                             f"Received: workers={workers!r}, role={role!r}")
        if oracle is None:
            raise ArgumentError(f"`role={role!r}` needs `oracle` (HOST:PORT of the chief).")
        _parse_oracle(oracle)
        if role == "worker" and not worker_id:
            raise ArgumentError("`role='worker'` needs a `worker_id` that is unique among the workers "
                             "(restart a dead worker with the same id to recover its trial).")
        if worker_id is not None and ("chief" in str(worker_id) or not str(worker_id).strip()):
            raise ArgumentError(f"Invalid value for `worker_id`: expected a non-empty id without 'chief'. "
                             f"Received: worker_id={worker_id!r}")
    if objective not in available_objectives():
        raise ArgumentError(f"Invalid value for `objective`: {objective!r} is not a metric of this search. "
                         f"Available: {', '.join(available_objectives())}.")


@contextlib.contextmanager
def _environment(values: dict[str, str | None]):
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_DIST_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def tune(
    data: str | os.PathLike | pd.DataFrame | None = None,
    target: str | None = None,
    *,
    tuner: str = "bayesian",
    max_trials: int = 30,
    executions_per_trial: int = 1,
    objective: str = "val_accuracy",
    cv: int | None = 3,
    space: dict[str, Any] | str | os.PathLike | None = None,
    seed: int = spec_lib.FIELD["seed"].default,
    out: str | os.PathLike = os.path.join("runs", "tune"),
    epochs: int | None = None,
    patience: int = 15,
    validation_split: float = spec_lib.FIELD["validation_split"].default,
    test_split: float = 0.0,
    overwrite: bool = False,
    workers: int = 0,
    role: str | None = None,
    oracle: str | None = None,
    worker_id: str | None = None,
    timeout: float | None = None,
    baselines: bool = False,
    ensemble: int = 5,
    verbose: int = 1,
    _finalize: bool = True,
) -> TuneResult:
    """Searches hyperparameters of a `kerasopt` classifier with KerasTuner.

    Every input (data, space, objective, flags) is checked before the first
    trial. Calling `tune` again with the same arguments and `out` resumes an
    interrupted search: finished trials are kept and not repeated; pass
    `overwrite=True` to start over.

    Args:
        data: Labelled CSV path, a DataFrame, or `None` for the embedded
            phone-like data.
        target: Label column (integers 0..K-1); required with `data`, the
            embedded demo data's is `price_range`.
        tuner: `"random"`, `"grid"`, `"bayesian"` or `"hyperband"` (whose
            budget per trial is set by Hyperband, at most `epochs`; trials
            train from scratch). Random and Bayesian searches run the
            space's defaults (kerasopt's default classifier) as trial 0.
        max_trials: Number of trials (an upper bound for grid and hyperband).
        executions_per_trial: Trainings per trial (and fold); scores are
            averaged.
        objective: Metric to optimize: one of `available_objectives()`.
            Direction (max for accuracy, min for loss) is inferred.
        cv: Number of stratified folds of the k-fold objective on the
            training rows (each fold adapts its own scaling); `None` for one
            stratified validation split of `validation_split`, which is
            faster but too noisy to rank configurations a point of accuracy
            apart (see the README's "Quality and comparison").
        space: Overrides of the default space (dict or JSON/YAML path); see
            `kerasopt.tuning.space`.
        seed: Seed of splits, folds, the oracle and the training runs.
        out: Output directory.
        epochs: Maximum epochs of a trial (fixes the `epochs` of the space).
        patience: Early-stopping patience inside trials.
        validation_split: Validation fraction of the training rows (with
            `cv=None`).
        test_split: Fraction of rows held out from the search entirely; the
            retrained best model is evaluated on them.
        overwrite: Start over, deleting this search's outputs in `out`.
        workers: Run a chief and this many worker processes on 127.0.0.1
            (0: one process).
        role: `"chief"` or `"worker"` to take part in a search spread over
            machines that share `out`.
        oracle: `HOST:PORT` of the chief (with `role`).
        worker_id: Unique id of a worker (with `role="worker"`).
        timeout: Seconds after which a distributed run is stopped (its
            finished trials are kept; rerun to resume).
        baselines: Also tune scikit-learn's LogisticRegression, SVC and
            MLPClassifier by GridSearchCV on the same training rows, score
            them on the same test rows, and write `comparison.csv`.
        ensemble: Number of retrainings of the best configuration (seeds
            `seed`, `seed + 1`, ...) that `best_model.keras` averages (see
            `kerasopt.models.average_models`); 1 keeps a single network.
            Averaging five removes most of the seed-to-seed spread of one
            retraining (on the phone data, half a point of accuracy either
            way). It is not part of the search: changing it on a finished
            search only retrains.
        verbose: 1 prints a progress line per trial and a summary table.

    Returns:
        A `TuneResult`.

    Raises:
        ValueError, ConfigError, DataError, OutputExistsError: for bad input,
            before any trial runs.

    Example:

    >>> result = tune("train.csv", tuner="random", max_trials=5, epochs=50, out="runs/t")  # doctest: +SKIP
    >>> result.best["score"]  # doctest: +SKIP
    0.97
    """
    start = time.perf_counter()
    _check_args(tuner, max_trials, executions_per_trial, objective, cv, seed, epochs, patience,
                validation_split, test_split, workers, role, oracle, worker_id, timeout)
    check.positive_int("ensemble", ensemble)
    tuner = tuner.lower()
    if workers and isinstance(data, pd.DataFrame):
        raise ArgumentError("`workers` needs `data` as a CSV path (each process reads it), not a DataFrame.")
    resolved = space_lib.resolve_space(space)
    if epochs is not None:
        resolved["epochs"] = int(epochs)
    frame = _load(data, target)
    target = target_column(target, data, frame)
    x, y, columns = data_lib.to_arrays(frame, target)
    num_classes = int(y.max()) + 1
    splits = data_lib.split(x, y, validation_size=0.0, test_size=test_split, seed=seed)
    x_train, y_train = splits.x_train, splits.y_train
    if cv is not None:
        smallest = int(np.bincount(y_train).min())
        if smallest < cv:
            raise ConfigError(f"Invalid value for `cv`: {cv} folds need at least {cv} training rows of every "
                              f"class; the smallest class has {smallest}. Received: cv={cv}")
    out = os.fspath(out)
    options = {"tuner": tuner, "objective": objective, "cv": cv, "seed": seed, "patience": patience,
               "validation_split": None if cv else validation_split, "test_split": test_split,
               "executions_per_trial": executions_per_trial, "space": resolved}
    fingerprint = _fingerprint(_data_id(data), target, options)

    if workers:
        from kerasopt.tuning import distributed

        _prepare_out_dir(out, fingerprint, overwrite, None)
        spec = {"data": _data_id(data) if data is not None else None, "target": target, "tuner": tuner,
                "max_trials": max_trials, "executions_per_trial": executions_per_trial,
                "objective": objective, "cv": cv, "space": resolved, "seed": seed, "out": out,
                "patience": patience, "validation_split": validation_split, "test_split": test_split,
                "verbose": verbose}
        distributed.launch(spec, workers=workers, timeout=timeout, verbose=verbose)
        role_env = {k: None for k in _DIST_ENV}
    elif role is not None:
        _prepare_out_dir(out, fingerprint, overwrite, role)
        host, port = _parse_oracle(oracle)
        tuner_id = "chief" if role == "chief" else str(worker_id)
        role_env = {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host,
                    "KERASTUNER_ORACLE_PORT": str(port)}
    else:
        _prepare_out_dir(out, fingerprint, overwrite, None)
        role_env = {k: None for k in _DIST_ENV}

    with _environment(role_env):
        search_tuner = make_tuner(tuner, resolved, x_train, y_train, num_classes=num_classes,
                                  objective=objective, cv=cv, max_trials=max_trials,
                                  executions_per_trial=executions_per_trial, seed=seed, out=out,
                                  patience=patience, validation_split=validation_split,
                                  timeout=timeout, verbose=verbose)
        if not workers:
            try:
                with warnings.catch_warnings():
                    # The Bayesian oracle's Gaussian process warns about length scales on small searches.
                    warnings.filterwarnings("ignore", module="sklearn.gaussian_process")
                    search_tuner.search(x_train, y_train, verbose=0)
            except RuntimeError as e:  # KerasTuner: too many consecutive failed trials
                raise KerasoptError(f"The search stopped: {str(e).splitlines()[0]} See the trial messages "
                                    f"above; finished trials are kept in {out}.") from e
    if role == "worker" or not _finalize:
        # A worker's oracle is a client of the chief's; the chief collects the results.
        return TuneResult(out, pd.DataFrame(), seconds=time.perf_counter() - start)
    if role == "chief":
        # Reload the oracle as a plain, local one to collect the results.
        with _environment({k: None for k in _DIST_ENV}):
            search_tuner = make_tuner(tuner, resolved, x_train, y_train, num_classes=num_classes,
                                      objective=objective, cv=cv, max_trials=max_trials,
                                      executions_per_trial=executions_per_trial, seed=seed, out=out,
                                      patience=patience, validation_split=validation_split,
                                      timeout=timeout, verbose=verbose)
    result = finalize(search_tuner, x_train, y_train, (splits.x_test, splits.y_test), columns=columns,
                      ensemble=ensemble, verbose=verbose)
    result.seconds = time.perf_counter() - start
    if baselines:
        result.comparison = _compare(result, x_train, y_train, splits.x_test, splits.y_test, cv=cv or 5,
                                     seed=seed, verbose=verbose)
    return result


def _compare(result: TuneResult, x_train, y_train, x_test, y_test, *, cv: int, seed: int,
             verbose: int) -> pd.DataFrame:
    from kerasopt.tuning.baselines import run_baselines

    table = run_baselines(x_train, y_train, x_test, y_test, cv=cv, seed=seed)
    best = result.best
    ours = {"model": "kerasopt tune", "best_params": best.get("hyperparameters", {}),
            "cv_accuracy": best.get("score", float("nan")) if best.get("objective") == "val_accuracy"
            else float("nan"),
            "test_accuracy": result.test_metrics.get("accuracy", float("nan")),
            # training time of the trials, like GridSearchCV's time (also right for a reused search)
            "seconds": float(result.trials["seconds"].sum()) if "seconds" in result.trials else result.seconds}
    table = pd.concat([pd.DataFrame([ours]), table], ignore_index=True)
    _io.write_with(os.path.join(result.out_dir, "comparison.csv"), lambda tmp: table.to_csv(tmp, index=False))
    if verbose:
        shown = table[["model", "cv_accuracy", "test_accuracy", "seconds"]].copy()
        print("comparison on the same rows (cv_accuracy: the search objective for kerasopt, "
              "GridSearchCV's mean CV accuracy for scikit-learn; seconds: time spent fitting):")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return table


def make_tuner(tuner: str, space: dict[str, Any], x: np.ndarray, y: np.ndarray, *, num_classes: int,
               objective: str, cv: int | None, max_trials: int, executions_per_trial: int, seed: int,
               out: str, patience: int, validation_split: float, timeout: float | None = None,
               verbose: int = 1):
    """Returns the KerasTuner tuner of a search (reloading its project folder when present)."""
    import keras_tuner

    from kerasopt.tuning import oracles
    from kerasopt.tuning.hypermodel import DenseHyperModel

    kt_objective = keras_tuner.Objective(objective, _direction(objective))
    # KerasTuner takes seed 0 for "no seed" (it draws one at random), so the oracle gets seed + 1.
    common = {"objective": kt_objective, "seed": seed + 1, "max_consecutive_failed_trials": 3}
    if tuner == "random":
        oracle = oracles.DefaultsFirstRandomSearchOracle(max_trials=max_trials, **common)
    elif tuner == "grid":
        oracle = keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    elif tuner == "bayesian":
        oracle = oracles.DefaultsFirstBayesianOracle(
            max_trials=max_trials, num_initial_points=min(max_trials, max(3, max_trials // 3)), **common)
    else:
        epochs = space["epochs"] if not isinstance(space["epochs"], dict) else max(
            space["epochs"].get("choices") or [space["epochs"]["max"]])
        oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=int(epochs), factor=3,
                                                     hyperband_iterations=1, **common)
        oracle.max_trials = max_trials  # the budget caps Hyperband's own trial count
    hypermodel = DenseHyperModel(space, num_classes=num_classes, features=x, objective=objective,
                                 patience=patience, seed=seed)
    from kerasopt.tuning._tuner import SearchTuner

    return SearchTuner(oracle, hypermodel, cv=cv, validation_split=validation_split,
                       executions=executions_per_trial, seed=seed, out_dir=out, timeout=timeout,
                       verbose=verbose, directory=out, project_name=PROJECT)


def finalize(search_tuner, x_train: np.ndarray, y_train: np.ndarray, test_data, *, columns: list[str],
             ensemble: int = 1, verbose: int = 1) -> TuneResult:
    """Writes trials.csv, trials.png, best_config.json and best_model.keras of a finished search."""
    from kerasopt.tuning import report

    out = search_tuner.out_dir
    oracle = search_tuner.oracle
    objective = oracle.objective.name
    frame = report.trials_frame(oracle, objective)
    report.write_trials(frame, out, objective)
    best_trials = oracle.get_best_trials(1)
    if not best_trials:
        if verbose:
            print("no trial completed; nothing to retrain.")
        return TuneResult(out, frame)
    best = best_trials[0]
    best_config = _best_config(search_tuner, best, columns)
    best_config["ensemble"] = int(ensemble)
    model_path = os.path.join(out, "best_model.keras")
    config_path = os.path.join(out, "best_config.json")
    earlier = None
    if os.path.exists(config_path) and os.path.exists(model_path):
        with open(config_path, encoding="utf-8") as f:
            earlier = json.load(f)
    if earlier and earlier.get("trial_id") == best.trial_id and earlier.get("hyperparameters") == \
            best_config["hyperparameters"] and earlier.get("ensemble", 1) == ensemble:
        best_config = earlier  # the same best trial: keep the model already retrained
    else:
        best_config["test_metrics"] = _retrain(search_tuner, best, x_train, y_train, test_data, model_path,
                                               best_config["retrain_epochs"], ensemble)
        _io.write_json(config_path, best_config)
    if verbose:
        print(report.summary_table(frame, objective))
        shown = ", ".join(f"{k} {v:.4f}" for k, v in best_config.get("test_metrics", {}).items())
        members = best_config.get("ensemble", 1)
        print(f"best trial {best.trial_id}: {objective} {best.score:.4f}; retrained on {len(x_train)} rows for "
              f"{best_config['retrain_epochs']} epochs" + (f" with {members} seeds, averaged," if members > 1 else "")
              + f" -> {model_path}" + (f"; held-out test: {shown}" if shown else ""))
    return TuneResult(out, frame, best=best_config, test_metrics=best_config.get("test_metrics", {}))


def _best_config(search_tuner, trial, columns: list[str]) -> dict[str, Any]:
    from kerasopt.tuning import report
    from kerasopt.tuning.hypermodel import model_kwargs

    hp = trial.hyperparameters.copy()
    values = search_tuner.hypermodel.values(hp)
    best_epoch = trial.metrics.get_last_value("best_epoch") if trial.metrics.exists("best_epoch") else None
    epochs = int(round(best_epoch)) if best_epoch else int(values["epochs"])
    kwargs = model_kwargs(values, search_tuner.hypermodel.space, 1)
    kwargs["learning_rate"] = float(values["learning_rate"])
    return {"trial_id": trial.trial_id, "objective": search_tuner.oracle.objective.name,
            "score": float(trial.score), "hyperparameters": report.active_values(trial.hyperparameters),
            "build_model": {**kwargs, "schedule": values["schedule"],
                            "schedule_args": search_tuner.hypermodel.space["schedule_args"].get(values["schedule"],
                                                                                                   {})},
            "batch_size": int(values["batch_size"]), "retrain_epochs": max(1, epochs),
            "features": list(columns)}


def _retrain(search_tuner, trial, x, y, test_data, path: str, epochs: int, ensemble: int = 1) -> dict[str, float]:
    import keras

    from kerasopt.models import average_models
    from kerasopt.training import evaluate, train

    keras.backend.clear_session()
    hypermodel = search_tuner.hypermodel
    hypermodel.features = np.asarray(x, dtype="float32")
    hp = trial.hyperparameters.copy()
    batch_size = int(hypermodel.values(hp)["batch_size"])
    hp.values["tuner/epochs"] = epochs  # build the schedule for the retraining length
    members = []
    try:
        for seed in range(search_tuner.seed, search_tuner.seed + ensemble):
            hypermodel.seed = seed  # the member's initializers and dropout
            model = hypermodel.build(hp)
            train(model, x, y, epochs=epochs, batch_size=batch_size, early_stopping=False, seed=seed)
            members.append(model)
    finally:
        hypermodel.seed = search_tuner.seed
    model = average_models(members)
    _io.write_with(path, model.save)
    x_test, y_test = test_data
    return evaluate(model, x_test, y_test) if len(x_test) else {}

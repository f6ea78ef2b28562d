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
    DIR/search.json       what defines the search (a rerun must match it to resume) and, under
                          "last_run", whether the time budget ended the last run

`tune` reads as its four steps: `_check_args` (every input, before any
work), `_prepare` (data, rows, output folder), `_search` (in this process,
as a chief or worker, or through the distributed launcher) and `finalize`
(trials.csv, the best configuration retrained).
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
from kerasopt._quiet import quiet_retracing
from kerasopt.errors import ArgumentError, ConfigError, KerasoptError, OutputExistsError
from kerasopt.pipeline import table_from_frame, target_column
from kerasopt.tuning import space as space_lib

__all__ = ["tune", "TuneResult", "TUNERS", "available_objectives"]

TUNERS = ("random", "grid", "bayesian", "hyperband")
ROLES = ("chief", "worker")
PROJECT = "search"
#: `tune`'s population per tuner when `population=None`: grid and random trials do not depend on
#: earlier results, so asking for several at once runs the same trials.
DEFAULT_POPULATION = {"grid": 8, "random": 8, "bayesian": 1, "hyperband": 1}
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
        stopped_by_time_budget: Whether the time budget ended the search
            before `max_trials` (recorded in `search.json` under `"last_run"`).
    """

    out_dir: str
    trials: pd.DataFrame
    best: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    comparison: pd.DataFrame | None = None
    stopped_by_time_budget: bool = False


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
        earlier.setdefault(_TRAINING, "sequential")  # searches written before stacked trials ran sequentially
        changed = [k for k in sorted(set(earlier) | set(fingerprint)) if earlier.get(k) != fingerprint.get(k)
                   and k != _LAST_RUN and not (k == "data" and role == "worker")]  # machines may mount the data elsewhere
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
                validation_split, test_split, workers, role, oracle, worker_id, timeout, time_budget=None,
                ensemble=1, data=None):
    check.one_of("tuner", tuner, TUNERS)
    check.positive_int("ensemble", ensemble)
    if time_budget is not None:
        check.positive_float("time_budget", time_budget)
    if workers and isinstance(data, pd.DataFrame):
        raise ArgumentError("`workers` needs `data` as a CSV path (each process reads it), not a DataFrame.")
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
    if objective is not None and objective not in available_objectives():
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
_LAST_RUN = "last_run"
_TRAINING = "training"


def _record_last_run(out: str, record: dict[str, Any]) -> None:
    """Records how the last run of a search ended in search.json (not part of what must match to resume)."""
    marker = os.path.join(out, "search.json")
    with open(marker, encoding="utf-8") as f:
        content = json.load(f)
    _io.write_json(marker, {**content, _LAST_RUN: record})


def _last_run(out: str) -> dict[str, Any]:
    try:
        with open(os.path.join(out, "search.json"), encoding="utf-8") as f:
            return dict(json.load(f).get(_LAST_RUN) or {})
    except (OSError, ValueError):
        return {}


def tune(
    data: str | os.PathLike | pd.DataFrame | None = None,
    target: str | None = None,
    *,
    task: str | None = None,
    categorical=(),
    numeric=(),
    drop=(),
    tuner: str = "bayesian",
    max_trials: int = 30,
    executions_per_trial: int = 1,
    objective: str | None = None,
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
    time_budget: float | None = None,
    tensorboard: str | os.PathLike | None = None,
    baselines: bool = False,
    ensemble: int = 5,
    sequential: bool = False,
    population: int | None = None,
    verbose: int = 1,
    finalize: bool = True,
) -> TuneResult:
    """Searches hyperparameters of a `kerasopt` network for a table with KerasTuner.

    Every input (data, space, objective, flags) is checked before the first
    trial. Calling `tune` again with the same arguments and `out` resumes an
    interrupted search: finished trials are kept and not repeated; pass
    `overwrite=True` to start over.

    Args:
        data: Labelled CSV path, a DataFrame, or `None` for the embedded
            phone-like data.
        target: The column to predict (any labels, or a continuous target);
            required with `data`, the embedded demo data's is `price_range`.
        task: `"classification"`, `"regression"` or `None` (detected; see
            `kerasopt.tabular.detect_task`).
        categorical, numeric, drop: Column overrides (see
            `kerasopt.tabular.infer_schema`).
        tuner: `"random"`, `"grid"`, `"bayesian"` or `"hyperband"` (whose
            budget per trial is set by Hyperband, at most `epochs`; trials
            train from scratch). Random and Bayesian searches run the
            space's defaults (kerasopt's default classifier) as trial 0.
        max_trials: Number of trials (an upper bound for grid and hyperband).
        executions_per_trial: Trainings per trial (and fold); scores are
            averaged.
        objective: Metric to optimize: one of `available_objectives()`;
            default `"val_accuracy"` for classification and `"val_loss"` for
            regression. Direction (max for accuracy, min for loss) is inferred.
        cv: Number of folds (stratified for classification) of the k-fold objective on the
            training rows (stacked trials share the column statistics learned once on all
            search rows; with `sequential` each fold learns its own); `None` for one
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
        time_budget: Seconds (counted from this call) after which no new
            trial starts; the trials running then finish, and the search
            finalizes as usual. At least one trial starts, so that there is
            a configuration to retrain. `None`: no budget. A rerun gets a new
            budget and resumes the search.
        tensorboard: A directory for TensorBoard HParams logs of the search:
            one run `trial_<id>` per completed trial with its hyperparameters
            and scores (`tensorboard --logdir DIR`, HPARAMS tab).
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
        sequential: Train a trial's folds and executions, and the
            `ensemble` retrainings, one network after another (each fold
            learning its own column statistics), instead of as the members
            of one stacked model (the default, see
            `kerasopt.tuning._stacked`: the columns' statistics are learned
            once on all search rows, without labels, and shared by the
            folds). Stacked trials compute only validation objectives
            (`val_accuracy`, `val_loss`); a search on another objective runs
            sequentially and says so. It is part of the search: a search
            started one way resumes only the same way.
        population: Up to this many trials are asked of the oracle at once,
            and those among them that differ only in learning rate, L1, L2
            and dropout train as the members of ONE stacked model (a
            population; member `k` of a trial trains with the trial's own
            values and the seeds it has alone, so a trial scores the same,
            up to floating-point rounding, in any population). Building and
            compiling a model per trial dominates a small search; a
            population pays it once. `None` (the default) takes 8 for the
            grid and random tuners, whose trials do not depend on earlier
            results, and 1 for Bayesian and Hyperband, whose proposals would
            (ask for more explicitly); 0 or 1 trains trial by trial. It
            applies to stacked trials (not `sequential`) in one process; a
            distributed search's workers train trial by trial. A trial's
            `seconds` (trials.csv) is its share of its population's time. It
            is not part of the search: a search resumes with any population.
        verbose: 1 prints a progress line per trial and a summary table,
            and on a terminal a live status line on stderr (trial k/N, best
            score and its configuration, elapsed and remaining time); 0 is quiet.
        finalize: `False` only searches: no trials.csv or retraining (a later
            call with `True` finalizes). The distributed launcher's chief uses it.

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
    start = time.monotonic()
    _check_args(tuner, max_trials, executions_per_trial, objective, cv, seed, epochs, patience,
                validation_split, test_split, workers, role, oracle, worker_id, timeout, time_budget, ensemble,
                data)
    if not isinstance(sequential, bool):
        raise ArgumentError(f"Invalid value for `sequential`: expected True or False. Received: "
                            f"sequential={sequential!r}")
    if population is None:
        population = DEFAULT_POPULATION.get(tuner.lower(), 1)
    elif isinstance(population, bool) or not isinstance(population, (int, np.integer)) or population < 0:
        raise ArgumentError(f"Invalid value for `population`: expected a whole number >= 0 (0 or 1: one trial "
                            f"at a time). Received: population={population!r}")
    plan = _prepare(data, target, task=task, categorical=categorical, numeric=numeric, drop=drop,
                    tuner=tuner.lower(), max_trials=max_trials, executions_per_trial=executions_per_trial,
                    objective=objective, cv=cv, space=space, seed=seed, out=os.fspath(out), epochs=epochs,
                    patience=patience, validation_split=validation_split, test_split=test_split,
                    baselines=baselines, sequential=sequential, verbose=verbose)
    _prepare_out_dir(plan.out, plan.fingerprint, overwrite, role)
    deadline = None if time_budget is None else start + float(time_budget)
    with quiet_retracing():
        search_tuner = _search(plan, workers=workers, role=role, oracle=oracle, worker_id=worker_id,
                               timeout=timeout, time_budget=time_budget, deadline=deadline, tensorboard=tensorboard,
                               verbose=verbose, population=int(population))
        if role == "worker" or not finalize:
            # A worker's oracle is a client of the chief's; the chief (or the launcher) collects the results.
            return TuneResult(plan.out, pd.DataFrame(), seconds=time.monotonic() - start)
        result = _finalize(plan, search_tuner, ensemble=ensemble, verbose=verbose)
    result.seconds = time.monotonic() - start
    if baselines:
        result.comparison = _compare(result, plan.x_train, plan.y_train, plan.x_test, plan.y_test, cv=cv or 5,
                                     seed=seed, verbose=verbose)
    return result


@dataclass
class _Plan:
    """A checked search, ready to run: its options, rows and the `kerasopt tune` flags that repeat it."""

    options: dict[str, Any]
    fingerprint: dict[str, Any]
    cli_args: list[str]
    target_info: Any
    columns: dict[str, list[str]]
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray

    @property
    def out(self) -> str:
        return self.options["out"]

    def make_tuner(self, **kwargs):
        o = self.options
        return make_tuner(o["tuner"], o["space"], self.x_train, self.y_train, target=self.target_info,
                          columns=self.columns, objective=o["objective"], cv=o["cv"], max_trials=o["max_trials"],
                          executions_per_trial=o["executions_per_trial"], seed=o["seed"], out=o["out"],
                          patience=o["patience"], validation_split=o["validation_split"],
                          sequential=o["training"] == "sequential", **kwargs)


def _prepare(data, target, *, task, categorical, numeric, drop, tuner, max_trials, executions_per_trial, objective,
             cv, space, seed, out, epochs, patience, validation_split, test_split, baselines, sequential=False,
             verbose=1) -> _Plan:
    """Reads the data and space, checks them against the options, and splits the rows."""
    from kerasopt import tabular

    resolved = space_lib.resolve_space(space)
    if epochs is not None:
        resolved["epochs"] = int(epochs)
    frame = _load(data, target)
    target = target_column(target, data, frame)
    table = table_from_frame(frame, target, task=task, categorical=categorical, numeric=numeric, drop=drop,
                             source=_data_id(data))
    classification = table.classification
    if objective is None:
        objective = "val_accuracy" if classification else "val_loss"
    elif not classification and objective.removeprefix("val_") == "accuracy":
        raise ArgumentError(f"Invalid value for `objective`: {objective!r} needs a classification target; "
                            f"{target!r} is a regression target (use val_loss). Received: objective={objective!r}")
    if baselines and not classification:
        raise ArgumentError("`baselines` compares classifiers; the target is a regression target. "
                            "Received: baselines=True")
    columns = {"categorical": list(categorical or ()), "numeric": list(numeric or ()), "drop": table.drop}
    train_rows, _, test_rows = data_lib.split_rows(table.labels.to_numpy(), 0.0, test_split, seed,
                                                   stratify=classification)
    target_info = table.target if classification else \
        tabular.encode_target(table.labels.iloc[train_rows], task="regression")[1]
    y_train = target_info.encode(table.labels.iloc[train_rows])
    if cv is not None and classification:
        smallest = int(np.bincount(y_train).min())
        if smallest < cv:
            raise ConfigError(f"Invalid value for `cv`: {cv} folds need at least {cv} training rows of every "
                              f"class; the smallest class has {smallest}. Received: cv={cv}")
    from kerasopt.tuning._stacked import STACKED_OBJECTIVES

    if not sequential and objective not in STACKED_OBJECTIVES[table.target.task]:
        sequential = True
        if verbose:
            print(f"note: stacked trials compute {', '.join(STACKED_OBJECTIVES[table.target.task])}; "
                  f"the objective {objective} trains the trials one by one (--sequential).", flush=True)
    options = {"task": table.target.task, **columns, "tuner": tuner, "objective": objective, "cv": cv,
               "seed": seed, "patience": patience,
               "validation_split": None if cv else validation_split, "test_split": test_split,
               "executions_per_trial": executions_per_trial, "space": resolved,
               "training": "sequential" if sequential else "stacked"}
    fingerprint = _fingerprint(_data_id(data), target, options)
    cli_args = [*(["--data", _data_id(data)] if data is not None else []), "--target", target,
                *(["--task", task] if task else []),
                *[a for name, names in (("categorical", categorical), ("numeric", numeric), ("drop", drop))
                  if names for a in (f"--{name}", ",".join(names))],
                "--tuner", tuner, "--max-trials", str(max_trials), "--executions-per-trial", str(executions_per_trial),
                "--objective", objective, "--cv", str(cv or 0), "--seed", str(seed), "--out", out,
                "--patience", str(patience), "--validation-split", repr(validation_split),
                "--test-split", repr(test_split), "--space", os.path.join(out, "logs", "space.json"),
                *(["--sequential"] if sequential else [])]
    return _Plan(options={**options, "space": resolved, "max_trials": max_trials, "out": out,
                          "validation_split": validation_split},
                 fingerprint=fingerprint, cli_args=cli_args, target_info=target_info, columns=columns,
                 x_train=table.features.iloc[train_rows].reset_index(drop=True), y_train=y_train,
                 x_test=table.features.iloc[test_rows].reset_index(drop=True),
                 y_test=target_info.encode(table.labels.iloc[test_rows]))


def _search(plan: _Plan, *, workers, role, oracle, worker_id, timeout, time_budget, deadline, tensorboard,
            verbose, population=1):
    """Runs the trials: here, as a chief or worker of a search across machines, or through the launcher.

    Returns:
        The tuner whose oracle holds the finished trials (a local one for
        the launcher and for a chief), or a worker's tuner.
    """
    objective = plan.options["objective"]
    if tensorboard is not None and role != "worker":
        from kerasopt.tuning import hparams_log

        hparams_log.write_config(tensorboard, objective)
    local_env = {k: None for k in _DIST_ENV}
    if workers:
        from kerasopt.tuning import distributed

        _io.write_json(os.path.join(plan.out, "logs", "space.json"), plan.options["space"])
        args = list(plan.cli_args)
        if deadline is not None:
            args += ["--time-budget", repr(max(deadline - time.monotonic(), 1e-3))]
        if tensorboard is not None:
            args += ["--tensorboard", os.path.abspath(tensorboard)]
        if not verbose:
            args.append("--quiet")
        distributed.launch(args, plan.out, workers=workers, timeout=timeout, verbose=verbose)
        with _environment(local_env):
            return plan.make_tuner(verbose=verbose)
    if role is not None:
        host, port = _parse_oracle(oracle)
        env = {"KERASTUNER_TUNER_ID": "chief" if role == "chief" else str(worker_id),
               "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    else:
        env = local_env
    status = None
    if verbose and role is None:
        from kerasopt.tuning.report import StatusLine

        status = StatusLine(plan.options["max_trials"], objective,
                            budget=None if deadline is None else deadline - time.monotonic())
    with _environment(env):
        search_tuner = plan.make_tuner(timeout=timeout, verbose=verbose, status=status, tensorboard=tensorboard,
                                       population=population if role is None else 1)
        if role != "worker" and deadline is not None:
            search_tuner.oracle.set_deadline(deadline - time.monotonic())
        try:
            with warnings.catch_warnings():
                # The Bayesian oracle's Gaussian process warns about length scales on small searches.
                warnings.filterwarnings("ignore", module="sklearn.gaussian_process")
                search_tuner.search(plan.x_train, plan.y_train, verbose=0)
        except RuntimeError as e:  # KerasTuner: too many consecutive failed trials
            raise KerasoptError(f"The search stopped: {str(e).splitlines()[0]} See the trial messages "
                                f"above; finished trials are kept in {plan.out}.") from e
        finally:
            if status is not None:
                status.clear()
    if role == "worker":
        return search_tuner
    stopped = bool(getattr(search_tuner.oracle, "budget_stopped", False))
    _record_last_run(plan.out, {"time_budget": time_budget, "stopped_by_time_budget": stopped,
                                "trials": len(search_tuner.oracle.trials)})
    if stopped and verbose:
        print(f"time budget reached after {len(search_tuner.oracle.trials)} trial(s); no new trial started.",
              flush=True)
    if role == "chief":
        # Reload the oracle as a plain, local one to collect the results.
        with _environment(local_env):
            return plan.make_tuner(verbose=verbose)
    return search_tuner


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


def make_tuner(tuner: str, space: dict[str, Any], x, y: np.ndarray, *, target=None, num_classes: int | None = None,
               columns: dict | None = None, objective: str, cv: int | None, max_trials: int,
               executions_per_trial: int, seed: int, out: str, patience: int, validation_split: float,
               timeout: float | None = None, verbose: int = 1, status=None, tensorboard=None,
               sequential: bool = False, population: int = 1):
    """Returns the KerasTuner tuner of a search (reloading its project folder when present).

    Args:
        status: A `kerasopt.tuning.report.StatusLine` to update, or `None`.
        tensorboard: A directory for TensorBoard HParams logs, or `None`.
        sequential: Train a trial's trainings one by one instead of stacked.
        population: Trials asked for at once and trained as populations (see `tune`).
        Others: As in `tune` (`target` a `kerasopt.tabular.TargetInfo`, or
            `num_classes` for array features).
    """
    import keras_tuner

    from kerasopt.tuning import oracles
    from kerasopt.tuning.hypermodel import DenseHyperModel

    kt_objective = keras_tuner.Objective(objective, _direction(objective))
    # KerasTuner takes seed 0 for "no seed" (it draws one at random), so the oracle gets seed + 1.
    common = {"objective": kt_objective, "seed": seed + 1, "max_consecutive_failed_trials": 3}
    if tuner == "random":
        oracle = oracles.DefaultsFirstRandomSearchOracle(max_trials=max_trials, **common)
    elif tuner == "grid":
        oracle = oracles.GridSearchOracle(max_trials=max_trials, **common)
    elif tuner == "bayesian":
        oracle = oracles.DefaultsFirstBayesianOracle(
            max_trials=max_trials, num_initial_points=min(max_trials, max(3, max_trials // 3)), **common)
    else:
        epochs = space["epochs"] if not isinstance(space["epochs"], dict) else max(
            space["epochs"].get("choices") or [space["epochs"]["max"]])
        oracle = oracles.HyperbandOracle(max_epochs=int(epochs), factor=3, hyperband_iterations=1, **common)
        oracle.max_trials = max_trials  # the budget caps Hyperband's own trial count
    hypermodel = DenseHyperModel(space, num_classes, features=x, target=target, columns=columns,
                                 objective=objective, patience=patience, seed=seed)
    from kerasopt.tuning._tuner import SearchTuner

    return SearchTuner(oracle, hypermodel, cv=cv, validation_split=validation_split,
                       executions=executions_per_trial, seed=seed, out_dir=out, timeout=timeout,
                       verbose=verbose, status=status, tensorboard=tensorboard, sequential=sequential,
                       population=population, directory=out, project_name=PROJECT)


def _finalize(plan: _Plan, search_tuner, *, ensemble: int, verbose: int) -> TuneResult:
    status = None
    if verbose:
        from kerasopt.tuning.report import StatusLine

        status = StatusLine(plan.options["max_trials"], plan.options["objective"])
    result = finalize(search_tuner, plan.x_train, plan.y_train, (plan.x_test, plan.y_test),
                      columns=list(plan.x_train.columns), ensemble=ensemble, verbose=verbose, status=status)
    result.stopped_by_time_budget = bool(_last_run(plan.out).get("stopped_by_time_budget", False))
    return result


def finalize(search_tuner, x_train, y_train: np.ndarray, test_data, *, columns: list[str],
             ensemble: int = 1, verbose: int = 1, status=None) -> TuneResult:
    """Writes trials.csv, trials.png, best_config.json and best_model.keras of a finished search.

    `status` (a `kerasopt.tuning.report.StatusLine`) announces the retraining on a terminal.
    """
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
        if status is not None:
            status.announce(f"retraining trial {best.trial_id}'s configuration on {len(x_train)} rows for "
                        f"{best_config['retrain_epochs']} epochs" + (f", {ensemble} seeds" if ensemble > 1 else ""))
        try:
            best_config["test_metrics"] = _retrain(search_tuner, best, x_train, y_train, test_data, model_path,
                                                   best_config["retrain_epochs"], ensemble,
                                                   progress=status is not None and status.active)
        finally:
            if status is not None:
                status.clear()
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


def _retrain(search_tuner, trial, x, y, test_data, path: str, epochs: int, ensemble: int = 1,
             progress: bool = False) -> dict[str, float]:
    """Trains `ensemble` networks of the trial's configuration on all search rows, saves their average.

    A stacked search trains them as one stacked model (`kerasopt.tuning._stacked.stacked_retrain`)
    and saves the averaging `TabularModel`; a sequential one trains them one by one and saves
    `kerasopt.models.average_models` of them.
    """
    import keras

    from kerasopt.callbacks import ProgressLine
    from kerasopt.models import average_models
    from kerasopt.training import evaluate, train

    keras.backend.clear_session()
    hypermodel = search_tuner.hypermodel
    hp = trial.hyperparameters.copy()
    batch_size = int(hypermodel.values(hp)["batch_size"])
    hp.values["tuner/epochs"] = epochs  # build the schedule for the retraining length
    if search_tuner.trains_stacked(x):
        from kerasopt.tuning._stacked import stacked_retrain

        # The stacked loss is the members' sum: the line shows the epochs only (no metric by that name).
        label = f"retraining {ensemble} seeds" if ensemble > 1 else "retraining"
        callbacks = [ProgressLine(label, epochs, monitor="")] if progress else []
        model = stacked_retrain(hypermodel, hp, x, y, columns=hypermodel.columns, epochs=epochs, members=ensemble,
                                seed=search_tuner.seed, callbacks=callbacks)
    else:
        members = []
        for i, seed in enumerate(range(search_tuner.seed, search_tuner.seed + ensemble)):
            model = hypermodel.build(hp, x, seed=seed)  # the member's initializers and dropout
            callbacks = [ProgressLine(f"retraining {i + 1}/{ensemble}", epochs)] if progress else []
            train(model, x, _labels(model, y), epochs=epochs, batch_size=batch_size, early_stopping=False, seed=seed,
                  callbacks=callbacks)
            members.append(model)
        model = average_models(members)
    _io.write_with(path, model.save)
    x_test, y_test = test_data
    return evaluate(model, x_test, _labels(model, y_test)) if len(x_test) else {}


def _labels(model, y):
    """The search holds class indices; a table model's `train` and `evaluate` take its original labels."""
    target = getattr(model, "target", None)
    return y if target is None else target.labels(y)

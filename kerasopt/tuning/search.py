"""`tune`: a resumable, optionally distributed hyperparameter search with KerasTuner (docs/tuning.md).

`tune` reads as its four steps: `_prepare` (options, data, rows), the output folder
(`_prepare_out_dir`), `_search` (in this process, as a chief or worker, or through the
distributed launcher) and `_finalize` (trials.csv, the best configuration retrained). The options,
their defaults and checks are `kerasopt.spec.TUNE_FIELDS`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kerasopt import _io
from kerasopt import data as data_lib
from kerasopt import run_outputs
from kerasopt import spec as spec_lib
from kerasopt._quiet import quiet_retracing
from kerasopt.errors import ArgumentError, ConfigError, KerasoptError, OutputExistsError
from kerasopt.pipeline import load_training_data, table_from_frame, target_column, target_for
from kerasopt.tuning import space as space_lib

__all__ = ["tune", "TuneResult", "available_objectives"]

PROJECT = "search"
#: `tune`'s population per tuner when `population=None`: grid and random trials do not depend on
#: earlier results, so asking for several at once runs the same trials.
DEFAULT_POPULATION = {"grid": 8, "random": 8, "bayesian": 1, "hyperband": 1}
# The outputs `overwrite=True` removes (nothing else in DIR is touched).
_OWNED = ("search", "history", "logs", "search.json", "trials.csv", "trials.png", "best_config.json",
          "best_model.keras", "comparison.csv") + run_outputs.TUNE_FILES
# Options that define a search but are not recorded in search.json: a rerun may ask for more trials,
# the epochs are part of the resolved space, and the folder is where search.json lies.
_NOT_RECORDED = ("data", "encoding", "max_trials", "epochs", "out")
_DIST_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
_LAST_RUN = "last_run"


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


def available_objectives(task: str | None = None) -> list[str]:
    """Returns the scores a search can rank trials on (for `task`, or for any task); none has the penalty."""
    tasks = spec_lib.TASKS if task is None else (task,)
    return [name for t in tasks for name in spec_lib.TUNE_OBJECTIVES[t]]


def tune(data=None, target: str | None = None, config=None, **overrides) -> TuneResult:
    """Searches hyperparameters of a `kerasopt` network for a table with KerasTuner.

    Every input is checked before the first trial. Calling `tune` again with
    the same arguments and `out` resumes an interrupted search; `overwrite=True`
    starts over. Trials are ranked on a score without the weight penalty
    (`available_objectives`).

    Args:
        data: Labelled CSV path, a DataFrame, or `None` for the embedded
            phone-like data (or the `data` of `config`).
        target: The column to predict (any labels, or a continuous target);
            required with `data`, the embedded demo data's is `price_range`.
        config: A dict, or a JSON/YAML file, of search options (the keys of
            `kerasopt.spec.TUNE_FIELDS`, the flags of `kerasopt tune`
            without dashes); `overrides` win over it.
        **overrides: Search options (`tuner`, `max_trials`, `objective`,
            `cv`, `space`, `epochs`, `test_split`, `out`, `ensemble`,
            `workers`, ...), each described, with its default and check, by
            its field in `kerasopt.spec.TUNE_FIELDS`.

    Returns:
        A `TuneResult`.

    Raises:
        ArgumentError, ConfigError, DataError, OutputExistsError: before any trial runs.
    """
    start = time.monotonic()
    if isinstance(config, (str, os.PathLike)):
        from kerasopt.config import load_file

        config = load_file(config)
    given = {k: v for k, v in (("data", data), ("target", target)) if v is not None}
    plan = _prepare(spec_lib.tune_options(config, **overrides, **given))
    o = plan.options
    _prepare_out_dir(plan.out, plan.fingerprint, o["overwrite"], o["role"])
    deadline = None if o["time_budget"] is None else start + o["time_budget"]
    with quiet_retracing():
        search_tuner = _search(plan, deadline)
        if o["role"] == "worker" or not o["finalize"]:
            # A worker's oracle is a client of the chief's; the chief (or the launcher) collects the results.
            return TuneResult(plan.out, pd.DataFrame(), seconds=time.monotonic() - start)
        result, test_outputs = _finalize(plan, search_tuner)
    result.seconds = time.monotonic() - start
    if o["baselines"]:
        result.comparison = _compare(result, plan)
    run_outputs.write_tune_outputs(plan.out, plan.x_train, plan.y_train, plan.x_test, plan.y_test, plan.target_info,
                                   test_outputs=test_outputs, schema=plan.schema if o["baseline"] else None,
                                   seed=o["seed"], baseline=o["baseline"], verbose=o["verbose"])
    return result


def _check_combinations(o: dict[str, Any]) -> None:
    """Checks what no single option's check sees: options that need or exclude each other."""
    if o["workers"] and isinstance(o["data"], pd.DataFrame):
        raise ArgumentError("`workers` needs `data` as a CSV path (each process reads it), not a DataFrame.")
    role = o["role"]
    if role is None:
        return
    if o["workers"]:
        raise ArgumentError(f"Pass either `workers` (a local launcher) or `role`, not both. "
                            f"Received: workers={o['workers']!r}, role={role!r}")
    if o["oracle"] is None:
        raise ArgumentError(f"`role={role!r}` needs `oracle` (HOST:PORT of the chief).")
    _parse_oracle(o["oracle"])
    worker_id = o["worker_id"]
    if role == "worker" and not worker_id:
        raise ArgumentError("`role='worker'` needs a `worker_id` that is unique among the workers "
                            "(restart a dead worker with the same id to recover its trial).")
    if worker_id is not None and "chief" in str(worker_id):
        raise ArgumentError(f"Invalid value for `worker_id`: expected a non-empty id without 'chief'. "
                            f"Received: worker_id={worker_id!r}")
    if o["overwrite"] and role == "worker":
        raise ConfigError("`overwrite` is for the chief only: a worker that deletes the shared "
                          "output directory would destroy the other processes' trials.")


@dataclass
class _Plan:
    """A checked search, ready to run: its options, rows and the options that define it (`DEFINES_SEARCH`),
    which the processes of a distributed search read from a `--config` file."""

    options: dict[str, Any]
    fingerprint: dict[str, Any]
    defining: dict[str, Any]
    target_info: Any
    columns: dict[str, list[str]]
    x_train: pd.DataFrame
    y_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray

    @functools.cached_property
    def schema(self):
        """`kerasopt.tabular.infer_schema` of the search rows, which types the baselines' columns (built once)."""
        from kerasopt import tabular

        return tabular.infer_schema(self.x_train, **self.columns)

    @property
    def out(self) -> str:
        return self.options["out"]

    def make_tuner(self, **kwargs):
        o = self.options
        return make_tuner(o["tuner"], o["space"], target=self.target_info, columns=self.columns,
                          objective=o["objective"], cv=o["cv"], max_trials=o["max_trials"],
                          executions_per_trial=o["executions_per_trial"], seed=o["seed"], out=o["out"],
                          patience=o["patience"], validation_split=o["validation_split"], **kwargs)

    def local_tuner(self):
        """A tuner of this process over the project folder: it collects what a chief and its workers ran."""
        with _environment(dict.fromkeys(_DIST_ENV)):
            return self.make_tuner(verbose=self.options["verbose"])


def _prepare(o: dict[str, Any]) -> _Plan:
    """Completes the checked options (`kerasopt.spec.tune_options`), reads the data and splits the rows."""
    _check_combinations(o)
    data = o["data"]
    # `runs/<data file name>-tune`, as `kerasopt train` writes to `runs/<data file name>`
    o["out"] = os.fspath(o["out"]) if o["out"] is not None else spec_lib.default_out(data, "-tune")
    if o["population"] is None:
        o["population"] = DEFAULT_POPULATION[o["tuner"]]
    o["space"] = space_lib.resolve_space(o["space"], fixed={"label_smoothing": o["label_smoothing"]})
    if o["epochs"] is not None:
        o["space"]["epochs"] = int(o["epochs"])
    frame = data if isinstance(data, pd.DataFrame) else \
        load_training_data({"demo": data is None, "data": data, "encoding": o["encoding"]})[0]
    o["target"] = target_column(o["target"], data, frame)
    source = _data_id(data)
    table = table_from_frame(frame, o["target"], task=o["task"], categorical=o["categorical"],
                             numeric=o["numeric"], drop=o["drop"], source=source)
    task = table.target.task
    o["objective"] = _objective(o["objective"], task, o["target"])
    if o["baselines"] and task != "classification":
        raise ArgumentError("`baselines` compares classifiers; the target is a regression target. "
                            "Received: baselines=True")
    classification = task == "classification"
    train_rows, _, test_rows = data_lib.split_rows(table.labels.to_numpy(), 0.0, o["test_split"], o["seed"],
                                                   stratify=classification)
    target_info = target_for(table, train_rows)  # a regression target's statistics from the search rows
    y_train = target_info.encode(table.labels.iloc[train_rows])
    if o["cv"] and classification and int(np.bincount(y_train).min()) < o["cv"]:
        raise ConfigError(f"Invalid value for `cv`: {o['cv']} folds need at least {o['cv']} training rows of every "
                          f"class; the smallest class has {int(np.bincount(y_train).min())}. Received: cv={o['cv']}")
    columns = {"categorical": list(o["categorical"]), "numeric": list(o["numeric"]), "drop": table.drop,
               "scaling": o["numeric_scaling"], "numeric_bins": o["numeric_bins"],
               "numeric_embedding": o["numeric_embedding"]}  # infer_schema's arguments
    recorded = {**o, "data": source, "task": task, "drop": table.drop,
                "validation_split": None if o["cv"] else o["validation_split"]}
    fingerprint = {"data": source, "target": o["target"],
                   **{k: recorded[k] for k in spec_lib.DEFINES_SEARCH if k not in _NOT_RECORDED}}
    space_file = os.path.join(o["out"], "logs", "space.json")
    # For a file, not flags (a list flag would split a column name that holds a comma); unset: the default.
    given = {**recorded, "data": None if data is None else source, "space": space_file, "epochs": None}
    defining = {k: given[k] for k in spec_lib.DEFINES_SEARCH if given[k] is not None}
    return _Plan(options=o, fingerprint=fingerprint, defining=defining, target_info=target_info, columns=columns,
                 x_train=table.features.iloc[train_rows].reset_index(drop=True), y_train=y_train,
                 x_test=table.features.iloc[test_rows].reset_index(drop=True),
                 y_test=target_info.encode(table.labels.iloc[test_rows]))


def _objective(objective: str | None, task: str, target: str) -> str:
    """The search's objective: the task's default, or the one given if the task computes it."""
    names = available_objectives(task)
    if objective is None:
        return names[0]
    if objective not in names:
        raise ArgumentError(f"Invalid value for `objective`: {objective!r} is not a score of a {task} search "
                            f"({target!r}); available: {', '.join(names)}. Received: objective={objective!r}")
    return objective


def _data_id(data) -> str:
    if data is None:
        return "embedded:make_phone_data(seed=0)"
    if isinstance(data, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).values.tobytes()).hexdigest()
        return f"dataframe:{digest[:16]}"
    return os.path.abspath(os.fspath(data))


# Options that joined the recorded search after searches were run without them: their value in such a search.
_RECORDED_LATER = {"label_smoothing": 0.0, "numeric_embedding": "none"}


def _prepare_out_dir(out: str, fingerprint: dict, overwrite: bool, role: str | None) -> None:
    _io.check_out_dir(out, ())  # refuses a file; the search's own outputs are checked below
    marker = os.path.join(out, "search.json")
    if overwrite:
        for name in _OWNED:
            path = os.path.join(out, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    elif os.path.exists(marker):
        earlier = {**_RECORDED_LATER, **_io.read_json(marker)}
        # A worker's machine may mount the data elsewhere.
        changed = [k for k in sorted(set(earlier) | set(fingerprint)) if earlier.get(k) != fingerprint.get(k)
                   and k != _LAST_RUN and not (k == "data" and role == "worker")]
        if changed:
            shown = "; ".join(f"{k}: {earlier.get(k)!r} -> {fingerprint.get(k)!r}" for k in changed[:3])
            raise OutputExistsError(f"Output directory {out} holds a different search ({shown}). Rerun the "
                                    "same command to resume it, choose another --out, or pass --overwrite.")
    elif os.path.isdir(os.path.join(out, PROJECT)):
        raise OutputExistsError(f"Output directory {out} holds a search folder without search.json. "
                                "Choose another --out, or pass --overwrite.")
    if role != "worker":
        _io.write_json(marker, fingerprint)


def _record_last_run(out: str, record: dict[str, Any]) -> None:
    """Records how the last run of a search ended in search.json (not part of what must match to resume)."""
    marker = os.path.join(out, "search.json")
    _io.write_json(marker, {**_io.read_json(marker), _LAST_RUN: record})


def _last_run(out: str) -> dict[str, Any]:
    """How the last run of the search in `out` ended (`{}` without a readable search.json)."""
    return dict(_io.read_json(os.path.join(out, "search.json"), default={}).get(_LAST_RUN) or {})


def _parse_oracle(value: str) -> tuple[str, int]:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Invalid value for `oracle`: expected HOST:PORT, e.g. 10.0.0.5:8000. "
                          f"Received: oracle={value!r}")
    return host, int(port)


@contextlib.contextmanager
def _environment(values: dict[str, str | None]):
    """Sets the variables `values` gives a string and unsets those it gives `None`, then restores them."""
    def apply(values):
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    saved = {k: os.environ.get(k) for k in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)


def _search(plan: _Plan, deadline: float | None):
    """Runs the trials: here, as a chief or worker of a search across machines, or through the launcher.

    Returns the tuner whose oracle holds the finished trials (a local one for the launcher and a chief),
    or a worker's tuner.
    """
    o = plan.options
    objective, role, tensorboard, verbose = o["objective"], o["role"], o["tensorboard"], o["verbose"]
    if tensorboard is not None and role != "worker":
        from kerasopt.tuning import hparams_log

        hparams_log.write_config(tensorboard, objective)
    if o["workers"]:
        _launch(plan, deadline)
        return plan.local_tuner()
    status = None
    if verbose and role is None:
        from kerasopt.tuning.report import StatusLine

        status = StatusLine(plan.options["max_trials"], objective,
                            budget=None if deadline is None else deadline - time.monotonic())
    with _environment(_process_env(o) if role is not None else dict.fromkeys(_DIST_ENV)):
        search_tuner = plan.make_tuner(timeout=o["timeout"], verbose=verbose, status=status, tensorboard=tensorboard,
                                       population=o["population"] if role is None else 1)
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
    stopped = search_tuner.oracle.budget_stopped  # every oracle of a search is a `TimeBudget`
    _record_last_run(plan.out, {"time_budget": o["time_budget"], "stopped_by_time_budget": stopped,
                                "trials": len(search_tuner.oracle.trials)})
    if stopped and verbose:
        print(f"time budget reached after {len(search_tuner.oracle.trials)} trial(s); no new trial started.",
              flush=True)
    return plan.local_tuner() if role == "chief" else search_tuner


def _process_env(o: dict[str, Any]) -> dict[str, str]:
    """KerasTuner's environment of a chief or worker (`role`) of a search across machines."""
    host, port = _parse_oracle(o["oracle"])
    return {"KERASTUNER_TUNER_ID": "chief" if o["role"] == "chief" else str(o["worker_id"]),
            "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}


def _launch(plan: _Plan, deadline: float | None) -> None:
    """Runs the search as a chief and `workers` worker processes on this machine (`distributed.launch`)."""
    from kerasopt.tuning import distributed

    o = plan.options
    _io.write_json(os.path.join(plan.out, "logs", "space.json"), o["space"])
    per_run = {"time_budget": None if deadline is None else max(deadline - time.monotonic(), 1e-3),
               "tensorboard": None if o["tensorboard"] is None else os.path.abspath(o["tensorboard"])}
    options_file = os.path.join(plan.out, "logs", "search_options.json")
    _io.write_json(options_file, plan.defining)
    args = ["--config", options_file, *(["--demo"] if "data" not in plan.defining else []),
            *spec_lib.to_argv(per_run, per_run), *([] if o["verbose"] else ["--quiet"])]
    distributed.launch(args, plan.out, workers=o["workers"], timeout=o["timeout"], verbose=o["verbose"])


def make_tuner(tuner: str, space: dict[str, Any], *, target, columns: dict | None = None, objective: str,
               cv: int | None, max_trials: int, executions_per_trial: int, seed: int, out: str, patience: int,
               validation_split: float, timeout: float | None = None, verbose: int = 1, status=None,
               tensorboard=None, population: int = 1):
    """The KerasTuner tuner of a search (reloading its project folder when present); arguments as in `tune`.

    `target` is a `kerasopt.tabular.TargetInfo`, `status` a `report.StatusLine` or `None`.
    """
    import keras_tuner

    from kerasopt.tuning import oracles
    from kerasopt.tuning._tuner import SearchTuner
    from kerasopt.tuning.hypermodel import DenseHyperModel
    from kerasopt.signals import higher_is_better

    kt_objective = keras_tuner.Objective(objective, "max" if higher_is_better(objective) else "min")
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
    hypermodel = DenseHyperModel(space, target, columns=columns, patience=patience)
    return SearchTuner(oracle, hypermodel, cv=cv, validation_split=validation_split,
                       executions=executions_per_trial, seed=seed, out_dir=out, timeout=timeout,
                       verbose=verbose, status=status, tensorboard=tensorboard, population=population, directory=out,
                       project_name=PROJECT)


def _finalize(plan: _Plan, search_tuner) -> tuple[TuneResult, np.ndarray | None]:
    """Writes trials.csv, trials.png, best_config.json and best_model.keras of a finished search; returns the
    result and the best model's outputs for the held-out test rows (`None`: no rows or no completed trial)."""
    from kerasopt.tuning import report

    oracle, verbose = search_tuner.oracle, plan.options["verbose"]
    objective = oracle.objective.name
    stopped = bool(_last_run(plan.out).get("stopped_by_time_budget", False))
    frame = report.trials_frame(oracle, objective)
    # An accuracy moves in steps of one held-out row (of every fold and execution together).
    rows = search_tuner.held_out_rows(plan.y_train) * search_tuner.executions if objective == "val_accuracy" else None
    report.write_trials(frame, plan.out, objective, rows=rows)
    best_trials = oracle.get_best_trials(1)
    if not best_trials:
        if verbose:
            print("no trial completed; nothing to retrain.")
        return TuneResult(plan.out, frame, stopped_by_time_budget=stopped), None
    best = best_trials[0]
    best_config, test_outputs = _best_model(plan, search_tuner, best)
    if verbose:
        print(report.summary_table(frame, objective))
        note = report.influence_note(frame)
        if note:
            print(f"trials.png: {note}.")
        test = best_config.get("test_metrics", {})
        shown = ", ".join(f"{k} {v:.4f}" for k, v in test.items() if k != "rows")
        shown = f"({test['rows']} rows) {shown}" if "rows" in test else shown
        members = best_config.get("ensemble", 1)
        print(f"best trial {best.trial_id}: {objective} {best.score:.4f}; retrained on {len(plan.x_train)} rows for "
              f"{best_config['retrain_epochs']} epochs" + (f" with {members} seeds, averaged," if members > 1 else "")
              + f" -> {os.path.join(plan.out, 'best_model.keras')}" + (f"; held-out test: {shown}" if shown else ""))
    return TuneResult(plan.out, frame, best=best_config, test_metrics=best_config.get("test_metrics", {}),
                      stopped_by_time_budget=stopped), test_outputs


def _best_model(plan: _Plan, search_tuner, best) -> tuple[dict[str, Any], np.ndarray | None]:
    """Retrains the best trial's configuration into best_model.keras unless an earlier run did; returns its
    best_config and the model's outputs for the held-out test rows (`None` without them), predicted once."""
    import keras

    ensemble = plan.options["ensemble"]
    best_config = _best_config(search_tuner, best, list(plan.x_train.columns))
    best_config["ensemble"] = int(ensemble)
    model_path = os.path.join(plan.out, "best_model.keras")
    config_path = os.path.join(plan.out, "best_config.json")
    earlier = None
    if os.path.exists(config_path) and os.path.exists(model_path):
        earlier = _io.read_json(config_path)
    if earlier and earlier.get("trial_id") == best.trial_id and earlier.get("hyperparameters") == \
            best_config["hyperparameters"] and earlier.get("ensemble", 1) == ensemble:
        # the same best trial: keep the model already retrained
        return earlier, _tested(plan, keras.saving.load_model(model_path))[0] if len(plan.x_test) else None
    status = None
    if plan.options["verbose"]:
        from kerasopt.tuning.report import StatusLine

        status = StatusLine(plan.options["max_trials"], plan.options["objective"])
        status.announce(f"retraining trial {best.trial_id}'s configuration on {len(plan.x_train)} rows for "
                        f"{best_config['retrain_epochs']} epochs" + (f", {ensemble} seeds" if ensemble > 1 else ""))
    try:
        model = _retrain(plan, search_tuner, best, model_path, best_config["retrain_epochs"],
                         progress=status is not None and status.active)
    finally:
        if status is not None:
            status.clear()
    outputs, best_config["test_metrics"] = _tested(plan, model)
    _io.write_json(config_path, best_config)
    return best_config, outputs


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


def _retrain(plan: _Plan, search_tuner, trial, path: str, epochs: int, progress: bool):
    """Trains `ensemble` networks of the trial's configuration on all search rows, saves and returns their average.

    They train as one stacked model (`kerasopt.tuning._stacked.stacked_retrain`); the saved model is
    the averaging `TabularModel`, which takes raw rows.
    """
    import keras

    from kerasopt.callbacks import ProgressLine
    from kerasopt.tuning._stacked import stacked_retrain

    keras.backend.clear_session()
    hypermodel, ensemble = search_tuner.hypermodel, plan.options["ensemble"]
    hp = trial.hyperparameters.copy()
    hp.values["tuner/epochs"] = epochs  # build the schedule for the retraining length
    # The stacked loss is the members' sum: the line shows the epochs only (no metric by that name).
    label = f"retraining {ensemble} seeds" if ensemble > 1 else "retraining"
    callbacks = [ProgressLine(label, epochs, monitor="")] if progress else []
    model = stacked_retrain(hypermodel, hp, plan.x_train, plan.y_train, columns=hypermodel.columns, epochs=epochs,
                            members=ensemble, seed=search_tuner.seed, callbacks=callbacks)
    _io.write_with(path, model.save)
    return model


def _tested(plan: _Plan, model) -> tuple[np.ndarray | None, dict[str, float]]:
    """The table `model`'s outputs for the held-out test rows, predicted once, and its Keras metrics of them
    (`training.evaluate`'s, without `loss`, with the row count); `(None, {})` without rows."""
    from kerasopt import inference
    from kerasopt.signals import split_scores  # the data loss, not Keras's penalized `loss`

    # The search holds encoded targets; the table model takes the original labels.
    outputs, metrics = inference.outputs_and_metrics(model, plan.x_test, model.target.labels(plan.y_test),
                                                     batch_size=4096)
    return outputs, {} if outputs is None else split_scores(metrics, len(outputs))


def _compare(result: TuneResult, plan: _Plan) -> pd.DataFrame:
    from kerasopt.tuning.baselines import run_baselines

    o = plan.options
    table = run_baselines(plan.x_train, plan.y_train, plan.x_test, plan.y_test, cv=o["cv"] or 5, seed=o["seed"],
                          schema=plan.schema)
    best = result.best
    ours = {"model": "kerasopt tune", "best_params": best.get("hyperparameters", {}),
            "cv_accuracy": best.get("score", float("nan")) if best.get("objective") == "val_accuracy"
            else float("nan"),
            "test_accuracy": result.test_metrics.get("accuracy", float("nan")),
            # training time of the trials, like GridSearchCV's time (also right for a reused search)
            "seconds": float(result.trials["seconds"].sum()) if "seconds" in result.trials else result.seconds}
    table = pd.concat([pd.DataFrame([ours]), table], ignore_index=True)
    _io.write_with(os.path.join(result.out_dir, "comparison.csv"), lambda tmp: table.to_csv(tmp, index=False))
    if o["verbose"]:
        shown = table[["model", "cv_accuracy", "test_accuracy", "seconds"]].copy()
        print("comparison on the same rows (cv_accuracy: the search objective for kerasopt, "
              "GridSearchCV's mean CV accuracy for scikit-learn; seconds: time spent fitting):")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return table


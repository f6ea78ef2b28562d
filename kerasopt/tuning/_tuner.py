"""`SearchTuner`: the KerasTuner `Tuner` that runs kerasopt trials.

It differs from `keras_tuner.Tuner` where:
- `run_trial` trains a trial's folds and executions as ONE stacked model (`_stacked`) and scores
  them at one common epoch (`common_epoch_scores`);
- `population > 1` trains the trials that differ only in pooled hyperparameters together;
- `reload` and `search` repair a resumed project's queue, and a chief serves the oracle with prompt
  shutdown and a time bound (`_compat.serve`);
- models are not saved per trial: the best configuration is retrained.
"""

from __future__ import annotations

import gc
import os
import time

import keras
import keras_tuner
import numpy as np

from kerasopt import _io
from kerasopt.data import holdout_rows, kfold_rows
from kerasopt.tuning import _compat, _stacked, report

__all__ = ["SearchTuner"]


def common_epoch_scores(runs: list[dict], monitor: str) -> tuple[int, dict[str, float]]:
    """Returns `(epoch, scores)`: the minimum of the runs' mean `monitor` curve and every curve's mean there.

    One epoch for all folds and executions (counted from 1, over the epochs every run ran) keeps a
    noisy configuration from scoring on its luckiest epoch of each fold; the best configuration is
    retrained for it. `runs` are dicts with a `history` (metric name to per-epoch values).
    """
    length = min(len(r["history"][monitor]) for r in runs)
    curve = np.mean([r["history"][monitor][:length] for r in runs], axis=0)
    epoch = int(np.argmin(curve)) + 1
    names = set.intersection(*(set(r["history"]) for r in runs))
    return epoch, {name: float(np.mean([r["history"][name][epoch - 1] for r in runs])) for name in sorted(names)}


def trial_metrics(runs: list[dict], objective: str, task: str, seconds: float) -> dict[str, float]:
    """Returns what a trial reports to the oracle: `{objective: score, "best_epoch", "epochs_run", "seconds"}`
    (`report.RESULT_METRICS`).

    Regression adds `report.EXTRA_SCORES` (`val_rmse`, `val_r2`) in the target's units. `runs` are
    `_stacked.population_runs`'s dicts.
    """
    epoch, scores = common_epoch_scores(runs, _stacked.EPOCH_MONITOR[task])
    shown = report.EXTRA_SCORES if task == "regression" else ()
    return {objective: scores[objective], **{name: scores[name] for name in shown},
            "best_epoch": float(epoch), "epochs_run": float(round(np.mean([r["epochs_run"] for r in runs]))),
            "seconds": float(seconds)}


class SearchTuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` for `DenseHyperModel` searches (see the module docstring).

    `kerasopt.tuning.search.make_tuner` makes it, with a search's options.
    """

    def __init__(self, oracle, hypermodel, *, cv, validation_split, executions, seed, out_dir, timeout, verbose,
                 status, tensorboard, population, **kwargs):
        self.cv = cv
        self.population = max(1, int(population))
        self._encoding = None
        self.status = status
        self.tensorboard = tensorboard
        self.validation_split = validation_split
        self.executions = executions
        self.seed = seed
        self.out_dir = out_dir
        self.timeout = timeout
        self.verbose = verbose
        self._folds_cache = None
        self._reloaded = False
        super().__init__(oracle, hypermodel, overwrite=False, **kwargs)
        oracle_file = os.path.join(self.project_dir, "oracle.json")
        if not self._reloaded and not _compat.is_worker(self) and os.path.exists(oracle_file):
            # A project written under other tuner ids (the chief's and workers', or tuner0's when
            # collecting a distributed run): reload the oracle state all the same.
            self.oracle.reload()
            _compat.repair_oracle(self.oracle)
        self.oracle.verbose = 0  # kerasopt prints its own progress lines

    # -- resume ----------------------------------------------------------------------------------
    def reload(self):
        super().reload()
        self._reloaded = True
        if not _compat.is_worker(self):
            _compat.repair_oracle(self.oracle)

    # -- chief -----------------------------------------------------------------------------------
    def search(self, *fit_args, **fit_kwargs):
        if _compat.is_chief_oracle():
            self.save()
            _compat.serve(self.oracle, os.environ["KERASTUNER_ORACLE_IP"], int(os.environ["KERASTUNER_ORACLE_PORT"]),
                          timeout=self.timeout)
            return
        # The objects alive before the first trial (TensorFlow, Keras, the data) never become
        # garbage: freezing them keeps each trial's `gc.collect()` from walking them again
        # (about 0.6 s per trial on 2 cores, 0.05 s frozen). Only the young generations are collected
        # first (a full collection walks everything too, 0.3 s): older garbage is frozen with the rest
        # and collected as usual after the search, when `gc.unfreeze()` hands it back.
        gc.collect(1)
        gc.freeze()
        try:
            if not _compat.is_worker(self):
                # One process runs every trial: a trial a killed run left RUNNING under any tuner id
                # (a population's slots) runs again, whatever the population now.
                _compat.requeue_ongoing(self.oracle)
            if self.population > 1 and not _compat.is_worker(self):
                self._population_search(*fit_args)
            else:
                super().search(*fit_args, **fit_kwargs)
        finally:
            gc.unfreeze()

    def _population_search(self, x, y):
        """`keras_tuner.Tuner.search`'s loop, taking up to `population` trials at a time."""
        from keras_tuner.engine.trial import TrialStatus

        self.on_search_begin()
        while True:
            trials, stopped = [], False
            for slot in range(self.population):
                self.pre_create_trial()
                trial = self.oracle.create_trial(self.tuner_id if slot == 0 else f"{self.tuner_id}-p{slot}")
                if trial.status == TrialStatus.STOPPED:
                    stopped = True
                    break
                if trial.status == TrialStatus.IDLE:  # the oracle waits for results (Hyperband's rounds)
                    break
                trials.append(trial)
            groups: dict[str, list] = {}
            for trial in trials:
                groups.setdefault(_stacked.population_key(self.hypermodel, trial.hyperparameters), []).append(trial)
            for group in groups.values():
                self._run_population(group, x, y)
            if stopped:
                # The oracle stopped (max_trials, the time budget, an exhausted grid): it would answer
                # the next request with STOPPED too.
                break
        # The slots were this process's; a later distributed run of the project must not wait for them.
        self.oracle.tuner_ids.difference_update({f"{self.tuner_id}-p{slot}" for slot in range(1, self.population)})
        self.on_search_end()

    def _run_population(self, group, x, y):
        """Trains `group` (trials with one `population_key`) as one stacked model and reports each trial."""
        from keras_tuner.engine.trial import TrialStatus

        if len(group) == 1:
            self.on_trial_begin(group[0])
            _compat.run_and_update_trial(self, group[0], x, y)
            self.on_trial_end(group[0])
            return
        for trial in group:
            self.on_trial_begin(trial)
            self._log(f"start {trial.trial_id} {self.tuner_id} population {len(group)}")
        start = time.perf_counter()
        try:
            results = _stacked.population_runs(self.hypermodel, [t.hyperparameters for t in group],
                                               self._fresh_encoding(x, y), self._folds(y), self.executions, self.seed)
        except keras_tuner.errors.FatalError:
            raise
        except Exception:  # noqa: BLE001 - each trial runs alone and fails (or not) on its own
            results = None
        seconds = (time.perf_counter() - start) / len(group)
        for trial, runs in zip(group, results or [None] * len(group)):
            if runs is None:
                _compat.run_and_update_trial(self, trial, x, y)
            else:
                metrics = self._report(trial, runs, seconds, population=len(group))
                self.oracle.update_trial(trial.trial_id, metrics)
                trial.status = TrialStatus.COMPLETED
            self.on_trial_end(trial)

    # -- trials ----------------------------------------------------------------------------------
    def _folds(self, y):
        if self._folds_cache is None:
            stratify = self.hypermodel.classification
            if self.cv:
                self._folds_cache = kfold_rows(y, self.cv, self.seed, stratify, name="cv")
            else:
                train, val = holdout_rows(y, self.validation_split, self.seed, stratify, name="validation_split")
                self._folds_cache = [(np.sort(train), np.sort(val))]
        return self._folds_cache

    def held_out_rows(self, y) -> int:
        """The number of held-out rows a trial is scored on (all folds' together)."""
        return int(sum(len(validation) for _, validation in self._folds(y)))

    def _log(self, line: str) -> None:
        path = os.path.join(self.out_dir, "logs", "trials.log")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _fresh_encoding(self, x, y) -> _stacked.SearchEncoding:
        """The search rows, encoded once per search (no hyperparameter needed), and a clear Keras session."""
        if self._encoding is None:
            self._encoding = _stacked.SearchEncoding.of(x, y, self.hypermodel.target, self.hypermodel.columns)
        keras.backend.clear_session()
        gc.collect()
        return self._encoding

    def run_trial(self, trial, x, y, **kwargs):
        self._log(f"start {trial.trial_id} {self.tuner_id}")
        start = time.perf_counter()
        runs = _stacked.population_runs(self.hypermodel, [trial.hyperparameters], self._fresh_encoding(x, y),
                                        self._folds(y), self.executions, self.seed)[0]
        return self._report(trial, runs, time.perf_counter() - start)

    def _report(self, trial, runs: list[dict], seconds: float, population: int = 1) -> dict:
        """Scores a trial's runs, writes its history file and log line; returns its metrics."""
        objective = self.oracle.objective.name
        for run in runs:
            if objective not in run["history"]:
                raise keras_tuner.errors.FatalError(
                    f"Invalid value for `objective`: {objective!r} is not a metric of this search. "
                    f"Available: {', '.join(sorted(run['history']))}.")
        metrics = trial_metrics(runs, objective, self.hypermodel.target.task, seconds)
        _io.write_json(os.path.join(self.out_dir, "history", f"trial_{trial.trial_id}.json"),
                       {"trial_id": trial.trial_id, "tuner_id": self.tuner_id, "objective": objective,
                        **metrics, "hyperparameters": report.active_values(trial.hyperparameters),
                        **({"population": population} if population > 1 else {}), "runs": runs})
        self._log(f"end {trial.trial_id} {self.tuner_id} {metrics[objective]:.6f}")
        self._last = metrics
        return metrics

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if self.status is not None:
            # The trial's number (ids count from 0): a population's trials begin one after another.
            self.status.trial_started(int(trial.trial_id) + 1 if str(trial.trial_id).isdigit()
                                      else len(self.oracle.trials))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        metrics = getattr(self, "_last", None)
        completed = trial.status == "COMPLETED" and metrics
        values = report.active_values(trial.hyperparameters)
        if self.status is not None:
            self.status.clear()
        if self.verbose:
            if completed:
                print(report.progress_line(trial.trial_id, self.oracle.objective.name, metrics, values,
                                           prefix=f"[{self.tuner_id}] " if self.tuner_id != "tuner0" else ""),
                      flush=True)
            else:
                message = (trial.message or "").strip().splitlines()
                print(f"trial {trial.trial_id} {trial.status}: {message[-1] if message else ''}", flush=True)
        if completed and self.tensorboard:
            from kerasopt.tuning import hparams_log

            hparams_log.write_trial(self.tensorboard, trial.trial_id, values, metrics)
        if self.status is not None:
            self.status.trial_ended(metrics[self.oracle.objective.name] if completed else None, values,
                                    metrics["seconds"] if completed else None)
        self._last = None

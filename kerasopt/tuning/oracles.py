"""KerasTuner oracles with a time budget (`TimeBudget`), whose first trial runs the space's defaults.

A resumed search never reruns the defaults: they are the trial with id 0. The budget lives in the
oracle, so it holds for a distributed search too (docs/tuning.md).
"""

from __future__ import annotations

import time

import keras_tuner
from keras_tuner.engine import trial as trial_module

from kerasopt.tuning import _compat

__all__ = ["DefaultsFirstBayesianOracle", "DefaultsFirstRandomSearchOracle", "GridSearchOracle", "HyperbandOracle",
           "TimeBudget", "default_values"]


def default_values(space: keras_tuner.HyperParameters) -> dict:
    """Returns the default of every hyperparameter of `space` that is active under the defaults."""
    hps = keras_tuner.HyperParameters()
    for hp in space.space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = hp.default
    return dict(hps.values)


class TimeBudget:
    """Mixin for a KerasTuner oracle: no new trial starts after `set_deadline`'s deadline.

    A new request then gets a STOPPED trial (a trial already running for that tuner is still handed
    back) and `budget_stopped` is set; the first trial after `set_deadline` always starts.
    """

    deadline: float | None = None
    budget_stopped: bool = False
    _started_since_deadline: int = 0

    def set_deadline(self, seconds: float | None) -> None:
        """No new trial starts once `seconds` have passed from now (`None`: no budget)."""
        self.deadline = None if seconds is None else time.monotonic() + float(seconds)
        self.budget_stopped = False
        self._started_since_deadline = 0

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        full = bool(self.max_trials) and len(self.trials) >= self.max_trials  # KerasTuner stops it anyway
        if (self.deadline is not None and time.monotonic() >= self.deadline and self._started_since_deadline
                and tuner_id not in self.ongoing_trials and not full):
            self.budget_stopped = True
            self.tuner_ids.discard(tuner_id)  # this tuner leaves, as on KerasTuner's own STOPPED
            return trial_module.Trial(self.hyperparameters.copy(), trial_id=None,
                                      status=trial_module.TrialStatus.STOPPED)
        trial = super().create_trial(tuner_id)
        if trial.status == trial_module.TrialStatus.RUNNING:
            self._started_since_deadline += 1
        return trial


class _DefaultsFirst(TimeBudget):
    """Mixin: the first trial of a search takes the default values."""

    def populate_space(self, trial_id):
        if not self.trials:  # create_trial registers a trial after populating it
            values = default_values(self.hyperparameters)
            if values and not _compat.is_duplicate(self, values):
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return super().populate_space(trial_id)


class GridSearchOracle(TimeBudget, keras_tuner.oracles.GridSearchOracle):
    """`keras_tuner.oracles.GridSearchOracle` with a time budget, for populations and resumed searches.

    It hands out the grid in KerasTuner's order without waiting for running trials to end, and a
    resumed search continues the grid where it stopped (KerasTuner's loses its place on reload).
    """

    def reload(self):
        super().reload()
        _compat.grid_rebuild(self)  # KerasTuner does not save the grid's order

    def populate_space(self, trial_id):
        response = super().populate_space(trial_id)
        if response["status"] == trial_module.TrialStatus.RUNNING and len(self.start_order) > 0:
            _compat.grid_continue(self, trial_id)
        return response


class HyperbandOracle(TimeBudget, keras_tuner.oracles.HyperbandOracle):
    """`keras_tuner.oracles.HyperbandOracle` with a time budget."""


class DefaultsFirstRandomSearchOracle(_DefaultsFirst, keras_tuner.oracles.RandomSearchOracle):
    """`keras_tuner.oracles.RandomSearchOracle` whose first trial runs the defaults."""


class DefaultsFirstBayesianOracle(_DefaultsFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    """`keras_tuner.oracles.BayesianOptimizationOracle` whose first trial runs the defaults.

    The defaults trial counts as one of the `num_initial_points`. Proposals come from
    `_compat.bayesian_values` (a tenth of KerasTuner's L-BFGS-B restarts; on the 30 trials of a
    default phone search both found the same minimum of the bound), computed with scikit-learn's
    input checks off (they took about 3 s of 4 s per trial). A proposal already tried is replaced
    by a random sample (KerasTuner would run it again).
    """

    #: L-BFGS-B starting points of a proposal (KerasTuner: 50 random ones), and the random points
    #: scored in one vectorized call to choose them.
    restarts = 5
    candidates = 2000

    def populate_space(self, trial_id):
        import sklearn

        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            # The first trial runs the defaults (`_DefaultsFirst`), the random phase KerasTuner's samples.
            values = _compat.bayesian_values(self, self.restarts, self.candidates) if self.trials else None
            response = super().populate_space(trial_id) if values is None else \
                {"status": trial_module.TrialStatus.RUNNING, "values": values}
        values = response.get("values")
        if response["status"] == trial_module.TrialStatus.RUNNING and values and _compat.is_duplicate(self, values):
            # KerasTuner's Gaussian process may propose a configuration already tried (often on a
            # boundary of the space), and does not check: sample a new one instead of rerunning it.
            return _compat.random_values(self)
        return response

"""KerasTuner oracles whose first trial runs the space's default values.

KerasTuner's random and Bayesian oracles sample their first trials at random.
kerasopt's default space carries a known-good starting point (its defaults
are `kerasopt.config.DEFAULTS`, the cross-validated default classifier), so
these oracles run it first, as Optuna's `enqueue_trial` or Ray Tune's
`points_to_evaluate` would: the search then only keeps a sampled
configuration that scores better on the objective. Every later trial is
KerasTuner's own (random, or the Gaussian-process proposal after the random
initial points). A resumed search never reruns the defaults, because the
defaults trial is the one with id 0.
"""

from __future__ import annotations

import keras_tuner
from keras_tuner.src.engine import hyperparameters as hp_module
from keras_tuner.src.engine import trial as trial_module

__all__ = ["DefaultsFirstBayesianOracle", "DefaultsFirstRandomSearchOracle", "default_values"]


def default_values(space: keras_tuner.HyperParameters) -> dict:
    """Returns the default value of every hyperparameter that is active under the defaults.

    Args:
        space: The oracle's `HyperParameters` (every declared hyperparameter).

    Returns:
        A dict of hyperparameter name to default value, conditional ones
        included only when their parent's default activates them.
    """
    hps = hp_module.HyperParameters()
    for hp in space.space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = hp.default
    return dict(hps.values)


class _DefaultsFirst:
    """Mixin: the first trial of a search takes the default values."""

    def populate_space(self, trial_id):
        if not self.trials:  # create_trial registers a trial after populating it
            values = default_values(self.hyperparameters)
            if values and not self._duplicate(values):
                return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        return super().populate_space(trial_id)


class DefaultsFirstRandomSearchOracle(_DefaultsFirst, keras_tuner.oracles.RandomSearchOracle):
    """`keras_tuner.oracles.RandomSearchOracle` whose first trial runs the defaults."""


class DefaultsFirstBayesianOracle(_DefaultsFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    """`keras_tuner.oracles.BayesianOptimizationOracle` whose first trial runs the defaults.

    The defaults trial counts as one of the `num_initial_points`. Proposals
    are KerasTuner's, except that a proposal already tried is replaced by a
    random sample (KerasTuner would run it again). They are computed with
    scikit-learn's input checks off
    (`assume_finite`, `skip_parameter_validation`): the acquisition function
    calls the Gaussian process's `predict` tens of thousands of times per
    trial on arrays KerasTuner has already cleaned of NaN and inf, and the
    checks took most of the oracle's time (about 3 s of 4 s per trial).
    """

    def populate_space(self, trial_id):
        import sklearn

        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            response = super().populate_space(trial_id)
        values = response.get("values")
        if response["status"] == trial_module.TrialStatus.RUNNING and values and self._duplicate(values):
            # KerasTuner's Gaussian process may propose a configuration already tried (often on a
            # boundary of the space), and does not check: sample a new one instead of rerunning it.
            return self._random_populate_space()
        return response

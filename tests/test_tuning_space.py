"""Search-space overrides and checks, hyperparameter declaration, report helpers, oracle repair.

No training here: these tests run in well under a second each.
"""

import json

import keras_tuner
import numpy as np
import pandas as pd
import pytest

from kerasopt.errors import ConfigError
from kerasopt.tuning import report
from kerasopt.tuning._compat import repair_oracle
from kerasopt.tuning._tuner import common_epoch_scores
from kerasopt.tuning.space import DEFAULT_SPACE, OPTIMIZERS, SCHEDULES, declare, resolve_space


def test_known_names_match_the_core_registries():
    from kerasopt import optimizers, schedules

    assert sorted(OPTIMIZERS) == sorted(optimizers.available())
    assert list(SCHEDULES) == schedules.available()


def test_default_space_resolves_unchanged():
    space = resolve_space()
    assert space["optimizer"] == {"choices": DEFAULT_SPACE["optimizer"]["choices"], "default": "adam"}
    assert space["l1"] == {"min": 1e-6, "max": 1e-2, "sampling": "log", "zero": True, "default": 1e-4}
    assert space["num_layers"]["min"] == 0  # linear models are part of the search
    assert resolve_space(space) == space  # a resolved space is its own override


@pytest.mark.parametrize("overrides, fragment", [
    ({"units": {"min": 64, "max": 16}}, "`space.units`: min (64) is greater than max (16)"),
    ({"optimizer": ["adam", "adamax"]}, "`space.optimizer`: expected one of 'adadelta', 'adagrad', 'adam', "
                                       "'adamw', 'momentum', 'nadam', 'nesterov', 'rmsprop', 'sgd'. "
                                       "Received: optimizer='adamax'"),
    ({"schedule": "linear"}, "`space.schedule`: expected one of 'constant', 'step', 'multistep', "
                            "'exponential', 'piecewise', 'inverse_time', 'cosine'. Received: schedule='linear'"),
    ({"learning_rate": {"min": -0.1, "max": 0.1}}, "expected a positive number. Received: learning_rate=-0.1"),
    ({"learning_rate": 0}, "`space.learning_rate`: expected a positive number. Received: learning_rate=0"),
    ({"l2": -1e-4}, "expected a non-negative number. Received: l2=-0.0001"),
    ({"activation": []}, "expected a non-empty list of choices"),
    ({"batch_size": {"choices": []}}, "expected a non-empty list of choices"),
    ({"batch_size": [16, 0]}, "expected a positive integer. Received: batch_size=0"),
    ({"dropout": {"min": 0.0, "max": 1.0}}, "expected a number in [0, 1)"),
    ({"l1": {"min": 0.0, "max": 0.01, "sampling": "log"}}, "log sampling needs min > 0"),
    ({"units": {"min": 8, "max": 64, "step": 0}}, "expected a positive 'step'"),
    ({"activation": {"min": 1, "max": 2}}, "a range needs a numeric hyperparameter"),
    ({"layers": 2}, "Unknown hyperparameter(s) in the search space: layers. Known: num_layers"),
    ({"schedule": "piecewise"}, "The 'piecewise' schedule needs `space.schedule_args.piecewise`"),
    ({"schedule_args": {"warp": {}}}, "Unknown schedule in `space.schedule_args`: 'warp'"),
    ({"units": {"min": 16, "max": 64, "default": 128}}, "the default 128 is outside [16, 64]"),
    ({"l1": {"min": 1e-4, "max": 1e-2, "sampling": "log", "default": 0.0}}, "the default 0.0 is outside"),
    ({"activation": {"choices": ["relu", "tanh"], "default": "elu"}}, "the default 'elu' is not one of"),
    ({"optimizer": {"choices": ["adam"], "default": "adamax"}}, "`space.optimizer`: expected one of 'adadelta', "
     "'adagrad', 'adam', 'adamw', 'momentum', 'nadam', 'nesterov', 'rmsprop', 'sgd'. Received: optimizer='adamax'"),
    ({"activation": {"choices": ["relu"], "first": "relu"}}, "a choice spec takes only 'choices' and"),
    ({"momentum": 1.0}, "`space.momentum`: expected a number in [0, 1). Received: momentum=1.0"),
    ({"dropout": [[0.1, 0.2]]}, "`space.dropout`: expected a single number. Received: dropout=[0.1, 0.2]"),
    ({"epochs": None}, "`space.epochs`: expected a single integer. Received: epochs=None"),
])
def test_invalid_space_is_rejected(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        resolve_space(overrides)
    assert fragment in str(info.value)


@pytest.mark.parametrize("name, value", [
    ("dropout", 1.0), ("label_smoothing", -0.1), ("l1", -1e-3), ("l2", float("nan")), ("learning_rate", 0),
    ("batch_size", 0), ("epochs", 2.5), ("batch_norm", "yes"), ("activation", " "), ("optimizer", ""),
])
def test_the_space_rejects_what_the_option_rejects_with_its_message(name, value):
    from kerasopt import spec
    from kerasopt.errors import ArgumentError

    with pytest.raises(ArgumentError) as option:
        spec.check_value(name, value)
    for overrides in ({name: value}, {name: [value]}):
        with pytest.raises(ConfigError) as info:
            resolve_space(overrides)
        assert str(info.value) == str(option.value).replace(f"`{name}`", f"`space.{name}`")


@pytest.mark.parametrize("name, value", [("dropout", 0), ("l2", 1), ("learning_rate", 0.02), ("epochs", 40),
                                         ("activation", "tanh"), ("batch_norm", True)])
def test_the_space_keeps_what_the_option_keeps(name, value):
    from kerasopt import spec

    kept, option = resolve_space({name: value})[name], spec.check_value(name, value)
    assert kept == option and type(kept) is type(option)


def test_full_message_of_a_range_error():
    with pytest.raises(ConfigError) as info:
        resolve_space({"units": {"min": 64, "max": 16}})
    assert str(info.value) == ("Invalid value for `space.units`: min (64) is greater than max (16). "
                               "Received: units={'min': 64, 'max': 16}")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_overrides_from_a_file(tmp_path, suffix):
    overrides = {"num_layers": 1, "optimizer": ["sgd", "adam"], "learning_rate": {"min": 0.01, "max": 0.1},
                 "schedule_args": {"step": {"step_size": 5, "gamma": 0.1}}}
    path = tmp_path / f"space{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(overrides))
    else:
        import yaml
        path.write_text(yaml.safe_dump(overrides))
    space = resolve_space(path)
    assert space["num_layers"] == 1
    assert space["optimizer"] == {"choices": ["sgd", "adam"]}
    assert space["learning_rate"] == {"min": 0.01, "max": 0.1}
    assert space["schedule_args"]["step"] == {"step_size": 5, "gamma": 0.1}
    assert space["schedule_args"]["exponential"] == DEFAULT_SPACE["schedule_args"]["exponential"]
    assert space["units"] == DEFAULT_SPACE["units"]


def test_default_space_starts_from_the_core_defaults():
    from kerasopt import budget
    from kerasopt.config import DEFAULTS
    from kerasopt.tuning.oracles import default_values

    hp = keras_tuner.HyperParameters()
    values = declare(hp, resolve_space())
    assert DEFAULTS["hidden_units"] is None and values["hidden_units"] == budget.hidden_units_for(None) == [128]
    for name in ("activation", "dropout", "batch_norm", "l1", "l2", "optimizer", "learning_rate",
                 "schedule", "label_smoothing"):
        assert values[name] == DEFAULTS[name], name
    # the run's batch size is sized to the rows (None); a trial starts from a small table's
    assert DEFAULTS["batch_size"] is None and values["batch_size"] == budget.training_budget(1024).batch_size
    assert resolve_space()["schedule_args"]["exponential"] == DEFAULTS["schedule_args"]
    assert default_values(hp) == {"num_layers": 1, "units_0": 128, "activation": "elu", "dropout": 0.0,
                                  "batch_norm": False, "l1_on": True, "l1": 1e-4, "l2_on": False,
                                  "optimizer": "adam", "learning_rate": 0.01, "schedule": "exponential",
                                  "batch_size": 32, "epochs": 150, "label_smoothing": 0.0}


def test_default_space_is_the_spec_search_ranges():
    from kerasopt import spec

    searched = {name for f in spec.FIELDS for name in (f.search or {})}
    assert searched == set(DEFAULT_SPACE)
    assert DEFAULT_SPACE["learning_rate"] == {**spec.FIELD["learning_rate"].search["learning_rate"], "default": 0.01}
    assert DEFAULT_SPACE["epochs"] == spec.FIELD["epochs"].search["epochs"] == 150


def test_model_kwargs_are_build_model_arguments_and_cosine_spans_the_trial():
    import inspect

    from kerasopt import schedules, spec
    from kerasopt.models import build_model
    from kerasopt.tuning.hypermodel import model_kwargs

    space = resolve_space({"schedule": "cosine", "epochs": 12})
    values = declare(keras_tuner.HyperParameters(), space)
    kwargs = model_kwargs(values, space, n_rows=100)
    assert set(kwargs) <= set(inspect.signature(build_model).parameters)
    assert set(kwargs) == set(spec.BUILD_MODEL_ARGS)  # a run's arguments (`config.model_arguments`) but the seed
    assert isinstance(kwargs["learning_rate"], schedules.WarmupCosineDecay)
    assert kwargs["learning_rate"].decay_epochs == 12  # the trial's epochs
    assert kwargs["learning_rate"].steps_per_epoch == 4  # ceil(100 / 32)


def test_zero_default_switches_the_rate_off_and_a_positive_one_on():
    hp = keras_tuner.HyperParameters()
    values = declare(hp, resolve_space({"l1": {"min": 1e-4, "max": 1e-2, "sampling": "log", "zero": True,
                                               "default": 0}, "l2": {"min": 1e-4, "max": 1e-2, "sampling": "log",
                                                                     "zero": True, "default": 1e-3}}))
    assert values["l1"] == 0.0 and values["l2"] == 1e-3
    assert hp.values["l1_on"] is False and hp.values["l2_on"] is True


@pytest.mark.parametrize("oracle_name", ["DefaultsFirstRandomSearchOracle", "DefaultsFirstBayesianOracle"])
def test_first_trial_runs_the_defaults_and_later_ones_sample(oracle_name, tmp_path):
    from kerasopt.tuning import oracles

    hp = keras_tuner.HyperParameters()
    declare(hp, resolve_space())
    oracle = getattr(oracles, oracle_name)(objective=keras_tuner.Objective("val_accuracy", "max"),
                                           max_trials=3, seed=1)
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.hyperparameters = hp.copy()
    first = oracle.create_trial("tuner0")
    assert first.hyperparameters.values == oracles.default_values(hp)
    oracle.update_trial(first.trial_id, {"val_accuracy": 0.5})
    first.status = "COMPLETED"
    oracle.end_trial(first)
    second = oracle.create_trial("tuner0")
    assert second.hyperparameters.values != first.hyperparameters.values


def test_missing_space_file_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found"):
        resolve_space(tmp_path / "nope.yaml")


def _declared(space_overrides, values=None):
    hp = keras_tuner.HyperParameters()
    space = resolve_space(space_overrides)
    declare(hp, space)  # registers the space with default values
    if values:
        hp.values.update(values)
        hp.ensure_active_values()  # what the oracle does for a trial
    return hp, declare(hp, space)


def test_units_are_conditional_on_depth():
    hp, values = _declared({"num_layers": {"min": 0, "max": 2}}, {"num_layers": 1})
    active = report.active_values(hp)
    assert "units_0" in active and "units_1" not in active
    assert values["hidden_units"] == [active["units_0"]]
    hp, values = _declared({"num_layers": {"min": 0, "max": 2}}, {"num_layers": 0})
    active = report.active_values(hp)
    assert not any(k.startswith("units_") or k in ("activation", "dropout", "batch_norm") for k in active)
    assert values["hidden_units"] == [] and values["dropout"] == 0.0


def test_momentum_applies_only_to_momentum_optimizers():
    hp, values = _declared({"optimizer": ["adam", "momentum"]}, {"optimizer": "adam"})
    assert values["momentum"] is None and "momentum" not in report.active_values(hp)
    hp, values = _declared({"optimizer": ["adam", "momentum"]}, {"optimizer": "momentum"})
    assert values["momentum"] == report.active_values(hp)["momentum"]
    hp, values = _declared({"optimizer": "adam"})
    assert "momentum" not in hp.values


def test_zero_or_log_scale_rate():
    hp, values = _declared({}, {"l1_on": False})
    assert values["l1"] == 0.0 and "l1" not in report.active_values(hp)
    hp, values = _declared({}, {"l1_on": True, "l1": 3e-4})
    assert values["l1"] == 3e-4


def test_fixed_values_are_not_tuned():
    hp, values = _declared({"num_layers": 1, "units": 32, "batch_size": 8, "epochs": 3, "optimizer": "sgd"})
    assert values["hidden_units"] == [32] and values["batch_size"] == 8 and values["epochs"] == 3
    fixed = {h.name for h in hp.space if isinstance(h, keras_tuner.engine.hyperparameters.Fixed)}
    assert {"num_layers", "units_0", "batch_size", "epochs", "optimizer"} <= fixed


def test_influence_is_the_explained_variance():
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    frame = pd.DataFrame({"trial_id": list("01234"), "status": "COMPLETED",
                          "units": [8, 16, 24, 32, 40],  # linear in the score: r^2 = 1
                          "optimizer": ["a", "a", "b", "b", "b"], "score": scores,
                          "best_epoch": 1, "epochs_run": 1, "seconds": 1.0})
    inf = report.influence(frame)
    assert inf["units"] == pytest.approx(1.0)
    # eta^2 = between-group / total sum of squares, from the group means 0.15 and 0.4
    between = 2 * (0.15 - 0.3) ** 2 + 3 * (0.4 - 0.3) ** 2
    assert inf["optimizer"] == pytest.approx(between / np.sum((scores - 0.3) ** 2))


class _Trial:
    def __init__(self, trial_id, status):
        self.trial_id, self.status = trial_id, status


class _Oracle:
    def __init__(self, statuses, retry, ongoing):
        self.trials = {k: _Trial(k, v) for k, v in statuses.items()}
        self._retry_queue = list(retry)
        self.ongoing_trials = {w: self.trials[t] for w, t in ongoing.items()}


def test_repair_never_requeues_a_finished_trial():
    # trial 1 finished but oracle.json still lists it as ongoing (saved before the pop);
    # trial 2 was left RUNNING by a killed process and is in no queue.
    oracle = _Oracle({"0": "COMPLETED", "1": "COMPLETED", "2": "RUNNING", "3": "INVALID"},
                     retry=["1", "3"], ongoing={"worker0": "1"})
    repair_oracle(oracle)
    assert oracle._retry_queue == ["3", "2"]
    assert oracle.ongoing_trials == {}


def test_common_epoch_scores_pick_one_epoch_for_all_folds():
    # fold a is best at epoch 1 (loss .5), fold b at epoch 3 (loss .1); the mean loss curve
    # [.6, .55, .4] is lowest at epoch 3, where accuracy is .7 and .9
    runs = [{"history": {"val_log_loss": [0.5, 0.6, 0.7, 0.9], "val_accuracy": [0.95, 0.8, 0.7, 0.6]}},
            {"history": {"val_log_loss": [0.7, 0.5, 0.1], "val_accuracy": [0.5, 0.6, 0.9]}}]
    epoch, scores = common_epoch_scores(runs, "val_log_loss")
    assert epoch == 3 and scores == {"val_accuracy": pytest.approx(0.8), "val_log_loss": pytest.approx(0.4)}
    # one training: its own best epoch
    assert common_epoch_scores(runs[:1], "val_log_loss")[0] == 1


def _two_trials(tmp_path, name):
    from kerasopt.data import make_phone_data, to_arrays
    from kerasopt.tabular import encode_target
    from kerasopt.tuning.search import make_tuner

    _, y, _ = to_arrays(make_phone_data(40, seed=5), "price_range")
    tuner = make_tuner("bayesian", resolve_space(), target=encode_target(y)[1], objective="val_accuracy", cv=None,
                       max_trials=5, executions_per_trial=1, seed=0, out=str(tmp_path / name), patience=1,
                       validation_split=0.2, verbose=0)
    first = tuner.oracle.create_trial("a")
    return tuner.oracle, first, tuner.oracle.create_trial("b")


def test_seed_zero_makes_the_oracle_repeatable(tmp_path):
    # KerasTuner draws a random seed for seed=0; kerasopt's seed 0 must still repeat the search
    _, _, one = _two_trials(tmp_path, "one")
    _, _, two = _two_trials(tmp_path, "two")
    assert one.hyperparameters.values == two.hyperparameters.values


def test_bayesian_proposal_already_tried_is_replaced(tmp_path, monkeypatch):
    from kerasopt.tuning import oracles

    oracle, first, _ = _two_trials(tmp_path, "dup")
    tried = dict(first.hyperparameters.values)
    monkeypatch.setattr(keras_tuner.oracles.BayesianOptimizationOracle, "populate_space",
                        lambda self, trial_id: {"status": "RUNNING", "values": dict(tried)})
    assert isinstance(oracle, oracles.DefaultsFirstBayesianOracle)
    third = oracle.create_trial("c")
    assert third.status == "RUNNING" and third.hyperparameters.values != tried


def test_bayesian_proposals_come_from_the_gaussian_process_after_the_initial_points(tmp_path):
    from kerasopt.tuning import _compat, oracles

    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Int("units", 8, 64)
    oracle = oracles.DefaultsFirstBayesianOracle(objective=keras_tuner.Objective("val_loss", "min"),
                                                 max_trials=6, num_initial_points=3, seed=1)
    oracle._set_project_dir(str(tmp_path), "p")
    oracle.hyperparameters = hp.copy()
    for score in (1.0, 0.5, 0.8):
        assert _compat.bayesian_values(oracle, restarts=2, candidates=50) is None  # still sampling at random
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_loss": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    values = _compat.bayesian_values(oracle, restarts=2, candidates=50)
    assert set(values) == {"learning_rate", "units"}
    assert 1e-4 <= values["learning_rate"] <= 1e-1 and 8 <= values["units"] <= 64
    trial = oracle.create_trial("tuner0")
    assert trial.status == "RUNNING" and trial.hyperparameters.values != oracles.default_values(hp)


def test_a_searchs_label_smoothing_is_fixed_in_its_space_unless_the_space_searches_it():
    from kerasopt.tuning.space import resolve_space

    assert resolve_space(fixed={"label_smoothing": 0.2})["label_smoothing"] == 0.2
    searched = resolve_space({"label_smoothing": [0.0, 0.1]}, fixed={"label_smoothing": 0.2})
    assert searched["label_smoothing"] == {"choices": [0.0, 0.1]}
    with pytest.raises(ConfigError, match=r"space\.label_smoothing"):
        resolve_space({"label_smoothing": 1.0})

"""Population stacking: members with their own learning rate, L1/L2 and dropout train as single networks."""

import importlib.util

import keras
import numpy as np
import pytest

from kerasopt import stacking
from kerasopt.models import build_model
from .test_stacking import as_single, max_difference, member_weights, run_on_jax, single_weights

SEEDS = [3, 7, 11]
FAST = {"jit_compile": False}
ROWS = [np.arange(0, 60), np.arange(30, 90), np.arange(10, 69)]  # member 2's last batch is padded


def population_rows():
    """90 rows of 5 differently scaled columns and a binary target (also `tests/test_saving.py`'s)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(90, 5)) * [1, 10, 0.1, 1, 5] + [0, 50, 0, 2, 0]).astype("float32")
    y = (x[:, 0] + x[:, 3] > 2).astype("int32")
    return x, y


@pytest.fixture
def data():
    return population_rows()


def _member_arguments(population: dict, k: int) -> dict:
    return {key: values[k] for key, values in population.items()}


@pytest.mark.parametrize("arch, population", [
    ({"optimizer": "momentum", "jit_compile": True}, {"learning_rate": [0.1, 0.03, 0.3]}),
    ({"optimizer": "adam", **FAST},
     {"learning_rate": [0.01, 0.003, 0.03], "l1": [0.0, 1e-3, 1e-2], "l2": [1e-2, 0.0, 1e-3]}),
    ({"optimizer": {"name": "adamw", "weight_decay": 0.1}, "batch_norm": [True, False], **FAST},
     {"learning_rate": [0.02, 0.005, 0.05]}),
], ids=["sgd-momentum-xla", "adam-l1-l2", "adamw-weight-decay-batchnorm"])
def test_population_member_trained_stacked_matches_its_single_network(data, arch, population):
    x, y = data
    arch = {"num_classes": 2, "hidden_units": (8, 6), **arch}
    model = stacking.build_stacked_model([x[r] for r in ROWS], seed=SEEDS, population=population, **arch)
    assert type(model.optimizer).__name__.startswith("Memberwise")
    stacking.train_stacked(model, x, y, ROWS, epochs=2, batch_size=16, seed=[5, 6, 7])
    singles = [build_model(x[r], seed=s, **arch, **_member_arguments(population, k))
               for k, (r, s) in enumerate(zip(ROWS, SEEDS))]
    for single in singles:
        single.run_eagerly = True  # tracing a train step per network takes longer than these few steps
    for epoch in range(2):
        index, weight = stacking.plan_batches(ROWS, 16, [5, 6, 7], epoch)
        for i, w in zip(index, weight):
            for k, single in enumerate(singles):
                rows = i[w[:, k] > 0, k]
                single.train_on_batch(x[rows], y[rows])
    untrained = stacking.build_stacked_model([x[r] for r in ROWS], seed=SEEDS, population=population, **arch)
    for k, single in enumerate(singles):
        assert max_difference(member_weights(model, k), single_weights(single)) < 1e-5, k
        assert max_difference(member_weights(model, k), member_weights(untrained, k)) > 1e-3  # it did train


def test_population_penalties_are_in_each_members_validation_loss(data):
    x, y = data
    validation = [np.setdiff1d(np.arange(90), r) for r in ROWS]
    population = {"l1": [0.0, 1e-3, 1e-2], "l2": [1e-2, 0.0, 1e-3]}
    model = stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,), seed=SEEDS,
                                         population=population, **FAST)
    result = stacking.train_stacked(model, x, y, ROWS, validation, epochs=2, batch_size=16, early_stopping=False,
                                    seed=0)
    for k in range(3):  # the single network with member k's own penalties scores what the member scored
        member = as_single(model, k, build_model(x[ROWS[k]], num_classes=2, hidden_units=(8,), seed=SEEDS[k],
                                                 l1=population["l1"][k], l2=population["l2"][k], **FAST))
        scores = member.evaluate(x[validation[k]], y[validation[k]], verbose=0, return_dict=True)
        assert result.validation["val_loss"][k] == pytest.approx(scores["loss"], rel=1e-5)


def test_memberwise_l1_l2_is_the_sum_of_the_members_penalties():
    kernels = np.random.default_rng(0).normal(size=(3, 4, 5)).astype("float32")
    reg = stacking.MemberwiseL1L2([0.0, 0.1, 0.2], [0.3, 0.0, 0.4])
    expected = [0.3 * np.square(kernels[0]).sum(), 0.1 * np.abs(kernels[1]).sum(),
                0.2 * np.abs(kernels[2]).sum() + 0.4 * np.square(kernels[2]).sum()]
    np.testing.assert_allclose(reg.member_penalties(kernels), expected, rtol=1e-6)
    again = stacking.MemberwiseL1L2.from_config(reg.get_config())
    assert float(again(keras.ops.convert_to_tensor(kernels))) == pytest.approx(sum(expected), rel=1e-5)


def test_stacked_dropout_drops_each_members_rate_and_scales_the_kept_units():
    rates = [0.0, 0.25, 0.5]
    layer = stacking.StackedDropout(rates, seed=0)
    inputs = np.random.default_rng(0).uniform(1, 2, size=(2000, 3, 50)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(inputs, training=True))
    np.testing.assert_array_equal(out[:, 0], inputs[:, 0])  # rate 0: untouched
    for k in (1, 2):
        kept = out[:, k] != 0
        np.testing.assert_allclose(out[:, k][kept], inputs[:, k][kept] / (1 - rates[k]), rtol=1e-6)
        n = kept.size
        sd = np.sqrt(rates[k] * (1 - rates[k]) / n)  # binomial standard deviation of the dropped fraction
        assert abs((1 - kept.mean()) - rates[k]) < 5 * sd, (k, 1 - kept.mean())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(inputs, training=False)), inputs)
    again = stacking.StackedDropout.from_config(layer.get_config())
    assert again.rates == rates and again.seed == 0


def test_population_dropout_leaves_a_rate_zero_member_untouched_in_training(data):
    x, _ = data
    model = stacking.build_stacked_model(x, members=3, num_classes=2, hidden_units=(16, 8), seed=SEEDS,
                                         population={"dropout": [0.0, 0.5, 0.3]}, **FAST)
    inputs = {"features": np.repeat(x[:, None], 3, axis=1), "row_mask": np.ones((90, 3), "float32")}
    training = keras.ops.convert_to_numpy(model(inputs, training=True))
    inference = keras.ops.convert_to_numpy(model(inputs, training=False))
    np.testing.assert_array_equal(training[:, 0], inference[:, 0])
    assert not np.allclose(training[:, 1], inference[:, 1])
    assert [model.get_layer(f"dropout_{i}").rates for i in range(2)] == [[0.0, 0.5, 0.3]] * 2  # every hidden layer


def test_population_schedule_gives_the_members_shape(data):
    x, _ = data
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = stacking.build_stacked_model(x, members=2, hidden_units=(4,), learning_rate=schedule,
                                         population={"learning_rate": [0.1, 0.02]}, optimizer="sgd", **FAST)
    np.testing.assert_allclose(model.optimizer.member_scales, [1.0, 0.2])


def test_population_ensemble_averages_the_members(data):
    x, y = data
    population = {"learning_rate": [0.1, 0.03, 0.3], "l1": [0.0, 1e-3, 1e-2], "dropout": [0.0, 0.2, 0.4]}
    model = stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,), seed=SEEDS,
                                         optimizer="sgd", population=population, **FAST)
    stacking.train_stacked(model, x, y, ROWS, epochs=1, batch_size=16, seed=0)
    members = stacking.predict_members(model, x).mean(axis=1)
    np.testing.assert_allclose(stacking.stacked_ensemble(model).predict(x, verbose=0), members, rtol=1e-5,
                               atol=1e-6)


# A population model (its per-member optimizer rates) and its ensemble load in a fresh process and predict
# identically: tests/test_saving.py.


@pytest.mark.parametrize("kwargs, match", [
    ({"population": {"learning_rate": [0.1, 0.2]}},
     r"`population\['learning_rate'\]`: expected a list with one value per member \(3 values\). "
     r"Received: population\['learning_rate'\]=\[0.1, 0.2\]"),
    ({"population": {"momentum": [0.9] * 3}}, r"`population`: unknown key 'momentum'"),
    ({"population": {}}, r"`population`: expected a dict with one list"),
    ({"population": [0.1, 0.2, 0.3]}, r"`population`: expected a dict.*Received: population=\[0.1, 0.2, 0.3\]"),
    ({"population": {"learning_rate": 0.1}}, r"Received: population\['learning_rate'\]=0.1"),
    ({"population": {"learning_rate": [0.1, 0.0, 0.2]}}, r"`population\['learning_rate'\]`: expected a positive"),
    ({"population": {"dropout": [0.1, 1.0, 0.2]}},
     r"`population\['dropout'\]`: expected a number in \[0, 1\). Received: population\['dropout'\]=1.0"),
    ({"population": {"l2": [0.1, -1.0, 0.2]}}, r"`population\['l2'\]`: expected a non-negative number"),
    ({"population": {"learning_rate": [0.1] * 3}, "learning_rate": 0.01},
     r"Pass either a number `learning_rate` or `population\['learning_rate'\]`, not both.*learning_rate=0.01"),
    ({"population": {"l1": [0.1] * 3}, "l1": 0.5}, r"Pass either `l1` or `population\['l1'\]`, not both. "
                                                   r"Received: l1=0.5"),
    ({"population": {"dropout": [0.1] * 3}, "dropout": [0.1, 0.2]}, r"Pass either `dropout` or "),
    ({"population": {"l1": [0.1] * 3}, "l2": [0.1, 0.2, 0.3]}, r"`l2`: with `population\['l1'\]` it must be one"),
    ({"population": {"l2": [0.1] * 3}, "kernel_regularizer": "l1"}, r"Pass either `kernel_regularizer` or"),
    ({"population": {"learning_rate": [0.1] * 3}, "optimizer": type("MySGD", (keras.optimizers.SGD,), {})()},
     r"not a subclass. Received: optimizer=MySGD"),
    ({"population": {"learning_rate": [0.1] * 3},
      "learning_rate": keras.optimizers.schedules.PolynomialDecay(0.0, 10, 0.1)},
     r"must start above 0"),
])
def test_build_rejects_bad_populations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stacking.build_stacked_model(3, members=3, hidden_units=(4,), **kwargs)


JAX_CHECK = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from kerasopt import stacking
from kerasopt.models import build_model
from tests.test_stacking import member_weights, max_difference, single_weights
assert keras.backend.backend() == "jax"
rng = np.random.default_rng(0)
x = rng.normal(size=(40, 3)).astype("float32"); y = (x[:, 0] > 0).astype("int32")
rows = [np.arange(0, 30), np.arange(10, 40)]
population = {"learning_rate": [0.01, 0.05], "l1": [0.0, 1e-2], "l2": [1e-3, 0.0]}
arch = dict(num_classes=2, hidden_units=(6,), optimizer={"name": "adamw", "weight_decay": 0.1})
model = stacking.build_stacked_model([x[r] for r in rows], seed=[1, 2], population=population, **arch)
stacking.train_stacked(model, x, y, rows, epochs=2, batch_size=8, seed=[4, 5])
singles = [build_model(x[r], seed=s, **arch, **{key: v[k] for key, v in population.items()})
           for k, (r, s) in enumerate(zip(rows, [1, 2]))]
for epoch in range(2):
    index, weight = stacking.plan_batches(rows, 8, [4, 5], epoch)
    for i, w in zip(index, weight):
        for k, single in enumerate(singles):
            single.train_on_batch(x[i[w[:, k] > 0, k]], y[i[w[:, k] > 0, k]])
for k, single in enumerate(singles):
    assert max_difference(member_weights(model, k), single_weights(single)) < 1e-5
print("ok")
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_population_members_match_single_networks_on_jax():
    run_on_jax(JAX_CHECK)

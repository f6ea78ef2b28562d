"""Stacked training: members equal single networks, stay independent, average into one model that saves."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerasopt import stacking
from kerasopt.models import build_model
from kerasopt.stacking import builder

SEEDS = [3, 7, 11]
FAST = {"jit_compile": False}  # XLA compiling takes longer than these tiny runs; one test keeps it


def _data():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(90, 5)) * [1, 10, 0.1, 1, 5] + [0, 50, 0, 2, 0]).astype("float32")
    y = (x[:, 0] + x[:, 3] > 2).astype("int32")
    return x, y


@pytest.fixture
def data():
    return _data()


# Member 2 has one row fewer: its last batch is padded in the stacked batches.
ROWS = [np.arange(0, 60), np.arange(30, 90), np.arange(10, 69)]


def member_weights(stacked: keras.Model, k: int) -> dict[str, list[np.ndarray]]:
    """Member `k`'s weights (and `Normalization` statistics) by layer name, shaped as its single network's."""
    found = {}
    for layer in stacked.layers:
        if isinstance(layer, keras.layers.Normalization):
            found[layer.name] = [keras.ops.convert_to_numpy(v)[k] for v in (layer.adapt_mean, layer.adapt_variance)]
        elif isinstance(layer, (keras.layers.EinsumDense, stacking.StackedBatchNormalization)):
            found[layer.name] = [keras.ops.convert_to_numpy(w)[k] for w in layer.weights]
    return found


def single_weights(single: keras.Model) -> dict[str, list[np.ndarray]]:
    """A `build_model` network's weights (and `Normalization` statistics) by layer name."""
    found = {}
    for layer in single.layers:
        if isinstance(layer, keras.layers.Normalization):
            found[layer.name] = [keras.ops.convert_to_numpy(v) for v in (layer.adapt_mean, layer.adapt_variance)]
        elif isinstance(layer, (keras.layers.Dense, keras.layers.BatchNormalization)):
            found[layer.name] = [keras.ops.convert_to_numpy(w) for w in layer.weights]
    return found


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(u - v))) for name in a for u, v in zip(a[name], b[name], strict=True))


def as_single(stacked: keras.Model, k: int, single: keras.Model) -> keras.Model:
    """`single`, a `build_model` network of the stacked model's architecture, holding member `k`'s weights."""
    for name, values in member_weights(stacked, k).items():
        layer = single.get_layer(name)
        if isinstance(layer, keras.layers.Normalization):
            layer.adapt_mean.assign(values[0])
            layer.adapt_variance.assign(values[1])
            layer.finalize_state()
        else:
            for weight, value in zip(layer.weights, values, strict=True):
                weight.assign(value)
    return single


def test_untrained_members_are_exactly_build_model_networks(data):
    x, _ = data
    arch = {"num_classes": 3, "hidden_units": (8, 6), "batch_norm": [True, False], "l2": 1e-3}
    model = stacking.build_stacked_model([x[r] for r in ROWS], seed=SEEDS, **arch)
    for k in range(3):
        expected, got = single_weights(build_model(x[ROWS[k]], seed=SEEDS[k], **arch)), member_weights(model, k)
        assert list(got) == ["normalization", "dense_0", "batch_norm_0", "dense_1", "output"]
        assert got.keys() == expected.keys()
        for name in got:
            for a, b in zip(got[name], expected[name], strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("arch", [
    {"num_classes": 2, "optimizer": "sgd", "learning_rate": 0.1},
    {"num_classes": 3, "optimizer": "adam", "learning_rate": 0.01, "l1": 1e-3, "l2": 1e-3,
     "batch_norm": [True, False]},
    {"num_classes": None, "optimizer": "adam", "learning_rate": 0.01, "activation": "elu"},
], ids=["sgd", "adam-penalties-batchnorm", "regression"])
def test_member_trained_stacked_matches_single_network_on_the_same_batches(data, arch):
    x, y = data
    if arch["num_classes"] == 3:
        y = y + (x[:, 1] > 50)
    arch = {"hidden_units": (8, 6), **arch, **({} if arch["optimizer"] == "sgd" else FAST)}
    model = stacking.build_stacked_model([x[r] for r in ROWS], seed=SEEDS, **arch)
    result = stacking.train_stacked(model, x, y, ROWS, epochs=2, batch_size=16, seed=[5, 6, 7])
    assert result.epochs_run == 2
    singles = [build_model(x[r], seed=s, **arch) for r, s in zip(ROWS, SEEDS)]
    for single in singles:
        single.run_eagerly = True  # tracing a train step per network takes longer than these few steps
    for epoch in range(2):
        index, weight = stacking.plan_batches(ROWS, 16, [5, 6, 7], epoch)
        for i, w in zip(index, weight):
            for k, single in enumerate(singles):
                rows = i[w[:, k] > 0, k]
                single.train_on_batch(x[rows], y[rows].astype("float32") if arch["num_classes"] is None else y[rows])
    for k, single in enumerate(singles):
        assert max_difference(member_weights(model, k), single_weights(single)) < 1e-5, k
        untrained = build_model(x[ROWS[k]], seed=SEEDS[k], **arch)
        assert max_difference(member_weights(model, k), single_weights(untrained)) > 1e-3  # it did train


def test_changing_one_members_rows_leaves_the_other_members_unchanged(data):
    x, y = data
    arch = {"num_classes": 2, "hidden_units": (8,), "dropout": 0.3, "batch_norm": True, "l2": 1e-3, **FAST}
    other_rows = [ROWS[0], np.arange(20, 80), ROWS[2]]  # member 1: other rows, as many
    weights = []
    for rows in (ROWS, other_rows):
        model = stacking.build_stacked_model([x[r] for r in rows], seed=SEEDS, **arch)
        stacking.train_stacked(model, x, y, rows, epochs=2, batch_size=16, seed=0)
        weights.append([member_weights(model, k) for k in range(3)])
    for k in (0, 2):
        assert max_difference(weights[0][k], weights[1][k]) == 0.0
    assert max_difference(weights[0][1], weights[1][1]) > 0.0


@pytest.fixture(scope="module")
def trained():
    x, y = _data()
    model = stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,),
                                         batch_norm=True, dropout=0.2, seed=SEEDS, **FAST)
    stacking.train_stacked(model, x, y, ROWS, epochs=2, batch_size=16, seed=0)
    return model


def test_members_predict_as_their_single_networks(data, trained):
    x, _ = data
    stacked = stacking.predict_members(trained, x)
    assert stacked.shape == (90, 3, 2)
    direct = trained.predict({"features": np.repeat(x[:, None], 3, axis=1), "row_mask": np.zeros((90, 3))},
                             verbose=0)
    np.testing.assert_array_equal(stacked, direct)  # the mask only matters while training
    for k in range(3):
        single = as_single(trained, k, build_model(x[ROWS[k]], num_classes=2, hidden_units=(8,), batch_norm=True,
                                                   dropout=0.2, seed=SEEDS[k], **FAST))
        # Dense and the stacked EinsumDense are different kernels: equal to float rounding, not bit for bit.
        np.testing.assert_allclose(single.predict(x, verbose=0), stacked[:, k], rtol=1e-5, atol=1e-6)


def test_ensemble_averages_the_members(data, trained):
    x, _ = data
    ensemble = stacking.stacked_ensemble(trained)
    members = stacking.predict_members(trained, x).mean(axis=1)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), members, rtol=1e-5, atol=1e-6)


# A stacked ensemble (batch normalization, dropout) loads in a fresh process and predicts identically:
# tests/test_saving.py.


def _set_members(variables, values):
    """Sets every per-member variable of member k to the constant values[k]."""
    for v in variables:
        v.assign(np.broadcast_to(np.reshape(values, (-1,) + (1,) * (len(v.shape) - 1)), v.shape).astype("float32"))


# Every stage that holds per-member weights: batch normalization, one-hot blocks embedded per member
# (features 0-2) and periodic embeddings of numeric columns (features 3-4).
_EVERY_STAGE = {"hidden_units": (4,), "batch_norm": True, "dropout": 0.1, "normalize": False,
                "embeddings": [(0, 3, 2)], "periodic": [3, 4]}


def test_member_variables_are_what_training_changes():
    x = np.random.default_rng(0).normal(size=(20, 5)).astype("float32")
    for model in (stacking.build_stacked_model(x, members=3, hidden_units=(4, 4), batch_norm=True, dropout=0.2),
                  stacking.build_stacked_model(5, members=3, **_EVERY_STAGE)):
        found = builder.member_variables(builder.stacked_layers(model))
        moving = [v for v in model.non_trainable_weights if "moving_" in v.path]
        assert {v.path for v in found} == {v.path for v in model.trainable_weights + moving}
        assert all(v.shape[0] == 3 for v in found)
        assert not any("normalization/" in v.path or "seed_generator" in v.path for v in found)


@pytest.mark.parametrize("arguments", [{"hidden_units": (4,), "batch_norm": True}, _EVERY_STAGE],
                         ids=["batch_norm", "every_stage"])
def test_member_early_stopping_driven_by_hand(arguments):
    model = stacking.build_stacked_model(5 if "periodic" in arguments else 2, members=3, **arguments)
    stopper = stacking.MemberEarlyStopping("val_loss", patience=2, min_delta=0.1)
    stopper.set_model(model)
    stopper.on_train_begin()
    variables = stopper.member_variables
    # member 0: best at epoch 1 (epoch 2 improves by less than min_delta); member 1 improves every epoch;
    # member 2: best at epoch 0.
    losses = [[1.0, 1.0, 1.0], [0.5, 0.8, 2.0], [0.45, 0.6, 2.0], [0.6, 0.4, 2.0], [0.7, 0.2, 2.0]]
    for epoch, values in enumerate(losses):
        _set_members(variables, [epoch + 1] * 3)  # the weights of each epoch hold epoch + 1
        stopper.on_epoch_end(epoch, {"val_loss": np.array(values)})
        assert model.stop_training is False
        if epoch == 2:
            np.testing.assert_array_equal(stopper.stopped_epoch, [-1, -1, 2])
    np.testing.assert_array_equal(stopper.best_epoch, [1, 4, 0])
    np.testing.assert_array_equal(stopper.stopped_epoch, [3, -1, 2])
    np.testing.assert_allclose(stopper.best, [0.5, 0.2, 1.0])
    stopper.on_epoch_end(5, {"val_loss": np.array([0.1, 0.3, 0.1])})  # stopped members ignore new bests
    assert stopper.stopped_epoch[1] == -1
    stopper.on_epoch_end(6, {"val_loss": np.array([0.1, 0.3, 0.1])})
    assert model.stop_training is True
    np.testing.assert_array_equal(stopper.stopped_epoch, [3, 6, 2])
    _set_members(variables, [9, 9, 9])
    stopper.on_train_end()
    for v in variables:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v)[:, ...].reshape(3, -1).max(axis=1), [2, 5, 1])
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v).reshape(3, -1).min(axis=1), [2, 5, 1])


def test_member_early_stopping_needs_one_value_per_member():
    model = stacking.build_stacked_model(2, members=3, hidden_units=(4,))
    stopper = stacking.MemberEarlyStopping("val_accuracy", mode="max")
    stopper.set_model(model)
    stopper.on_train_begin()
    with pytest.raises(ValueError, match=r"needs one `val_accuracy` value per member \(3\).*Available: \['loss'\]"):
        stopper.on_epoch_end(0, {"loss": 1.0})


def test_train_stacked_restores_each_members_best_epoch(data):
    x, y = data
    validation = [np.setdiff1d(np.arange(90), r) for r in ROWS]
    model = stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,), batch_norm=True,
                                         learning_rate=0.05, seed=SEEDS, **FAST)
    result = stacking.train_stacked(model, x, y, ROWS, validation, epochs=12, patience=2, batch_size=16, seed=0)
    assert result.history["val_loss"].shape == (result.epochs_run, 3)
    assert result.history["loss"].shape == (result.epochs_run,)
    best = result.history["val_loss"][result.best_epochs - 1, [0, 1, 2]]
    for k in range(3):  # a member's best among the epochs it ran before it stopped
        assert best[k] == result.history["val_loss"][: result.stopped_epochs[k], k].min()
    # The restored weights (with their batch-norm statistics) score what the best epoch scored.
    np.testing.assert_allclose(result.validation["val_loss"], best, rtol=1e-6)
    assert np.all(result.best_epochs <= result.stopped_epochs)
    # the validation loss is the members' data loss plus each one's weight penalty, both logged on their own
    np.testing.assert_allclose(result.history["val_loss"],
                               result.history["val_log_loss"] + result.history["penalty"], rtol=1e-6)
    assert result.history["log_loss"].shape == (result.epochs_run,)
    assert result.epochs_run == max(result.stopped_epochs)


def test_validation_scores_are_the_single_networks_evaluate_scores(data):
    x, y = data
    validation = [np.setdiff1d(np.arange(90), r) for r in ROWS]
    model = stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,), l1=1e-3,
                                         l2=1e-2, seed=SEEDS, **FAST)
    result = stacking.train_stacked(model, x, y, ROWS, validation, epochs=3, batch_size=16, early_stopping=False,
                                    seed=0)
    np.testing.assert_array_equal(result.best_epochs, result.history["val_loss"].argmin(axis=0) + 1)
    np.testing.assert_array_equal(result.stopped_epochs, [3, 3, 3])
    np.testing.assert_array_equal(result.validation["val_loss"], result.history["val_loss"][-1])  # no restore
    for k in range(3):
        member = as_single(model, k, build_model(x[ROWS[k]], num_classes=2, hidden_units=(8,), l1=1e-3, l2=1e-2,
                                                 seed=SEEDS[k], **FAST))
        scores = member.evaluate(x[validation[k]], y[validation[k]], verbose=0, return_dict=True)
        assert result.validation["val_loss"][k] == pytest.approx(scores["loss"], rel=1e-5)
        assert result.validation["val_accuracy"][k] == pytest.approx(scores["accuracy"])


def test_plan_batches_gives_each_member_its_own_shuffled_epoch():
    rows = [np.arange(0, 70), np.arange(100, 170), np.arange(200, 250)]
    index, weight = stacking.plan_batches(rows, 32, [1, 2, 3], epoch=0)
    assert index.shape == weight.shape == (3, 32, 3)
    for k, r in enumerate(rows):
        real = weight[:, :, k] > 0
        assert sorted(index[:, :, k][real]) == list(r)  # every row once
        np.testing.assert_allclose(weight[:, :, k].sum(axis=1), 1.0, rtol=1e-6)  # each batch's mean
    assert list((weight[:, :, 0] > 0).sum(axis=1)) == [32, 32, 6]  # a single network's batches
    assert list((weight[:, :, 2] > 0).sum(axis=1)) == [17, 16, 17]  # fewer rows: spread over the 3 steps
    again, _ = stacking.plan_batches([rows[0], np.arange(300, 370), rows[2]], 32, [1, 2, 3], epoch=0)
    np.testing.assert_array_equal(again[:, :, 0], index[:, :, 0])
    later, _ = stacking.plan_batches(rows, 32, [1, 2, 3], epoch=1)
    assert not np.array_equal(later[:, :, 0], index[:, :, 0])


def test_plan_batches_refuses_a_member_without_a_row_for_every_step():
    with pytest.raises(ValueError, match=r"Member 1 has 2 training rows, fewer than the 3 steps"):
        stacking.plan_batches([np.arange(70), np.arange(2)], 32, [0, 1], epoch=0)


def test_memberwise_regularizer_sums_the_members_penalties():
    reg = stacking.MemberwiseRegularizer(keras.regularizers.OrthogonalRegularizer(0.1))
    kernels = np.random.default_rng(0).normal(size=(3, 4, 5)).astype("float32")
    expected = sum(float(keras.regularizers.OrthogonalRegularizer(0.1)(kernels[k])) for k in range(3))
    assert float(reg(keras.ops.convert_to_tensor(kernels))) == pytest.approx(expected, rel=1e-5)
    again = stacking.MemberwiseRegularizer.from_config(reg.get_config())
    assert float(again(keras.ops.convert_to_tensor(kernels))) == pytest.approx(expected, rel=1e-5)


def test_build_message_names_the_argument():
    with pytest.raises(ValueError) as info:
        stacking.build_stacked_model(3, members=2, optimizer=keras.optimizers.Adam(clipnorm=1.0))
    assert str(info.value) == ("Invalid value for `optimizer`: `clipnorm` would clip the members' gradients "
                               "together; use `clipvalue` or none. Received: clipnorm=1.0")


@pytest.mark.parametrize("kwargs, match", [
    ({"inputs": 3}, r"Pass `members` when `inputs` is a number of features"),
    ({"inputs": 3, "members": 0}, r"`members`: expected a positive integer. Received: members=0"),
    ({"inputs": np.zeros((4, 3))}, r"Pass `members` when `inputs` is one feature array"),
    ({"inputs": [np.zeros((4, 3)), np.zeros((4, 2))]}, r"all with the same columns"),
    ({"inputs": [np.zeros((4, 3))] * 2, "members": 3}, r"`inputs` holds 2 feature arrays. Received: members=3"),
    ({"inputs": 3, "members": 2, "seed": [1, 2, 3]}, r"one seed per member \(2 values\).*seed=\[1, 2, 3\]"),
    ({"inputs": 3, "members": 2, "seed": -1}, r"`seed`: expected a non-negative integer. Received: seed=-1"),
    ({"inputs": 3, "members": 2, "dropout": 1.0}, r"`dropout`: expected a number in \[0, 1\)"),
    ({"inputs": 3, "members": 2, "optimizer": keras.optimizers.SGD(global_clipnorm=1.0)}, r"`global_clipnorm`"),
    ({"inputs": 3, "members": 2, "optimizer": keras.optimizers.Lamb()}, r"Received: optimizer=Lamb"),
    ({"inputs": 3, "members": 2, "loss": "mse"}, r"`loss`: expected None or a `keras.losses.Loss`"),
    ({"inputs": 3, "members": 2, "num_classes": 1}, r"`num_classes`: expected an integer >= 2, or None"),
    ({"inputs": 3, "members": 2, "hidden_units": (4, 0)}, r"`hidden_units`: expected a positive integer"),
])
def test_build_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stacking.build_stacked_model(**kwargs)


@pytest.mark.parametrize("change, match", [
    ({"train_rows": [np.arange(10)]}, r"expected 2 arrays of row indices, one per member. Received 1"),
    ({"train_rows": np.arange(10)}, r"`train_rows`: expected a list with one array"),
    ({"train_rows": [np.arange(10), np.arange(25, 31)]}, r"member 1 has row indices outside \[0, 30\)"),
    ({"train_rows": [np.arange(10), np.array([], dtype=int)]}, r"member 1 needs a 1-D array of integer row"),
    ({"train_rows": [np.arange(10), np.linspace(0, 1, 3)]}, r"member 1 needs a 1-D array of integer row"),
    ({"validation_rows": [np.arange(3)]}, r"`validation_rows`: expected 2 arrays"),
    ({"monitor": "val_mae"},
     r"`monitor`: expected one of 'val_loss', 'val_log_loss', 'val_accuracy'. Received: monitor='val_mae'"),
    ({"epochs": 0}, r"`epochs`: expected a positive integer"),
    ({"batch_size": 0}, r"`batch_size`: expected a positive integer"),
    ({"x": np.zeros((30, 4))}, r"`x`: expected a 2-D array with 3 columns. Received: x with shape \(30, 4\)"),
    ({"y": np.zeros(29)}, r"`x` and `y` have different numbers of rows: 30 and 29"),
    ({"model": None}, r"`model`: expected a model from `build_stacked_model`"),
])
def test_train_stacked_rejects_bad_arguments(change, match):
    args = {"model": stacking.build_stacked_model(3, members=2, hidden_units=(4,)), "x": np.zeros((30, 3)),
            "y": np.zeros(30, dtype=int), "train_rows": [np.arange(10), np.arange(10, 20)]}
    args.update(change)
    if args["model"] is None:
        args["model"] = build_model(3, num_classes=2)
    with pytest.raises(ValueError, match=match):
        stacking.train_stacked(**args)


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
arch = dict(num_classes=2, hidden_units=(6,), batch_norm=True, optimizer="adam", learning_rate=0.01)
model = stacking.build_stacked_model([x[r] for r in rows], seed=[1, 2], **arch)
stacking.train_stacked(model, x, y, rows, [np.arange(30, 40), np.arange(0, 10)], epochs=2, batch_size=8, seed=[4, 5])
singles = [build_model(x[r], seed=s, **arch) for r, s in zip(rows, [1, 2])]
for epoch in range(2):
    index, weight = stacking.plan_batches(rows, 8, [4, 5], epoch)
    for i, w in zip(index, weight):
        for k, single in enumerate(singles):
            single.train_on_batch(x[i[w[:, k] > 0, k]], y[i[w[:, k] > 0, k]])
for k, single in enumerate(singles):
    assert max_difference(member_weights(model, k), single_weights(single)) < 1e-5
print("ok")
"""


def run_on_jax(script: str) -> None:
    """Runs `script` in a fresh process on the JAX backend; it prints "ok" last when its checks pass."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=pathlib.Path(__file__).parents[1], env={**os.environ, "KERAS_BACKEND": "jax"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "ok"


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_members_match_single_networks_on_jax():
    run_on_jax(JAX_CHECK)


def test_stacked_dropout_draws_threefry_masks_under_xla():
    import tensorflow as tf

    layer = stacking.StackedDropout(0.25, threefry=True, seed=1)
    step = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    x = np.full((400, 3, 50), 2.0, dtype="float32")
    first, second = np.asarray(step(x)), np.asarray(step(x))
    assert set(np.unique(first)) == {0.0, np.float32(2.0 / 0.75)}  # dropped, or kept and scaled as Dropout does
    n = first.size  # the dropped fraction: within 5 standard deviations of the binomial's rate
    assert abs((first == 0).mean() - 0.25) < 5 * np.sqrt(0.25 * 0.75 / n)
    assert not np.array_equal(first, second)  # a new mask every step
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert stacking.StackedDropout.from_config(layer.get_config()).threefry is True
    # build_stacked_model uses it when it compiles with XLA on TensorFlow
    xla = stacking.build_stacked_model(4, members=2, hidden_units=(3,), dropout=0.5, jit_compile=True)
    plain = stacking.build_stacked_model(4, members=2, hidden_units=(3,), dropout=0.5, **FAST)
    assert xla.get_layer("dropout_0").threefry is True and plain.get_layer("dropout_0").threefry is False


@pytest.mark.parametrize("steps, expected", [(0, False), (1999, False), (2000, True), (9600, True)])
def test_xla_only_for_runs_long_enough_to_pay_for_the_compile(steps, expected):
    assert stacking.jit_for(steps) is expected  # TensorFlow, the tests' backend

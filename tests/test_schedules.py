import math

import keras
import numpy as np
import pytest

from kerasopt import build_model, schedules

SPE = 3  # steps per epoch in these tests
EPOCHS = np.arange(12)


def rates_by_step(schedule, epochs=EPOCHS, spe=SPE):
    """The schedule at the first and last step of every epoch."""
    first = [float(schedule(int(e) * spe)) for e in epochs]
    last = [float(schedule(int(e) * spe + spe - 1)) for e in epochs]
    return np.array(first), np.array(last)


def cosine_formula(e, lr=0.2, warm=2, decay=6, alpha=0.1):
    if e < warm:
        return lr * (e + 1) / (warm + 1)
    t = min(e - warm, decay)
    return alpha * lr + (lr - alpha * lr) * 0.5 * (1 + math.cos(math.pi * t / decay))


@pytest.mark.parametrize(
    "name, kwargs, formula",
    [
        ("step", {"learning_rate": 0.1, "step_size": 4, "gamma": 0.5}, lambda e: 0.1 * 0.5 ** (e // 4)),
        ("multistep", {"learning_rate": 0.1, "milestones": [2, 5, 9], "gamma": 0.1},
         lambda e: 0.1 * 0.1 ** sum(e >= m for m in (2, 5, 9))),
        ("exponential", {"learning_rate": 0.1, "gamma": 0.9}, lambda e: 0.1 * 0.9**e),
        ("piecewise", {"boundaries": [3, 7], "values": [0.1, 0.05, 0.01]},
         lambda e: 0.1 if e < 3 else 0.05 if e < 7 else 0.01),
        ("inverse_time", {"learning_rate": 0.1, "decay_rate": 0.5}, lambda e: 0.1 / (1 + 0.5 * e)),
        ("cosine", {"learning_rate": 0.2, "decay_epochs": 6, "warmup_epochs": 2, "alpha": 0.1}, cosine_formula),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_values_follow_closed_form_and_hold_within_epoch(name, kwargs, formula):
    schedule = schedules.get(name, steps_per_epoch=SPE, **kwargs)
    expected = np.array([formula(int(e)) for e in EPOCHS])
    first, last = rates_by_step(schedule)
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    np.testing.assert_allclose(last, expected, rtol=1e-6)
    np.testing.assert_allclose(schedules.epoch_values(schedule, len(EPOCHS), steps_per_epoch=SPE), expected, rtol=1e-6)


@pytest.mark.parametrize("spe", [1, 7, 13, 94])
def test_default_exponential_is_bit_identical_to_its_float32_formula(spe):
    # The run's default schedule (exponential, gamma 0.98) at every step of 300 epochs, against
    # `lr * gamma ** floor(step / spe)` in float32 with the same ops as kerasopt's own class had
    # (numpy's float32 power rounds differently from the backend's, so it is not the reference).
    steps = np.arange(300 * spe)
    schedule = schedules.get("exponential", learning_rate=1e-3, steps_per_epoch=spe, gamma=0.98)
    epoch = keras.ops.floor(keras.ops.cast(steps, "float32") / float(spe))
    expected = keras.ops.convert_to_numpy(1e-3 * keras.ops.power(0.98, epoch))
    got = keras.ops.convert_to_numpy(schedule(steps))
    assert got.dtype == np.float32 and np.array_equal(got, expected)


@pytest.mark.parametrize("spe", [1, 7, 94])
def test_multistep_and_piecewise_are_their_float32_rounded_values(spe):
    # Milestone/boundary epoch b starts at step b * spe; milestone 0 counts from step 0.
    steps = np.arange(70 * spe)
    epoch = steps // spe
    multistep = schedules.get("multistep", learning_rate=0.003, steps_per_epoch=spe, milestones=[0, 3, 7, 60, 61],
                              gamma=0.3)
    passed = sum((epoch >= m).astype(int) for m in (0, 3, 7, 60, 61))
    got = keras.ops.convert_to_numpy(multistep(steps))
    assert np.array_equal(got, (0.003 * 0.3**passed).astype("float32"))
    piecewise = schedules.get("piecewise", steps_per_epoch=spe, boundaries=[1, 50], values=[0.2, 0.1, 0.05])
    expected = np.select([epoch < 1, epoch < 50], [0.2, 0.1], 0.05).astype("float32")
    assert np.array_equal(keras.ops.convert_to_numpy(piecewise(steps)), expected)


KERAS = keras.optimizers.schedules


@pytest.mark.parametrize(
    "name, kwargs, cls, config",
    [
        ("step", {"step_size": 2}, KERAS.ExponentialDecay,
         {"initial_learning_rate": 0.1, "decay_steps": 14, "decay_rate": 0.1, "staircase": True}),
        ("multistep", {"milestones": [2, 4]}, KERAS.PiecewiseConstantDecay,
         {"boundaries": [13, 27], "values": [0.1, 0.1 * 0.1, 0.1 * 0.1**2]}),
        ("exponential", {"gamma": 0.5}, KERAS.ExponentialDecay,
         {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True}),
        ("piecewise", {"boundaries": [2], "values": [0.1, 0.01]}, KERAS.PiecewiseConstantDecay,
         {"boundaries": [13], "values": [0.1, 0.01]}),
        ("inverse_time", {"decay_rate": 1.0}, KERAS.InverseTimeDecay,
         {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 1.0, "staircase": True}),
        ("cosine", {"decay_epochs": 10, "warmup_epochs": 1}, schedules.WarmupCosineDecay,
         {"initial_learning_rate": 0.1, "decay_epochs": 10, "warmup_epochs": 1, "alpha": 0.0, "steps_per_epoch": 7}),
    ],
)
def test_get_by_name_and_dict(name, kwargs, cls, config):
    by_name = schedules.get(name, learning_rate=0.1, steps_per_epoch=7, **kwargs)
    by_dict = schedules.get({"name": name, **kwargs}, learning_rate=0.1, steps_per_epoch=7)
    assert type(by_name) is cls and type(by_dict) is cls
    assert by_name.get_config() == by_dict.get_config()
    assert {k: by_name.get_config()[k] for k in config} == config
    restored = cls.from_config(by_name.get_config())
    np.testing.assert_allclose(schedules.epoch_values(restored, 12, steps_per_epoch=7),
                               schedules.epoch_values(by_name, 12, steps_per_epoch=7))
    serialized = keras.saving.serialize_keras_object(by_name)
    assert type(schedules.get(serialized)) is cls


# `keras.saving.serialize_keras_object` of the schedule classes kerasopt had before it used Keras's
# (in the optimizer of a `.keras` file saved then), and what they load as now.
LEGACY = [
    ({"module": "kerasopt.schedules", "class_name": "StepDecay", "registered_name": "kerasopt>StepDecay",
      "config": {"steps_per_epoch": 4, "name": None, "initial_learning_rate": 0.1, "step_size": 2, "gamma": 0.5}},
     KERAS.ExponentialDecay(0.1, 8, 0.5, staircase=True)),
    ({"module": "kerasopt.schedules", "class_name": "MultiStepDecay", "registered_name": "kerasopt>MultiStepDecay",
      "config": {"steps_per_epoch": 4, "name": None, "initial_learning_rate": 0.05, "milestones": [1, 2],
                 "gamma": 0.5}},
     KERAS.PiecewiseConstantDecay([3, 7], [0.05, 0.025, 0.0125])),
    ({"module": "kerasopt.schedules", "class_name": "ExponentialDecay", "registered_name": "kerasopt>ExponentialDecay",
      "config": {"steps_per_epoch": 4, "name": None, "initial_learning_rate": 0.01, "gamma": 0.98}},
     KERAS.ExponentialDecay(0.01, 4, 0.98, staircase=True)),
    ({"module": "kerasopt.schedules", "class_name": "PiecewiseConstant",
      "registered_name": "kerasopt>PiecewiseConstant",
      "config": {"steps_per_epoch": 4, "name": None, "boundaries": [1, 3], "values": [0.1, 0.05, 0.01]}},
     KERAS.PiecewiseConstantDecay([3, 11], [0.1, 0.05, 0.01])),
    ({"module": "kerasopt.schedules", "class_name": "InverseTimeDecay", "registered_name": "kerasopt>InverseTimeDecay",
      "config": {"steps_per_epoch": 4, "name": None, "initial_learning_rate": 0.1, "decay_rate": 0.5}},
     KERAS.InverseTimeDecay(0.1, 4, 0.5, staircase=True)),
]


@pytest.mark.parametrize("serialized, expected", LEGACY, ids=lambda v: v["class_name"] if isinstance(v, dict) else "")
def test_schedules_saved_by_earlier_versions_load_as_keras_ones(serialized, expected):
    for loaded in (keras.saving.deserialize_keras_object(serialized), schedules.get(serialized)):
        assert type(loaded) is type(expected)
        assert {**loaded.get_config(), "name": None} == {**expected.get_config(), "name": None}
        steps = np.arange(60)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(steps)),
                                      keras.ops.convert_to_numpy(expected(steps)))


def test_get_constant_instance_and_float():
    assert schedules.get(None, learning_rate=0.01) == 0.01
    assert schedules.get("constant", learning_rate=0.02) == 0.02
    assert schedules.get(0.3) == 0.3
    s = KERAS.ExponentialDecay(0.1, 2, 0.5)
    assert schedules.get(s) is s
    np.testing.assert_allclose(schedules.epoch_values(0.05, 3), [0.05, 0.05, 0.05])


def test_epoch_values_of_a_keras_schedule():
    s = keras.optimizers.schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose(schedules.epoch_values(s, 3, steps_per_epoch=10), [1.0, 0.5, 0.25])
    with pytest.raises(ValueError, match=r"^Invalid arguments: ExponentialDecay counts steps, so `epoch_values` "
                                         r"needs `steps_per_epoch` \(the one given to `get`\). "
                                         r"Received: steps_per_epoch=None$"):
        schedules.epoch_values(s, 3)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError) as info:
        schedules.get("stepp")
    assert str(info.value) == (
        "Unknown schedule: schedule='stepp'. Known schedules: constant, step, multistep, exponential, "
        "piecewise, inverse_time, cosine."
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.get("step", learning_rate=0.1, steps_per_epoch=1, step_size=0),
         "Invalid value for `step_size`: expected a positive integer. Received: step_size=0"),
        (lambda: schedules.get("step", learning_rate=-0.1, steps_per_epoch=1, step_size=2),
         "Invalid value for `initial_learning_rate`: expected a positive number. Received: initial_learning_rate=-0.1"),
        (lambda: schedules.get("step", learning_rate=0.1, steps_per_epoch=0, step_size=2), "`steps_per_epoch`"),
        (lambda: schedules.get("multistep", learning_rate=0.1, steps_per_epoch=1, milestones=[5, 3]),
         "strictly increasing"),
        (lambda: schedules.get("multistep", learning_rate=0.1, steps_per_epoch=1, milestones=[]), "non-empty"),
        (lambda: schedules.get("exponential", learning_rate=0.1, steps_per_epoch=1, gamma=0.0), "`gamma`"),
        (lambda: schedules.get("piecewise", steps_per_epoch=1, boundaries=[2], values=[0.1]),
         "one more value than `boundaries`"),
        (lambda: schedules.get("inverse_time", learning_rate=0.1, steps_per_epoch=1, decay_rate=-1.0), "`decay_rate`"),
        (lambda: schedules.WarmupCosineDecay(0.1, decay_epochs=0), "`decay_epochs`"),
        (lambda: schedules.WarmupCosineDecay(0.1, decay_epochs=5, alpha=1.5), "`alpha`"),
        (lambda: schedules.get("step", learning_rate=0.1, steps_per_epoch=4), "Invalid arguments for schedule 'step'"),
        (lambda: schedules.get("exponential", learning_rate=0.1, gamma=0.9),
         "Invalid arguments for schedule 'exponential': it counts epochs and the optimizer counts steps, so it "
         "needs `steps_per_epoch` (ceil(training rows / batch_size)). Received: steps_per_epoch=None"),
        (lambda: schedules.get({"name": "step", "step_size": 2}), "needs `steps_per_epoch`"),
        (lambda: schedules.get("cosine", steps_per_epoch=4),
         "Invalid arguments for schedule 'cosine': it needs `decay_epochs`, or the run's `epochs` as its default. "
         "Received: decay_epochs=None, epochs=None"),
        (lambda: schedules.get("cosine", steps_per_epoch=4, epochs=0), "Received: epochs=0"),
        (lambda: schedules.get("constant", gamma=0.5), "takes no arguments"),
        (lambda: schedules.get({"gamma": 0.5}), "needs a 'name' key"),
        (lambda: schedules.get([1, 2]), "Could not interpret schedule identifier"),
    ],
)
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("`", "`")):
        make()


def test_schedule_survives_a_saved_model(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    schedule = schedules.get("multistep", learning_rate=0.05, steps_per_epoch=4, milestones=[1, 2], gamma=0.5)
    model = build_model(x, num_classes=2, hidden_units=(8,), optimizer="momentum", learning_rate=schedule, seed=0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, keras.optimizers.schedules.PiecewiseConstantDecay)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.0125)  # step 8 = epoch 2


def test_cosine_takes_its_length_from_the_run_epochs():
    by_epochs = schedules.get("cosine", learning_rate=0.1, steps_per_epoch=3, epochs=4)
    assert by_epochs.decay_epochs == 4
    # lr(e) = 0.1 * (1 + cos(pi * e / 4)) / 2
    np.testing.assert_allclose(schedules.epoch_values(by_epochs, 5),
                               [0.1 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(5)], atol=1e-7)
    given = schedules.get("cosine", learning_rate=0.1, steps_per_epoch=3, epochs=4, decay_epochs=10)
    assert given.decay_epochs == 10  # an explicit length wins
    assert schedules.get("exponential", learning_rate=0.1, steps_per_epoch=3, epochs=4, gamma=0.5).decay_rate == 0.5


def test_schedule_errors_are_argument_errors():
    from kerasopt.errors import ArgumentError, KerasoptError

    with pytest.raises(ArgumentError) as info:
        schedules.get("step", learning_rate=0.1, step_size=2)
    assert isinstance(info.value, KerasoptError) and isinstance(info.value, ValueError)

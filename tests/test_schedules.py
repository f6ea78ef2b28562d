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
    "schedule, formula",
    [
        (schedules.StepDecay(0.1, step_size=4, gamma=0.5, steps_per_epoch=SPE),
         lambda e: 0.1 * 0.5 ** (e // 4)),
        (schedules.MultiStepDecay(0.1, milestones=[2, 5, 9], gamma=0.1, steps_per_epoch=SPE),
         lambda e: 0.1 * 0.1 ** sum(e >= m for m in (2, 5, 9))),
        (schedules.ExponentialDecay(0.1, gamma=0.9, steps_per_epoch=SPE), lambda e: 0.1 * 0.9**e),
        (schedules.PiecewiseConstant([3, 7], [0.1, 0.05, 0.01], steps_per_epoch=SPE),
         lambda e: 0.1 if e < 3 else 0.05 if e < 7 else 0.01),
        (schedules.InverseTimeDecay(0.1, decay_rate=0.5, steps_per_epoch=SPE), lambda e: 0.1 / (1 + 0.5 * e)),
        (schedules.WarmupCosineDecay(0.2, decay_epochs=6, warmup_epochs=2, alpha=0.1, steps_per_epoch=SPE),
         cosine_formula),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, keras.optimizers.schedules.LearningRateSchedule) else "",
)
def test_values_follow_closed_form_and_hold_within_epoch(schedule, formula):
    expected = np.array([formula(int(e)) for e in EPOCHS])
    first, last = rates_by_step(schedule)
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    np.testing.assert_allclose(last, expected, rtol=1e-6)
    np.testing.assert_allclose(schedules.epoch_values(schedule, len(EPOCHS)), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "name, kwargs, cls",
    [
        ("step", {"step_size": 2}, schedules.StepDecay),
        ("multistep", {"milestones": [2, 4]}, schedules.MultiStepDecay),
        ("exponential", {"gamma": 0.5}, schedules.ExponentialDecay),
        ("piecewise", {"boundaries": [2], "values": [0.1, 0.01]}, schedules.PiecewiseConstant),
        ("inverse_time", {"decay_rate": 1.0}, schedules.InverseTimeDecay),
        ("cosine", {"decay_epochs": 10, "warmup_epochs": 1}, schedules.WarmupCosineDecay),
    ],
)
def test_get_by_name_and_dict(name, kwargs, cls):
    by_name = schedules.get(name, learning_rate=0.1, steps_per_epoch=7, **kwargs)
    by_dict = schedules.get({"name": name, **kwargs}, learning_rate=0.1, steps_per_epoch=7)
    assert type(by_name) is cls and type(by_dict) is cls
    assert by_name.get_config() == by_dict.get_config()
    assert by_name.steps_per_epoch == 7
    restored = cls.from_config(by_name.get_config())
    np.testing.assert_allclose(schedules.epoch_values(restored, 12), schedules.epoch_values(by_name, 12))
    serialized = keras.saving.serialize_keras_object(by_name)
    assert type(schedules.get(serialized)) is cls


def test_get_constant_instance_and_float():
    assert schedules.get(None, learning_rate=0.01) == 0.01
    assert schedules.get("constant", learning_rate=0.02) == 0.02
    assert schedules.get(0.3) == 0.3
    s = schedules.StepDecay(0.1, 2)
    assert schedules.get(s) is s
    np.testing.assert_allclose(schedules.epoch_values(0.05, 3), [0.05, 0.05, 0.05])


def test_epoch_values_of_a_keras_schedule():
    s = keras.optimizers.schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    np.testing.assert_allclose(schedules.epoch_values(s, 3, steps_per_epoch=10), [1.0, 0.5, 0.25])


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
        (lambda: schedules.StepDecay(0.1, step_size=0),
         "Invalid value for `step_size`: expected a positive integer. Received: step_size=0"),
        (lambda: schedules.StepDecay(-0.1, step_size=2),
         "Invalid value for `initial_learning_rate`: expected a positive number. Received: initial_learning_rate=-0.1"),
        (lambda: schedules.StepDecay(0.1, 2, steps_per_epoch=0), "`steps_per_epoch`"),
        (lambda: schedules.MultiStepDecay(0.1, milestones=[5, 3]), "strictly increasing"),
        (lambda: schedules.MultiStepDecay(0.1, milestones=[]), "non-empty"),
        (lambda: schedules.ExponentialDecay(0.1, gamma=0.0), "`gamma`"),
        (lambda: schedules.PiecewiseConstant([2], [0.1]), "one more value than `boundaries`"),
        (lambda: schedules.InverseTimeDecay(0.1, decay_rate=-1.0), "`decay_rate`"),
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
    schedule = schedules.MultiStepDecay(0.05, milestones=[1, 2], gamma=0.5, steps_per_epoch=4)
    model = build_model(x, num_classes=2, hidden_units=(8,), optimizer="momentum", learning_rate=schedule, seed=0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, schedules.MultiStepDecay)
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
    assert schedules.get("exponential", learning_rate=0.1, steps_per_epoch=3, epochs=4, gamma=0.5).gamma == 0.5


def test_schedule_errors_are_argument_errors():
    from kerasopt.errors import ArgumentError, KerasoptError

    with pytest.raises(ArgumentError) as info:
        schedules.get("step", learning_rate=0.1, step_size=2)
    assert isinstance(info.value, KerasoptError) and isinstance(info.value, ValueError)

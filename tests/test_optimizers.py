import math

import keras
import numpy as np
import pytest

from kerasopt import optimizers


def two_steps(optimizer):
    """Minimizes y = w**2 / 2 (gradient w) from w = 1 for two steps."""
    w = keras.Variable(1.0)
    path = []
    for _ in range(2):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(w.value), w)])
        path.append(float(w.value))
    return path


def adagrad_path(lr, acc=0.1, eps=1e-7):
    w, out = 1.0, []
    for _ in range(2):
        acc += w * w
        w -= lr * w / math.sqrt(acc + eps)
        out.append(w)
    return out


def rmsprop_path(lr, rho=0.9, eps=1e-7):
    w, v, out = 1.0, 0.0, []
    for _ in range(2):
        v = rho * v + (1 - rho) * w * w
        w -= lr * w / math.sqrt(v + eps)
        out.append(w)
    return out


def adam_path(lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v, out = 1.0, 0.0, 0.0, []
    for t in (1, 2):
        g = w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        w -= alpha * m / (math.sqrt(v) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        ("sgd", {"learning_rate": 0.1}, [0.9, 0.81]),
        # v1 = -0.01, w1 = 0.99; v2 = 0.9 * -0.01 - 0.01 * 0.99 = -0.0189, w2 = 0.9711
        ("momentum", {"learning_rate": 0.01}, [0.99, 0.9711]),
        # Keras's Nesterov form: w += m * v - lr * g with v = m * v - lr * g
        ("nesterov", {"learning_rate": 0.01}, [0.981, 0.954261]),
        ("adagrad", {"learning_rate": 0.1}, adagrad_path(0.1)),
        ("rmsprop", {"learning_rate": 0.01}, rmsprop_path(0.01)),
        ("adam", {"learning_rate": 0.1}, adam_path(0.1)),
        ("adam", {"learning_rate": 0.1, "beta_2": 0.99}, adam_path(0.1, b2=0.99)),
    ],
)
def test_two_steps_on_half_square(name, kwargs, expected):
    np.testing.assert_allclose(two_steps(optimizers.get(name, **kwargs)), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "name, cls, attrs",
    [
        ("sgd", keras.optimizers.SGD, {"momentum": 0.0, "nesterov": False}),
        ("momentum", keras.optimizers.SGD, {"momentum": 0.9, "nesterov": False}),
        ("nesterov", keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
        ("adagrad", keras.optimizers.Adagrad, {}),
        ("rmsprop", keras.optimizers.RMSprop, {"rho": 0.9}),
        ("adam", keras.optimizers.Adam, {"beta_1": 0.9, "beta_2": 0.999}),
        ("adamw", keras.optimizers.AdamW, {}),
        ("nadam", keras.optimizers.Nadam, {}),
        ("adadelta", keras.optimizers.Adadelta, {}),
        ("ADAM", keras.optimizers.Adam, {}),
    ],
)
def test_names_give_presets(name, cls, attrs):
    opt = optimizers.get(name)
    assert type(opt) is cls
    for key, value in attrs.items():
        assert getattr(opt, key) == value


def test_dict_forms_and_kwargs_override():
    flat = optimizers.get({"name": "momentum", "learning_rate": 0.05})
    assert isinstance(flat, keras.optimizers.SGD) and float(flat.learning_rate) == pytest.approx(0.05)
    keras_form = optimizers.get(keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.02)))
    assert isinstance(keras_form, keras.optimizers.Adam)
    assert float(keras_form.learning_rate) == pytest.approx(0.02)
    assert optimizers.get({"name": "adam", "beta_2": 0.9}, beta_2=0.99).beta_2 == 0.99


def test_instance_is_returned_as_is():
    opt = keras.optimizers.SGD()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match="cannot be combined"):
        optimizers.get(opt, learning_rate=0.1)


def test_each_call_returns_a_fresh_optimizer():
    assert optimizers.get("adam") is not optimizers.get("adam")


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError) as info:
        optimizers.get("adamm")
    assert str(info.value) == (
        "Unknown optimizer: optimizer='adamm'. Known optimizers: adadelta, adagrad, adam, adamw, "
        "momentum, nadam, nesterov, rmsprop, sgd."
    )


@pytest.mark.parametrize(
    "identifier, kwargs, match",
    [
        (42, {}, "Could not interpret optimizer identifier: optimizer=42"),
        ({"learning_rate": 0.1}, {}, "needs a 'name'"),
        ("sgd", {"betas": 0.9}, "Invalid arguments for optimizer 'sgd'"),
    ],
)
def test_bad_identifiers(identifier, kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimizers.get(identifier, **kwargs)

import keras
import numpy as np
import pytest

from kerasopt import build_model, make_regularizer


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_default_stack_is_compiled_with_probabilities():
    model = build_model(5, num_classes=3, hidden_units=(8, 4), seed=0)
    assert layer_types(model) == ["InputLayer", "Dense", "Activation", "Dense", "Activation", "Dense"]
    assert model.optimizer is not None and isinstance(model.optimizer, keras.optimizers.Adam)
    probs = model.predict(np.ones((2, 5), "float32"), verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.loss == "sparse_categorical_crossentropy"


def test_batch_norm_sits_between_dense_and_activation_and_dropout_follows():
    model = build_model(4, num_classes=2, hidden_units=(6, 5), dropout=[0.1, 0.3], batch_norm=[True, False])
    assert layer_types(model) == ["InputLayer", "Dense", "BatchNormalization", "Activation", "Dropout",
                                  "Dense", "Activation", "Dropout", "Dense"]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.use_bias for d in dense] == [False, True, True]  # BN's beta replaces the bias
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.1, 0.3]


def test_no_hidden_layer_is_a_softmax_regression():
    model = build_model(7, num_classes=4, hidden_units=())
    assert layer_types(model) == ["InputLayer", "Dense"]
    assert model.count_params() == 7 * 4 + 4


def test_regression_has_one_linear_output_and_mse():
    model = build_model(3, num_classes=None, hidden_units=4)
    assert model.output_shape == (None, 1)
    assert model.layers[-1].activation.__name__ == "linear"
    assert model.loss == "mse"


def test_normalization_is_adapted_on_training_features():
    x = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]], "float32")
    model = build_model(x, num_classes=2, hidden_units=())
    norm = model.get_layer("normalization")
    np.testing.assert_allclose(np.ravel(norm.mean), [2.0, 30.0])
    np.testing.assert_allclose(np.ravel(norm.variance), [8 / 3, 800 / 3], rtol=1e-6)
    assert "normalization" not in [layer.name for layer in build_model(x, num_classes=2, normalize=False).layers]


@pytest.mark.parametrize(
    "l1, l2, cls, config",
    [
        (0.01, 0.0, keras.regularizers.L1, {"l1": 0.01}),
        (0.0, 0.02, keras.regularizers.L2, {"l2": 0.02}),
        (0.01, 0.02, keras.regularizers.L1L2, {"l1": 0.01, "l2": 0.02}),
    ],
)
def test_regularizer_kinds(l1, l2, cls, config):
    reg = make_regularizer(l1, l2)
    assert type(reg) is cls
    for key, value in config.items():
        assert reg.get_config()[key] == pytest.approx(value)
    assert make_regularizer(0.0, 0.0) is None


def test_penalty_equals_closed_form():
    model = build_model(3, num_classes=2, hidden_units=(4,), l1=[0.01, 0.0], l2=[0.0, 0.5], seed=1)
    model(np.zeros((1, 3), "float32"))
    k0 = model.get_layer("dense_0").kernel.numpy()
    k1 = model.get_layer("output").kernel.numpy()
    expected = 0.01 * np.abs(k0).sum() + 0.5 * np.square(k1).sum()
    assert float(sum(keras.ops.convert_to_numpy(v) for v in model.losses)) == pytest.approx(expected, rel=1e-5)


def test_kernel_regularizer_instance_per_layer():
    model = build_model(3, num_classes=2, hidden_units=(4,), kernel_regularizer=["l2", None])
    assert isinstance(model.get_layer("dense_0").kernel_regularizer, keras.regularizers.L2)
    assert model.get_layer("output").kernel_regularizer is None


def test_same_seed_same_weights_different_seed_different():
    a, b, c = (build_model(5, num_classes=2, hidden_units=(8,), seed=s) for s in (3, 3, 4))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_seed_scheme_kernel_i_gets_seed_plus_i_dropout_i_seed_plus_1000_plus_i():
    model = build_model(5, num_classes=2, hidden_units=(8, 4), dropout=0.2, kernel_initializer="he_normal", seed=7)
    for i, name in enumerate(["dense_0", "dense_1", "output"]):
        kernel = model.get_layer(name).kernel
        expected = keras.initializers.HeNormal(seed=7 + i)(tuple(kernel.shape))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), keras.ops.convert_to_numpy(expected))
    assert [model.get_layer(f"dropout_{i}").seed for i in (0, 1)] == [1007, 1008]


def test_optimizer_and_learning_rate():
    model = build_model(3, num_classes=2, optimizer="momentum", learning_rate=0.05)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert float(model.optimizer.momentum) == 0.9
    opt = keras.optimizers.RMSprop(0.01)
    assert build_model(3, num_classes=2, optimizer=opt).optimizer is opt


def test_defaults_are_the_spec_defaults():
    from kerasopt.config import DEFAULTS

    model = build_model(3, num_classes=2)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    # the default depth is sized (kerasopt.budget): one layer for a classification
    assert DEFAULTS["hidden_units"] is None and [d.units for d in dense[:-1]] == [128]
    activations = [layer.activation.__name__ for layer in model.layers if isinstance(layer, keras.layers.Activation)]
    assert activations == [DEFAULTS["activation"]] == ["elu"]
    for d in dense:
        assert isinstance(d.kernel_regularizer, keras.regularizers.L1)
        assert float(d.kernel_regularizer.l1) == pytest.approx(DEFAULTS["l1"]) and DEFAULTS["l1"] == 1e-4
        assert type(d.kernel_initializer).__name__ == "HeNormal" and DEFAULTS["kernel_initializer"] == "he_normal"
    assert not any(isinstance(layer, (keras.layers.Dropout, keras.layers.BatchNormalization)) for layer in model.layers)
    assert DEFAULTS["dropout"] == 0.0 and DEFAULTS["batch_norm"] is False
    assert isinstance(model.optimizer, keras.optimizers.Adam) and DEFAULTS["optimizer"] == "adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(DEFAULTS["learning_rate"])
    assert DEFAULTS["learning_rate"] == 0.01
    # the signature refers to the spec's values
    import inspect
    signature = inspect.signature(build_model).parameters
    for name in ("activation", "kernel_initializer", "l1", "l2", "dropout", "batch_norm", "optimizer"):
        assert signature[name].default == DEFAULTS[name], name
    assert signature["hidden_units"].default is DEFAULTS["hidden_units"] is None


def test_a_dict_optimizer_keeps_its_own_learning_rate():
    model = build_model(3, num_classes=2, optimizer={"name": "sgd", "learning_rate": 0.2})
    assert float(model.optimizer.learning_rate) == pytest.approx(0.2)


def test_error_message_names_argument_and_value():
    with pytest.raises(ValueError) as info:
        build_model(20, num_classes=2, hidden_units=(64, 0))
    assert str(info.value) == "Invalid value for `hidden_units`: expected a positive integer. Received: hidden_units=0"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inputs": 0}, "`inputs`: expected a positive integer. Received: inputs=0"),
        ({"inputs": np.zeros((0, 3))}, "`inputs`: expected a positive integer or a 2-D array"),
        ({"num_classes": 1}, r"`num_classes`: expected an integer >= 2, None for regression, or 'auto' .*Received: num_classes=1"),
        ({"hidden_units": (-3,)}, "Received: hidden_units=-3"),
        ({"dropout": 1.0}, r"`dropout`: expected a number in \[0, 1\). Received: dropout=1.0"),
        ({"dropout": -0.1}, "Received: dropout=-0.1"),
        ({"dropout": [0.1, 0.2]}, "one value per layer"),
        ({"l2": -1e-4}, "`l2`: expected a non-negative number. Received: l2=-0.0001"),
        ({"l1": float("nan")}, "`l1`"),
        ({"l1": [0.1]}, "one value per layer"),
        ({"batch_norm": "yes"}, "`batch_norm`: expected True or False"),
        ({"activation": "relux"}, "`activation`: could not interpret it. Received: activation='relux'"),
        ({"kernel_initializer": "nope"}, "`kernel_initializer`"),
        ({"learning_rate": -0.1}, "`learning_rate`: expected a positive number. Received: learning_rate=-0.1"),
        ({"learning_rate": 0.0}, "Received: learning_rate=0.0"),
        ({"optimizer": "adamm"}, "Known optimizers"),
        ({"optimizer": keras.optimizers.SGD(), "learning_rate": 0.1}, "optimizer instance itself"),
        ({"kernel_regularizer": "l2", "l2": 0.1}, "not both"),
        ({"seed": -1}, "`seed`"),
        ({"steps_per_execution": 0}, "`steps_per_execution`"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    from kerasopt.errors import ArgumentError

    kwargs = {"inputs": 4, "hidden_units": (3,), "num_classes": 2, **kwargs}
    with pytest.raises(ArgumentError, match=match):  # a KerasoptError and a ValueError
        build_model(**kwargs)

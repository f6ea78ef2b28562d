"""`predict_batches` and `evaluate_batches`: the model run on slices of the rows gives the outputs of
`Model.predict` and the values of `Model.evaluate`; `output_metrics` gives its metrics from the outputs."""

import keras
import numpy as np
import pytest

import kerasopt
from kerasopt.data import make_phone_data
from kerasopt.errors import ArgumentError
from kerasopt import training
from kerasopt.inference import evaluate_batches, output_metrics, outputs_and_metrics, predict_batches


def _dense():
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="ones")(inputs))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4096])  # slices that split the rows and one that holds them
def test_batches_are_the_formula_row_by_row(batch_size):
    x = np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]], "float32")
    np.testing.assert_array_equal(predict_batches(_dense(), x, batch_size), [[4.0], [8.0], [0.5]])


def test_dict_inputs_and_no_rows():
    inputs = {"a": keras.Input((1,), name="a"), "b": keras.Input((1,), name="b")}
    model = keras.Model(inputs, keras.layers.Concatenate()([inputs["a"], 2 * inputs["b"]]))
    rows = {"a": np.array([[1.0], [2.0]], "float32"), "b": np.array([[3.0], [4.0]], "float32")}
    np.testing.assert_array_equal(predict_batches(model, rows, 1), [[1.0, 6.0], [2.0, 8.0]])
    empty = predict_batches(model, {k: v[:0] for k, v in rows.items()})
    assert empty.shape == (0, 2) and empty.dtype == np.float32


def test_a_table_model_predicts_quietly_as_keras_does():
    """A quiet `TabularModel.predict` equals Keras's loop to float rounding; zero rows give zero rows."""
    frame = make_phone_data(50, seed=1)
    x = frame.drop(columns="price_range")
    model = kerasopt.build_model(x, frame["price_range"], hidden_units=(4,), seed=0)
    quiet = model.predict(x, verbose=0)
    np.testing.assert_allclose(quiet, model.predict(x, verbose=0, callbacks=[]), rtol=1e-6, atol=1e-7)
    assert model.predict(x.iloc[:0], verbose=0).shape == (0, 4)


@pytest.mark.parametrize("batch_size", [1, 2, 4096])
def test_evaluate_is_the_formula(batch_size):
    """Loss: the mean squared error plus the L2 penalty 0.5 * (1 + 1); metric: the mean absolute error."""
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="ones",
                                                   kernel_regularizer=keras.regularizers.L2(0.5))(inputs))
    model.compile(loss="mse", metrics=["mae"])
    x = np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]], "float32")  # outputs 4, 8, 0.5
    y = np.array([[3.0], [8.0], [2.5]], "float32")  # errors 1, 0, -2
    assert evaluate_batches(model, x, y, batch_size) == pytest.approx({"loss": 5 / 3 + 1.0, "mae": 1.0}, rel=1e-6)
    assert evaluate_batches(model, x[:0], y[:0]) == {}


def test_a_table_model_evaluates_as_keras_does():
    """`training.evaluate` (eager) equals Keras's `evaluate` loop to float rounding, after training."""
    frame = make_phone_data(60, seed=2)
    x, y = frame.drop(columns="price_range"), frame["price_range"]
    model = kerasopt.build_model(x, y, hidden_units=(4,), seed=0)
    model.fit(x, y, epochs=2, verbose=0)
    keras_values = model.evaluate(x, y, verbose=0, return_dict=True)
    assert training.evaluate(model, x, y) == pytest.approx(keras_values, rel=1e-5)
    assert set(keras_values) >= {"loss", "accuracy", "log_loss"}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_metrics_of_the_outputs_are_those_of_evaluate(task):
    """`output_metrics` of the predicted outputs: `training.evaluate`'s values, to the bit, less `loss`."""
    frame = make_phone_data(5000, seed=3)  # more rows than a slice of `evaluate` or `predict`
    x, y = frame.drop(columns="price_range"), frame["price_range"]
    if task == "regression":
        y = y.astype("float64") * 100.0 + 50.0
    model = kerasopt.build_model(x, y, hidden_units=(8,), l2=0.01, seed=0, jit_compile=False,
                                 num_classes="auto" if task == "classification" else None)
    model.fit(x, y, epochs=1, verbose=0)
    outputs = model.predict(x, batch_size=1024, verbose=0)
    expected = {k: v for k, v in training.evaluate(model, x, y).items() if k != "loss"}
    assert set(expected) >= ({"accuracy", "log_loss"} if task == "classification" else {"mse", "r2"})
    assert output_metrics(model, model.convert_targets(y), outputs) == expected
    assert output_metrics(model, y[:0], outputs[:0]) == {}
    tested_outputs, metrics = outputs_and_metrics(model, x, y, batch_size=1024)  # predicted once, then the metrics
    np.testing.assert_array_equal(tested_outputs, outputs)
    assert metrics == expected
    assert outputs_and_metrics(model, x[:0], y[:0]) == (None, {})


@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_bad_batch_size_names_the_argument(value):
    with pytest.raises(ArgumentError, match=rf"batch_size.*Received: batch_size={value!r}"):
        predict_batches(_dense(), np.zeros((2, 2), "float32"), value)
    with pytest.raises(ArgumentError, match=rf"batch_size.*Received: batch_size={value!r}"):
        evaluate_batches(_dense(), np.zeros((2, 2), "float32"), np.zeros((2, 1), "float32"), value)

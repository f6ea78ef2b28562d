"""`predict_batches`: the model called on slices of the rows gives `Model.predict`'s outputs."""

import keras
import numpy as np
import pytest

import kerasopt
from kerasopt.data import make_phone_data
from kerasopt.errors import ArgumentError
from kerasopt.inference import predict_batches


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


@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_bad_batch_size_names_the_argument(value):
    with pytest.raises(ArgumentError, match=rf"batch_size.*Received: batch_size={value!r}"):
        predict_batches(_dense(), np.zeros((2, 2), "float32"), value)

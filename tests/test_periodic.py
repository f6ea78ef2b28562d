"""Periodic embeddings of numeric columns (`numeric_embedding="periodic"`, RealMLP's PBLD embedding)."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import DenseRegressor, build_model, spec
from kerasopt.errors import ArgumentError
from kerasopt.tabular import PeriodicEmbedding, encoded_width, infer_schema, periodic_columns


def _set(layer, frequency, phase, kernel, bias):
    for variable, value in zip((layer.frequency, layer.phase, layer.kernel, layer.bias),
                               (frequency, phase, kernel, bias)):
        variable.assign(np.asarray(value, "float32"))


def test_layer_matches_the_formula():
    layer = PeriodicEmbedding([1], frequencies=2, dim=1)
    layer.build((None, 2))
    # one column: cos(2 pi x w + b) for w = (1, 0.25), b = (0, pi/2), then [1, 2] x + 0.5
    _set(layer, [[1.0, 0.25]], [[0.0, np.pi / 2]], [[[1.0], [2.0]]], [[0.5]])
    x = np.array([[7.0, 0.0], [7.0, 0.5], [-3.0, 1.0]], "float32")
    got = keras.ops.convert_to_numpy(layer(x))
    expected = [1.0 + 2.0 * np.cos(np.pi / 2) + 0.5,                          # x = 0: cos 0 = 1
                np.cos(np.pi) + 2.0 * np.cos(np.pi / 4 + np.pi / 2) + 0.5,    # x = 0.5
                np.cos(2 * np.pi) + 2.0 * np.cos(np.pi / 2 + np.pi / 2) + 0.5]  # x = 1
    np.testing.assert_allclose(got[:, 2], expected, atol=1e-6)
    np.testing.assert_array_equal(got[:, :2], x)  # the features pass through in front
    assert layer.compute_output_shape((None, 2)) == (None, 3)


def test_shapes_single_and_stacked():
    layer = PeriodicEmbedding([0, 2], frequencies=16, dim=3)
    assert layer(np.zeros((5, 4), "float32")).shape == (5, 4 + 2 * 3)
    assert [tuple(v.shape) for v in layer.weights] == [(2, 16), (2, 16), (2, 16, 3), (2, 3)]
    stacked = PeriodicEmbedding([0, 2], frequencies=16, dim=3)
    assert stacked(np.zeros((5, 7, 4), "float32")).shape == (5, 7, 10)  # 7 members, one set of weights each
    assert [tuple(v.shape) for v in stacked.weights] == [(7, 2, 16), (7, 2, 16), (7, 2, 16, 3), (7, 2, 3)]


def test_extreme_inputs_give_finite_outputs():
    layer = PeriodicEmbedding([0])
    got = keras.ops.convert_to_numpy(layer(np.array([[3e38], [-3e38], [1e30], [0.0]], "float32")))
    assert np.isfinite(got).all()  # the cosines stay within [-1, 1]


def test_config_round_trip():
    layer = PeriodicEmbedding([0, 3], frequencies=4, dim=2, sigma=0.5, name="p")
    config = layer.get_config()
    assert (config["columns"], config["frequencies"], config["dim"], config["sigma"]) == ([0, 3], 4, 2, 0.5)
    clone = PeriodicEmbedding.from_config(json.loads(json.dumps(config)))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    layer(x), clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(x), clone(x))


@pytest.mark.parametrize("kwargs, name", [
    ({"columns": []}, "columns"), ({"columns": [0, 0]}, "columns"), ({"columns": [-1]}, "columns"),
    ({"columns": [0], "frequencies": 0}, "frequencies"), ({"columns": [0], "dim": 1.5}, "dim"),
    ({"columns": [0], "dim": True}, "dim"), ({"columns": [0], "sigma": 0.0}, "sigma"),
    ({"columns": [0], "sigma": float("nan")}, "sigma"),
])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ArgumentError, match=f"`{name}`.*Received"):
        PeriodicEmbedding(**kwargs)
    with pytest.raises(ArgumentError, match="columns.*3 features"):
        PeriodicEmbedding([3])(np.zeros((2, 3), "float32"))


def mixed_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"flag": rng.integers(0, 2, n), "x": rng.normal(10.0, 2.0, n),
                         "colour": rng.choice(["red", "blue"], n), "z": rng.normal(0.0, 1.0, n)})


def test_the_numeric_columns_are_embedded_and_not_the_booleans():
    frame = mixed_frame()
    schema = infer_schema(frame, numeric_embedding="periodic")
    assert [c.kind for c in schema.features] == ["boolean", "numeric", "categorical", "numeric"]
    assert periodic_columns(schema) == [1, 2]  # numbers first: flag, x, z (position 0 is the boolean)
    assert periodic_columns(infer_schema(frame)) == [] and spec.NUMERIC_EMBEDDING == "none"  # the default: off
    back = type(schema).from_config(json.loads(json.dumps(schema.get_config())))
    assert back == schema and back.numeric_embedding == "periodic"
    old = schema.get_config()
    old.pop("numeric_embedding")  # a schema saved before the option existed
    assert type(schema).from_config(old).numeric_embedding == "none"
    with pytest.raises(ArgumentError, match="numeric_embedding.*Received: numeric_embedding='cosine'"):
        infer_schema(frame, numeric_embedding="cosine")


def test_a_network_widens_its_first_layer_by_three_values_per_numeric_column():
    frame = mixed_frame()
    plain = build_model(infer_schema(frame), num_classes=2, hidden_units=(4,), seed=0)
    schema = infer_schema(frame, numeric_embedding="periodic")
    model = build_model(schema, num_classes=2, hidden_units=(4,), seed=0)
    assert model.get_layer("dense_0").kernel.shape[0] == plain.get_layer("dense_0").kernel.shape[0] + 2 * 3
    assert encoded_width(schema) == encoded_width(infer_schema(frame))  # the encoding itself is unchanged
    # seeded: the same seed gives the same embedding, another seed another
    again = build_model(schema, num_classes=2, hidden_units=(4,), seed=0).get_layer("periodic").get_weights()
    other = build_model(schema, num_classes=2, hidden_units=(4,), seed=1).get_layer("periodic").get_weights()
    for a, b, c in zip(model.get_layer("periodic").get_weights(), again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_the_option_reaches_the_bagged_networks_of_an_estimator():
    frame = mixed_frame()
    y = frame["x"] * 2 + np.sin(frame["z"] * 6)
    reg = DenseRegressor(numeric_embedding="periodic", hidden_units=(4,), epochs=2, patience=1, bagging=2, seed=0)
    reg.fit(frame, y)
    stacked = reg.model_.get_layer("kerasopt_bagged_members").get_layer("kerasopt_stacked")
    assert [tuple(v.shape) for v in stacked.get_layer("periodic").weights][2] == (2, 2, 16, 3)  # 2 members
    assert reg.get_params()["numeric_embedding"] == "periodic"
    assert np.isfinite(reg.predict(frame)).all()

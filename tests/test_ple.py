"""Piecewise-linear encoding of numeric columns at their training quantiles (`numeric_bins`)."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import DenseClassifier, build_model, config, spec, stacking
from kerasopt.budget import LARGE_TABLE_BINS, NUMERIC_BINS
from kerasopt.errors import ArgumentError
from kerasopt.inference import predict_batches
from kerasopt.tabular import PiecewiseLinearEncoding, bin_edges, embedding_blocks, encoded_width, infer_schema


def mixed_frame(n=40, seed=0):
    """A numeric column with gaps, a second numeric one, a boolean, a one-hot and an embedded categorical."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(10.0, 2.0, n), "z": rng.integers(0, 3, n).astype(float) * 1.5,
                          "colour": rng.choice(["red", "blue"], n), "flag": rng.integers(0, 2, n),
                          "city": [f"c{i % 20}" for i in range(n)]})
    frame.loc[[2, 9], "x"] = np.nan
    return frame


def encoded(schema, rows):
    """The features of `build_preprocessing(schema)` for raw rows."""
    return stacking.encode_table(schema, rows)


def test_edges_are_the_distinct_training_quantiles():
    values = [4.0, 0.0, 1.0, 3.0, 2.0]
    assert bin_edges(values, 4) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert bin_edges(values, 2) == [0.0, 2.0, 4.0]
    assert bin_edges(values, 3) == [float(np.float32(v)) for v in (0.0, 4 / 3, 8 / 3, 4.0)]
    assert bin_edges([1.0, 1.0, 1.0, 5.0], 4) == [1.0, 2.0, 5.0]  # quantiles 1, 1, 1, 2, 5: fewer bins
    assert bin_edges([7.0, 7.0], 8) is None                       # one distinct edge: no bins
    schema = infer_schema(pd.DataFrame({"x": [4.0, 0.0, np.nan, 1.0, 3.0, 2.0], "b": [0, 1, 1, 0, 1, 0],
                                        "c": ["u", "v", "u", "v", "u", "v"]}), numeric_bins=2)
    assert [c.edges for c in schema.features] == [[0.0, 2.0, 4.0], None, None]  # numeric only, gaps left out
    assert schema.numeric_bins == 2
    assert infer_schema(pd.DataFrame({"x": [4.0, 0.0, 1.0]}), numeric_bins=0).features[0].edges is None  # 0: off
    assert infer_schema(pd.DataFrame({"x": [4.0, 0.0, 1.0]})).numeric_bins == NUMERIC_BINS == 16  # the default
    # sized to the rows of the frame: finer bins above 4,096 rows
    many = pd.DataFrame({"x": np.arange(4097.0) ** 2})
    assert infer_schema(many.iloc[:4096]).numeric_bins == 16
    assert infer_schema(many).numeric_bins == LARGE_TABLE_BINS == 48
    assert len(infer_schema(many).features[0].edges) == 49 and infer_schema(many, numeric_bins=16).numeric_bins == 16


def test_layer_matches_the_formula():
    layer = PiecewiseLinearEncoding([[0.0, 1.0, 3.0], [], [-2.0, 2.0]])
    x = np.array([[0.5, 9.0, 0.0], [2.5, 0.0, -5.0], [3.0, 1.0, 2.0], [-1.0, 2.0, 1.0]], "float32")
    expected = np.array([
        [0.5, 0.0, 0.5],     # (0.5 - 0) / 1, below bin 2; (0 + 2) / 4
        [1.0, 0.75, 0.0],    # (2.5 - 1) / 2; below the first edge
        [1.0, 1.0, 1.0],     # at the top edges
        [0.0, 0.0, 0.75],
    ], "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), expected)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_extremes_and_gaps_give_finite_zeros_and_ones():
    frame = pd.DataFrame({"x": [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]})
    schema = infer_schema(frame, numeric_bins=4)
    rows = pd.DataFrame({"x": [1e30, -1e30, np.nan, 3e38, -3e38, np.inf]})
    ple = encoded(schema, rows)[:, 1:]  # after the scaled value
    mean_bins = keras.ops.convert_to_numpy(PiecewiseLinearEncoding([schema.features[0].edges])(
        np.array([[7.0]], "float32")))[0]
    np.testing.assert_array_equal(ple, [[1, 1, 1, 1], [0, 0, 0, 0], mean_bins, [1, 1, 1, 1], [0, 0, 0, 0],
                                        mean_bins])  # a gap is the training mean, 7
    np.testing.assert_array_equal(mean_bins, [1.0, 1.0, 0.0, 0.0])  # edges 0, 3.5, 7, 10.5, 14
    wide = PiecewiseLinearEncoding([[-3e38, 0.0, 3e38]])
    got = keras.ops.convert_to_numpy(wide(np.array([[3.4e38], [-3.4e38], [0.0]], "float32")))
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[:2], [[1.0, 1.0], [0.0, 0.0]])


def test_config_round_trip():
    layer = PiecewiseLinearEncoding([[0.0, 0.25, 3.0], [], [-1.0, 1.0]], name="p")
    config_ = layer.get_config()
    assert config_["edges"] == [[0.0, 0.25, 3.0], [], [-1.0, 1.0]]
    clone = PiecewiseLinearEncoding.from_config(json.loads(json.dumps(config_)))
    assert clone.get_config() == config_
    x = np.array([[0.1, 5.0, 0.3], [2.0, -1e30, 1e30]], "float32")
    np.testing.assert_array_equal(layer(x), clone(x))
    with pytest.raises(ArgumentError, match="edges"):
        PiecewiseLinearEncoding([[1.0, 1.0]])
    schema = infer_schema(mixed_frame(), numeric_bins=3)
    back = type(schema).from_config(json.loads(json.dumps(schema.get_config())))
    assert back == schema
    old = schema.get_config()
    old.pop("numeric_bins")
    for column in old["features"]:
        column.pop("edges")
    assert type(schema).from_config(old).numeric_bins == 0
    assert all(c.edges is None for c in type(schema).from_config(old).features)


def test_encoded_width_and_positions_with_categoricals_and_gaps():
    frame = mixed_frame()
    schema = infer_schema(frame, numeric_bins=4)
    x_edges, z_edges = schema.features[0].edges, schema.features[1].edges
    assert len(x_edges) == 5 and z_edges == [0.0, 1.5, 3.0]  # z has 3 distinct values
    got = encoded(schema, frame)
    plain = encoded(infer_schema(frame, numeric_bins=0), frame)
    assert got.shape[1] == encoded_width(schema) == encoded_width(infer_schema(frame, numeric_bins=0)) + 4 + 2
    np.testing.assert_array_equal(got[:, :plain.shape[1]], plain)  # the PLE block comes last
    assert embedding_blocks(schema) == embedding_blocks(infer_schema(frame, numeric_bins=0))
    # the gaps of x take its training median (robust scaling, the default) before the encoding
    assert schema.scaling == "robust" and frame["z"].notna().all()
    filled = frame[["x", "z"]].fillna({"x": schema.features[0].median}).to_numpy("float32")
    np.testing.assert_array_equal(got[:, plain.shape[1]:],
                                  PiecewiseLinearEncoding([x_edges, z_edges])(filled))


def test_stacked_encoding_is_the_single_model_encoding():
    frame = mixed_frame()
    schema = infer_schema(frame, numeric_bins=4)
    single = build_model(schema, num_classes=2, hidden_units=(4,), seed=0)
    rows = frame.assign(x=frame["x"].where(frame.index != 11, -1e30))
    # the same layers, run the same way (eager and traced execution may differ in the last bit)
    features = predict_batches(keras.Model(single.inputs, single.get_layer("tabular_features").output),
                               single.convert_inputs(rows))
    assert features.shape[1] == encoded_width(schema)
    np.testing.assert_array_equal(stacking.encode_table(schema, rows), features)


def labelled_frame():
    """100 mixed rows with gaps and a yes/no label (also `tests/test_saving.py`'s)."""
    frame = mixed_frame(100, seed=1)
    return frame, np.where(frame["x"].fillna(10.0) + frame["z"] > 11.5, "yes", "no")


@pytest.fixture(scope="module")
def fitted():
    """`DenseClassifier(numeric_bins=8)` fitted on 100 rows, stacked (the default bagging) and single."""
    frame, labels = labelled_frame()
    fits = {}
    for name, extra in (("stacked", {}), ("single", {"bagging": 0})):
        clf = DenseClassifier(numeric_bins=8, hidden_units=(4,), epochs=3, patience=2, seed=0, **extra)
        fits[name] = clf.fit(frame, labels)
    return fits, frame


@pytest.mark.parametrize("kind", ["stacked", "single"])
def test_single_and_stacked_models_hold_the_encoding(fitted, kind):
    clf = fitted[0][kind]
    layer = clf.model_.get_layer("tabular_ple")
    assert isinstance(layer, PiecewiseLinearEncoding)
    assert clf.model_.schema.numeric_bins == 8 and len(layer.edges[0]) == 9
    assert clf.model_.get_layer("tabular_features").output.shape[-1] == encoded_width(clf.model_.schema)


def test_extreme_values_give_finite_predictions(fitted):
    clf, frame = fitted[0]["stacked"], fitted[1]
    assert np.isfinite(clf.predict_proba(frame.assign(x=[1e30, -1e30, np.nan, 3.0] * 25))).all()


# A bagged classifier with the encoding, fed the same extreme values, loads in a fresh process and predicts
# identically: tests/test_saving.py.


@pytest.mark.parametrize("value", [-1, 1.5, "x"])
def test_bad_numeric_bins_name_the_argument(value):
    with pytest.raises(ArgumentError, match=rf"numeric_bins.*Received: numeric_bins={value!r}"):
        infer_schema(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), numeric_bins=value)
    with pytest.raises(ArgumentError, match=rf"numeric_bins.*Received: numeric_bins={value!r}"):
        config.resolve({"numeric_bins": value})
    with pytest.raises(ArgumentError, match="numeric_bins"):
        DenseClassifier(numeric_bins=value).fit(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), ["a", "b", "a", "b"])


def test_the_option_is_in_the_specification():
    assert spec.FIELD["numeric_bins"].default is None is DenseClassifier().numeric_bins  # sized: kerasopt.budget
    assert spec.defaults()["numeric_bins"] is None and NUMERIC_BINS == 16

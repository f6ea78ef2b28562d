"""Numeric inputs: standardization, or robust scaling by median and interquartile range and smooth clipping."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import build_model, spec, stacking
from kerasopt.cli import main
from kerasopt.inference import predict_batches
from kerasopt.tabular import NUMERIC_SCALINGS, RobustScaling, encode_target, infer_schema, robust_statistics


def smooth_clip(z):
    z = np.asarray(z, dtype="float64")
    return z / np.sqrt(1.0 + (z / 3.0) ** 2)


def extreme_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(10.0, 2.0, n), "z": rng.normal(0.0, 1.0, n),
                          "colour": rng.choice(["red", "blue"], n), "flag": rng.integers(0, 2, n)})
    frame.loc[3, "x"] = 1e30
    frame.loc[5, "z"] = -1e30
    frame.loc[7, "z"] = -3e38  # near float32's limit
    frame.loc[9, "z"] = np.nan
    return frame


def test_smooth_clip_formula_on_scaled_values():
    layer = RobustScaling(center=[2.0, 0.0, 1.0, 5.0], scale=[4.0, 1.0, 0.0, 2.0], clip=[0, 1, 2])
    x = np.array([[14.0, 0.0, 7.0, 9.0], [-10.0, 1e30, -3.0, 5.0], [2.0, -1e30, 1.0, 1.0]], "float32")
    got = keras.ops.convert_to_numpy(layer(x))
    expected = np.array([
        [smooth_clip(3.0), 0.0, 0.0, 2.0],                           # z = (14 - 2) / 4 = 3 -> 3 / sqrt(2)
        [smooth_clip(-3.0), 3.0, 0.0, 0.0],                          # 1e30 -> 3; scale 0 -> 0
        [0.0, -3.0, 0.0, -2.0],                                      # the last column is not clipped
    ])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert got[0, 0] == pytest.approx(3 / np.sqrt(2), rel=1e-6)
    assert np.isfinite(got).all()


def test_robust_statistics_on_a_tiny_column():
    assert robust_statistics([1.0, 2.0, 3.0, 4.0, 1e30]) == (3.0, 2.0)   # quartiles 2 and 4
    # the interquartile range is 0: half the range instead
    assert robust_statistics([0, 0, 0, 0, 0, 0, 5, -5]) == (0.0, 5.0)
    assert robust_statistics([2.0, 2.0]) == (2.0, 0.0)
    schema = infer_schema(pd.DataFrame({"x": [1.0, 2.0, np.nan, 3.0, 4.0, 1e30], "b": [0, 1, 0, 1, 1, 0]}))
    x, b = schema.features
    assert (x.kind, x.median, x.spread, x.has_gaps) == ("numeric", 3.0, 2.0, True)
    assert (b.kind, b.median, b.spread) == ("boolean", None, None)


def test_a_value_beyond_float32_is_a_gap():
    schema = infer_schema(pd.DataFrame({"x": [1.0, 2.0, 1e300, 3.0, 4.0]}))
    assert schema.features[0].has_gaps and schema.features[0].median == 2.5


def test_config_round_trip():
    layer = RobustScaling(center=[1.5, -2.0], scale=[0.5, 3.0], clip=[1], name="s")
    config = layer.get_config()
    clone = RobustScaling.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    x = np.array([[4.0, 100.0], [-1e30, 2.0]], "float32")
    np.testing.assert_array_equal(layer(x), clone(x))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="scale"):
        RobustScaling(center=[0.0], scale=[-1.0])


def test_standard_scaling_computes_as_keras_normalization_to_the_bit():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({f"c{i}": rng.normal(rng.uniform(-50, 50), rng.uniform(0.1, 900), 64) for i in range(40)})
    schema = infer_schema(frame, scaling="standard")
    model = build_model(schema, num_classes=2, hidden_units=(), seed=0)
    got = keras.Model(model.inputs, model.get_layer("tabular_scale").output).predict(
        model.convert_inputs(frame), verbose=0)
    norm = keras.layers.Normalization(mean=[c.mean for c in schema.features],
                                      variance=[c.std ** 2 for c in schema.features])
    np.testing.assert_array_equal(got, norm(frame.to_numpy("float32")))


def test_standard_scaling_keeps_an_extreme_value_finite():
    frame = extreme_frame()
    model = build_model(infer_schema(frame, scaling="standard"), num_classes=2, hidden_units=(4,), seed=0)
    scaled = keras.Model(model.inputs, model.get_layer("tabular_scale").output).predict(
        model.convert_inputs(frame), verbose=0)
    x = frame["x"].to_numpy()
    assert np.isfinite(scaled).all()
    assert scaled[3, 0] == pytest.approx((1e30 - x.mean()) / x.std(), rel=1e-5)  # sqrt(39): the rest squashed


def test_extremes_reach_the_network_bounded_by_default():
    frame = extreme_frame()
    model = build_model(frame, num_classes=2, hidden_units=(4,), seed=0)
    assert model.schema.scaling == "robust" == spec.FIELD["numeric_scaling"].default == spec.NUMERIC_SCALING
    scaled = keras.Model(model.inputs, model.get_layer("tabular_scale").output).predict(
        model.convert_inputs(frame), verbose=0)
    assert np.isfinite(scaled).all() and np.abs(scaled[:, :2]).max() < 3.0
    assert scaled[3, 0] == pytest.approx(3.0) and scaled[5, 1] == pytest.approx(-3.0)


@pytest.mark.parametrize("scaling", NUMERIC_SCALINGS)
def test_same_encoding_single_and_stacked(scaling):
    frame = extreme_frame()
    schema = infer_schema(frame, scaling=scaling)
    single = build_model(schema, num_classes=2, hidden_units=(4,), seed=0)
    rows = frame.assign(x=frame["x"].where(frame.index != 11, -1e30))
    # the same layers, run the same way (eager and traced execution may differ in the last bit)
    encoded_single = predict_batches(keras.Model(single.inputs, single.get_layer("tabular_features").output),
                                     single.convert_inputs(rows))
    np.testing.assert_array_equal(stacking.encode_table(schema, rows), encoded_single)


# A saved robust-scaling model fed extreme values loads in a fresh process and predicts identically:
# tests/test_saving.py.


@pytest.mark.parametrize("bagging, scaling", [("0", "robust"), ("2", "standard")])  # both paths, both scalings
def test_train_on_a_csv_with_extreme_cells(tmp_path, bagging, scaling):
    frame = extreme_frame(60)
    frame["y"] = np.where(frame["z"] > 0, "up", "down")
    frame.loc[20:30, "x"] = -1e25  # many huge negative values
    frame.to_csv(tmp_path / "big.csv", index=False)
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "big.csv"), "--target", "y", "--epochs", "3", "--hidden-units",
                 "4", "--bagging", bagging, "--numeric-scaling", scaling, "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "config.json").read_text())["numeric_scaling"] == scaling
    model = keras.saving.load_model(out / "model.keras")
    assert model.schema.scaling == scaling
    assert np.isfinite(model.predict_proba(frame.iloc[:12])).all()
    assert np.isfinite(metrics["train"]["log_loss"]) and np.isfinite(metrics["test"]["log_loss"])

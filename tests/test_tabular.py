import json
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from kerasopt import build_model, train
from kerasopt.errors import DataError
from kerasopt.tabular import (
    MISSING,
    ONE_HOT_MAX,
    Impute,
    MissingIndicator,
    Schema,
    TabularModel,
    TargetInfo,
    detect_task,
    embedding_dim,
    encode_target,
    infer_schema,
)


def frame(n=8):
    """Mixed kinds: a numeric column with a gap, text with a gap, a boolean, a 0/1 integer."""
    return pd.DataFrame({
        "size": [1.0, np.nan, 3.0, 4.0, 2.0, 6.0, 5.0, 3.0][:n],
        "color": ["red", "blue", None, "red", "green", "blue", "red", "red"][:n],
        "fresh": [True, False, True, True, False, True, False, True][:n],
        "flag": [0, 1, 1, 0, 0, 1, 0, 1][:n],
    })


def sub_model(model, layer):
    return keras.Model(model.inputs, model.get_layer(layer).output)


# ---------------------------------------------------------------------------------------------
# Schema


def test_column_typing_and_targets_answer_without_keras():
    """The command line's input checks may type columns and targets before TensorFlow loads."""
    code = ("import sys; from kerasopt.tabular import encode_target, infer_schema; "
            "infer_schema({'a': [1.0, 2.0, 3.5]}); encode_target(['x', 'y', 'x', 'y']); print('keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr[-2000:]


def test_public_names_resolve_and_keep_their_registered_keras_names():
    from kerasopt import tabular

    assert set(tabular.__all__) <= set(dir(tabular))
    for name in tabular.__all__:
        assert getattr(tabular, name) is not None, name
    for name in ("Impute", "MissingIndicator", "RobustScaling", "SoftmaxAUC", "TabularModel"):
        # a saved model names its classes "kerasopt>Class": they load whichever module defines them
        assert keras.saving.get_registered_name(getattr(tabular, name)) == f"kerasopt>{name}"


def test_kinds_statistics_and_vocabulary():
    schema = infer_schema(frame())
    assert [(c.name, c.kind, c.has_gaps) for c in schema.features] == [
        ("size", "numeric", True), ("color", "categorical", True),
        ("fresh", "boolean", False), ("flag", "boolean", False)]
    size = schema.features[0]
    present = np.array([1, 3, 4, 2, 6, 5, 3.0])
    assert size.mean == pytest.approx(present.mean()) and size.std == pytest.approx(present.std())
    # most frequent first; green and the gap, seen once, join the out-of-vocabulary bucket
    assert schema.features[1].vocabulary == ["red", "blue"]
    twice = frame().assign(color=["red", "blue", None, "red", "green", "blue", None, "green"])
    # ties alphabetical; the gap is its own category
    assert infer_schema(twice).features[1].vocabulary == [MISSING, "blue", "green", "red"]
    assert schema.notes == [] and schema.dropped == []


@pytest.mark.parametrize("values, reason", [
    ([np.nan] * 4, "all cells are missing"),
    ([7, 7, 7, 7], "constant (7)"),
    (["a", "a", "a", "a"], "constant ('a')"),
    ([3, 1, 2, 4], "consecutive integers 1..4, one per row (an identifier)"),
    (["u1", "u2", "u3", "u4"], "a different value in every row (an identifier)"),
])
def test_columns_without_signal_are_dropped_with_a_note(values, reason):
    data = pd.DataFrame({"keep": [1.5, 2.5, 1.5, 0.5], "bad": values})
    schema = infer_schema(data)
    assert schema.names == ["keep"] and schema.dropped == ["bad"]
    assert schema.notes == [f"Dropped column 'bad': {reason}."]


def test_constant_with_gaps_is_kept_because_the_gaps_carry_signal():
    schema = infer_schema(pd.DataFrame({"x": [1.0, np.nan, 1.0, 1.0], "y": [0.5, 1.5, 2.5, 0.5]}))
    assert schema.names == ["x", "y"] and schema.features[0].std == 1.0


def test_overrides_categorical_numeric_and_drop():
    data = pd.DataFrame({"code": [3, 3.0, 5, 5], "n": ["12", "15", "?", "12"], "z": [1.5, 2.5, 3.5, 1.5]})
    schema = infer_schema(data, categorical=["code"], numeric=["n"], drop=["z"])
    code, n = schema.features
    assert (code.kind, code.vocabulary) == ("categorical", ["3", "5"])
    assert (n.kind, n.has_gaps, n.mean) == ("numeric", True, 13.0)
    assert schema.dropped == ["z"] and schema.notes == []
    inputs = schema.to_inputs(pd.DataFrame({"code": [3.0, 7], "n": ["oops", 2], "z": [0, 0]}))
    assert list(inputs["code"]) == ["3", "7"]
    np.testing.assert_array_equal(inputs["n"], np.array([np.nan, 2.0], "float32"))


def test_schema_config_is_json_round_trip():
    schema = infer_schema(frame())
    config = json.loads(json.dumps(schema.get_config()))
    assert Schema.from_config(config) == schema


def test_to_inputs_matches_names_in_any_order_and_notes_extra_columns():
    schema = infer_schema(frame())
    data = frame()[["flag", "color", "fresh", "size"]].assign(extra=1)
    notes = []
    inputs = schema.to_inputs(data, notes=notes)
    assert list(inputs) == ["size", "color", "fresh", "flag"]
    assert inputs["size"].dtype == np.float32 and np.isnan(inputs["size"][1])
    assert inputs["color"][2] == MISSING and inputs["fresh"].tolist() == [1, 0, 1, 1, 0, 1, 0, 1]
    assert notes == ["Ignored column(s) the model does not use: extra."]
    positional = schema.to_inputs(frame().to_numpy(dtype=object))
    for key in inputs:
        np.testing.assert_array_equal(positional[key], inputs[key])
    with pytest.raises(DataError, match=r"^Missing feature column\(s\): color, flag\. The model needs: size, "
                                        r"color, fresh, flag\.$"):
        schema.to_inputs(frame()[["size", "fresh"]])
    with pytest.raises(DataError, match="Expected 4 columns"):
        schema.to_inputs(np.zeros((2, 3)))


# ---------------------------------------------------------------------------------------------
# Preprocessing inside the model


@pytest.mark.parametrize("scaling, center", [("standard", np.nanmean), ("robust", np.nanmedian)])
def test_gap_is_imputed_with_the_training_center_and_scaled_to_zero(scaling, center):
    data = frame()
    model = build_model(infer_schema(data, scaling=scaling), num_classes=2, hidden_units=(), seed=0)
    median = center(data["size"].to_numpy())
    row = data.iloc[[1]]  # its size is missing
    imputed = sub_model(model, "tabular_impute").predict(model.convert_inputs(row), verbose=0)
    assert imputed[0, 0] == np.float32(median)
    scaled = sub_model(model, "tabular_scale").predict(model.convert_inputs(row), verbose=0)
    assert scaled[0, 0] == 0.0


def test_a_gap_in_a_list_of_text_cells_reads_as_missing_as_in_a_frame():
    from kerasopt.tabular import MISSING

    schema = infer_schema(frame())
    as_lists = schema.to_inputs(frame().to_dict("list"))
    assert as_lists["color"][2] == MISSING  # NumPy alone would make it the string "nan"
    for key, cells in schema.to_inputs(frame()).items():
        np.testing.assert_array_equal(as_lists[key], cells)


def test_one_hot_width_counts_categories_gap_and_unseen_bucket():
    model = build_model(infer_schema(frame(), numeric_bins=0), num_classes=2, hidden_units=())
    # red, blue + one out-of-vocabulary slot (which also takes green and the gap, each seen once)
    assert model.get_layer("tabular_lookup_0").output.shape == (None, 3)
    twice = frame().assign(color=["red", "blue", None, "red", "green", "blue", None, "green"])
    # [missing], blue, green, red + the out-of-vocabulary slot
    assert build_model(twice, num_classes=2).get_layer("tabular_lookup_0").output.shape == (None, 5)
    no_gaps = frame().assign(color=["red", "blue", "blue", "red", "green", "blue", "red", "green"])
    assert build_model(no_gaps, num_classes=2).get_layer("tabular_lookup_0").output.shape == (None, 4)
    # numeric block: size, fresh, flag standardized + one indicator (size had gaps)
    assert model.get_layer("tabular_features").output.shape == (None, 3 + 1 + 3)  # no quantile bins asked


def test_many_categories_get_an_embedding():
    n = ONE_HOT_MAX + 4
    data = pd.DataFrame({"city": [f"c{i % n}" for i in range(2 * n)], "x": np.arange(2 * n) % 3})
    model = build_model(data, num_classes=2, hidden_units=())
    embedding = model.get_layer("embeddings")  # the network embeds the one-hot block after "x"
    assert embedding.blocks == [(1, n + 1, embedding_dim(n))]
    assert tuple(embedding.tables[0].shape) == (n + 1, embedding_dim(n))
    assert embedding_dim(20) == 9


def test_missing_indicator_only_for_columns_with_training_gaps():
    data = frame().assign(other=[np.nan, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 2.0])
    model = build_model(data, num_classes=2, hidden_units=())
    indicator = model.get_layer("tabular_missing")
    assert indicator.columns == [0, 3]  # size and other, in the numeric block size, fresh, flag, other
    full = frame().assign(size=np.arange(8.0) % 5)
    names = [layer.name for layer in build_model(full, num_classes=2).layers]
    assert "tabular_missing" not in names
    # a gap first seen at predict time is imputed, without an indicator
    gap = full.iloc[:2].assign(size=[np.nan, np.nan])
    assert np.isfinite(build_model(full, num_classes=2).predict(gap, verbose=0)).all()


def test_layers_compute_exactly():
    x = np.array([[1.0, np.nan], [np.inf, 4.0]], "float32")
    np.testing.assert_array_equal(Impute([7.0, 8.0])(x), [[1.0, 8.0], [7.0, 4.0]])
    np.testing.assert_array_equal(MissingIndicator([1])(x), [[1.0], [0.0]])
    for layer in (Impute([7.0, 8.0]), MissingIndicator([1])):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_unseen_category_goes_to_the_out_of_vocabulary_bucket():
    model = build_model(frame(), num_classes=2, hidden_units=(4,), seed=0)
    rows = pd.concat([frame().iloc[[0]]] * 2, ignore_index=True).assign(color=["purple", "never seen"])
    out = model.predict(rows, verbose=0)
    np.testing.assert_array_equal(out[0], out[1])
    lookup = sub_model(model, "tabular_lookup_0").predict(model.convert_inputs(rows), verbose=0)
    np.testing.assert_array_equal(lookup, [[1, 0, 0]] * 2)  # index 0: the OOV bucket


# ---------------------------------------------------------------------------------------------
# Targets


@pytest.mark.parametrize("y, task", [
    (["a", "b", "a"], "classification"),
    ([True, False, True], "classification"),
    ([1, 2, 3, 2], "classification"),
    ([-1.0, 1.0, 1.0], "classification"),
    (list(range(20)), "classification"),
    (list(range(21)), "regression"),
    ([0.5, 1.0, 2.0], "regression"),
    ([1.0, np.nan, 2.0], "classification"),
    (pd.Series(["x", "y"], dtype="category"), "classification"),
])
def test_detect_task(y, task):
    assert detect_task(y) == task


@pytest.mark.parametrize("labels, classes", [
    (["cat", "dog", "cat", "emu", "dog", "emu"], ["cat", "dog", "emu"]),
    ([3, 1, 2, 1, 2, 3], [1, 2, 3]),
    ([-1, 1, 1, -1], [-1, 1]),
    ([True, False, False, True], [False, True]),
    ([2.0, 5.0, 5.0, 2.0], [2, 5]),
    (np.array([7, 9, 9, 7], dtype="int64"), [7, 9]),
])
def test_label_round_trip(labels, classes):
    encoded, info = encode_target(labels)
    assert info.task == "classification" and info.classes == classes
    assert [type(c) for c in info.classes] == [type(c) for c in classes]
    info = TargetInfo.from_config(json.loads(json.dumps(info.get_config())))
    assert encoded.dtype == np.int32
    decoded = info.decode(np.eye(len(classes))[encoded])
    assert decoded.tolist() == [c.item() if hasattr(c, "item") else c for c in labels]


def test_regression_target_is_kept_as_values_with_its_statistics():
    y = pd.Series([1.0, 2.5, 4.0, 0.5], name="price")
    encoded, info = encode_target(y)
    assert (info.task, info.name, info.classes) == ("regression", "price", None)
    assert info.mean == pytest.approx(2.0) and info.std == pytest.approx(np.std(y))
    np.testing.assert_array_equal(encoded, y.to_numpy("float32"))


def test_regression_output_is_restored_to_the_target_scale():
    data = frame()
    y = np.array([10.0, 12.0, 14.0, 11.0, 13.0, 15.0, 9.0, 12.0])
    encoded, info = encode_target(y, task="regression")
    model = build_model(data, target=info, hidden_units=(), seed=0)
    out = model.get_layer("output")
    out.set_weights([np.zeros_like(w) for w in out.get_weights()])
    np.testing.assert_allclose(model.predict_labels(data), np.full(8, y.mean()), rtol=1e-6)
    # the loss is the squared error divided by the training variance
    out.set_weights([np.zeros_like(out.get_weights()[0]), np.ones(1, "float32")])
    prediction = model.predict(data, verbose=0)[:, 0]
    expected = np.mean((prediction - y) ** 2) / y.var()
    result = model.evaluate(data, encoded, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean((prediction - y) ** 2)), rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Bad input: one clear line each


@pytest.mark.parametrize("call, message", [
    (lambda: infer_schema(pd.DataFrame({"n": ["12", "15", "?"], "x": [1.0, 2.0, 1.0]})),
     "Column 'n' mixes numbers and text, e.g. '?' in data row 3 (file line 4) (1 of 3 cells are text). "
     "Declare it: --numeric n reads its text cells as missing, --categorical n reads every value as a "
     "category (argument or config key `numeric` / `categorical`)."),
    (lambda: infer_schema(pd.DataFrame({"a": [1.0, 2.0]}), categorical=["b", "c"]),
     "`categorical` column(s) 'b', 'c' not found. Available columns: a."),
    (lambda: infer_schema(pd.DataFrame({"colour": ["r", "g"], "x": [1.0, 2.0]}), drop=["color"]),
     "`drop` column(s) 'color' not found. Did you mean 'colour'? Available columns: colour, x."),
    (lambda: infer_schema(pd.DataFrame({"a": [1.0, 2.0]}), drop=["a"]),
     "No usable feature column: every column was dropped (all declared in drop)."),
    (lambda: encode_target(pd.Series(["a", "a", "b", "b", "c"], name="kind")),
     "Target column 'kind' has a single row of class 'c'; every class needs at least two rows. "
     "Remove that row or merge the class with another."),
    (lambda: encode_target(pd.Series([1.0, 2.0, np.nan], name="y")),
     "Target column 'y' has a missing value in data row 3 (file line 4). Remove the rows without a "
     "target, or fill them."),
    (lambda: encode_target(["a", "a"]),
     "The target holds one class ('a'); classification needs at least two."),
    (lambda: encode_target([1.0, 2.0], task="ordinal"), None),
])
def test_bad_input_gets_one_line(call, message):
    with pytest.raises(ValueError) as info:
        call()
    if message is None:
        assert str(info.value) == ("Invalid value for `task`: expected 'classification', 'regression' or "
                                   "None. Received: task='ordinal'")
    else:
        assert isinstance(info.value, DataError) and str(info.value) == message


@pytest.mark.parametrize("cells, listed", [
    (["f", "4", "r", "f", "4", "r", "f", "f"], "f, 4, r"),  # mostly text (mpg's drv)
    (["4", "4", "4", "4", "4", "f", "r", "f"], "4, f, r"),  # few values, most of them text: codes
    (["S", "M", "L", "10", "12", "S", "M", "10"], "S, M, L, 10, ..."),  # sizes: as many text values as numbers
])
def test_numbers_and_text_that_read_as_categories_are_categorical_with_a_note(cells, listed):
    schema = infer_schema(pd.DataFrame({"drv": cells, "x": [1.0, 2.0] * 4}))
    column = schema.features[0]
    assert (column.name, column.kind) == ("drv", "categorical")
    assert sorted(column.vocabulary) == sorted({c for c in cells if cells.count(c) >= 2})
    assert schema.notes == [f"Column 'drv' mixes numbers and text ({listed}): read as categorical (--numeric drv "
                            "reads its text cells as missing instead)."]


@pytest.mark.parametrize("cells, stray, row, count", [
    (["12", "15", "?", "12", "15", "13", "12", "14"], "?", 3, 1),  # a numeric column with a missing marker
    (["0", "1", "2", "3", "several", "0", "1", "2"], "several", 5, 1),  # one word among many distinct numbers
    ([str(i) for i in range(20)] + ["n/k", "n/k"], "n/k", 21, 2),  # more distinct values than codes have
])
def test_numbers_with_stray_text_are_refused_with_the_exact_flags(cells, stray, row, count):
    name = "max speed"
    with pytest.raises(DataError) as info:
        infer_schema(pd.DataFrame({name: cells, "x": np.arange(len(cells)) % 2}))
    assert str(info.value) == (
        f"Column {name!r} mixes numbers and text, e.g. {stray!r} in data row {row} (file line {row + 1}) "
        f"({count} of {len(cells)} cells are text). Declare it: --numeric 'max speed' reads its text cells as "
        "missing, --categorical 'max speed' reads every value as a category (argument or config key `numeric` "
        "/ `categorical`).")


def test_an_infinite_regression_target_is_refused_with_its_row():
    with pytest.raises(DataError, match=r"^Target column 'y' has an infinite value in data row 2 \(file line 3\); "):
        encode_target(pd.Series([1.5, np.inf, 2.5], name="y"), task="regression")


def test_infinite_training_values_are_gaps_with_a_note():
    schema = infer_schema(pd.DataFrame({"c": [1.0, np.inf, 3.0, -np.inf, 5.0], "x": [0, 1, 0, 1, 1]}))
    column = schema.features[0]
    assert column.has_gaps and column.mean == 3.0 and column.std == pytest.approx(np.std([1.0, 3.0, 5.0]))
    assert schema.notes == ["Column 'c': read 2 infinite value(s) as missing."]


def test_text_and_infinite_values_at_predict_time_are_read_as_missing_with_one_note_each():
    schema = infer_schema(frame())
    notes = []
    rows = frame().assign(size=[1, "big", np.inf, "?", 4, -np.inf, 6, "big"], fresh=[1, 0, "x", 1, 0, 1, 0, 1])
    inputs = schema.to_inputs(rows, notes=notes)
    assert np.isnan(inputs["size"]).tolist() == [False, True, True, True, False, True, False, True]
    assert np.isnan(inputs["fresh"]).tolist() == [False, False, True] + [False] * 5
    assert notes == [
        "Read 4 cell(s) that are not numbers as missing (the model fills them with the training median (a 0/1 column's mean)), by "
        "numeric column: 'size' 3 (e.g. 'big'), 'fresh' 1 (e.g. 'x').",
        "Read 2 infinite value(s) as missing (the model fills them with the training median (a 0/1 column's mean)), by column: 'size' 2."]
    assert schema.to_inputs(frame(), notes=notes) and len(notes) == 2  # clean rows: no note


# ---------------------------------------------------------------------------------------------
# Model and training


def test_tabular_model_predicts_labels_from_raw_rows_and_trains_through_train():
    data = pd.concat([frame()] * 4, ignore_index=True)
    labels = pd.Series(np.where(data["flag"] == 1, "yes", "no"), name="answer")
    _, info = encode_target(labels)
    model = build_model(data, target=info, hidden_units=(4,), seed=0)
    assert isinstance(model, TabularModel) and model.classes == ["no", "yes"]
    assert sorted(model.input) == ["color", "flag", "fresh", "size"]
    result = train(model, data, labels, validation_split=0.25, test_data=(data, labels), epochs=2, seed=0)
    assert set(result.metrics["validation"]) == {"loss", "accuracy", "log_loss", "auc"}
    probabilities = model.predict_proba(data)
    assert probabilities.shape == (32, 2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(data)), probabilities, rtol=1e-5, atol=1e-7)
    labels_out = model.predict_labels(data.to_dict("list"))
    np.testing.assert_array_equal(labels_out, np.array(["no", "yes"])[probabilities.argmax(1)])


def test_array_and_int_inputs_still_build_plain_models():
    for inputs in (3, np.ones((4, 3), "float32")):
        model = build_model(inputs, num_classes=2)
        assert not isinstance(model, TabularModel) and model.input_shape == (None, 3)
    with pytest.raises(ValueError, match="`target` applies to tables"):
        build_model(3, target=TargetInfo("regression", mean=0.0, std=1.0))


# A saved TabularModel (a gap, a category never seen) loads in a fresh process and predicts identically:
# tests/test_saving.py.


def test_a_text_column_of_one_off_values_is_dropped_with_a_note():
    data = pd.DataFrame({"note": ["a", "b", None, "c"], "x": [1.0, 2.0, 3.0, 4.5]})
    schema = infer_schema(data)
    assert schema.names == ["x"]
    assert schema.notes == ["Dropped column 'note': every category occurs fewer than 2 times."]

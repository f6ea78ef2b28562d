"""The calls a Keras user guesses: `build_model(X, y)`, `fit`/`train`/`evaluate` with the original labels."""

import inspect

import keras
import numpy as np
import pandas as pd
import pytest

import kerasopt
from kerasopt import spec
from kerasopt.errors import ArgumentError, DataError

SPECIES = np.array(["Adelie", "Chinstrap", "Gentoo"])


@pytest.fixture
def penguins():
    """A tiny 3-class frame with text labels, a gap and a text column."""
    rng = np.random.default_rng(0)
    n = 30
    species = SPECIES[np.arange(n) % 3]
    frame = pd.DataFrame({"bill": rng.normal(40, 5, n) + 5 * (np.arange(n) % 3),
                          "island": rng.choice(["Biscoe", "Dream"], n)})
    frame.loc[2, "bill"] = np.nan
    return frame, pd.Series(species, name="species")


@pytest.fixture
def housing():
    """A tiny regression frame whose target is far from 0 and 1 (mean 200, spread 50)."""
    rng = np.random.default_rng(1)
    n = 30
    frame = pd.DataFrame({"rooms": rng.normal(6, 1, n), "river": rng.choice(["yes", "no"], n)})
    return frame, pd.Series(200 + 50 * (frame["rooms"] - 6) + rng.normal(0, 5, n), name="price")


def small(x, y=None, **kwargs):
    return kerasopt.build_model(x, y, hidden_units=(4,), seed=0, **kwargs)


def test_build_model_learns_the_classes_from_y(penguins):
    frame, y = penguins
    model = small(frame, y)
    assert model.output_shape == (None, 3)
    assert model.classes == list(SPECIES)
    assert model.target.name == "species"


def test_build_model_without_labels_or_num_classes_refuses_to_guess(penguins):
    frame, _ = penguins
    with pytest.raises(ArgumentError, match="pass the training labels") as info:
        kerasopt.build_model(frame)
    assert "\n" not in str(info.value)
    assert kerasopt.build_model(frame, num_classes=3).output_shape == (None, 3)
    assert kerasopt.build_model(5, num_classes=None).output_shape == (None, 1)


def test_build_model_errors_are_one_short_line(penguins):
    frame, y = penguins
    with pytest.raises(ArgumentError) as info:
        kerasopt.build_model(frame, y[:-1])
    assert str(info.value) == ("Invalid value for `y`: expected one label per row of `inputs` (30 rows). "
                               "Received: y=<pandas.Series of shape (29,)>")
    with pytest.raises(ArgumentError, match="holds 3 classes. Received: num_classes=2"):
        kerasopt.build_model(frame, y, num_classes=2)
    with pytest.raises(ArgumentError, match=r"Received: target=<pandas.Series of shape \(30,\)>$"):
        kerasopt.build_model(frame, target=y)
    with pytest.raises(ArgumentError, match="Pass the features as a pandas.DataFrame"):
        kerasopt.build_model(frame.to_numpy()[:, :1].astype("float32"), y)


def test_array_model_reads_num_classes_from_class_indices():
    x = np.random.default_rng(0).normal(size=(12, 2)).astype("float32")
    assert kerasopt.build_model(x, np.arange(12) % 4).output_shape == (None, 4)
    assert kerasopt.build_model(x, np.arange(12) % 4, num_classes=6).output_shape == (None, 6)
    assert kerasopt.build_model(x, x[:, 0]).output_shape == (None, 1)  # continuous: regression
    with pytest.raises(ArgumentError, match="class index 3. Received: num_classes=3"):
        kerasopt.build_model(x, np.arange(12) % 4, num_classes=3)


def _indices(model, frame, codes):
    """What plain Keras computes on the model's own inputs and class indices."""
    return keras.Model.evaluate(model, model.convert_inputs(frame), np.asarray(codes), verbose=0, return_dict=True)


def test_fit_evaluate_and_train_take_text_labels(penguins):
    frame, y = penguins
    model = small(frame, y)
    model.fit(frame, y, validation_data=(frame, y), epochs=1, verbose=0)
    result = kerasopt.train(model, frame, y, validation_split=0.2, epochs=2, seed=0)
    assert result.epochs_run == 2 and set(result.metrics) == {"train", "validation"}
    codes = np.searchsorted(SPECIES, y)
    assert model.evaluate(frame, y, verbose=0, return_dict=True) == pytest.approx(_indices(model, frame, codes))
    assert kerasopt.training.evaluate(model, frame, y) == pytest.approx(_indices(model, frame, codes))
    assert set(model.predict_labels(frame)) <= set(SPECIES)


def test_labels_one_to_k_are_labels_not_indices(penguins):
    frame, _ = penguins
    y = pd.Series(np.arange(30) % 3 + 1)  # 1, 2, 3: class indices 0, 1, 2
    model = small(frame, y)
    assert model.classes == [1, 2, 3]
    kerasopt.train(model, frame, y, epochs=1, seed=0)
    assert model.evaluate(frame, y, verbose=0, return_dict=True) == pytest.approx(_indices(model, frame, y - 1))
    with pytest.raises(DataError, match=r"the label 4, which is not one of the classes \[1, 2, 3\]\. The model takes "
                                        "its original labels, not class indices"):
        model.fit(frame, y + 1, epochs=1, verbose=0)


def test_regression_takes_raw_target_values(housing):
    frame, y = housing
    model = small(frame, y)
    assert model.output_shape == (None, 1) and model.classes is None
    # the model standardizes the target inside: its statistics come from y
    assert (model.target.mean, model.target.std) == pytest.approx((y.mean(), y.std(ddof=0)))
    model.fit(frame, y, epochs=1, verbose=0)
    kerasopt.train(model, frame, y, epochs=2, seed=0)
    predicted = model.predict_labels(frame)
    scores = model.evaluate(frame, y, verbose=0, return_dict=True)
    assert scores["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - y) ** 2)), rel=1e-4)
    # integer targets read as regression with num_classes=None
    assert small(frame, y.round().astype(int), num_classes=None).classes is None


def test_target_labels_inverts_encode(penguins):
    _, y = penguins
    encoded, target = kerasopt.tabular.encode_target(y)
    assert list(target.labels(encoded)) == list(y)


def test_regression_target_standardizes_and_scales_scores_back():
    _, target = kerasopt.tabular.encode_target(pd.Series([1.0, 3.0, 5.0, 7.0]), task="regression")
    std = 5.0 ** 0.5
    assert (target.mean, target.std) == (4.0, std)
    standardized = target.standardized([4.0, 7.0])
    assert standardized.tolist() == [0.0, 3.0 / std]
    assert target.unstandardized(standardized).tolist() == pytest.approx([4.0, 7.0], abs=1e-12)
    factors = {name: target.units_factor(name) for name in ("mse", "val_mse", "val_mae", "rmse", "r2", "loss")}
    assert factors == {"mse": std ** 2, "val_mse": std ** 2, "val_mae": std, "rmse": std, "r2": 1.0, "loss": 1.0}
    _, labels = kerasopt.tabular.encode_target(pd.Series(["a", "b", "a", "b"]))
    assert labels.units_factor("val_mse") == 1.0  # a classifier's scores need no scaling


def test_train_and_estimators_default_to_the_specification():
    parameters = inspect.signature(kerasopt.train).parameters
    for name in ("epochs", "batch_size", "patience", "reduce_lr_on_plateau", "class_weight"):
        assert parameters[name].default == spec.FIELD[name].default, name
    params = kerasopt.DenseClassifier().get_params()
    for name in ("epochs", "batch_size", "patience", "bagging", "validation_split", "refit", "l1", "seed"):
        assert params[name] == spec.FIELD[name].default, name


def test_train_takes_keras_callbacks_only(penguins):
    frame, y = penguins
    with pytest.raises(ArgumentError, match="expected a list of keras.callbacks.Callback"):
        kerasopt.train(small(frame, y), frame, y, epochs=1, callbacks=["log.csv"])


def test_text_labels_for_a_model_without_labels_are_one_line(penguins):
    frame, y = penguins
    model = small(frame, num_classes=3)  # built without y: it has no labels to encode
    with pytest.raises(ArgumentError, match=r"`y` holds text labels.*build_model\(X, y\)"):
        kerasopt.train(model, frame, y, epochs=1)

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from kerasopt import DenseClassifier, DenseRegressor
from kerasopt.config import DEFAULTS

# Tiny networks and two epochs: the checks test the scikit-learn contract, not accuracy.
# Ten epochs reach the score thresholds of the full checks (`check_classifiers_train`: accuracy > 0.83).
SMALL = {"hidden_units": (8,), "epochs": 10, "validation_split": 0.0, "batch_size": 16}
FAST = {**SMALL, "epochs": 2}


# scikit-learn's API checks (`legacy=False`) run by default; its full set (about 50 checks per
# estimator, each fitting several networks) is slow and runs with `-m slow`.
@parametrize_with_checks([DenseClassifier(**FAST), DenseRegressor(**FAST)], legacy=False)
def test_scikit_learn_api_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks([DenseClassifier(**SMALL), DenseRegressor(**SMALL)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n)),
        "color": rng.choice(["red", "blue", None], n),
        "count": rng.integers(0, 5, n),
    })
    labels = np.where(frame["size"].fillna(0) + (frame["color"] == "red") > 0.3, "yes", "no")
    return frame, labels


def test_defaults_come_from_the_specification():
    params = DenseClassifier().get_params()
    for key in ("activation", "l1", "l2", "dropout", "learning_rate", "schedule", "epochs", "batch_size",
                "patience", "validation_split", "refit", "seed", "label_smoothing"):
        assert params[key] == DEFAULTS[key], key
    assert params["hidden_units"] is DEFAULTS["hidden_units"] is None  # sized to the training rows
    assert set(DenseRegressor().get_params()) == set(params) - {"class_weight", "label_smoothing"}


@pytest.mark.parametrize("schedule", [DEFAULTS["schedule"], "step", None])
def test_the_configuration_is_resolved_as_a_configuration_file_is(schedule):
    from kerasopt import config

    assert DenseRegressor(schedule=schedule)._config() == config.resolve({"schedule": schedule})


def test_hidden_units_may_be_numpy_values():
    for units, expected in ((np.array([8, 4]), [8, 4]), (np.int64(8), [8]), (8, [8]), ((8, 4), [8, 4])):
        assert DenseRegressor(hidden_units=units)._config()["hidden_units"] == expected


@pytest.mark.parametrize("cls", [DenseClassifier, DenseRegressor])
def test_the_docstring_documents_every_constructor_argument_in_order(cls):
    import inspect
    import re

    from kerasopt import spec

    block = cls.__doc__.split("\n    Args:\n", 1)[1].split("\n\n", 1)[0]
    entries = re.split(r"\n(?! {12})", block)  # an entry's lines after its first are indented further
    assert all(re.fullmatch(r" {8}\w+: \S.*(\n {12}\S.*)*", entry) for entry in entries)
    names = [entry.split(":")[0].strip() for entry in entries]
    assert names == list(inspect.signature(cls.__init__).parameters)[1:]
    parameters = inspect.signature(cls.__init__).parameters
    for name, entry in zip(names, entries):  # an option's entry is its text, as Python writes it
        if name in spec.FIELD:
            text = spec.describe_python(spec.FIELD[name], parameters[name].default)
            assert " ".join(entry.split()).startswith(f"{name}: {text}.")
    assert "--" not in cls.__doc__  # no command-line flags


def test_classifier_on_a_mixed_frame_keeps_labels_and_names():
    frame, labels = table()
    clf = DenseClassifier(**{**FAST, "validation_split": 0.25, "patience": 1}).fit(frame, labels)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.feature_names_in_.tolist() == ["size", "color", "count"] and clf.n_features_in_ == 3
    assert 1 <= clf.best_epoch_ <= FAST["epochs"]
    proba = clf.predict_proba(frame)
    assert proba.shape == (40, 2)
    np.testing.assert_array_equal(clf.predict(frame), clf.classes_[proba.argmax(1)])
    assert clf.score(frame, labels) == np.mean(clf.predict(frame) == labels)


def test_pickle_and_joblib_predict_identically(tmp_path):
    frame, labels = table()
    clf = DenseClassifier(**FAST).fit(frame, labels)
    expected = clf.predict_proba(frame)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(frame), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    restored = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(restored.predict_proba(frame), expected)
    assert restored.classes_.tolist() == ["no", "yes"]


def test_pipeline_cross_val_score_and_grid_search():
    frame, labels = table(48)
    pipe = make_pipeline(FunctionTransformer(lambda f: f.assign(size=f["size"] * 2)), DenseClassifier(**FAST))
    scores = cross_val_score(pipe, frame, labels, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    one_split = [(np.arange(0, 48, 2), np.arange(1, 48, 2))]
    search = GridSearchCV(pipe, {"denseclassifier__l1": [0.0, 0.01]}, cv=one_split, refit=False)
    search.fit(frame, labels)
    assert search.best_params_["denseclassifier__l1"] in (0.0, 0.01)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("bagging", [0, 5], ids=["one-network", "bagged"])
def test_regressor_restores_the_scale_of_the_target(bagging):
    frame, _ = table()
    y = 100.0 + 10.0 * frame["count"].to_numpy()
    reg = DenseRegressor(**{**FAST, "hidden_units": (), "bagging": bagging}).fit(frame, y)
    prediction = reg.predict(frame)
    assert prediction.dtype == np.float64 and prediction.shape == (40,)
    # the last Dense layer of every member (one without bagging) predicts the standardized target: zero it,
    # get the mean
    members = reg.model_.get_layer(f"{reg.model_.name}_members")
    output = members.get_layer("kerasopt_stacked").get_layer("output")
    output.set_weights([np.zeros_like(w) for w in output.get_weights()])
    np.testing.assert_allclose(reg.predict(frame), np.full(40, y.mean()), rtol=1e-6)


def test_declared_categorical_column():
    frame, labels = table()
    clf = DenseClassifier(**FAST, categorical=["count"]).fit(frame, labels)
    assert [c.kind for c in clf.model_.schema.features] == ["numeric", "categorical", "categorical"]

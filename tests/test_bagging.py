"""Bagging: K networks on K folds, out-of-fold estimate, one averaging model."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error

from kerasopt import bagging, config, data, members, stacking
from kerasopt.cli import main
from kerasopt.errors import ArgumentError

FAST = {"epochs": 3, "hidden_units": [8], "batch_size": 16, "seed": 0}


@pytest.mark.parametrize("classification", [True, False])
def test_fold_rows_hold_out_every_row_exactly_once(classification):
    labels = np.repeat([0, 1, 2], [12, 9, 6])
    train, held_out = bagging.fold_rows(labels, 3, seed=0, classification=classification)
    assert len(train) == len(held_out) == 3
    np.testing.assert_array_equal(np.sort(np.concatenate(held_out)), np.arange(len(labels)))
    for tr, va in zip(train, held_out):
        np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), np.arange(len(labels)))
        if classification:  # stratified: each fold holds a third of every class
            np.testing.assert_array_equal(np.bincount(labels[va]), [4, 3, 2])


def test_fold_rows_stratify_a_rare_class_as_far_as_it_goes():
    labels = np.array([0] * 10 + [1] * 2)
    train, held_out = bagging.fold_rows(labels, 3, seed=0, classification=True)
    np.testing.assert_array_equal(np.sort(np.concatenate(held_out)), np.arange(12))
    assert [np.bincount(labels[h], minlength=2).tolist() for h in held_out] == [[4, 0], [3, 1], [3, 1]]


def test_fold_rows_need_two_rows_per_fold():
    with pytest.raises(ArgumentError, match="5 members need at least 10 rows"):
        bagging.fold_rows(np.zeros(9), 5, seed=0, classification=False)


@pytest.mark.parametrize("value, match", [(1, "expected 0 \\(one network\\) or a number of networks >= 2"),
                                          (-2, "expected"), ("3", "expected"), (2.5, "expected")])
def test_bagging_option_rejects_bad_values(value, match):
    with pytest.raises(ArgumentError, match=f"Invalid value for `bagging`: {match}"):
        config.resolve(bagging=value)


def test_sample_weight_scales_a_members_gradient_like_keras():
    # Twice the loss is twice the gradient: plain SGD with weight 2 takes the steps of learning rate x 2.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    rows = [np.arange(30), np.arange(10, 40)]
    weights = []
    for rate, sample_weight in ((0.1, None), (0.05, np.full(40, 2.0))):
        model = stacking.build_stacked_model(3, members=2, hidden_units=(4,), l1=0.0, optimizer="sgd",
                                             learning_rate=rate, seed=0, jit_compile=False)
        stacking.train_stacked(model, x, y, rows, epochs=2, batch_size=8, seed=0, sample_weight=sample_weight)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sample_weight_must_have_one_weight_per_row():
    x = np.zeros((10, 2), "float32")
    model = stacking.build_stacked_model(2, members=1, hidden_units=(2,), jit_compile=False)
    with pytest.raises(ArgumentError, match="Invalid value for `sample_weight`"):
        stacking.train_stacked(model, x, np.zeros(10, "int32"), [np.arange(10)], sample_weight=np.ones(9))


@pytest.fixture(scope="module")
def bagged():
    frame = data.make_phone_data(120, seed=3)
    labels = frame.pop("price_range").map({0: "budget", 1: "mid", 2: "upper", 3: "premium"})
    frame["brand"] = np.where(frame["battery_power"] > 1200, "acme", "zeta")
    model, record = bagging.train_bagged(config.resolve(bagging=3, **FAST), frame, labels)
    return frame, labels, model, record


def test_train_bagged_returns_an_averaging_table_model_and_out_of_fold_scores(bagged):
    frame, labels, model, record = bagged
    assert model.classes == ["budget", "mid", "premium", "upper"]
    assert set(model.predict_labels(frame.iloc[:20])) <= set(model.classes)
    assert record["members"] == 3 and len(record["member_best_epochs"]) == 3
    assert record["epochs_run"] == 3 and len(record["history"]["val_log_loss"]) == 3
    assert len(record["history"]["val_objective"]) == 3 and "val_loss" not in record["history"]
    assert record["validation"]["rows"] == len(frame)  # every row predicted once, by the member that held it out
    assert sum(map(sum, record["validation"]["confusion_matrix"])) == len(frame)


def test_out_of_fold_scores_are_each_members_scores_on_the_fold_it_held_out(bagged):
    frame, labels, model, record = bagged
    # Rebuilt from the averaging model's members: the last layer runs them and averages their outputs.
    members = model.layers[-1]
    per_member = keras.Model(members.inputs, members.layers[-1].input)  # (rows, K, classes) before averaging
    proba = np.asarray(per_member.predict(stacking.encode_table(model.schema, frame), verbose=0), "float64")
    _, held_out = bagging.fold_rows(model.target.encode(labels), 3, seed=FAST["seed"], classification=True)
    out_of_fold = np.zeros((len(frame), len(model.classes)))
    for k, rows in enumerate(held_out):
        out_of_fold[rows] = proba[rows, k]
    out_of_fold /= out_of_fold.sum(axis=1, keepdims=True)
    predicted = np.asarray(model.classes)[out_of_fold.argmax(axis=1)]
    assert record["validation"]["accuracy"] == accuracy_score(labels, predicted)
    assert record["validation"]["log_loss"] == pytest.approx(log_loss(labels, out_of_fold, labels=model.classes),
                                                             rel=1e-6)
    # not the averaging model's score on rows its members trained on
    assert record["validation"]["accuracy"] != accuracy_score(labels, model.predict_labels(frame))


def test_train_bagged_is_repeatable_with_a_seed(bagged):
    frame, labels, model, _ = bagged
    again, _ = bagging.train_bagged(config.resolve(bagging=3, **FAST), frame, labels)
    np.testing.assert_array_equal(again.predict(frame, verbose=0), model.predict(frame, verbose=0))


def test_train_bagged_refuses_reduce_lr_on_plateau():
    frame = pd.DataFrame({"a": np.arange(20.0)})
    with pytest.raises(ArgumentError, match="`reduce_lr_on_plateau` is not supported with bagging"):
        bagging.train_bagged(config.resolve(bagging=2, reduce_lr_on_plateau=True, schedule="constant"), frame,
                             np.arange(20) % 2)


def test_cli_bagging_run_and_prediction(tmp_path):  # --cv with bagging (the default): tests/test_cli.py
    csv = tmp_path / "phone.csv"
    data.make_phone_data(150, seed=3).to_csv(csv, index=False)
    out = tmp_path / "run"
    flags = ["--target", "price_range", "--epochs", "3", "--hidden-units", "8", "--batch-size", "16"]
    assert main(["train", "--data", str(csv), "--out", str(out), "--bagging", "3", *flags]) == 0
    written = json.loads((out / "config.json").read_text())
    assert written["bagging"] == 3 and len(written["derived"]["member_best_epochs"]) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["rows"] == 120 and "out-of-fold" in metrics["note"]
    assert main(["predict", "--model", str(out / "model.keras"), "--data", str(csv),
                 "--out", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 150


def test_member_mean_keeps_one_keras_mean_per_member_over_its_rows():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=(6, 2)).astype("float32")  # (rows, K, classes)
    labels = rng.integers(0, 3, size=(6, 2))
    mask = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1], [1, 1]], "float32")  # member 1 has 4 rows
    scores = {}
    for name in ("log_loss", "accuracy"):
        metric = stacking.training.MemberMean(name, members=2)
        for half in (slice(0, 3), slice(3, 6)):  # a running mean over two batches
            metric.update_state(labels[half, :, None], proba[half], sample_weight=mask[half])
        scores[name] = np.asarray(metric.result())
    for k in range(2):
        rows = mask[:, k] > 0
        assert scores["log_loss"][k] == pytest.approx(log_loss(labels[rows, k], proba[rows, k], labels=[0, 1, 2]),
                                                      rel=1e-5)
        assert scores["accuracy"][k] == pytest.approx(accuracy_score(labels[rows, k], proba[rows, k].argmax(1)))
    values, predicted = rng.normal(size=(6, 2, 1)), rng.normal(size=(6, 2, 1)).astype("float32")
    metric = stacking.training.MemberMean("mse", members=2)
    metric.update_state(values, predicted, sample_weight=mask)
    for k in range(2):
        rows = mask[:, k] > 0
        assert np.asarray(metric.result())[k] == pytest.approx(
            mean_squared_error(values[rows, k, 0], predicted[rows, k, 0]), rel=1e-5)


@pytest.mark.parametrize("regression", [False, True])
def test_members_validation_scores_are_each_members_scores_on_its_own_rows(regression):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3)).astype("float32")
    y = (x[:, 0] + x[:, 1]).astype("float32") if regression else (x[:, 0] > 0).astype("int32")
    train, held = [np.arange(40), np.arange(20, 60)], [np.arange(40, 60), np.arange(0, 13)]
    model = stacking.build_stacked_model(3, members=2, hidden_units=(4,), num_classes=None if regression else 2,
                                         l1=0.0, l2=0.01, seed=0, jit_compile=False)
    result = stacking.train_stacked(model, x, y, train, held, epochs=2, batch_size=8, seed=0, early_stopping=False)
    outputs = stacking.predict_members(model, x).astype("float64")
    if not regression:
        outputs /= outputs.sum(axis=-1, keepdims=True)  # float32 probabilities, summing to 1 in float64
    penalty = 0.01 * sum(np.square(w.numpy()).sum(axis=(1, 2)) for w in model.weights if w.path.endswith("kernel"))
    np.testing.assert_allclose(result.validation["penalty"], penalty, rtol=1e-4)
    for k, rows in enumerate(held):
        if regression:
            expected = {"val_mse": mean_squared_error(y[rows], outputs[rows, k, 0]),
                        "val_mae": mean_absolute_error(y[rows], outputs[rows, k, 0])}
        else:
            expected = {"val_log_loss": log_loss(y[rows], outputs[rows, k], labels=[0, 1]),
                        "val_accuracy": accuracy_score(y[rows], outputs[rows, k].argmax(1))}
        data_loss = expected["val_mse" if regression else "val_log_loss"]
        expected["val_loss"] = data_loss + penalty[k]
        for name, value in expected.items():
            assert result.validation[name][k] == pytest.approx(value, rel=1e-4), name
            assert result.history[name][-1][k] == pytest.approx(value, rel=1e-4), name  # no early stopping


def test_one_network_is_one_member_scored_on_its_validation_rows():
    frame = data.make_phone_data(120, seed=3)
    labels = frame.pop("price_range")
    train, held = np.arange(90), np.arange(90, 120)
    model, record = members.train_members(config.resolve(**FAST), frame, labels, [train], [held])
    assert record["members"] == 1 and record["best_epoch"] == record["member_best_epochs"][0]
    proba = model.predict_proba(frame.iloc[held])  # the saved model is its one member
    assert record["validation"]["rows"] == 30
    assert record["validation"]["accuracy"] == accuracy_score(labels.iloc[held], model.predict_labels(frame.iloc[held]))
    assert record["validation"]["log_loss"] == pytest.approx(log_loss(labels.iloc[held], proba, labels=model.classes),
                                                             rel=1e-5)
    assert record["train"]["log_loss"] == pytest.approx(
        log_loss(labels.iloc[train], model.predict_proba(frame.iloc[train]), labels=model.classes), rel=1e-4)


def test_one_network_halves_a_constant_rate_on_a_plateau():
    frame = data.make_phone_data(60, seed=3)
    labels = frame.pop("price_range")
    # At a rate of 1e-7 the validation loss moves by far less than ReduceLROnPlateau's min_delta (1e-4): after
    # half the patience (2 epochs) without improvement the rate halves. Early stopping would need 4.
    settings = config.resolve(**{**FAST, "epochs": 4, "patience": 4}, schedule="constant", learning_rate=1e-7,
                              reduce_lr_on_plateau=True)
    _, record = members.train_members(settings, frame, labels, [np.arange(45)], [np.arange(45, 60)])
    np.testing.assert_allclose(record["history"]["learning_rate"], [1e-7, 1e-7, 1e-7, 5e-8], rtol=1e-6)

"""Label smoothing of integer labels: the formula, its shapes, its configuration and where it applies."""

import keras
import numpy as np
import pytest

import kerasopt
from kerasopt.errors import ArgumentError
from kerasopt.losses import SmoothedSparseCategoricalCrossentropy, default_loss

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.25, 0.5, 0.25]], dtype="float32")
LABELS = np.array([0, 2, 1])


def _by_formula(labels, probs, s):
    """Mean over rows of -sum_k t_k log p_k, with t = (1 - s) one_hot + s / C."""
    classes = probs.shape[-1]
    targets = (1 - s) * np.eye(classes)[labels] + s / classes
    return float(np.mean(-(targets * np.log(probs)).sum(axis=-1)))


@pytest.mark.parametrize("s", [0.0, 0.1, 0.3])
def test_loss_is_the_cross_entropy_against_smoothed_targets(s):
    got = float(SmoothedSparseCategoricalCrossentropy(s)(LABELS, PROBS))
    assert got == pytest.approx(_by_formula(LABELS, PROBS, s), rel=1e-5)


def test_no_smoothing_is_keras_sparse_cross_entropy_and_labels_may_have_a_trailing_axis():
    plain = float(keras.losses.SparseCategoricalCrossentropy()(LABELS, PROBS))
    assert float(SmoothedSparseCategoricalCrossentropy(0.0)(LABELS[:, None], PROBS)) == pytest.approx(plain, rel=1e-6)
    assert default_loss(3) == "sparse_categorical_crossentropy" and default_loss(None, 0.1) == "mse"
    assert type(default_loss(3, reduction="sum")) is keras.losses.SparseCategoricalCrossentropy
    assert type(default_loss(None, reduction="sum")) is keras.losses.MeanSquaredError
    smoothed = default_loss(3, 0.1, reduction="sum")
    assert isinstance(smoothed, SmoothedSparseCategoricalCrossentropy) and smoothed.reduction == "sum"


def test_stacked_labels_are_scored_per_member():
    """Labels (batch, K) against predictions (batch, K, C), summed as a stacked model sums its members."""
    probs = np.stack([PROBS, PROBS[::-1]], axis=1)  # (3, 2, 3)
    labels = np.stack([LABELS, LABELS], axis=1)
    got = float(SmoothedSparseCategoricalCrossentropy(0.2, reduction="sum")(labels, probs))
    expected = 3 * (_by_formula(LABELS, PROBS, 0.2) + _by_formula(LABELS, PROBS[::-1], 0.2))
    assert got == pytest.approx(expected, rel=1e-5)


def test_config_round_trip_and_lookup_by_registered_name():
    loss = SmoothedSparseCategoricalCrossentropy(0.25, reduction="sum")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(again) is SmoothedSparseCategoricalCrossentropy
    assert again.get_config() == loss.get_config()
    assert keras.saving.get_registered_object("kerasopt>SmoothedSparseCategoricalCrossentropy") \
        is SmoothedSparseCategoricalCrossentropy


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, float("nan"), "0.1", None])
def test_bad_label_smoothing_names_the_argument(bad):
    with pytest.raises(ArgumentError, match=r"label_smoothing.*" + repr(bad)[:3]):
        SmoothedSparseCategoricalCrossentropy(bad)
    with pytest.raises(ArgumentError, match="label_smoothing"):
        kerasopt.build_model(4, num_classes=3, label_smoothing=bad)


def test_build_model_smooths_a_classifier_only():
    assert kerasopt.build_model(4, num_classes=3, label_smoothing=0.1).loss.label_smoothing == 0.1
    assert kerasopt.build_model(4, num_classes=3).loss == "sparse_categorical_crossentropy"
    assert kerasopt.build_model(4, num_classes=None, label_smoothing=0.1).loss == "mse"


def test_a_stacked_member_gets_the_single_networks_smoothed_loss():
    """Two stacked copies of one network on the same rows: the summed loss is twice the single network's."""
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    single = kerasopt.build_model(4, num_classes=3, hidden_units=(8,), l1=0.0, seed=0, label_smoothing=0.2,
                                  normalize=False)
    stacked = kerasopt.stacking.build_stacked_model(4, members=2, num_classes=3, hidden_units=(8,), l1=0.0,
                                                    seed=[0, 0], label_smoothing=0.2, normalize=False,
                                                    jit_compile=False)
    assert stacked.loss.label_smoothing == 0.2 and stacked.loss.reduction == "sum"
    inputs = {"features": np.repeat(x[:, None], 2, axis=1), "row_mask": np.ones((16, 2), "float32")}
    single_loss = float(single.loss(y, single.predict(x, verbose=0)))
    stacked_loss = float(stacked.loss(np.stack([y, y], axis=1), stacked.predict(inputs, verbose=0)))
    assert stacked_loss == pytest.approx(2 * 16 * single_loss, rel=1e-5)


def test_a_run_passes_its_label_smoothing_to_the_model():
    from kerasopt import spec

    args = kerasopt.config.model_arguments(kerasopt.config.resolve({}), steps_per_epoch=3)
    assert args["label_smoothing"] == spec.LABEL_SMOOTHING == kerasopt.DenseClassifier().label_smoothing
    assert kerasopt.config.model_arguments(kerasopt.config.resolve({"label_smoothing": 0.1}), 3)["label_smoothing"] \
        == 0.1


def test_a_smoothed_classifier_is_less_sure_of_its_training_rows():
    """The option reaches the training: a smoothed fit's top probabilities sit near its target, 1 - 0.3 / 2."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = np.where(x[:, 0] > 0, "up", "down")
    fits = {s: kerasopt.DenseClassifier(label_smoothing=s, hidden_units=(8,), epochs=40, patience=40, bagging=0,
                                        refit=False, seed=0).fit(x, y) for s in (0.0, 0.3)}
    top = {s: fit.predict_proba(x).max(axis=1) for s, fit in fits.items()}
    assert top[0.0].mean() > 0.95 and abs(top[0.3].mean() - 0.85) < 0.05
    assert (fits[0.3].predict(x) == y).mean() > 0.9

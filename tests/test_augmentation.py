"""Tests of kerasopt.augmentation: random image transforms of flat rows, in training only."""

import keras
import numpy as np
import pytest

from kerasopt import augmentation
from kerasopt.augmentation import ImageAugmentation
from kerasopt.models import build_model

SHAPE = (8, 8, 1)


def _rows(n=6, seed=0):
    """Square 'digits': a bright block off-centre on a black background, 0..16 like the 8x8 digits."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 8, 8), dtype="float32")
    images[:, 1:5, 2:4] = rng.uniform(4, 16, size=(n, 4, 2))
    return images.reshape(n, 64)


def test_get_reads_names_dicts_and_instances():
    layer = augmentation.get("rotation, shift,zoom", SHAPE)
    assert (layer.rotation, layer.shift, layer.zoom, layer.flip) == (10.0, 0.1, 0.1, None)
    layer = augmentation.get({"rotation": 15, "flip": True}, SHAPE)
    assert (layer.rotation, layer.shift, layer.zoom, layer.flip) == (15.0, 0.0, 0.0, "horizontal")
    assert augmentation.get(layer) is layer
    for nothing in (None, False, "", "none", "None"):
        assert augmentation.get(nothing, SHAPE) is None
    assert [type(t).__name__ for t in augmentation.get("zoom,flip,rotation,shift").transforms] == [
        "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]


def test_bad_augment_message_names_the_argument_and_echoes_it():
    with pytest.raises(ValueError) as info:
        augmentation.get("rotation,blur")
    assert str(info.value) == ("Invalid value for `augment`: unknown name 'blur'; expected comma-separated "
                               "names from rotation, shift, zoom, flip. Received: augment='rotation,blur'")


@pytest.mark.parametrize("augment, match", [
    ("rotate", "unknown name 'rotate'.*Received: augment='rotate'"),
    ({"rotations": 10}, "unknown key 'rotations'.*Received: augment={'rotations': 10}"),
    ({"rotation": -1}, r"augment\['rotation'\]`: expected degrees in \[0, 180\]. Received: augment\['rotation'\]=-1"),
    ({"rotation": 181}, r"augment\['rotation'\]=181"),
    ({"rotation": "10"}, r"augment\['rotation'\]='10'"),
    ({"shift": 1.0}, r"augment\['shift'\]`: expected a fraction in \[0, 1\). Received: augment\['shift'\]=1.0"),
    ({"zoom": -0.1}, r"augment\['zoom'\]=-0.1"),
    ({"zoom": True}, r"augment\['zoom'\]=True"),
    ({"flip": "diagonal"}, r"augment\['flip'\]='diagonal'"),
    (10, "expected a name such as 'rotation,shift,zoom'.*Received: augment=10"),
    (["rotation"], r"Received: augment=\['rotation'\]"),
])
def test_bad_augment_raises(augment, match):
    with pytest.raises(ValueError, match=match):
        augmentation.get(augment, SHAPE)


@pytest.mark.parametrize("kwargs, match", [
    ({"image_shape": (8, 0)}, r"`image_shape`.*Received: image_shape=\(8, 0\)"),
    ({"image_shape": "8x8"}, "Received: image_shape='8x8'"),
    ({"image_shape": (8, 8), "seed": -1}, "Received: seed=-1"),
])
def test_bad_layer_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageAugmentation(**kwargs)


def test_image_shape_must_match_the_rows():
    with pytest.raises(ValueError, match=r"holds 49 pixels but the rows have 64"):
        ImageAugmentation((7, 7), rotation=10)(np.zeros((1, 64), "float32"), training=True)
    with pytest.raises(ValueError, match="non-square pixel count.*for 60 inputs"):
        ImageAugmentation(rotation=10)(np.zeros((1, 60), "float32"), training=True)


def test_training_transforms_rows_and_inference_returns_them_unchanged():
    rows = _rows()
    layer = ImageAugmentation(rotation=20, shift=0.2, zoom=0.2, seed=0)
    assert np.array_equal(np.asarray(layer(rows, training=False)), rows)
    assert np.array_equal(np.asarray(layer(rows)), rows)
    moved = np.asarray(layer(rows, training=True))
    assert moved.shape == rows.shape
    assert not np.allclose(moved, rows)
    # The same seed draws the same transforms.
    again = ImageAugmentation(rotation=20, shift=0.2, zoom=0.2, seed=0)(rows, training=True)
    np.testing.assert_array_equal(np.asarray(again), moved)


def test_flip_mirrors_each_image_or_leaves_it():
    rows = _rows(16)
    images = rows.reshape(-1, 8, 8)
    out = np.asarray(ImageAugmentation((8, 8), flip="horizontal", seed=1)(rows, training=True)).reshape(-1, 8, 8)
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images)]
    assert all(m or k for m, k in zip(mirrored, kept))
    assert any(mirrored) and any(kept)


def test_shift_moves_pixels_and_fills_with_zero():
    rows = _rows(8)
    out = np.asarray(ImageAugmentation((8, 8), shift=0.4, seed=2)(rows, training=True))
    assert out.min() >= 0.0  # the fill is 0, the background, not a reflection
    assert (np.abs(out - rows).max(axis=1) > 0).all()


def test_model_with_augmentation_predicts_like_the_model_without_it():
    x = _rows(10)
    plain = build_model(64, num_classes=10, hidden_units=(16,), normalize=False, seed=0)
    augmented = build_model(64, num_classes=10, hidden_units=(16,), normalize=False, seed=0,
                            augment={"rotation": 30, "shift": 0.2})
    assert isinstance(augmented.layers[1], ImageAugmentation)
    augmented.set_weights([w * 0.5 + 0.01 for w in plain.get_weights()])
    plain.set_weights(augmented.get_weights())
    np.testing.assert_array_equal(augmented.predict(x, verbose=0), plain.predict(x, verbose=0))
    np.testing.assert_array_equal(np.asarray(augmented(x, training=False)), np.asarray(plain(x, training=False)))
    # In training the augmented model sees other inputs.
    assert not np.allclose(np.asarray(augmented(x, training=True)), np.asarray(plain(x, training=True)))


# A saved augmented model loads in a fresh process and predicts identically: tests/test_saving.py.


def test_config_round_trip():
    layer = ImageAugmentation((28, 28), rotation=10, shift=0.1, zoom=0.05, flip=None, seed=3, name="aug")
    config = layer.get_config()
    assert {k: config[k] for k in ("image_shape", "rotation", "shift", "zoom", "flip", "seed")} == {
        "image_shape": [28, 28, 1], "rotation": 10.0, "shift": 0.1, "zoom": 0.05, "flip": None, "seed": 3}
    assert ImageAugmentation.from_config(config).get_config() == config
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer)).zoom == 0.05


def test_augmentation_demo_on_digits(tmp_path):
    from kerasopt.experiments import augmentation as demo
    from kerasopt.experiments import mnist

    data = mnist.subsample(mnist.load_digits(), n_train=120, n_test=40, seed=0)
    examples = demo.augmented_examples(data.x_test[:3], {"shift": 0.2}, variants=4, seed=0)
    assert examples.shape == (3, 4, 8, 8)
    with pytest.raises(ValueError, match="expected some augmentation. Received: augment=None"):
        demo.augmented_examples(data.x_test[:3], None)
    result = demo.run_experiment(data, tmp_path, augment="rotation,shift", digits=2, variants=3,
                                 hidden_units=(8,), epochs=2, batch_size=40)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(demo.OUTPUT_FILES)
    runs = result["summary"]["runs"]
    assert runs["none"]["config"]["augment"] is None and runs["augmented"]["config"]["augment"] == "rotation,shift"
    for label in ("none", "augmented"):
        history = result["runs"][label].history
        assert len(history["clean_train_accuracy"]) == len(history["val_accuracy"]) == 2
        # After the last epoch the clean curve is the model's accuracy on the first training rows.
        final = result["runs"][label].model.evaluate(data.x_train, data.y_train, verbose=0)[1]
        assert history["clean_train_accuracy"][-1] == pytest.approx(final, abs=1e-6)


def test_tabular_noise_cross_validation_on_few_rows():
    from kerasopt.data import make_phone_data, to_arrays
    from kerasopt.experiments import tabular_noise

    x, y, _ = to_arrays(make_phone_data(60, seed=1), "price_range")
    table = tabular_noise.cross_validate_noise(x, y, stddevs=(0.5,), seeds=(3,), folds=2, epochs=1)
    assert list(table.columns) == ["seed", "fold", "stddev", "test_accuracy", "train_accuracy"]
    assert table[["seed", "fold", "stddev"]].values.tolist() == [[3, 0, 0.5], [3, 1, 0.5]]
    model = tabular_noise.noisy_model(x, 4, 0.5, seed=0)
    assert model.get_layer("gaussian_noise").stddev == 0.5
    # The noise acts in training only.
    inference = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), inference)
    np.testing.assert_allclose(model.predict(x, verbose=0), inference, rtol=1e-5, atol=1e-7)
    assert not np.allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)))
    with pytest.raises(ValueError, match="Received: folds=1"):
        tabular_noise.cross_validate_noise(x, y, folds=1)
    assert tabular_noise.plot_noise(table).axes

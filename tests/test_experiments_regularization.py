"""Weight decay, dropout / batch norm and MNIST experiments (kerasopt.experiments).

Expected values come from the book's closed-form setting (data generation,
one SGD step of the penalised loss) or from exact identities of the returned
tables; training runs are a few epochs on tiny data.
"""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

from kerasopt.errors import DataError, OutputExistsError
from kerasopt.experiments import mnist, regularization, weight_decay

from .conftest import SHARED, reaches_target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_FILE = SHARED / "data" / "mnist" / "mnist.npz"


def _script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", os.path.join(REPO, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- weight decay

def test_make_data_matches_the_book():
    data = weight_decay.make_data()
    assert data.x_train.shape == (20, 200) and data.y_train.shape == (20, 1)
    assert data.x_test.shape == (100, 200) and data.y_test.shape == (100, 1)
    np.testing.assert_array_equal(data.true_w, np.full(200, 0.01, "float32"))
    assert data.true_b == 0.05
    noiseless = weight_decay.make_data(noise=0.0)
    np.testing.assert_allclose(noiseless.y_train[:, 0], noiseless.x_train @ noiseless.true_w + 0.05, atol=1e-6)
    np.testing.assert_allclose(noiseless.y_test[:, 0], noiseless.x_test @ noiseless.true_w + 0.05, atol=1e-6)
    residual = np.concatenate([data.y_train, data.y_test])[:, 0] - (
        np.concatenate([data.x_train, data.x_test]) @ data.true_w + 0.05)
    assert 0.005 < residual.std() < 0.015  # noise std 0.01 over 120 samples


@pytest.mark.parametrize("kwargs, name", [({"n_train": 0}, "n_train"), ({"num_inputs": 2.5}, "num_inputs"),
                                          ({"noise": -1.0}, "noise")])
def test_make_data_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Invalid value for `{name}`"):
        weight_decay.make_data(**kwargs)


def test_half_squared_error_is_the_books_loss_and_serializes():
    import keras

    values = keras.ops.convert_to_numpy(weight_decay.half_squared_error(np.array([[1.0], [3.0]]),
                                                                        np.array([[2.0], [1.0]])))
    np.testing.assert_allclose(values, [0.5, 2.0])  # (2 - 1)**2 / 2, (1 - 3)**2 / 2
    config = keras.saving.serialize_keras_object(weight_decay.half_squared_error)
    assert keras.saving.deserialize_keras_object(config) is weight_decay.half_squared_error


def test_train_linear_rejects_unknown_penalty():
    with pytest.raises(ValueError) as info:
        weight_decay.train_linear(weight_decay.make_data(), 1.0, penalty="l3")
    assert str(info.value) == "Invalid value for `penalty`: expected one of 'l2', 'l1'. Received: penalty='l3'"


def test_one_full_batch_step_is_the_books_weight_decay_update():
    """Keras L2(lambda/2) with the half squared loss is the book's w <- (1 - lr*lambda) w - lr*grad."""
    import keras

    data = weight_decay.make_data(n_train=8, num_inputs=5, seed=1)
    lambd, lr = 3.0, 0.003
    run = weight_decay.train_linear(data, lambd, epochs=1, batch_size=8, learning_rate=lr, seed=4,
                                    record_history=False)
    w0 = keras.ops.convert_to_numpy(
        keras.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=4)(shape=(5, 1))).astype("float64")
    x, y = data.x_train.astype("float64"), data.y_train.astype("float64")
    error = x @ w0 - y  # b starts at 0
    expected_w = (1 - lr * lambd) * w0 - lr * x.T @ error / len(x)
    expected_b = -lr * error.mean()
    np.testing.assert_allclose(run["weights"], expected_w[:, 0], rtol=1e-5, atol=1e-6)
    assert run["bias"] == pytest.approx(expected_b, rel=1e-4)


def test_sweep_norm_of_w_decreases_with_lambda():
    table = weight_decay.sweep([0.0, 2.0, 6.0], epochs=5)
    assert list(table.columns) == ["lambda", "keras_l2", "train_loss", "test_loss", "w_norm"]
    assert table["keras_l2"].tolist() == [0.0, 1.0, 3.0]
    assert table["w_norm"].is_monotonic_decreasing and table["w_norm"].iloc[0] > table["w_norm"].iloc[-1]


def test_l1_gives_more_near_zero_weights_than_l2_at_equal_strength():
    table = weight_decay.compare_l1_l2(3.0, epochs=20, threshold=1e-3)
    assert list(table.index) == ["none", "l2", "l1"]
    assert table.loc["l1", "keras_strength"] == table.loc["l2", "keras_strength"] == 1.5
    assert table.loc["l1", "near_zero"] > table.loc["l2", "near_zero"]
    assert table.loc["l1", "near_zero_fraction"] == table.loc["l1", "near_zero"] / 200


def test_weight_decay_script_writes_tables_and_figures(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--epochs", "1", "--lambdas", "0", "--curve-lambdas", "0"]
    assert _script("weight_decay").main(argv) == 0
    assert sorted(os.listdir(tmp_path)) == sorted(weight_decay.OUTPUT_FILES)
    out = capsys.readouterr().out
    assert "keras_l2" in out and "near_zero" in out


# --------------------------------------------------------------------------- dropout / batch norm

def test_load_phone_reads_a_csv_like_the_generator(tmp_path):
    from kerasopt.data import make_phone_data

    path = tmp_path / "phone.csv"
    make_phone_data(40, seed=2).to_csv(path, index=False)
    x_file, y_file = regularization.load_phone(path)
    x_gen, y_gen = regularization.load_phone(n_samples=40, seed=2)
    np.testing.assert_array_equal(x_file, x_gen)
    np.testing.assert_array_equal(y_file, y_gen)
    assert x_file.shape == (40, 20) and sorted(set(y_file.tolist())) == [0, 1, 2, 3]


def test_compare_regularizers_table_and_curves():
    x, y = regularization.load_phone(n_samples=120, seed=1)
    variants = {"none": {}, "dropout + batch norm": {"dropout": 0.5, "batch_norm": True}}
    table, histories = regularization.compare_regularizers(x, y, variants, hidden_units=(16,), epochs=2,
                                                           validation_size=0.5)
    assert list(table.index) == list(variants)
    np.testing.assert_allclose(table["accuracy_gap"], table["train_accuracy"] - table["val_accuracy"])
    np.testing.assert_allclose(table["loss_gap"], table["val_loss"] - table["train_loss"])
    # Trainable: 20*16+16 + 16*4+4; batch norm drops the Dense bias and adds gamma and beta (2*16).
    assert table.loc["none", "params"] == 404
    assert table.loc["dropout + batch norm", "params"] == 404 - 16 + 32
    assert all(len(h["val_accuracy"]) == 2 and "cross_entropy" in h for h in histories.values())
    assert regularization.plot_regularization_curves(histories).axes


@pytest.mark.parametrize("variants, message", [({}, "Invalid value for `variants`"),
                                               (["none", "dropuot"], "Unknown variant\\(s\\): 'dropuot'")])
def test_compare_regularizers_rejects_bad_variants(variants, message):
    with pytest.raises(ValueError, match=message):
        regularization.compare_regularizers(np.zeros((8, 2), "float32"), np.arange(8) % 2, variants)


def test_scripts_refuse_to_overwrite_earlier_results(tmp_path, capsys):
    (tmp_path / "regularization.csv").write_text("old")
    (tmp_path / "weight_decay_sweep.csv").write_text("old")
    assert _script("regularization_demo").main(["--out", str(tmp_path)]) == 1
    assert _script("weight_decay").main(["--out", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all("already holds" in line and "--overwrite" in line for line in lines)
    assert (tmp_path / "regularization.csv").read_text() == "old"
    with pytest.raises(OutputExistsError):
        weight_decay.run_experiment(tmp_path)


def test_regularization_script_writes_table_and_figures(tmp_path, capsys):
    code = _script("regularization_demo").main(["--out", str(tmp_path), "--samples", "80", "--epochs", "1",
                                                "--hidden", "8", "--variants", "none", "dropout"])
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == sorted(regularization.OUTPUT_FILES)
    assert "accuracy_gap" in capsys.readouterr().out


# --------------------------------------------------------------------------- MNIST

def _write_npz(path, n_train=30, n_test=10, seed=0, drop=None):
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": (np.arange(n_train) % 10).astype(np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": (np.arange(n_test) % 10).astype(np.uint8)}
    arrays.pop(drop, None)
    np.savez(path, **arrays)
    return arrays


def test_load_mnist_reads_a_keras_format_file(tmp_path):
    arrays = _write_npz(tmp_path / "mnist.npz")
    data = mnist.load_mnist(tmp_path / "mnist.npz")
    assert data.x_train.shape == (30, 784) and data.x_test.shape == (10, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    np.testing.assert_array_equal(data.x_train, arrays["x_train"].reshape(30, 784))  # raw pixels, unscaled
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    assert data.max_value == 255.0


def test_load_mnist_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(DataError) as info:
        mnist.load_mnist(path)
    assert f"MNIST file not found: {path}." in str(info.value) and "nothing is downloaded" in str(info.value)


def test_load_mnist_defaults_to_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    expected = os.path.join(str(tmp_path), "datasets", "mnist.npz")
    assert mnist.default_mnist_path() == expected
    with pytest.raises(DataError, match=f"copy it to {expected}"):
        mnist.load_mnist()
    os.makedirs(os.path.dirname(expected))
    _write_npz(expected, n_train=12)
    assert mnist.load_mnist().x_train.shape == (12, 784)


def test_load_mnist_missing_key(tmp_path):
    _write_npz(tmp_path / "bad.npz", drop="y_test")
    with pytest.raises(DataError, match="lacks the array\\(s\\) y_test"):
        mnist.load_mnist(tmp_path / "bad.npz")


def test_load_digits_and_subsample():
    data = mnist.load_digits()
    assert data.x_train.shape == (1347, 64) and data.x_test.shape == (450, 64)
    assert data.max_value == 16.0 and data.x_train.max() == 16.0
    small = mnist.subsample(data, 100, 50, seed=0)
    assert small.x_train.shape == (100, 64) and small.y_test.shape == (50,)
    assert small.max_value == 16.0


def test_mnist_model_takes_raw_pixels():
    model = mnist.build_mnist_model(64, max_value=16.0, hidden_units=(8,), seed=0)
    assert model.get_layer("rescaling").scale == pytest.approx(1 / 16)
    assert model.input_shape == (None, 64) and model.output_shape == (None, 10)
    with_noise = mnist.build_mnist_model(64, max_value=16.0, hidden_units=(8,), input_dropout=0.2, seed=0)
    assert with_noise.get_layer("input_dropout").rate == 0.2
    with pytest.raises(ValueError, match="Invalid value for `input_dropout`"):
        mnist.build_mnist_model(64, input_dropout=1.0)


def test_mnist_model_augments_after_rescaling_and_before_input_dropout():
    from kerasopt.augmentation import ImageAugmentation

    model = mnist.build_mnist_model(64, max_value=16.0, hidden_units=(8,), input_dropout=0.2, seed=0,
                                    augment="rotation,shift")
    names = [layer.name for layer in model.layers]
    assert names[:5] == ["pixels", "rescaling", "augmentation", "input_dropout", "dense_0"]
    assert isinstance(model.get_layer("augmentation"), ImageAugmentation)
    assert model.get_layer("augmentation").image_shape == (8, 8, 1)
    plain = mnist.build_mnist_model(64, max_value=16.0, hidden_units=(8,), input_dropout=0.2, seed=0)
    assert [layer.name for layer in plain.layers][:4] == ["pixels", "rescaling", "input_dropout", "dense_0"]
    x = mnist.load_digits().x_test[:20]
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))


def test_mnist_presets_are_named():
    assert mnist.PRESETS == {"course": mnist.COURSE, "strong": mnist.STRONG, "augmented": mnist.AUGMENTED}
    assert mnist.AUGMENTED["augment"] == {"rotation": 10.0, "shift": 0.1, "zoom": 0.1}


def test_saved_mnist_model_takes_raw_pixels(tmp_path):
    import keras

    data = mnist.subsample(mnist.load_digits(), n_train=100, n_test=5)
    model = mnist.run_mnist(data, hidden_units=(8,), epochs=1, batch_size=50, seed=0).model
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    x = data.x_test
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    (w0, b0), (w1, b1) = model.get_layer("dense_0").get_weights(), model.get_layer("output").get_weights()
    logits = np.maximum(x / 16.0 @ w0 + b0, 0.0) @ w1 + b1
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected / expected.sum(axis=1, keepdims=True),
                               rtol=1e-4, atol=1e-6)


def test_run_mnist_takes_one_layer_as_a_numpy_integer():
    data = mnist.subsample(mnist.load_digits(), n_train=100, n_test=5)
    result = mnist.run_mnist(data, hidden_units=np.int64(8), epochs=1, batch_size=50, seed=0)
    assert result.config["hidden_units"] == [8]


def test_subsample_rejects_bad_sizes():
    with pytest.raises(ValueError, match="Invalid value for `n_train`"):
        mnist.subsample(mnist.load_digits(), n_train=0)


def test_run_mnist_on_digits_learns():
    data = mnist.load_digits()
    result = mnist.run_mnist(data, hidden_units=(64,), epochs=3, batch_size=32, learning_rate=1e-2,
                             dropout=0.2, schedule="cosine", seed=0)
    assert result.test_accuracy > 0.8  # chance is 0.1
    assert len(result.history["val_accuracy"]) == 3
    # cosine over 3 epochs: lr * (1 + cos(pi * e / 3)) / 2 for e = 0, 1, 2
    np.testing.assert_allclose(result.history["learning_rate"], [1e-2, 7.5e-3, 2.5e-3], rtol=1e-5)
    assert result.config["schedule"] == "cosine" and result.config["train_rows"] == 1347


def test_train_mnist_script_writes_metrics(tmp_path, capsys):
    _write_npz(tmp_path / "mnist.npz")
    out = tmp_path / "run"
    script = _script("train_mnist")
    argv = ["--data", str(tmp_path / "mnist.npz"), "--out", str(out), "--epochs", "1", "--hidden", "8"]
    assert script.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["config"]["epochs"] == 1 and metrics["config"]["hidden_units"] == [8]
    assert (out / "mnist_curves.png").exists()
    assert script.main(argv) == 1  # refuses to overwrite
    assert script.main(["--data", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "already holds metrics.json" in err[0]
    assert err[1].startswith("train_mnist.py: error: MNIST file not found: ")


def test_train_mnist_script_augments(tmp_path, capsys):
    _write_npz(tmp_path / "mnist.npz")
    script = _script("train_mnist")
    argv = ["--data", str(tmp_path / "mnist.npz"), "--epochs", "1", "--hidden", "8"]
    assert script.main([*argv, "--out", str(tmp_path / "a"), "--augment", '{"rotation": 15}']) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["config"]["augment"] == {"rotation": 15}
    assert script.main([*argv, "--out", str(tmp_path / "b"), "--augment", "rotation,blur"]) == 1
    assert script.main([*argv, "--out", str(tmp_path / "c"), "--augment", '{"shift": 2}']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["train_mnist.py: error: Invalid value for `augment`: unknown name 'blur'; expected "
                   "comma-separated names from rotation, shift, zoom, flip. Received: augment='rotation,blur'",
                   "train_mnist.py: error: Invalid value for `augment['shift']`: expected a fraction in [0, 1). "
                   "Received: augment['shift']=2"]
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_train_mnist_script_refuses_bad_schedule_json_as_a_usage_error(tmp_path, capsys):
    script = _script("train_mnist")
    with pytest.raises(SystemExit) as info:
        script.main(["--digits", "--out", str(tmp_path / "a"), "--schedule", "{bad"])
    assert info.value.code == 2
    assert capsys.readouterr().err == ("train_mnist.py: error: argument --schedule: expected JSON, e.g. "
                                       "'{\"gamma\": 0.5}'; got '{bad' (see train_mnist.py --help)\n")
    assert not (tmp_path / "a").exists()


needs_mnist = pytest.mark.skipif(not MNIST_FILE.exists(), reason="needs ../shared/data/mnist/mnist.npz")


@pytest.fixture(scope="module")
def mnist_runs():
    """Test accuracy of each preset, seed 0, on the 10,000 test rows; each preset runs once, when first asked."""
    data, runs = mnist.load_mnist(MNIST_FILE), {}

    def run(name: str) -> float:
        if name not in runs:
            runs[name] = mnist.run_mnist(data, **mnist.PRESETS[name], seed=0).test_accuracy
        return runs[name]

    return run


@pytest.mark.slow
@needs_mnist
def test_mnist_course_setting_reaches_about_98_percent(mnist_runs):
    # The course reports about 98%. Measured on CPU: 97.59% to 98.01% over seeds 0 and 1 and two
    # input pipelines, so the bound leaves room for the seed-to-seed spread.
    assert mnist_runs("course") >= 0.975


@pytest.mark.slow
@needs_mnist
def test_mnist_strong_setting_beats_the_course_setting(mnist_runs):
    # The same 784-500-10 network and rows: dropout and the longer cosine schedule are the difference.
    # Measured with seed 0: 98.60% against 98.01%; the course's setting spans 97.6-98.0% over seeds.
    assert mnist_runs("strong") > mnist_runs("course")


@pytest.mark.slow
@needs_mnist
def test_mnist_augmented_setting_reaches_99_percent_and_beats_the_strong_setting(mnist_runs):
    # 99% is the stated target for a Dense network with data augmentation; measured 99.32% (seed 0)
    # and 99.35% (seed 1) in docs/course.md. The check fails only when the 10,000 test rows make a
    # true accuracy of 99% unlikely (one-sided binomial test at 5%: below 98.83%), not on a lucky run.
    augmented = mnist_runs("augmented")
    assert reaches_target(augmented, rows=10_000, target=0.99), augmented
    assert augmented > mnist_runs("strong")  # augmentation is the regularizer the strong setting lacks


def test_plot_gap_starts_at_zero_and_shows_the_gap():
    import pandas as pd

    table = pd.DataFrame({"train_accuracy": [1.0, 0.9], "val_accuracy": [0.8, 0.85]}, index=["none", "l2"])
    figure = regularization.plot_gap(table)
    acc_ax, gap_ax = figure.axes
    assert acc_ax.get_ylim()[0] == 0.0 and gap_ax.get_ylim()[0] == 0.0
    np.testing.assert_allclose([bar.get_height() for bar in gap_ax.patches], [20.0, 5.0])


def test_regularization_figures_name_the_file_not_its_path(phone_csv):
    result = regularization.run_experiment(None, data_path=phone_csv, variants=["none"], hidden_units=(4,),
                                           epochs=1)
    title = result["figures"]["regularization_curves.png"]._suptitle.get_text()
    assert title == "20-4-4 network on phone.csv"


def test_regularization_experiment_takes_one_layer_as_an_integer():
    result = regularization.run_experiment(None, n_samples=100, variants=["none"], hidden_units=4, epochs=1)
    title = result["figures"]["regularization_curves.png"]._suptitle.get_text()
    assert title == "20-4-4 network on make_phone_data(100)"

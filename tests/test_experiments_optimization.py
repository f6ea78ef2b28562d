"""The optimization experiments against published and closed-form values, and their scripts."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kerasopt.experiments import backprop, ewa, lr_schedules, optimizer_race

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name: str):
    """Imports scripts/<name>.py as a module, so that its main(argv) runs in-process."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", os.path.join(REPO, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- backpropagation: Matt Mazur, "A Step by Step Backpropagation Example" ---------------------

# Values as published in the article (it rounds to 8 or 9 decimals).
PUBLISHED_OUTPUTS = {"o1": 0.75136507, "o2": 0.772928465}
PUBLISHED_UPDATED = {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                     "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121}


def forward_error(w: dict) -> float:
    """E_total of the article's network for weights w1..w8 (biases 0.35 and 0.60), in NumPy."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h1 = sigmoid(w["w1"] * 0.05 + w["w2"] * 0.10 + 0.35)
    h2 = sigmoid(w["w3"] * 0.05 + w["w4"] * 0.10 + 0.35)
    o1 = sigmoid(w["w5"] * h1 + w["w6"] * h2 + 0.60)
    o2 = sigmoid(w["w7"] * h1 + w["w8"] * h2 + 0.60)
    return ((o1 - 0.01) ** 2 + (o2 - 0.99) ** 2) / 2


@pytest.fixture(scope="module")
def step():
    return backprop.backprop_step()


def test_backprop_total_error_before_and_after_matches_article(step):
    assert step.total_error == pytest.approx(0.298371109, abs=1e-8)
    # The article prints 0.291027924 after the step, 1.5e-7 away from what a forward pass with its own
    # published updated weights gives; check against that forward pass instead.
    assert step.total_error_after == pytest.approx(forward_error(PUBLISHED_UPDATED), abs=1e-8)
    assert step.total_error_after == pytest.approx(0.291027924, abs=1e-6)
    assert step.errors["E_o1"] == pytest.approx(0.274811083, abs=1e-8)
    assert step.errors["E_o2"] == pytest.approx(0.023560026, abs=1e-8)
    for name, value in PUBLISHED_OUTPUTS.items():
        assert step.outputs[name] == pytest.approx(value, abs=1e-8)


@pytest.mark.parametrize("name", sorted(PUBLISHED_UPDATED))
def test_backprop_updated_weights_match_article(step, name):
    assert step.weights_after[name] == pytest.approx(PUBLISHED_UPDATED[name], abs=1e-8)


def test_backprop_gradients_match_article_and_update_rule(step):
    assert step.gradients["w5"] == pytest.approx(0.082167041, abs=1e-8)
    assert step.gradients["w1"] == pytest.approx(0.000438568, abs=1e-8)
    for name in PUBLISHED_UPDATED:  # w+ = w - 0.5 * dE/dw
        assert step.weights_after[name] == pytest.approx(
            step.weights_before[name] - 0.5 * step.gradients[name], abs=1e-12)
    for name in ("b_h1", "b_h2", "b_o1", "b_o2"):  # the article keeps the biases fixed
        assert step.weights_after[name] == step.weights_before[name]


def test_backprop_output_bias_gradient_is_the_output_delta(step):
    # dE/db_o1 = (out_o1 - target_o1) * out_o1 * (1 - out_o1), by the chain rule.
    out = step.outputs["o1"]
    assert step.gradients["b_o1"] == pytest.approx((out - 0.01) * out * (1 - out), abs=1e-12)


def test_build_network_uses_keras_kernel_layout():
    model = backprop.build_network()
    kernel, bias = model.get_layer("hidden").get_weights()
    np.testing.assert_array_equal(kernel, [[0.15, 0.25], [0.20, 0.30]])  # [[w1, w3], [w2, w4]]
    np.testing.assert_array_equal(bias, [0.35, 0.35])
    kernel, bias = model.get_layer("output").get_weights()
    np.testing.assert_array_equal(kernel, [[0.40, 0.50], [0.45, 0.55]])  # [[w5, w7], [w6, w8]]
    np.testing.assert_array_equal(bias, [0.60, 0.60])


def test_backprop_update_biases_changes_biases_not_weights(step):
    both = backprop.backprop_step(update_biases=True)
    for name in PUBLISHED_UPDATED:
        assert both.weights_after[name] == pytest.approx(step.weights_after[name], abs=1e-15)
    assert both.weights_after["b_o1"] == pytest.approx(0.6 - 0.5 * step.gradients["b_o1"], abs=1e-12)


def test_backprop_bad_arguments_raise():
    with pytest.raises(ValueError) as e:
        backprop.backprop_step(learning_rate=0)
    assert str(e.value) == ("Invalid value for `learning_rate`: expected a positive number. "
                            "Received: learning_rate=0")
    with pytest.raises(ValueError, match="missing w8"):
        backprop.build_network({k: v for k, v in backprop.MAZUR["weights"].items() if k != "w8"})
    with pytest.raises(ValueError, match="update_biases"):
        backprop.backprop_step(update_biases="yes")


def test_backprop_table_has_nine_decimals(step):
    table = backprop.format_table(step)
    assert "0.298371109" in table and "0.358916480" in table and "0.149780716" in table


# --- exponentially weighted averages ---------------------------------------------------------


def test_ewa_three_steps_by_hand():
    values = [10.0, 20.0, 30.0]
    # beta 0.5: v = 5, 0.5*5 + 10 = 12.5, 0.5*12.5 + 15 = 21.25; corrected by 1 - 0.5**t.
    np.testing.assert_allclose(ewa.exponentially_weighted_average(values, 0.5), [5.0, 12.5, 21.25], rtol=1e-15)
    np.testing.assert_allclose(ewa.exponentially_weighted_average(values, 0.5, bias_correction=True),
                               [10.0, 12.5 / 0.75, 21.25 / 0.875], rtol=1e-15)
    np.testing.assert_allclose(ewa.exponentially_weighted_average(values, 0.9), [1.0, 2.9, 5.61], rtol=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_ewa_corrected_constant_series_is_the_constant(beta):
    corrected = ewa.exponentially_weighted_average(np.full(30, 17.5), beta, bias_correction=True)
    np.testing.assert_allclose(corrected, 17.5, rtol=1e-13)
    raw = ewa.exponentially_weighted_average(np.full(30, 17.5), beta)
    np.testing.assert_allclose(raw, 17.5 * (1 - beta ** np.arange(1, 31)), rtol=1e-13)


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_ewa_corrected_equals_pandas_adjusted_ewm(beta):
    temps = ewa.daily_temperatures(30, seed=3)
    expected = pd.Series(temps).ewm(alpha=1 - beta, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(ewa.exponentially_weighted_average(temps, beta, bias_correction=True),
                               expected, rtol=1e-12)


def test_ewa_experiment_is_seeded():
    a, b = ewa.ewa_experiment(seed=1), ewa.ewa_experiment(seed=1)
    assert a.temperatures.shape == (30,)
    np.testing.assert_array_equal(a.temperatures, b.temperatures)
    assert not np.array_equal(a.temperatures, ewa.ewa_experiment(seed=2).temperatures)
    assert sorted(a.averages) == sorted(a.corrected) == [0.5, 0.9]
    assert a.corrected[0.9][0] == pytest.approx(a.temperatures[0], rel=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [1.0], "beta": 1.0}, "Received: beta=1.0"),
    ({"values": [1.0], "beta": -0.1}, "Received: beta=-0.1"),
    ({"values": [1.0], "beta": "0.9"}, "Received: beta='0.9'"),
    ({"values": [1.0, float("nan")], "beta": 0.9}, "`values`"),
    ({"values": [[1.0]], "beta": 0.9}, "`values`"),
])
def test_ewa_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ewa.exponentially_weighted_average(**kwargs)


# --- optimizers: two steps on f(w) = w**2 / 2 (gradient w) from w = 1 ---------------------------


def f32(value: float) -> float:
    """`value` rounded to float32, as Keras-on-TensorFlow's `ops.cast(python_float, "float64")` leaves it."""
    return float(np.float32(value))


def hand_trajectory(name: str, lr: float, steps: int = 2) -> list[float]:
    """The published update rules with Keras's default hyperparameters.

    Keras keeps the learning rate in a float32 variable, starts AdaGrad's accumulator from a float32
    0.1, and casts the SGD momentum and Adam's betas (for the bias-correction powers) with
    `ops.cast`, which on TensorFlow goes through float32; those constants are rounded the same way
    here (each about 1e-8 relative).
    """
    eps = 1e-7
    lr = f32(lr)
    w, path, m, v, acc = 1.0, [1.0], 0.0, 0.0, f32(0.1)
    for t in range(1, steps + 1):
        g = w
        if name == "sgd":
            w = w - lr * g
        elif name == "momentum":  # v <- 0.9 v - lr g; w <- w + v
            m = f32(0.9) * m - lr * g
            w = w + m
        elif name == "nesterov":  # w <- w + 0.9 v - lr g with the new v
            m = f32(0.9) * m - lr * g
            w = w + f32(0.9) * m - lr * g
        elif name == "adagrad":  # accumulator starts at 0.1
            acc = acc + g * g
            w = w - lr * g / math.sqrt(acc + eps)
        elif name == "rmsprop":  # rho 0.9
            v = 0.9 * v + (1 - 0.9) * g * g
            w = w - lr * g / math.sqrt(v + eps)
        elif name in ("adam", "adamw"):  # Kingma & Ba, end of section 2: the epsilon-hat form
            if name == "adamw":  # decoupled weight decay 0.004, scaled by lr (Loshchilov & Hutter)
                w = w - lr * 0.004 * w
            m = m + (g - m) * (1 - 0.9)
            v = v + (g * g - v) * (1 - 0.999)
            alpha = lr * math.sqrt(1 - f32(0.999) ** t) / (1 - f32(0.9) ** t)
            w = w - alpha * m / (math.sqrt(v) + eps)
        path.append(w)
    return path


@pytest.fixture(scope="module")
def paths():
    return optimizer_race.trajectories(learning_rate=0.01)


def test_momentum_two_steps_published_example(paths):
    np.testing.assert_allclose(paths["momentum"], [1.0, 0.99, 0.9711], rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", optimizer_race.DEFAULT_OPTIMIZERS)
def test_two_step_trajectories_match_update_formulas(paths, name):
    # 1e-11 leaves room for float64 rounding order only; a misplaced epsilon in Adam (about 1e-9)
    # or a float64 learning rate (about 2e-10) would fail.
    np.testing.assert_allclose(paths[name], hand_trajectory(name, 0.01), rtol=0, atol=1e-11)


def test_trajectories_per_optimizer_learning_rate():
    result = optimizer_race.trajectories(["sgd"], learning_rate={"sgd": 0.5}, steps=3)
    np.testing.assert_allclose(result["sgd"], [1.0, 0.5, 0.25, 0.125], atol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizers": ["sgd", "lbfgs"]}, "Received: optimizers=['sgd', 'lbfgs']"),
    ({"optimizers": []}, "Received: optimizers=[]"),
    ({"learning_rate": -1.0}, "Received: learning_rate=-1.0"),
    ({"optimizers": ["sgd", "adam"], "learning_rate": {"sgd": 0.1}}, "no rate for adam"),
    ({"steps": 0}, "Received: steps=0"),
])
def test_trajectories_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError) as e:
        optimizer_race.trajectories(**kwargs)
    assert message in str(e.value)


def test_race_bad_optimizer_raises_before_training():
    with pytest.raises(ValueError, match="Invalid value for `optimizers`"):
        optimizer_race.optimizer_race(["sgd", "nope"])


def test_cubic_data_is_seeded_and_in_range():
    x, y = optimizer_race.cubic_data(200, noise=0.0, seed=4)
    assert x.shape == y.shape == (200, 1) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(y, x ** 3, rtol=1e-6)
    np.testing.assert_array_equal(x, optimizer_race.cubic_data(200, seed=4)[0])


def test_race_curves_from_identical_initial_weights():
    names = ["sgd", "adam"]
    result = optimizer_race.optimizer_race(names, epochs=2, n_samples=60, batch_size=20, hidden_units=4, seed=0)
    assert list(result.losses) == names
    for name in names:
        assert len(result.losses[name]) == 2
        assert np.all(np.isfinite(result.losses[name]))
        assert np.isfinite(result.final_loss[name])
    # Same starting weights -> the same loss before training, to the last bit.
    assert result.initial_loss["sgd"] == result.initial_loss["adam"]
    assert [w.shape for w in result.initial_weights] == [(1, 4), (4,), (4, 1), (1,)]
    # Different optimizers then move differently.
    assert result.final_loss["sgd"] != result.final_loss["adam"]
    assert "final loss" in optimizer_race.format_race_table(result)


# --- learning-rate schedules: values at epochs against the closed forms -------------------------


def closed_form(label: str, e: int, lr: float = 0.1) -> float:
    if label == "step":
        return lr * 0.5 ** (e // 50)
    if label == "multistep":
        return lr * 0.1 ** sum(e >= m for m in (50, 125, 160))
    if label == "exponential":
        return lr * 0.95 ** e
    if label == "piecewise":
        return lr * [1.0, 0.5, 0.1, 0.01][sum(e >= b for b in (30, 80, 150))]
    if label == "inverse_time":
        return lr / (1 + 0.1 * e)
    if label == "cosine":
        if e < 10:
            return lr * (e + 1) / 11
        t = min(e - 10, 190)
        return 0.01 * lr + (lr - 0.01 * lr) * (1 + math.cos(math.pi * t / 190)) / 2
    raise KeyError(label)


@pytest.mark.parametrize("label", list(lr_schedules.COURSE_SCHEDULES))
def test_course_schedules_match_closed_forms(label):
    schedule = lr_schedules.course_schedules(learning_rate=0.1)[label]
    for e in (0, 9, 10, 29, 30, 49, 50, 99, 100, 125, 150, 160, 199):
        # float32 arithmetic: 0.95 ** 99 is off by about 1e-6 relative.
        assert float(schedule(e)) == pytest.approx(closed_form(label, e), rel=1e-5), (label, e)


def test_course_schedules_count_epochs_not_steps():
    schedule = lr_schedules.course_schedules(learning_rate=0.2, steps_per_epoch=10)["step"]
    assert float(schedule(499)) == pytest.approx(0.2, rel=1e-6)  # step 499 is in epoch 49
    assert float(schedule(500)) == pytest.approx(0.1, rel=1e-6)


def test_schedule_values_and_table():
    values = lr_schedules.schedule_values(epochs=12, learning_rate=0.1)
    assert list(values) == list(lr_schedules.COURSE_SCHEDULES)
    for label, v in values.items():
        assert v.shape == (12,)
        np.testing.assert_allclose(v, [closed_form(label, e) for e in range(12)], rtol=1e-5)
    table = lr_schedules.format_table(values)
    assert table.splitlines()[0].split() == ["epoch", *values]
    assert len(table.splitlines()) == 1 + 3  # epochs 0, 9 and 10 fit in 12 epochs


# --- scripts -----------------------------------------------------------------------------------


def test_ewa_script_writes_figure_and_refuses_to_overwrite(tmp_path, capsys):
    script = load_script("ewa")
    assert script.main(["--out", str(tmp_path), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "b=0.9 corr" in out and (tmp_path / "ewa.png").stat().st_size > 1000
    before = (tmp_path / "ewa.png").read_bytes()
    assert script.main(["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err
    assert (tmp_path / "ewa.png").read_bytes() == before
    assert script.main(["--out", str(tmp_path), "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ewa.png"]  # no temporary files left


@pytest.mark.parametrize("seed, message", [
    ("-1", "Invalid value for `seed`: expected a non-negative integer. Received: seed=-1"),
    ("x", "expected int; got 'x'"),
    ("1.5", "expected int; got '1.5'"),
])
def test_ewa_script_bad_seed_is_one_line(seed, message, tmp_path, capsys):
    # every script's --seed (kerasopt.cli.experiment_parser) is checked as the spec's seed as it is parsed
    with pytest.raises(SystemExit) as info:
        load_script("ewa").main(["--out", str(tmp_path / "out"), "--seed", seed])
    assert info.value.code == 2
    assert capsys.readouterr().err == f"ewa.py: error: argument --seed: {message} (see ewa.py --help)\n"
    assert os.listdir(tmp_path) == []


def test_ewa_script_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert load_script("ewa").main(["--out", str(tmp_path / "file")]) == 1
    assert capsys.readouterr().err == (f"ewa.py: error: Output path {tmp_path / 'file'} is a file, not a "
                                       "directory. Choose another --out.\n")


def test_ewa_script_runs_as_documented(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "ewa.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "day" in proc.stdout and (tmp_path / "ewa.png").exists()


def test_backprop_script_prints_published_numbers(tmp_path, capsys):
    assert load_script("backprop_example").main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for text in ("0.298371109", "0.358916480", "0.149780716", "0.082167041"):
        assert text in out
    assert (tmp_path / "backprop_gradients.png").exists()


def test_compare_optimizers_script_tiny(tmp_path, capsys):
    argv = ["--out", str(tmp_path), "--epochs", "1", "--samples", "40", "--optimizers", "sgd", "momentum"]
    assert load_script("compare_optimizers").main(argv) == 0
    out = capsys.readouterr().out
    assert "0.97110000" in out  # momentum's second step at lr 0.01
    assert "final loss" in out and (tmp_path / "optimizers_race.png").exists()


def test_lr_schedules_script_tiny(tmp_path, capsys):
    assert load_script("lr_schedules").main(["--out", str(tmp_path), "--epochs", "11"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[0] == "epoch"
    assert (tmp_path / "lr_schedules.png").exists()


def test_coinciding_names_curves_within_tolerance():
    race = optimizer_race.RaceResult(
        losses={"a": [1.0, 0.5], "b": [1.001, 0.5004], "c": [1.0, 0.6]},
        initial_loss={"a": 2.0, "b": 2.0, "c": 2.0}, final_loss={}, learning_rates={}, initial_weights=[])
    pairs = optimizer_race.coinciding(race)
    assert [(a, b) for a, b, _ in pairs] == [("a", "b")]
    assert pairs[0][2] == pytest.approx(0.001 / 1.001)
    assert optimizer_race.coinciding(race, rtol=0.2) == [("a", "b", pairs[0][2]), ("a", "c", pytest.approx(0.1 / 0.6)),
                                                         ("b", "c", pytest.approx(0.0996 / 0.6))]
    figure = optimizer_race.plot_race(race)
    assert "a and b coincide (within 0.1 %)" in [t.get_text() for t in figure.texts]
    styles = {(line.get_linestyle(), line.get_marker()) for line in figure.axes[0].get_lines()}
    assert len(styles) == 3
    with pytest.raises(ValueError, match="Received: rtol=0"):
        optimizer_race.coinciding(race, rtol=0)

"""Saved kerasopt models load in a fresh process, after each order of imports, and predict identically.

One module-scoped child process per import order loads every model below (see tests/fresh_process.py):
a network with a learning-rate schedule, one with image augmentation, a TabularModel with a category
never seen, a robust-scaling TabularModel fed extreme values, a bagged classifier with the piecewise-linear
encoding fed extreme values, and a stacked population (per-member optimizer, batch normalization, dropout)
with the ensemble that averages it. The other test modules check these models in-process and leave the
fresh process to this one.
"""

import functools
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import kerasopt
from tests.fresh_process import load_in_fresh_process, save_case

IMPORTS = [
    "import kerasopt, keras",
    "import keras, kerasopt",  # also what `import tensorflow` first does: it imports Keras
    # `import kerasopt.models` imports Keras half-way through models itself; the registration the
    # import hook then runs must not trip over the half-initialized module (the child turns a
    # UserWarning during the imports into an error).
    # `kerasopt.inference` first: a module that the registering modules import must not import Keras
    # itself at the top (Keras's import would register them while it is half-initialized).
    "import kerasopt.inference, kerasopt.models, kerasopt.tabular, kerasopt.stacking",
]


def _schedule_model():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    schedule = kerasopt.schedules.get("exponential", learning_rate=0.01, steps_per_epoch=2, gamma=0.9)
    return kerasopt.build_model(x, num_classes=3, learning_rate=schedule, seed=0), x, None


def _smoothed_model():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model = kerasopt.build_model(x, num_classes=3, label_smoothing=0.1, seed=0)
    model.fit(x, np.arange(32) % 3, epochs=1, batch_size=8, verbose=0)
    return model, x, None


def _augmented_model():
    from tests.test_augmentation import _rows

    x = _rows(10)
    model = kerasopt.build_model(64, num_classes=10, hidden_units=(16,), normalize=False, seed=0,
                                 augment="rotation,shift,zoom")
    model.fit(x, np.arange(10) % 10, epochs=1, batch_size=5, verbose=0)
    return model, x, 1  # layers[1]: the augmentation


def _tabular_model():
    from kerasopt.tabular import encode_target
    from tests.test_tabular import frame

    data = pd.concat([frame()] * 3, ignore_index=True)
    _, info = encode_target(pd.Series(np.where(data["fresh"], "ripe", "raw"), name="state"))
    model = kerasopt.build_model(data, target=info, hidden_units=(4,), seed=0)
    return model, data.assign(color=["red", None, "purple"] * 8), None  # a gap and a category never seen


def _robust_model():
    from kerasopt.tabular import encode_target, infer_schema
    from tests.test_robust_scaling import extreme_frame

    data = extreme_frame()
    _, target = encode_target(pd.Series(np.where(data["z"] > 0, "up", "down"), name="dir"))
    model = kerasopt.build_model(infer_schema(data, scaling="robust"), target=target, hidden_units=(4,), seed=0)
    return model, data.assign(x=[1e30, -1e30, np.inf, np.nan] * 10), "tabular_scale"


def _ple_model():
    from tests.test_ple import labelled_frame

    frame, labels = labelled_frame()
    clf = kerasopt.DenseClassifier(numeric_bins=8, hidden_units=(4,), epochs=3, patience=2, seed=0).fit(frame, labels)
    return clf.model_, frame.assign(x=[1e30, -1e30, np.nan, 3.0] * 25), "tabular_ple"


def _periodic_model():
    from kerasopt.tabular import encode_target, infer_schema
    from tests.test_robust_scaling import extreme_frame

    data = extreme_frame()
    _, target = encode_target(pd.Series(np.where(data["z"] > 0, "up", "down"), name="dir"))
    schema = infer_schema(data, numeric_embedding="periodic")
    model = kerasopt.build_model(schema, target=target, hidden_units=(4,), seed=0)
    return model, data.assign(x=[1e30, -1e30, np.inf, np.nan] * 10), "periodic"


@functools.cache
def _population():
    """A stacked population trained for one epoch (sgd, member rates 0.1, 0.03, 0.3), and its rows."""
    from tests.test_population import ROWS, SEEDS, population_rows

    x, y = population_rows()
    population = {"learning_rate": [0.1, 0.03, 0.3], "l1": [0.0, 1e-3, 1e-2], "dropout": [0.0, 0.2, 0.4]}
    model = kerasopt.stacking.build_stacked_model([x[r] for r in ROWS], num_classes=2, hidden_units=(8,),
                                                  seed=SEEDS, optimizer="sgd", population=population,
                                                  batch_norm=True, jit_compile=False)
    kerasopt.stacking.train_stacked(model, x, y, ROWS, epochs=1, batch_size=16, seed=0)
    return model, x


def _population_model():
    model, x = _population()
    inputs = {"features": np.repeat(x[:, None], 3, axis=1), "row_mask": np.ones((len(x), 3), "float32")}
    return model, inputs, None


def _population_ensemble():
    model, x = _population()
    return kerasopt.stacking.stacked_ensemble(model), x, None


BUILDERS = {"schedule": _schedule_model, "smoothed": _smoothed_model, "augmented": _augmented_model,
            "tabular": _tabular_model,
            "robust": _robust_model, "ple": _ple_model, "periodic": _periodic_model, "population": _population_model,
            "population_ensemble": _population_ensemble}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (case, prediction in the process that built it)."""
    folder = tmp_path_factory.mktemp("saved")
    result = {}
    for name, build in BUILDERS.items():
        model, rows, layer = build()
        result[name] = (save_case(str(folder), name, model, rows, layer), model.predict(rows, verbose=0))
    return folder, result


@pytest.fixture(scope="module", params=IMPORTS)
def loaded(request, saved):
    folder, result = saved
    return load_in_fresh_process(str(folder), {name: case for name, (case, _) in result.items()}, request.param)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_saved_model_loads_in_a_fresh_process_and_predicts_identically(saved, loaded, name):
    info, expected = loaded[name], saved[1][name][1]
    assert "error" not in info, info
    np.testing.assert_array_equal(info["predictions"], expected)
    if name == "schedule":
        assert info["learning_rate"] == "ExponentialDecay"
    elif name == "smoothed":
        assert info["loss"] == "SmoothedSparseCategoricalCrossentropy"
    elif name == "augmented":
        assert info["layer"] == "ImageAugmentation"
    elif name == "tabular":
        assert info["type"] == "TabularModel" and info["classes"] == ["raw", "ripe"]
        assert info["labels"] == np.array(["raw", "ripe"])[expected.argmax(1)].tolist()
    elif name == "robust":
        assert info["layer"] == "RobustScaling" and np.isfinite(expected).all()
    elif name == "ple":
        assert info["layer"] == "PiecewiseLinearEncoding" and np.isfinite(expected).all()
        assert info["labels"] == np.array(["no", "yes"])[expected.argmax(1)].tolist()
    elif name == "periodic":
        assert info["layer"] == "PeriodicEmbedding" and np.isfinite(expected).all()
    elif name == "population":
        assert info["optimizer"] == "MemberwiseSGD" and info["member_scales"] == pytest.approx([0.1, 0.03, 0.3])


def test_import_kerasopt_does_not_import_keras():
    code = "import sys, kerasopt; print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr

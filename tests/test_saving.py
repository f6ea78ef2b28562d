"""A saved kerasopt model loads in a fresh process after a plain `import kerasopt`."""

import os
import subprocess
import sys

import numpy as np
import pytest

import kerasopt

LOAD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
{imports}
import numpy as np
model = keras.saving.load_model("model.keras")
np.save("loaded.npy", model.predict(np.load("x.npy"), verbose=0))
print(type(model.optimizer._learning_rate).__name__)
"""


@pytest.fixture
def saved_model(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    schedule = kerasopt.schedules.get("exponential", learning_rate=0.01, steps_per_epoch=2, gamma=0.9)
    model = kerasopt.build_model(x, num_classes=3, learning_rate=schedule, seed=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    return tmp_path, model.predict(x, verbose=0)


@pytest.mark.parametrize("imports", [
    "import kerasopt, keras",
    "import keras, kerasopt",
    "import tensorflow; import kerasopt; import keras",
])
def test_saved_model_loads_in_a_fresh_process_after_import_kerasopt(saved_model, imports):
    folder, expected = saved_model
    done = subprocess.run([sys.executable, "-c", LOAD.format(imports=imports)], cwd=folder,
                          capture_output=True, text=True, timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "ExponentialDecay"
    np.testing.assert_array_equal(np.load(folder / "loaded.npy"), expected)


def test_import_kerasopt_does_not_import_keras():
    code = "import sys, kerasopt; print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_registering_while_a_kerasopt_module_imports_keras_warns_nothing():
    """`import kerasopt.models` imports Keras half-way through models itself; the registration the
    import hook then runs must not trip over the half-initialized module."""
    code = "import kerasopt.models, kerasopt.tabular, kerasopt.stacking; print('ok')"
    done = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]

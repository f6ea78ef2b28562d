"""Keras's private API: used only in kerasopt/_keras_compat.py, each use tested, Keras pinned to the tested minor."""

import ast
import functools
import pathlib
import re

import keras
import numpy as np
import pytest

import kerasopt
from kerasopt._keras_compat import PerVariableWeightDecay

PACKAGE = pathlib.Path(kerasopt.__file__).parent
COMPAT = PACKAGE / "_keras_compat.py"


@functools.cache
def _keras_private_names() -> set[str]:
    """Private attribute and method names of the Keras objects kerasopt builds on (classes and instances)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adamw", loss="mse")
    optimizer = keras.optimizers.AdamW()
    optimizer.build(model.trainable_variables)
    objects = [model, model.layers[0], optimizer, keras.callbacks.EarlyStopping(), keras.metrics.AUC(),
               keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), keras.regularizers.L1L2(0.1),
               keras.Variable(1.0)]
    names = set()
    for obj in objects:
        names.update(vars(obj))
        for cls in type(obj).__mro__:
            names.update(vars(cls))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _private_names_used(path: pathlib.Path) -> set[str]:
    """`_name`s a module reads, writes, defines as a method or passes to getattr/setattr/hasattr."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            used.update(item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            used.add(node.args[1].value)
    return {n for n in used if n.startswith("_") and not n.startswith("__")}


def test_the_private_name_scan_finds_the_compat_modules_uses():
    assert {"_apply_weight_decay", "_use_weight_decay"} <= _private_names_used(COMPAT) & _keras_private_names()


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.rglob("*.py") if p != COMPAT),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_keras_private_api_only_in_the_compat_module(path):
    text = path.read_text(encoding="utf-8")
    assert "keras.src" not in text
    assert sorted(_private_names_used(path) & _keras_private_names()) == []


def test_keras_is_pinned_below_the_next_minor_release():
    major, minor = (int(part) for part in keras.__version__.split(".")[:2])
    setup = (PACKAGE.parent / "setup.cfg").read_text(encoding="utf-8")
    assert re.search(rf"^\s*keras>=3\.7,<{major}\.{minor + 1}$", setup, re.MULTILINE)
    assert f"Tested with Keras {major}.{minor} " in COMPAT.read_text(encoding="utf-8").split('"""')[1]


class _HalfRateDecay(PerVariableWeightDecay, keras.optimizers.SGD):
    """SGD whose decoupled weight decay on the second row of a variable runs at half the learning rate."""

    def weight_decay_rate(self, variable):
        return self.learning_rate * keras.ops.convert_to_tensor(np.array([[1.0], [0.5]], "float32"))


def test_weight_decay_runs_at_the_rate_per_variable_and_honours_exclusions():
    decayed, excluded = keras.Variable(np.ones((2, 3), "float32")), keras.Variable(np.ones((2, 3), "float32"))
    optimizer = _HalfRateDecay(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[excluded])
    zero = np.zeros((2, 3), "float32")  # plain SGD leaves the variables alone: only the decay moves them
    optimizer.apply([zero, zero], [decayed, excluded])
    # row k: 1 - weight_decay * learning_rate * scale_k = 1 - 0.5 * 0.1 * (1, 0.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decayed), [[0.95] * 3, [0.975] * 3], rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(excluded), np.ones((2, 3)))


def test_without_weight_decay_nothing_decays():
    variable = keras.Variable(np.ones((2, 3), "float32"))
    _HalfRateDecay(learning_rate=0.1).apply([np.zeros((2, 3), "float32")], [variable])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), np.ones((2, 3)))

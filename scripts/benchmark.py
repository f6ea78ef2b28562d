"""Benchmarks: kerasopt's training path beside plain Keras `fit` and the course's PyTorch loop.

Usage:
    python scripts/benchmark.py --out docs/reports/benchmark.md --overwrite   # full run (about 11 min on 2 cores)
    python scripts/benchmark.py --quick                                # smoke run: tiny, measures nothing
    python scripts/benchmark.py --workloads phone mnist --backend jax --repeats 5

The harness is a script, not part of kerasopt's API: it imports kerasopt,
Keras, and optionally JAX and PyTorch, like any user program would.

`run_benchmark` measures, in one run and on the same data and settings, each
variant of `VARIANTS` on each workload of `WORKLOADS`:

- `kerasopt`: `kerasopt.build_model` + `kerasopt.train` (TensorFlow backend)
  with `train`'s defaults, i.e. kerasopt's default training path; the
  network is the same as the others' (Keras's `glorot_uniform` initializer;
  tuning runs use `kerasopt.tuning.tune`, whose space keeps `he_normal`).
- `keras-fit`: plain `model.fit` written as the Keras guides do: a
  `Sequential` model on inputs scaled by scikit-learn's `StandardScaler`,
  `compile` with its defaults, `fit(x, y, batch_size, epochs)`.
- `kerasopt-jax`: the `kerasopt` path on the JAX backend (needs `jax`).
- `pytorch`: the course's loop: `DataLoader(TensorDataset(x, y),
  batch_size, shuffle=True)` and `zero_grad` / `backward` / `step` on scaled
  inputs (needs `torch`).

Every (variant, workload) runs in its own Python subprocess (the Keras backend
is fixed at import, and the peak memory of a process, `ru_maxrss`, then
belongs to that variant alone). A variant whose package is missing is skipped
and the table says so. Workers wait passively in OpenMP (`OMP_WAIT_POLICY=
PASSIVE` unless set), so PyTorch's spinning threads do not collapse when other
processes share the cores. A repeat times what a user waits for: building the
model and training it (tracing and compilation included, and the metrics that
`kerasopt.train` evaluates; imports, data loading and the held-out evaluation
excluded). Each process runs its repeats one after another;
the table shows the first run (which also pays the process's one-time warm-up)
and the median of the runs after it.

The timed work of the course's MNIST net is also set against the floor of its
matrix products: the float32 multiply-adds of the forward and backward passes
at the rate a large float32 matrix product reaches on the same machine.

Example:

>>> import benchmark  # with scripts/ on sys.path  # doctest: +SKIP
>>> report = benchmark.run_benchmark(quick=True)  # doctest: +SKIP
>>> print(benchmark.markdown(report))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "VARIANTS",
    "WORKLOADS",
    "Workload",
    "dense_train_flops",
    "main",
    "markdown",
    "mnist_floor",
    "matmul_gflops",
    "run_benchmark",
    "targets",
]


@dataclass(frozen=True)
class Workload:
    """One training task of the benchmark.

    Attributes:
        name: Short name, used in the table.
        data: `"phone"` (the phone data, 20 features, 4 classes) or
            `"mnist"` (784 pixels scaled to [0, 1], 10 classes).
        hidden_units: Units of the hidden ReLU layers.
        optimizer: `"momentum"` (SGD with momentum 0.9) or `"adam"`.
        learning_rate: Learning rate.
        batch_size: Mini-batch size.
        epochs: Epochs (of each trial, for a tuning run).
        rows: Multiple of the training rows (the rows repeated), for scaling.
        trials: 0 for one training run; else a grid search over
            `learning_rates` with this many trials, each holding out a
            stratified fifth of the training rows for validation.
        group: `"main"`, `"rows"` or `"trials"` (which table shows it).
    """

    name: str
    data: str
    hidden_units: tuple[int, ...]
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    rows: int = 1
    trials: int = 0
    group: str = "main"

    def replace(self, **changes) -> Workload:
        return dataclasses.replace(self, **changes)

    def describe(self, features: int | None = None, classes: int | None = None) -> str:
        """Returns the workload in words, e.g. "phone 20-128-256-4 ReLU, SGD 0.01 momentum 0.9, ..."."""
        sizes = "-".join(str(v) for v in (features or "?", *self.hidden_units, classes or "?"))
        optimizer = (f"Adam {self.learning_rate:g}" if self.optimizer == "adam"
                     else f"SGD {self.learning_rate:g} momentum 0.9")
        text = f"{self.data} {sizes} ReLU, {optimizer}, batch {self.batch_size}, {self.epochs} epochs"
        if self.rows > 1:
            text += f", training rows repeated {self.rows}x"
        if self.trials:
            text += (f" per trial; {self.trials} trial(s) of a grid search over the learning rate, "
                     "a stratified fifth held out for validation")
        return text


#: The learning rates a tuning run tries, in order (a grid search).
TUNING_LEARNING_RATES = (0.01, 0.003, 0.03, 0.001, 0.02, 0.005, 0.05, 0.002, 0.008, 0.015)

_PHONE = {"data": "phone", "hidden_units": (128, 256), "optimizer": "momentum", "learning_rate": 0.01}
# kerasopt's search space gives every hidden layer the same `units`, so the tuning runs use 128-128.
_TUNE = {**_PHONE, "hidden_units": (128, 128)}

#: The workloads of a full run, by name.
WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload("phone", batch_size=8, epochs=100, **_PHONE),
    Workload("phone-b64", batch_size=64, epochs=100, **_PHONE),
    Workload("mnist", data="mnist", hidden_units=(500,), optimizer="adam", learning_rate=1e-3,
             batch_size=100, epochs=5),
    Workload("tuning", batch_size=32, epochs=10, trials=10, **_TUNE),
    Workload("rows-1x", batch_size=64, epochs=5, rows=1, group="rows", **_PHONE),
    Workload("rows-4x", batch_size=64, epochs=5, rows=4, group="rows", **_PHONE),
    Workload("rows-16x", batch_size=64, epochs=5, rows=16, group="rows", **_PHONE),
    Workload("trials-1", batch_size=32, epochs=10, trials=1, group="trials", **_TUNE),
    Workload("trials-3", batch_size=32, epochs=10, trials=3, group="trials", **_TUNE),
]}

#: Variant name -> (Keras backend or None, package it needs beyond TensorFlow, description).
VARIANTS: dict[str, tuple[str | None, str | None, str]] = {
    "kerasopt": ("tensorflow", None, "kerasopt.build_model + kerasopt.train, defaults"),
    "keras-fit": ("tensorflow", None, "plain Keras: Sequential, compile, fit, as the guides write it"),
    "kerasopt-jax": ("jax", "jax", "kerasopt.build_model + kerasopt.train on KERAS_BACKEND=jax"),
    "pytorch": (None, "torch", "the course's PyTorch loop: DataLoader(shuffle=True), zero_grad/backward/step"),
}

_BASELINE = "keras-fit"
_TORCH = "pytorch"


def _quick(workload: Workload) -> Workload:
    """The tiny version of a workload that `--quick` runs (a smoke test, not a measurement)."""
    return workload.replace(epochs=1, trials=min(workload.trials, 2), rows=min(workload.rows, 2))


# --------------------------------------------------------------------------------------------------
# Work counts and the matrix-product rate


def dense_train_flops(layer_sizes: tuple[int, ...] | list[int], samples: int) -> float:
    """Returns the floating-point operations of training a Dense stack on `samples` rows.

    Counts the matrix products only: per sample and per layer of `n_in x
    n_out` weights, `2 n_in n_out` for the forward pass, as many for the
    weight gradient, and as many again for the gradient of the layer's input
    (not needed for the first layer).

    Args:
        layer_sizes: Widths from the inputs to the outputs, e.g. `(784, 500, 10)`.
        samples: Training rows processed (rows times epochs).

    Returns:
        The count, as a float.

    Example:

    >>> dense_train_flops((784, 500, 10), 1)
    1598000.0
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError("Invalid value for `layer_sizes`: expected at least two positive widths. "
                         f"Received: layer_sizes={layer_sizes!r}")
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    per_sample = 2 * (2 * sum(products) + sum(products[1:]))
    return float(per_sample) * int(samples)


def matmul_gflops(n: int = 1024, repeats: int = 7) -> float:
    """Returns the best float32 matrix-product rate of this machine, in GFLOP/s.

    Times `a @ b` on `n x n` float32 matrices with NumPy (its BLAS and all its
    threads) and counts `2 n^3` operations per product.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


# --------------------------------------------------------------------------------------------------
# Data


def _phone_frame():
    from kerasopt import data

    path = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "phone", "train.csv")
    path = os.environ.get("KERASOPT_PHONE_CSV", path)
    if os.path.exists(path):
        return data.load_csv(path), "phone train.csv"
    return data.make_phone_data(1600, seed=0), "make_phone_data(1600)"


def _mnist_arrays():
    path = os.environ.get("KERASOPT_MNIST_NPZ", os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                                                            "shared", "data", "mnist", "mnist.npz"))
    if not os.path.exists(path):
        return None
    with np.load(path) as f:
        x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    prep = lambda x: (x.reshape(len(x), -1).astype("float32") / 255.0)  # noqa: E731
    return prep(x_train), y_train.astype("int32"), prep(x_test), y_test.astype("int32")


def _prepare_data(workloads: list[Workload], folder: str, quick: bool, seed: int) -> dict[str, Any]:
    """Writes `<data>.npz` for each data set the workloads use; returns a description of each."""
    from kerasopt import data

    described = {}
    for name in sorted({w.data for w in workloads}):
        if name == "phone":
            frame, source = _phone_frame()
            x, y, _ = data.to_arrays(frame, data.PHONE_TARGET)
            if quick:
                x, y = x[:200], y[:200]
            s = data.split(x, y, validation_size=0.0, test_size=0.2, seed=seed)
            arrays = (s.x_train, s.y_train, s.x_test, s.y_test)
        else:
            arrays = _mnist_arrays()
            if arrays is None:
                continue
            source = "mnist.npz"
            if quick:
                arrays = (arrays[0][:500], arrays[1][:500], arrays[2][:200], arrays[3][:200])
        np.savez(os.path.join(folder, f"{name}.npz"), x_train=arrays[0], y_train=arrays[1],
                 x_test=arrays[2], y_test=arrays[3])
        described[name] = {"source": source, "train_rows": int(len(arrays[0])), "test_rows": int(len(arrays[2])),
                           "features": int(arrays[0].shape[1]), "classes": int(arrays[1].max()) + 1}
    return described


# --------------------------------------------------------------------------------------------------
# The variants (each runs inside its worker process)


def _scaler(x_train):
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(x_train)


def _keras_plain_model(n_in: int, n_out: int, w: Workload, learning_rate: float):
    import keras

    model = keras.Sequential([keras.Input(shape=(n_in,))]
                             + [keras.layers.Dense(u, activation="relu") for u in w.hidden_units]
                             + [keras.layers.Dense(n_out, activation="softmax")])
    if w.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    else:
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _kerasopt_model(x_train, n_out: int, w: Workload, learning_rate: float, seed: int):
    import kerasopt

    # Phone rows are raw features (the model's Normalization layer scales them);
    # MNIST pixels come scaled to [0, 1], as the course feeds them.
    # The same network as the other variants: Keras's default initializer (kerasopt's own default,
    # he_normal, ends 2-4 points lower on the phone workload at batch 64, whatever the training path).
    inputs = x_train if w.data == "phone" else x_train.shape[1]
    return kerasopt.build_model(inputs, num_classes=n_out, hidden_units=w.hidden_units, optimizer=w.optimizer,
                                learning_rate=learning_rate, kernel_initializer="glorot_uniform", activation="relu",
                                l1=0.0, seed=seed)


def _stratified_validation(x, y, seed: int):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)


def _run_kerasopt(w: Workload, d: dict, seed: int) -> tuple[float, float]:
    import keras

    import kerasopt

    keras.backend.clear_session()
    n_out = int(d["y_train"].max()) + 1
    if w.trials:
        import pandas as pd

        from kerasopt.tuning import tune

        frame = pd.DataFrame(d["x_train"], columns=[f"f{i}" for i in range(d["x_train"].shape[1])])
        frame["label"] = d["y_train"]
        if len(set(w.hidden_units)) != 1:
            raise ValueError(f"A tuning workload needs equal hidden units; got {w.hidden_units}.")
        space = {"num_layers": len(w.hidden_units), "units": w.hidden_units[0], "activation": "relu",
                 "dropout": 0.0, "batch_norm": False, "l1": 0.0, "l2": 0.0, "optimizer": w.optimizer,
                 "learning_rate": list(TUNING_LEARNING_RATES[:max(w.trials, 2)]), "schedule": "constant",
                 "batch_size": w.batch_size, "epochs": w.epochs}
        if w.optimizer == "momentum":
            space["momentum"] = 0.9
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            # The search only (`finalize=False`): no retraining of the best model afterwards. The trials
            # differ only in learning rate, so the whole grid trains as one population (one stacked model).
            tune(frame, "label", tuner="grid", max_trials=w.trials, space=space, seed=seed,
                 out=os.path.join(out, "tune"), patience=w.epochs, cv=None, validation_split=0.2, test_split=0.0,
                 verbose=0, finalize=False, population=w.trials)
            seconds = time.perf_counter() - start
            scores = []
            for root, _, files in os.walk(out):
                if "trial.json" in files:
                    with open(os.path.join(root, "trial.json"), encoding="utf-8") as f:
                        score = json.load(f).get("score")
                    if score is not None:
                        scores.append(float(score))
        return seconds, max(scores) if scores else math.nan
    start = time.perf_counter()
    model = _kerasopt_model(d["x_train"], n_out, w, w.learning_rate, seed)
    kerasopt.train(model, d["x_train"], d["y_train"], epochs=w.epochs, batch_size=w.batch_size,
                   early_stopping=False, seed=seed)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(d["x_test"], d["y_test"], batch_size=1024, verbose=0, return_dict=True)["accuracy"]
    return seconds, float(accuracy)


def _run_keras_fit(w: Workload, d: dict, seed: int) -> tuple[float, float]:
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    n_out = int(d["y_train"].max()) + 1
    if w.trials:
        import keras_tuner

        x_tr, x_val, y_tr, y_val = _stratified_validation(d["x_train"], d["y_train"], seed)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            scaler = _scaler(x_tr)

            def build(hp):
                lr = hp.Choice("learning_rate", list(TUNING_LEARNING_RATES[:max(w.trials, 2)]))
                return _keras_plain_model(x_tr.shape[1], n_out, w, lr)

            tuner = keras_tuner.GridSearch(build, objective="val_accuracy", max_trials=w.trials, seed=seed,
                                           directory=out, project_name="plain")
            tuner.search(scaler.transform(x_tr), y_tr, epochs=w.epochs, batch_size=w.batch_size,
                         validation_data=(scaler.transform(x_val), y_val), verbose=0)
            seconds = time.perf_counter() - start
            best = tuner.oracle.get_best_trials(1)
        return seconds, float(best[0].score) if best else math.nan
    start = time.perf_counter()
    scaler = _scaler(d["x_train"])
    model = _keras_plain_model(d["x_train"].shape[1], n_out, w, w.learning_rate)
    model.fit(scaler.transform(d["x_train"]), d["y_train"], batch_size=w.batch_size, epochs=w.epochs, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(scaler.transform(d["x_test"]), d["y_test"], batch_size=1024, verbose=0,
                              return_dict=True)["accuracy"]
    return seconds, float(accuracy)


def _torch_train(x, y, n_out: int, w: Workload, learning_rate: float, seed: int):
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    sizes = [x.shape[1], *w.hidden_units]
    layers: list = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], n_out))
    if w.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y, dtype=torch.long)),
                        batch_size=w.batch_size, shuffle=True)
    for _ in range(w.epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    return model


def _torch_accuracy(model, x, y) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        predicted = model(torch.tensor(x)).argmax(dim=1).numpy()
    return float(np.mean(predicted == y))


def _run_pytorch(w: Workload, d: dict, seed: int) -> tuple[float, float]:
    n_out = int(d["y_train"].max()) + 1
    if w.trials:
        x_tr, x_val, y_tr, y_val = _stratified_validation(d["x_train"], d["y_train"], seed)
        start = time.perf_counter()
        scaler = _scaler(x_tr)
        xs_tr, xs_val = scaler.transform(x_tr).astype("float32"), scaler.transform(x_val).astype("float32")
        best = -math.inf
        for lr in TUNING_LEARNING_RATES[:w.trials]:
            model = _torch_train(xs_tr, y_tr, n_out, w, lr, seed)
            best = max(best, _torch_accuracy(model, xs_val, y_val))
        return time.perf_counter() - start, best
    start = time.perf_counter()
    scaler = _scaler(d["x_train"])
    model = _torch_train(scaler.transform(d["x_train"]).astype("float32"), d["y_train"], n_out, w,
                         w.learning_rate, seed)
    seconds = time.perf_counter() - start
    return seconds, _torch_accuracy(model, scaler.transform(d["x_test"]).astype("float32"), d["y_test"])


_RUNNERS = {"kerasopt": _run_kerasopt, "kerasopt-jax": _run_kerasopt, "keras-fit": _run_keras_fit,
            "pytorch": _run_pytorch}


def _worker(spec: dict) -> dict:
    """Runs the repeats of one (variant, workload) in this process; returns the measurements."""
    w = Workload(**{**spec["workload"], "hidden_units": tuple(spec["workload"]["hidden_units"])})
    with np.load(spec["data"]) as f:
        d = {k: f[k] for k in f.files}
    if w.rows > 1:
        d["x_train"] = np.tile(d["x_train"], (w.rows, 1))
        d["y_train"] = np.tile(d["y_train"], w.rows)
    runner = _RUNNERS[spec["variant"]]
    # Imports happen before the clock starts: a user's process has them loaded already.
    modules = {"pytorch": ["torch", "torch.utils.data"], "keras-fit": ["keras"]}.get(
        spec["variant"], ["keras", "kerasopt.models", "kerasopt.training"])
    if w.trials and spec["variant"] != "pytorch":
        modules += ["keras_tuner"] + (["kerasopt.tuning.search", "kerasopt.tuning.hypermodel",
                                       "kerasopt.tuning._tuner"] if spec["variant"] != "keras-fit" else [])
    for module in ["sklearn.preprocessing", "sklearn.model_selection", "pandas", *modules]:
        importlib.import_module(module)
    seconds, accuracy = [], []
    for i in range(spec["repeats"]):  # each run with its own seed: the accuracy is a mean over seeds
        s, a = runner(w, d, spec["seed"] + i)
        seconds.append(s)
        accuracy.append(a)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "accuracy": accuracy, "peak_mib": peak_kib / 1024.0,
            "train_rows": int(len(d["x_train"]))}


# --------------------------------------------------------------------------------------------------
# The driver


def _missing_package(variant: str) -> str | None:
    package = VARIANTS[variant][1]
    if package is not None and importlib.util.find_spec(package) is None:
        return package
    return None


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("tensorflow", "keras", "keras-tuner", "jax", "torch", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unavailable"


_SCRIPTS = os.path.dirname(os.path.abspath(__file__))
_WORKER_MAIN = (f"import json, sys; sys.path.insert(0, {_SCRIPTS!r}); from benchmark import _worker; "
                "print(json.dumps(_worker(json.loads(sys.argv[1]))))")


def _run_worker(spec: dict, timeout: float | None) -> dict:
    backend = VARIANTS[spec["variant"]][0]
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # OpenMP threads (PyTorch's) that spin while waiting slow down a hundredfold when other processes
    # share the cores (measured: 100 ms instead of 1 ms per phone step); passive waiting avoids that.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    package_root = os.path.dirname(_SCRIPTS)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.run([sys.executable, "-c", _WORKER_MAIN, json.dumps(spec)], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:200]}"}
    return json.loads(lines[-1])


def run_benchmark(
    workloads: list[str] | None = None,
    variants: list[str] | None = None,
    *,
    repeats: int = 3,
    quick: bool = False,
    seed: int = 0,
    timeout: float | None = 900.0,
    progress=None,
) -> dict[str, Any]:
    """Runs the benchmark and returns its measurements.

    Args:
        workloads: Names from `WORKLOADS` (default: all; `"mnist"` is left out
            with a note when `mnist.npz` is not found).
        variants: Names from `VARIANTS` (default: all; one whose package is
            missing is reported as skipped).
        repeats: Runs of each (variant, workload) of the main table, one
            after another in one process (at most 2 for the scaling
            tables). The table shows the first run and the median of the
            others (of the only run when there is one).
        quick: A smoke run: 1 epoch, at most 2 trials, 200 phone rows and
            500 MNIST rows, 1 repeat. Its figures measure nothing.
        seed: Seed of the data split; run i of a measurement seeds the weights
            and the shuffling with `seed + i`.
        timeout: Seconds allowed to each worker process.
        progress: Called with one line of text after each measurement.

    Returns:
        A dict: `"meta"` (date, machine, load average, versions, settings),
        `"data"` (rows of each data set) and `"results"` (one dict per
        variant and workload: median seconds, samples per second, peak
        memory, accuracy, or `"skipped"` with the reason).
    """
    from kerasopt import _validation as check

    repeats = check.positive_int("repeats", repeats)
    names = list(WORKLOADS) if workloads is None else list(workloads)
    for name in names:
        check.one_of("workloads", name, list(WORKLOADS))
    chosen = list(VARIANTS) if variants is None else list(variants)
    for name in chosen:
        check.one_of("variants", name, list(VARIANTS))
    if quick:
        repeats = 1
    selected = [_quick(WORKLOADS[n]) if quick else WORKLOADS[n] for n in names]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "python": platform.python_version(), "versions": _versions(), "repeats": repeats, "quick": quick,
            "seed": seed, "load_start": _load_average()}
    meta["matmul_gflops"] = matmul_gflops(512 if quick else 1024)
    results = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        data_info = _prepare_data(selected, folder, quick, seed)
        for w in selected:
            for variant in chosen:
                row: dict[str, Any] = {"workload": w.name, "group": w.group, "variant": variant}
                missing = _missing_package(variant)
                if w.data not in data_info:
                    row["skipped"] = f"{w.data} data not found"
                elif missing:
                    row["skipped"] = f"{missing} not installed"
                else:
                    # The scaling tables take at most two runs (one first run, one warm run).
                    runs = repeats if w.group == "main" else min(repeats, 2)
                    spec = {"variant": variant, "workload": dataclasses.asdict(w), "repeats": runs, "seed": seed,
                            "data": os.path.join(folder, f"{w.data}.npz")}
                    measured = _run_worker(spec, timeout)
                    if "error" in measured:
                        row["skipped"] = measured["error"]
                    else:
                        # The first run of a process also pays its one-time warm-up; it is shown apart.
                        median = statistics.median(measured["seconds"][1:] or measured["seconds"])
                        samples = measured["train_rows"] * w.epochs * max(1, w.trials)
                        if w.trials:  # a trial trains on four fifths of the rows
                            samples = math.ceil(measured["train_rows"] * 0.8) * w.epochs * w.trials
                        row.update(seconds=median, all_seconds=measured["seconds"],
                                   samples_per_s=samples / median, peak_mib=measured["peak_mib"],
                                   accuracy=statistics.mean(measured["accuracy"]),
                                   all_accuracy=measured["accuracy"], samples=samples)
                results.append(row)
                if progress is not None:
                    shown = row.get("skipped") or f"{row['seconds']:.2f} s, accuracy {row['accuracy']:.4f}"
                    progress(f"{w.name:10s} {variant:13s} {shown}")
    meta["load_end"] = _load_average()
    meta["total_seconds"] = time.perf_counter() - start
    return {"meta": meta, "data": data_info, "workloads": {w.name: dataclasses.asdict(w) for w in selected},
            "results": results}


# --------------------------------------------------------------------------------------------------
# The table


def _describe(report: dict, name: str) -> str:
    spec = dict(report["workloads"][name])
    info = report["data"].get(spec["data"], {})
    spec["hidden_units"] = tuple(spec["hidden_units"])
    return Workload(**spec).describe(info.get("features"), info.get("classes"))


def _find(report: dict, workload: str, variant: str) -> dict | None:
    for row in report["results"]:
        if row["workload"] == workload and row["variant"] == variant and "seconds" in row:
            return row
    return None


def _spread(row: dict) -> str:
    runs = row.get("all_accuracy") or [row["accuracy"]]
    return f"{min(runs):.4f}–{max(runs):.4f}" if len(runs) > 1 else "–"


def _ratio(row: dict, other: dict | None) -> str:
    if other is None or row is other:
        return "1.00" if row is other else "–"
    return f"{row['seconds'] / other['seconds']:.2f}"


def mnist_floor(report: dict) -> float | None:
    """Returns the matrix-work floor of the MNIST workload in seconds, or None without it."""
    w = report["workloads"].get("mnist")
    info = report["data"].get("mnist")
    if w is None or info is None:
        return None
    flops = dense_train_flops((info["features"], *w["hidden_units"], info["classes"]), info["train_rows"] * w["epochs"])
    return flops / (report["meta"]["matmul_gflops"] * 1e9)


def targets(report: dict) -> list[dict[str, Any]]:
    """Returns the targets of the fast path, each with its measured ratio and whether it is met.

    Ratios (all from the same run): kerasopt / plain Keras on the phone
    workload (target at most 0.5); the fastest supported kerasopt backend /
    PyTorch on the phone workload (at most 0.75); kerasopt's fastest MNIST
    time / the matrix-work floor (at most 1.5); and, per workload of the
    main table, the largest accuracy difference between a kerasopt variant
    and another variant, in points (at most 1).
    """
    out = []

    def add(name, value, limit, detail):
        out.append({"target": name, "value": value, "limit": limit,
                    "met": None if value is None else value <= limit, "detail": detail})

    ours = _find(report, "phone", "kerasopt")
    plain = _find(report, "phone", _BASELINE)
    add("phone: kerasopt / plain Keras fit", ours["seconds"] / plain["seconds"] if ours and plain else None, 0.5,
        "kerasopt on TensorFlow against keras-fit")
    fastest = min((r for r in (ours, _find(report, "phone", "kerasopt-jax")) if r), key=lambda r: r["seconds"],
                  default=None)
    torch_row = _find(report, "phone", _TORCH)
    add("phone: fastest kerasopt backend / PyTorch",
        fastest["seconds"] / torch_row["seconds"] if fastest and torch_row else None, 0.75,
        f"{fastest['variant']} against pytorch" if fastest else "")
    floor = mnist_floor(report)
    mnist_rows = [r for r in (_find(report, "mnist", "kerasopt"), _find(report, "mnist", "kerasopt-jax")) if r]
    best_mnist = min(mnist_rows, key=lambda r: r["seconds"], default=None)
    add("MNIST: fastest kerasopt backend / matrix-work floor",
        best_mnist["seconds"] / floor if best_mnist and floor else None, 1.5,
        f"{best_mnist['variant']} against {floor:.2f} s" if best_mnist and floor else "")
    for name, w in report["workloads"].items():
        if w["group"] != "main":  # the short scaling runs are not trained to the end
            continue
        rows = [r for r in report["results"] if r["workload"] == name and "accuracy" in r]
        ours_rows = [r for r in rows if r["variant"].startswith("kerasopt")]
        others = [r for r in rows if not r["variant"].startswith("kerasopt")]
        gaps = [(abs(o["accuracy"] - k["accuracy"]), k["variant"], o["variant"]) for k in ours_rows for o in others]
        worst = max(gaps, default=None)
        add(f"{name} accuracy: largest difference, kerasopt against another variant (points)",
            None if worst is None else worst[0] * 100, 1.0, f"{worst[1]} against {worst[2]}" if worst else "")
    return out


def markdown(report: dict) -> str:
    """Returns the benchmark report as markdown: settings, results, targets and scaling tables."""
    meta = report["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        "# Benchmarks: kerasopt, plain Keras `fit` and the course's PyTorch loop",
        "",
        "Written by `python scripts/benchmark.py --out docs/reports/benchmark.md`.",
        "",
        f"Measured {meta['date']} on {meta['machine']} (Python {meta['python']}; {versions}).",
        f"Load average (1, 5, 15 min) {meta['load_start']} at the start and {meta['load_end']} at the end; "
        f"{meta['repeats']} run(s) per measurement; seed {meta['seed']}; float32 matrix product "
        f"{meta['matmul_gflops']:.0f} GFLOP/s; whole run {meta['total_seconds']:.0f} s.",
    ]
    if meta["quick"]:
        lines.append("**Quick smoke run (`--quick`): tiny data and 1 epoch; these figures measure nothing.**")
    lines.append("")
    lines.append("Time is what a user waits for a trained model: building plus training (tracing and "
                 "compilation included; for kerasopt also the evaluation that `train` returns; imports, data "
                 "loading and the held-out evaluation excluded). Each variant and workload runs in its own "
                 "process, repeats one after another: *first run* also pays the process's one-time warm-up "
                 "(e.g. JAX compiling its eager operations), *time* is the median of the runs after it (2 "
                 "runs at most in the scaling tables); samples/s and the ratios use *time*. Run *i* uses seed "
                 "`seed + i` for the weights and the shuffling (the data split is fixed); accuracy is the mean "
                 "over the runs (*accuracy range*: lowest and highest run), on held-out rows (for tuning runs "
                 "the best trial's validation accuracy). Peak memory is the worker process's maximum resident "
                 "set size. PyTorch runs with `OMP_WAIT_POLICY=PASSIVE`.")
    data = ", ".join(f"{k}: {v['source']}, {v['train_rows']} training and {v['test_rows']} test rows"
                     for k, v in report["data"].items())
    lines += ["", f"Data: {data}.", ""]

    def table(group: str, title: str):
        names = [n for n, w in report["workloads"].items() if w["group"] == group]
        if not names:
            return
        lines.extend([f"#### {title}", "",
                      "| workload | variant | time (s) | first run (s) | samples/s | peak memory (MiB) | accuracy | "
                      "accuracy range | vs plain Keras | vs PyTorch |",
                      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"])
        for name in names:
            for row in (r for r in report["results"] if r["workload"] == name):
                if "seconds" not in row:
                    lines.append(f"| {name} | {row['variant']} | skipped: {row['skipped']} | | | | | | | |")
                    continue
                lines.append(
                    f"| {name} | {row['variant']} | {row['seconds']:.2f} | {row['all_seconds'][0]:.2f} | "
                    f"{row['samples_per_s']:,.0f} | "
                    f"{row['peak_mib']:.0f} | {row['accuracy']:.4f} | {_spread(row)} | "
                    f"{_ratio(row, _find(report, name, _BASELINE))} | "
                    f"{_ratio(row, _find(report, name, _TORCH))} |")
        lines.append("")
        lines.append("Workloads: " + "; ".join(f"`{n}` {_describe(report, n)}" for n in names) + ".")
        lines.append("")

    table("main", "Results")
    floor = mnist_floor(report)
    if floor is not None:
        info = report["data"]["mnist"]
        sizes = (info["features"], *report["workloads"]["mnist"]["hidden_units"], info["classes"])
        lines += [f"MNIST matrix-work floor: {dense_train_flops(sizes, 1) / 1e6:.2f} MFLOP per sample, "
                  f"{floor * meta['matmul_gflops'] / 1e3:.3f} TFLOP in all, {floor:.2f} s at "
                  f"{meta['matmul_gflops']:.0f} GFLOP/s.", ""]
    lines.extend(["#### Targets", "", "| target | measured | limit | met |", "|---|---:|---:|---|"])
    for t in targets(report):
        value = "–" if t["value"] is None else f"{t['value']:.2f}"
        met = "not measured" if t["met"] is None else ("yes" if t["met"] else "**no**")
        detail = f" ({t['detail']})" if t["detail"] else ""
        lines.append(f"| {t['target']}{detail} | {value} | {t['limit']:g} | {met} |")
    lines.append("")
    table("rows", "How time grows with rows")
    table("trials", "How time grows with trials (with `tuning` above: 10 trials)")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark (`python scripts/benchmark.py --help`).

    Prints one progress line per measurement and the markdown report;
    `--out FILE` also writes the report there, `--json FILE` the raw figures
    (atomically; an existing file is kept unless `--overwrite` is given).
    Bad input prints one line and returns 1.
    """
    from kerasopt import _io
    from kerasopt.cli import ArgumentParser

    p = ArgumentParser(prog="benchmark", description="Time kerasopt's training path beside plain Keras fit and "
                                                     "the course's PyTorch loop, on the same data and settings.")
    p.add_argument("--quick", action="store_true", help="tiny smoke run (1 epoch, few rows, 1 repeat)")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs per measurement, in one process; the first and the median of the others are shown "
                        "(default 3)")
    p.add_argument("--workloads", nargs="+", metavar="NAME", choices=list(WORKLOADS),
                   help=f"workloads to run (default: all): {', '.join(WORKLOADS)}")
    p.add_argument("--variants", nargs="+", metavar="NAME", choices=list(VARIANTS),
                   help=f"variants to run (default: all): {', '.join(VARIANTS)}")
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="measure kerasopt on this Keras backend only (default: both)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data split; run i seeds training with seed + i")
    p.add_argument("--out", help="write the markdown report to this file")
    p.add_argument("--json", help="write the raw figures to this JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    args = p.parse_args(argv)
    variants = args.variants or list(VARIANTS)
    if args.backend is not None:
        drop = "kerasopt-jax" if args.backend == "tensorflow" else "kerasopt"
        variants = [v for v in variants if v != drop]
    if not args.overwrite:
        existing = [path for path in (args.out, args.json) if path is not None and os.path.exists(path)]
        if existing:
            print(f"benchmark: error: {existing[0]} already exists. Choose another --out, or pass --overwrite "
                  "to replace it.", file=sys.stderr)
            return 1
    try:
        report = run_benchmark(args.workloads, variants, repeats=args.repeats, quick=args.quick, seed=args.seed,
                               progress=lambda line: print(line, flush=True))
    except ValueError as e:
        print(f"benchmark: error: {e}", file=sys.stderr)
        return 1
    text = markdown(report)
    print(text)
    if args.out is not None:
        _io.write_text(args.out, text)
    if args.json is not None:
        _io.write_text(args.json, json.dumps(report, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

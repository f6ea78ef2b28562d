"""`train`: fit a compiled model with the callbacks the course recommends.

`Model.fit` is called here for one network and in `kerasopt.stacking.train_stacked`
for K networks trained as one stacked model.
Its defaults (epochs, batch size, early-stopping patience) are those of the
one specification, `kerasopt.spec`, which `kerasopt train` also uses.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from kerasopt import _validation as check
from kerasopt import inference
from kerasopt import spec
from kerasopt.callbacks import LearningRateLogger, MonitorCheck, attach_stopper
from kerasopt.data import holdout_rows
from kerasopt.errors import ArgumentError
from kerasopt.signals import data_loss_name, higher_is_better

__all__ = ["TrainResult", "train", "class_weights", "in_memory_dataset"]


@dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        history: The `keras.callbacks.History` of `fit`.
        metrics: Evaluated metrics per split: `{"train": {...},
            "validation": {...}, "test": {...}}` (splits without data are
            left out), computed with the weights `train` ends with (the
            best epoch's when early stopping restores them).
        best_epoch: 1-based number of the epoch with the best monitored
            value; retraining for this many epochs reproduces the choice.
        epochs_run: Number of epochs actually run (early stopping may stop
            before `epochs`).
        learning_rates: The learning rate each epoch ran with.
        seconds: Wall time of `fit`.
    """

    history: keras.callbacks.History
    metrics: dict[str, dict[str, float]]
    best_epoch: int
    epochs_run: int
    learning_rates: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _fast_input(x, y, validation_data) -> bool:
    """Whether `train` feeds `fit` through `in_memory_dataset` (TensorFlow, plain NumPy arrays,
    or dicts of 1-D NumPy arrays as a `TabularModel` takes them, strings included)."""
    arrays = [x, y] + ([] if validation_data is None else list(validation_data))

    def plain(a):
        if isinstance(a, dict):
            return bool(a) and all(isinstance(v, np.ndarray) and v.ndim == 1 for v in a.values())
        return isinstance(a, np.ndarray) and a.dtype != object

    return keras.backend.backend() == "tensorflow" and len(arrays) in (2, 4) and all(plain(a) for a in arrays)


def _take(x, rows):
    if isinstance(x, dict):
        return {k: v[rows] for k, v in x.items()}
    return x[rows]


def in_memory_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = True,
                      seed: int | None = None, repeat: bool = False):
    """Returns a `tf.data.Dataset` of `(x, y)` batches for `Model.fit` on TensorFlow.

    The rows stay in memory as tensors; each epoch shuffles the row indices and
    gathers each batch with one `tf.gather`: about half the time per step of
    Keras's own adapter for NumPy arrays on a small network.

    Args:
        x: Features, shape `(rows, ...)`, or a dict of such arrays (a `TabularModel`'s columns).
        y: Targets, one per row.
        batch_size: Rows per batch (the last batch may be smaller).
        shuffle: Whether to reshuffle the rows every epoch.
        seed: Seed of the shuffle.
        repeat: Whether to repeat the epochs without end (pass `steps_per_epoch` to `fit`).

    Returns:
        A `tf.data.Dataset`.
    """
    import tensorflow as tf

    def tensor(a):
        # Keras's own adapter casts float arrays to `floatx`; do the same. Strings become tf.string.
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.floating):
            a = a.astype(keras.config.floatx())
        return tf.convert_to_tensor(a)

    x, y = tf.nest.map_structure(tensor, x), tensor(y)
    rows = int(y.shape[0])
    indices = tf.data.Dataset.range(rows)
    if shuffle:
        indices = indices.shuffle(rows, seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(
        lambda i: (tf.nest.map_structure(lambda a: tf.gather(a, i), x), tf.gather(y, i)))
    if repeat:
        batches = batches.repeat()
    return batches.prefetch(tf.data.AUTOTUNE)


def class_weights(class_weight, y) -> dict | None:
    """Returns Keras's `{class index: weight}` for `class_weight` (`None`, `"balanced"` or a dict).

    Args:
        class_weight: `None`, `"balanced"` (weights inversely proportional to
            the class frequencies of `y`, as scikit-learn computes them) or a
            dict, returned as it is.
        y: Class indices of the training rows.

    Returns:
        A dict, or `None`.
    """
    if class_weight is None or isinstance(class_weight, dict):
        return class_weight
    if class_weight == "balanced":
        classes = np.unique(y)
        weights = compute_class_weight("balanced", classes=classes, y=np.asarray(y).ravel())
        return {int(c): float(w) for c, w in zip(classes, weights)}
    raise ArgumentError("Invalid value for `class_weight`: expected None, 'balanced' or a dict "
                     f"{{class: weight}}. Received: class_weight={class_weight!r}")


def train(model: keras.Model, x: np.ndarray, y: np.ndarray, *,
          validation_data: tuple[np.ndarray, np.ndarray] | None = None, validation_split: float = 0.0,
          test_data: tuple[np.ndarray, np.ndarray] | None = None,
          epochs: int | None = spec.FIELD["epochs"].default, batch_size: int | None = spec.FIELD["batch_size"].default,
          early_stopping: bool = True, patience: int | None = spec.FIELD["patience"].default,
          monitor: str | None = None, min_delta: float = 0.0,
          reduce_lr_on_plateau: bool | dict = spec.FIELD["reduce_lr_on_plateau"].default,
          class_weight: str | dict | None = spec.FIELD["class_weight"].default,
          callbacks: list[keras.callbacks.Callback] | None = None, steps_per_execution: int | str = "auto",
          seed: int | None = None, verbose: int | str = 0, report_metrics: bool = True) -> TrainResult:
    """Trains a compiled model through `Model.fit` and evaluates it (see docs/python.md).

    Args:
        model: A compiled `keras.Model`, e.g. from `kerasopt.build_model`.
        x: Training features; raw rows (DataFrame, dict of columns) for a `TabularModel`.
        y: Training targets; original labels for a `TabularModel` with a target.
        validation_data: `(x_val, y_val)` for validation.
        validation_split: Instead, the fraction of `(x, y)` to hold out (shuffled, stratified).
        test_data: `(x_test, y_test)`, evaluated after training only.
        epochs: Maximum number of epochs (`None`: sized to the rows by `kerasopt.budget`).
        batch_size: Mini-batch size (`None`: sized likewise).
        early_stopping: Whether to stop after `patience` epochs without improvement, restoring the best weights.
        patience: Epochs without improvement before stopping (`None`: sized likewise).
        monitor: Metric to monitor; default the data loss without weight penalties (`data_loss`).
        min_delta: Minimum change that counts as an improvement.
        reduce_lr_on_plateau: `True` for `ReduceLROnPlateau(factor=0.5, patience=max(1, patience // 2))`,
            or a dict of its arguments; needs a float learning rate.
        class_weight: `None`, `"balanced"` or a dict `{class index: weight}`.
        callbacks: Keras callbacks, run after `train`'s own; a `ProgressLine` among them reads its early stopping.
        steps_per_execution: Batches per compiled call; `"auto"`: a whole epoch on TensorFlow and JAX.
        seed: Seed for shuffling, the validation split and `keras.utils.set_random_seed`.
        verbose: Verbosity of `fit`.
        report_metrics: Whether to evaluate the final weights on every split.

    Returns:
        A `TrainResult`.
    """
    epochs, batch_size, patience = _sizes(y, validation_split, epochs, batch_size, patience)
    seed = _seeded(seed)
    x, y, validation_data, test_data = _split(model, x, y, validation_data, validation_split, test_data, seed)
    monitor = monitor or data_loss(model, validation=validation_data is not None)
    _set_steps_per_execution(model, steps_per_execution, math.ceil(len(y) / batch_size))
    cbs, stopper = _train_callbacks(model, monitor, early_stopping, patience, min_delta, reduce_lr_on_plateau,
                                    callbacks)
    start = time.perf_counter()
    with _converted(model):
        history = model.fit(**_fit_data(x, y, validation_data, batch_size, seed), epochs=epochs,
                            class_weight=class_weights(class_weight, y), callbacks=cbs, verbose=verbose)
    seconds = time.perf_counter() - start
    metrics = {}
    if report_metrics:
        splits = {"train": (x, y), "validation": validation_data, "test": test_data}
        metrics = {name: _evaluate(model, *data) for name, data in splits.items() if data is not None}
    # `history.epoch` holds absolute epoch indices, also for a run resumed from a backup.
    return TrainResult(history=history, metrics=metrics, best_epoch=_best_epoch(history, stopper, monitor),
                       epochs_run=history.epoch[-1] + 1 if history.epoch else 0,
                       learning_rates=[float(v) for v in history.history.get("learning_rate", [])],
                       seconds=seconds)


def _sizes(y, validation_split, epochs, batch_size, patience) -> tuple[int, int, int]:
    """Checked `(epochs, batch_size, patience)`; `None`s sized to the training rows as `kerasopt train` does."""
    if None in (epochs, batch_size, patience):
        from kerasopt.budget import training_budget

        rows = max(1, round(len(y) * (1 - check.unit_interval("validation_split", validation_split))))
        sizes = training_budget(rows, batch_size, epochs, patience)
        epochs, batch_size, patience = sizes.epochs, sizes.batch_size, sizes.patience
    return (check.positive_int("epochs", epochs), check.positive_int("batch_size", batch_size),
            check.non_negative_int("patience", patience))


def _seeded(seed: int | None) -> int | None:
    """The checked `seed`, passed to `keras.utils.set_random_seed` so a run is repeatable."""
    if seed is not None:
        seed = check.non_negative_int("seed", seed)
        keras.utils.set_random_seed(seed)
    return seed


def _split(model, x, y, validation_data, validation_split, test_data, seed):
    """Converted `(x, y, validation_data, test_data)`, with `validation_split` of the rows held out."""
    validation_split = check.unit_interval("validation_split", validation_split)
    if validation_data is not None and validation_split:
        raise ArgumentError("Pass either `validation_data` or `validation_split`, not both. "
                         f"Received: validation_split={validation_split!r}")
    # A TabularModel converts raw rows (a DataFrame, a dict of named columns) and original labels.
    x, y = _model_data(model, x, y)
    if validation_data is not None:
        validation_data = _model_data(model, *validation_data)
    if test_data is not None:
        test_data = _model_data(model, *test_data)
    if check.row_count(x) != len(y):
        raise ArgumentError(f"`x` and `y` have different numbers of rows: {check.row_count(x)} and {len(y)}.")
    if validation_split:
        # integer labels keep their proportions where they can (not an integer target with rare values)
        train_rows, val_rows = holdout_rows(y, validation_split, seed, stratify=np.issubdtype(y.dtype, np.integer),
                                            name="validation_split")
        validation_data = (_take(x, val_rows), y[val_rows])
        x, y = _take(x, train_rows), y[train_rows]
    return x, y, validation_data, test_data


def _set_steps_per_execution(model: keras.Model, steps_per_execution, steps_per_epoch: int) -> None:
    if steps_per_execution == "auto":
        if getattr(model, "steps_per_execution", 1) == 1 and getattr(model, "train_function", None) is None:
            # Small dense models spend most of a step in Python and dispatch overhead, so a whole epoch per
            # compiled call is fastest; it changes no result, only how often batch-level callbacks run.
            fused = keras.backend.backend() in ("tensorflow", "jax")
            model.steps_per_execution = max(1, int(steps_per_epoch)) if fused else 1
    else:
        model.steps_per_execution = check.positive_int("steps_per_execution", steps_per_execution)
        model.train_function = None


def _train_callbacks(model, monitor, early_stopping, patience, min_delta, reduce_lr_on_plateau, callbacks):
    """`train`'s own callbacks, then the user's `callbacks`; and its `EarlyStopping` (or `None`)."""
    cbs: list[keras.callbacks.Callback] = [LearningRateLogger(), MonitorCheck(monitor)]
    stopper = None
    min_delta = check.non_negative_float("min_delta", min_delta)
    if early_stopping:
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, min_delta=min_delta,
                                                restore_best_weights=True)
        cbs.append(stopper)
    if reduce_lr_on_plateau:
        cbs.append(_plateau(model, monitor, patience, reduce_lr_on_plateau))
    return cbs + attach_stopper(_callbacks(callbacks), stopper), stopper


def _plateau(model, monitor: str, patience: int, options: bool | dict = True):
    """`ReduceLROnPlateau` on `monitor`, halving after half the `patience`, or with the `options` of a dict."""
    if not isinstance(model.optimizer.learning_rate, keras.Variable):  # a schedule's or a callable's value
        raise ArgumentError("`reduce_lr_on_plateau` needs a float learning rate; the optimizer has a "
                            "schedule. Use one or the other.")
    options = {"factor": 0.5, "patience": max(1, patience // 2), **(options if isinstance(options, dict) else {})}
    return keras.callbacks.ReduceLROnPlateau(monitor=monitor, **options)


def _fit_data(x, y, validation_data, batch_size: int, seed) -> dict:
    """The data arguments of `fit`: through `in_memory_dataset` where `_fast_input` allows."""
    if not _fast_input(x, y, validation_data):
        return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "validation_data": validation_data}
    # The dataset shuffles itself; `shuffle=False` only tells `fit` not to expect to.
    return {"x": in_memory_dataset(x, y, batch_size, shuffle=True, seed=seed, repeat=True),
            "steps_per_epoch": math.ceil(len(y) / batch_size), "shuffle": False,
            "validation_data": None if validation_data is None else
            in_memory_dataset(*validation_data, batch_size, shuffle=False)}


def _best_epoch(history, stopper, monitor: str) -> int:
    """1-based epoch with the best monitored value (the last epoch when none was logged)."""
    logs = history.history
    epochs_run = history.epoch[-1] + 1 if history.epoch else 0
    if stopper is not None and stopper.best is not None and np.isfinite(stopper.best):
        return int(stopper.best_epoch) + 1
    if monitor in logs and epochs_run:
        values = np.asarray(logs[monitor], dtype="float64")
        best = np.nanargmax(values) if higher_is_better(monitor) else np.nanargmin(values)
        return int(history.epoch[best]) + 1
    return epochs_run


def _model_data(model: keras.Model, x, y):
    """`(inputs, targets)` as `model.fit` takes them: a `TabularModel` converts raw rows and labels."""
    convert_inputs = getattr(model, "convert_inputs", None)
    convert_targets = getattr(model, "convert_targets", None)
    if convert_inputs is not None:
        x = convert_inputs(x)
    if convert_targets is not None:
        y = convert_targets(y)
    y = np.asarray(y)
    if y.dtype.kind in "USO" and any(isinstance(v, str) for v in y.ravel()[:1000]):
        raise ArgumentError("`y` holds text labels, which this model cannot encode: build it with its labels, "
                            "`kerasopt.build_model(X, y)` with the features as a DataFrame, and it takes them. "
                            f"Received: y={check.shown(y)}")
    return (x if isinstance(x, dict) else np.asarray(x)), y


def _converted(model: keras.Model):
    """The context in which a `TabularModel` takes the data that `_model_data` converted as it is."""
    converted = getattr(model, "converted", None)
    return contextlib.nullcontext() if converted is None else converted()


def _callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    wrong = [c for c in callbacks if not isinstance(c, keras.callbacks.Callback)]
    if wrong:
        raise ArgumentError("Invalid value for `callbacks`: expected a list of keras.callbacks.Callback. "
                            f"Received an element: {check.shown(wrong[0])}")
    return callbacks


def data_loss(model: keras.Model, validation: bool = True) -> str:
    """Returns the name of the loss without weight penalties that early stopping watches for `model`.

    Args:
        model: A compiled model; a `kerasopt.tabular.TabularModel` with a
            target carries the `log_loss` (classification) or `mse`
            (regression, in the target's units) metric.
        validation: Whether the name is that of the validation data.

    Returns:
        `"val_log_loss"` / `"val_mse"` for a table model with a target,
        else Keras's `"val_loss"` (without `validation`, the same names
        without `val_`).
    """
    return data_loss_name(getattr(getattr(model, "target", None), "task", None), validation)


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 4096) -> dict[str, float]:
    """Returns the values of `model.evaluate` as a dict of floats (empty for empty data).

    They are computed by `kerasopt.inference.evaluate_batches`: the model's
    own `test_step` on slices of the rows, called eagerly, without the step
    that `Model.evaluate` traces for each new model.

    Args:
        model: A compiled `keras.Model`.
        x: Features (raw rows for a `kerasopt.tabular.TabularModel`).
        y: Targets, as `train` takes them (original labels for a
            `TabularModel` with a target).
        batch_size: Rows per step.

    Returns:
        `{metric name: value}`.
    """
    if len(y) == 0:
        return {}
    return _evaluate(model, *_model_data(model, x, y), batch_size=batch_size)


def _evaluate(model: keras.Model, x, y: np.ndarray, batch_size: int = 4096) -> dict[str, float]:
    """`evaluate` of data that `_model_data` converted."""
    with _converted(model):
        return inference.evaluate_batches(model, x, y, batch_size=batch_size)

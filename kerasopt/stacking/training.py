"""`train_stacked`: K members of a stacked model, each on its own rows, with its own early stopping.

Every epoch each member shuffles its own training rows (`plan_batches`), and the model runs the epoch's steps
with `steps_per_execution` = the steps of an epoch (`_batches` feeds them). Each member is scored on its own
validation rows by Keras metrics that keep one mean per member (`MemberMean`) and stops on its own record
(`MemberEarlyStopping`), getting its best epoch's weights back; training ends when all have stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError
from kerasopt.signals import data_loss_name, higher_is_better
from kerasopt.stacking.builder import is_regression, member_seeds, member_variables, model_members, stacked_layers
from kerasopt.stacking.layers import ADDITIVE_REGULARIZERS, MemberwiseL1L2, MemberwiseRegularizer

__all__ = ["MemberEarlyStopping", "MemberMean", "StackedTrainResult", "member_penalties", "plan_batches",
           "train_stacked"]


def _check_rows(name: str, rows, n_rows: int, members: int) -> list[np.ndarray]:
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        rows = list(rows)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ArgumentError(f"Invalid value for `{name}`: expected a list with one array of row indices per "
                         f"member. Received: {name}={rows!r}")
    if len(rows) != members:
        raise ArgumentError(f"Invalid value for `{name}`: expected {members} arrays of row indices, one per "
                         f"member. Received {len(rows)} arrays.")
    checked = []
    for k, r in enumerate(rows):
        r = np.asarray(r)
        if r.ndim != 1 or r.size == 0 or not np.issubdtype(r.dtype, np.integer):
            raise ArgumentError(f"Invalid value for `{name}`: member {k} needs a 1-D array of integer row indices, "
                                f"not empty. Received: {name}[{k}]={r!r}")
        if r.min() < 0 or r.max() >= n_rows:
            raise ArgumentError(f"Invalid value for `{name}`: member {k} has row indices outside [0, {n_rows}). "
                             f"Received: min {r.min()}, max {r.max()}")
        checked.append(r.astype("int64"))
    return checked


def plan_batches(rows: Sequence[np.ndarray], batch_size: int, seeds: Sequence[int], epoch: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Returns one epoch's batches of every member: row indices and loss weights.

    Every member runs the same number of steps, `S = max_k ceil(n_k /
    batch_size)`. Member `k` shuffles its own rows with its own generator
    (`numpy.random.default_rng([seeds[k], epoch])`, so its order depends on
    nothing of the other members) and, when its rows fill `S` batches, takes
    batches of `batch_size` rows with a smaller last one, as a single network
    would; a member with fewer rows spreads them evenly over the `S` batches.
    Slots a member does not fill are padding (index 0, weight 0). A real row
    of a batch with `m` rows of that member gets weight `1 / m`, so the
    weighted sum of a member's per-row losses is its batch mean.

    Args:
        rows: One 1-D array of row indices per member.
        batch_size: Rows per batch of each member.
        seeds: One integer per member.
        epoch: The 0-based epoch.

    Returns:
        `(indices, weights)`, both of shape `(S, batch_size, K)`: int32 row
        indices and float32 loss weights.

    Raises:
        ValueError: when a member has fewer rows than `S`, so that some of
            its steps would have no row.
    """
    members = len(rows)
    steps = max(math.ceil(len(r) / batch_size) for r in rows)
    indices = np.zeros((steps, batch_size, members), dtype="int32")
    weights = np.zeros((steps, batch_size, members), dtype="float32")
    for k, member_rows in enumerate(rows):
        n = len(member_rows)
        if n < steps:
            raise ArgumentError(f"Member {k} has {n} training rows, fewer than the {steps} steps of an epoch "
                             f"(batch_size={batch_size}): every member needs a row in every step.")
        order = np.asarray(member_rows)[np.random.default_rng([int(seeds[k]), int(epoch)]).permutation(n)]
        if math.ceil(n / batch_size) == steps:
            bounds = list(range(0, n, batch_size)) + [n]
        else:
            bounds = [int(b) for b in np.linspace(0, n, steps + 1).round()]
        for step, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            indices[step, : stop - start, k] = order[start:stop]
            weights[step, : stop - start, k] = 1.0 / (stop - start)
    return indices, weights


class MemberEarlyStopping(keras.callbacks.Callback):
    """Early stopping with one record per member of a stacked model.

    At the end of every epoch, `logs[monitor]` holds one value per member.
    Each member keeps its own best value and epoch (Keras's rule: an
    improvement beats the best by more than `min_delta`; a member stops once
    `patience` epochs have passed without one) and a copy of its weights at
    its best epoch. Training stops when every member has stopped. At the end
    of training every member gets its best weights back; the other members'
    weights are untouched by the restore.

    Args:
        monitor: Key of the per-member values in the epoch logs.
        mode: `"min"` or `"max"`.
        patience: Epochs without improvement before a member stops.
        min_delta: Minimum change that counts as an improvement.

    Attributes:
        member_variables: The stacked model's variables that training
            changes, with the member as their leading axis (kernels, biases,
            embeddings, batch-norm weights and statistics): what each
            member's best copy holds.
        best: Best value per member (array of K).
        best_epoch: 0-based epoch of each member's best value (-1 before any).
        stopped_epoch: 0-based epoch at which each member stopped (-1 while
            it runs).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min", patience: int = 10, min_delta: float = 0.0):
        super().__init__()
        self.monitor = monitor
        self.mode = check.one_of("mode", mode, ("min", "max"))
        self.patience = check.non_negative_int("patience", patience)
        self.min_delta = check.non_negative_float("min_delta", min_delta)

    def on_train_begin(self, logs=None):
        self.member_variables = member_variables(stacked_layers(self.model))
        count = model_members(self.model)[0]
        self.best = np.full(count, np.inf if self.mode == "min" else -np.inf)
        self.best_epoch = np.full(count, -1)
        self.stopped_epoch = np.full(count, -1)
        self.wait = np.zeros(count, dtype=int)
        self._best_weights = [keras.ops.convert_to_numpy(v).copy() for v in self.member_variables]

    def on_epoch_end(self, epoch, logs=None):
        values = np.asarray((logs or {}).get(self.monitor), dtype="float64")
        if values.shape != self.best.shape:
            raise ArgumentError(f"MemberEarlyStopping needs one `{self.monitor}` value per member "
                             f"({self.best.size}) in the epoch logs. Available: {sorted(logs or {})}")
        running = self.stopped_epoch < 0
        delta = values - self.best
        improved = running & ((delta < -self.min_delta) if self.mode == "min" else (delta > self.min_delta))
        if improved.any():
            current = [keras.ops.convert_to_numpy(v) for v in self.member_variables]
            for best, now in zip(self._best_weights, current):
                best[improved] = now[improved]
        self.best[improved] = values[improved]
        self.best_epoch[improved] = epoch
        self.wait[improved] = 0
        self.wait[running & ~improved] += 1
        stopping = running & ~improved & (self.wait >= self.patience)
        self.stopped_epoch[stopping] = epoch
        if (self.stopped_epoch >= 0).all():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        restore = self.best_epoch >= 0
        if not restore.any():
            return
        for variable, best in zip(self.member_variables, self._best_weights):
            now = keras.ops.convert_to_numpy(variable).copy()
            now[restore] = best[restore]
            variable.assign(now)


_MEMBER_FUNCTIONS = {
    "log_loss": keras.losses.sparse_categorical_crossentropy,
    "accuracy": keras.metrics.sparse_categorical_accuracy,
    "mse": keras.losses.mean_squared_error,
    "mae": keras.losses.mean_absolute_error,
}


@keras.saving.register_keras_serializable(package="kerasopt")
class MemberMean(keras.metrics.Metric):
    """The running mean of a per-row score, one mean per member of a stacked model (`result()`: shape `(K,)`).

    `update_state(y_true, y_pred, sample_weight)` takes targets `(batch, K,
    1)`, outputs `(batch, K, outputs)` and row weights `(batch, K)` (the row
    mask), and applies Keras's own per-row function of `score`:
    `"log_loss"` (`keras.losses.sparse_categorical_crossentropy`),
    `"accuracy"` (`keras.metrics.sparse_categorical_accuracy`), `"mse"` or
    `"mae"` (`keras.losses.mean_squared_error` / `mean_absolute_error`).

    Args:
        score: One of the four names above.
        members: Number of members K.
        name: Name of the metric (default: `score`).
    """

    def __init__(self, score: str, members: int, name: str | None = None, **kwargs):
        super().__init__(name=name or score, **kwargs)
        self.score = check.one_of("score", score, tuple(_MEMBER_FUNCTIONS))
        self.members = check.positive_int("members", members)
        self.total = self.add_variable((self.members,), initializer="zeros", name="total")
        self.count = self.add_variable((self.members,), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = keras.ops.cast(_MEMBER_FUNCTIONS[self.score](y_true, y_pred), self.dtype)
        weights = keras.ops.ones_like(values) if sample_weight is None else keras.ops.cast(sample_weight, self.dtype)
        self.total.assign_add(keras.ops.sum(values * weights, axis=0))
        self.count.assign_add(keras.ops.sum(weights, axis=0))

    def result(self):
        return keras.ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        return {**super().get_config(), "score": self.score, "members": self.members}


def member_penalties(model: keras.Model) -> np.ndarray:
    """Each member's weight penalty from the stacked model's kernels, shape `(K,)` (float64)."""
    total = np.zeros(model_members(model)[0])
    for layer in model.layers:
        reg = getattr(layer, "kernel_regularizer", None)
        if reg is None:
            continue
        kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
        if isinstance(reg, MemberwiseL1L2):
            total += reg.member_penalties(kernel)
        elif isinstance(reg, ADDITIVE_REGULARIZERS):
            total += (float(getattr(reg, "l1", 0.0)) * np.abs(kernel).sum(axis=(1, 2))
                      + float(getattr(reg, "l2", 0.0)) * np.square(kernel).sum(axis=(1, 2)))
        else:
            inner = reg.regularizer if isinstance(reg, MemberwiseRegularizer) else reg
            total += [float(keras.ops.convert_to_numpy(inner(layer.kernel[k]))) for k in range(len(total))]
    return total


class _MemberValidation(keras.callbacks.Callback):
    """Writes each member's validation scores on its own rows (`MemberMean` metrics of the model's predictions)
    and its weight penalty into the epoch logs."""

    def __init__(self, x, y, rows, regression: bool):
        super().__init__()
        count = len(rows)
        size = max(len(r) for r in rows)
        index = np.zeros((size, count), dtype="int64")
        mask = np.zeros((size, count), dtype="float32")
        for k, r in enumerate(rows):
            index[: len(r), k] = r
            mask[: len(r), k] = 1.0
        self.inputs = {"features": keras.ops.convert_to_tensor(np.asarray(x, "float32")[index]),
                       "row_mask": keras.ops.convert_to_tensor(mask)}
        self.mask = mask
        self.y = np.asarray(y)[index][..., None]  # (rows, K, 1): Keras's functions then keep the member axis
        self.metrics = [MemberMean(s, count, name=f"val_{s}")
                        for s in (("mse", "mae") if regression else ("log_loss", "accuracy"))]
        self.data_loss = data_loss_name("regression" if regression else "classification")

    def scores(self) -> dict[str, np.ndarray]:
        outputs = self.model.predict_on_batch(self.inputs)
        scores = {}
        for metric in self.metrics:
            metric.reset_state()
            metric.update_state(self.y, outputs, sample_weight=self.mask)
            scores[metric.name] = keras.ops.convert_to_numpy(metric.result()).astype("float64")
        scores["penalty"] = member_penalties(self.model)
        return {"val_loss": scores[self.data_loss] + scores["penalty"], **scores}

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.scores())


@dataclass
class StackedTrainResult:
    """What `train_stacked` returns.

    Attributes:
        history: The epoch logs as the members' validation and early
            stopping leave them: `"loss"`, the summed training loss, and
            with the default loss the members' mean data loss `"log_loss"`
            or `"mse"` (a Keras metric, weighted like the loss), shape
            `(epochs_run,)`; with validation rows, one column per member
            (shape `(epochs_run, K)`): `"val_loss"` (with the member's
            weight penalty, as Keras's), `"val_log_loss"` and
            `"val_accuracy"`, or `"val_mse"` and `"val_mae"`, and
            `"penalty"` (the member's weight penalty at the end of the epoch);
            and `"learning_rate"`, the rate each epoch began with.
        best_epochs: 1-based best epoch of each member by `monitor` (shape
            `(K,)`), also without early stopping (retraining for that many
            epochs reproduces the choice); without validation rows, the
            last epoch.
        stopped_epochs: 1-based epoch at which each member stopped (its
            last epoch of patience), or `epochs_run` for a member that never
            stopped.
        epochs_run: Number of epochs the stacked model ran.
        validation: Each member's validation scores with the weights it
            ends with (its best epoch's), `{name: array of K}`; empty
            without validation rows.
        seconds: Wall time of `fit`.
    """

    history: dict[str, np.ndarray]
    best_epochs: np.ndarray
    stopped_epochs: np.ndarray
    epochs_run: int
    validation: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0


def _batches(x, y, rows, batch_size, seeds, epochs, regression: bool, sample_weight=None):
    """The epochs of `(inputs, targets, weights)` batches and the steps of an epoch.

    On TensorFlow a `tf.data.Dataset` that gathers each step's rows in the
    graph (like `kerasopt.training.in_memory_dataset`); on other backends a
    generator of NumPy batches, which Keras's JAX trainer iterates without
    `tf.data`'s conversion cost.
    """
    steps, members = max(math.ceil(len(r) / batch_size) for r in rows), len(rows)
    x = np.asarray(x, "float32")
    y = np.asarray(y, "float32")[:, None] if regression else np.asarray(y, "int32")  # targets (..., K, 1) to regress

    def plans():
        for epoch in range(epochs):
            index, weight = plan_batches(rows, batch_size, seeds, epoch)
            if sample_weight is not None:  # Keras's weighted batch mean: sum of w_i * loss_i over the batch size
                weight = weight * sample_weight[index]
            yield index, weight

    if keras.backend.backend() != "tensorflow":
        def numpy_batches():
            for index, weight in plans():  # one gather per epoch
                features, targets, mask = x[index], y[index], (weight > 0).astype("float32")
                for step in range(steps):
                    yield {"features": features[step], "row_mask": mask[step]}, targets[step], weight[step]
        return numpy_batches(), steps

    import tensorflow as tf

    spec = tf.TensorSpec((steps, batch_size, members), tf.int32)
    dataset = tf.data.Dataset.from_generator(
        plans, output_signature=(spec, tf.TensorSpec((steps, batch_size, members), tf.float32)))
    x, y = tf.constant(x), tf.constant(y)

    def gather(index, weight):
        return ({"features": tf.gather(x, index), "row_mask": tf.cast(weight > 0, tf.float32)}, tf.gather(y, index),
                weight)

    # One gather per epoch, then one element per step: cheaper than a map per step.
    return dataset.map(gather).unbatch().prefetch(tf.data.AUTOTUNE), steps


_MONITORS = {False: ("val_loss", "val_log_loss", "val_accuracy"), True: ("val_loss", "val_mae", "val_mse")}


def train_stacked(
    model: keras.Model, x: np.ndarray, y: np.ndarray, train_rows: Sequence[np.ndarray],
    validation_rows: Sequence[np.ndarray] | None = None, *, epochs: int = 100, batch_size: int = 32,
    early_stopping: bool = True, patience: int = 10, monitor: str = "val_loss", min_delta: float = 0.0,
    seed: int | Sequence[int] | None = None, callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0, sample_weight: np.ndarray | None = None,
) -> StackedTrainResult:
    """Trains the K members of a stacked model, each on its own rows and with its own early stopping.

    Args:
        model: A model from `build_stacked_model` (built on `[x[r] for r in train_rows]`, so that each
            member's `Normalization` is adapted on its own rows).
        x: Features of all rows, shape `(rows, features)`.
        y: Targets of all rows: class indices, or numbers for regression.
        train_rows: One 1-D array of row indices per member (a list, or a 2-D array with one row per member).
        validation_rows: Optionally one 1-D array of row indices per member, e.g. each fold's held-out rows.
        epochs: Maximum number of epochs.
        batch_size: Rows per batch of each member.
        early_stopping: Whether each member stops after `patience` epochs without improving `monitor` on
            its validation rows (needs `validation_rows`), restoring its best weights.
        patience: Epochs without improvement before a member stops.
        monitor: `"val_loss"` (penalty included), or `"val_log_loss"` / `"val_accuracy"`
            (classification), or `"val_mae"` / `"val_mse"` (regression).
        min_delta: Minimum change that counts as an improvement.
        seed: Seed of the members' shuffling (member `k` uses `seed + k`), one seed per member, or `None`
            for a random one; also passed to `keras.utils.set_random_seed` (dropout masks).
        callbacks: More Keras callbacks, run after the members' validation and early stopping; their
            epoch logs hold `"loss"` (the members' sum) and the per-member arrays of the history.
        verbose: Verbosity of `fit` (0 with validation rows: a progress bar cannot show arrays).
        sample_weight: Optional weight of every row of `x` in the training loss, applied as Keras
            applies `sample_weight`. Validation scores are unweighted.

    Returns:
        A `StackedTrainResult`.
    """
    from kerasopt.callbacks import LearningRateLogger, attach_stopper  # not at the top: a cycle through Keras

    regression = is_regression(stacked_layers(model))
    members = model_members(model)[0]
    epochs, batch_size = check.positive_int("epochs", epochs), check.positive_int("batch_size", batch_size)
    patience, min_delta = check.non_negative_int("patience", patience), check.non_negative_float("min_delta", min_delta)
    x, y, train_rows, validation_rows = _check_data(model, x, y, train_rows, validation_rows)
    monitor = check.one_of("monitor", monitor, _MONITORS[regression])
    seeds = _shuffle_seeds(seed, members)
    sample_weight = _check_sample_weight(sample_weight, len(x))
    batches, steps = _batches(x, y, train_rows, batch_size, seeds, epochs, regression, sample_weight)
    plan_batches(train_rows, batch_size, seeds, 0)  # raises here, not in the data pipeline
    if getattr(model, "train_function", None) is None and model.steps_per_execution == 1 \
            and keras.backend.backend() in ("tensorflow", "jax"):
        model.steps_per_execution = steps
    validation = None if validation_rows is None else _MemberValidation(x, y, validation_rows, regression)
    mode = "max" if higher_is_better(monitor) else "min"
    stopper = MemberEarlyStopping(monitor, mode, patience, min_delta) if validation and early_stopping else None
    recorder = keras.callbacks.History()  # the logs as the members' validation and early stopping leave them
    cbs = [c for c in (LearningRateLogger(), validation, stopper, recorder) if c is not None]
    cbs += attach_stopper(list(callbacks or []), stopper)
    start = time.perf_counter()
    model.fit(batches, epochs=epochs, steps_per_epoch=steps, shuffle=False, callbacks=cbs,
              verbose=0 if validation is not None else verbose)
    return _result(recorder, validation, stopper, monitor, members, time.perf_counter() - start)


def _check_data(model: keras.Model, x, y, train_rows, validation_rows) -> tuple:
    """`(x, y, train_rows, validation_rows)` checked against the stacked `model`."""
    members, n_features = model_members(model)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ArgumentError(f"Invalid value for `x`: expected a 2-D array with {n_features} columns. "
                         f"Received: x with shape {x.shape}")
    if len(y) != len(x):
        raise ArgumentError(f"`x` and `y` have different numbers of rows: {len(x)} and {len(y)}.")
    train_rows = _check_rows("train_rows", train_rows, len(x), members)
    if validation_rows is not None:
        validation_rows = _check_rows("validation_rows", validation_rows, len(x), members)
    return x, y, train_rows, validation_rows


def _shuffle_seeds(seed, members: int) -> list[int]:
    """The members' shuffling seeds; a given `seed` also seeds Keras (dropout masks)."""
    if seed is None:
        return [int(s) for s in np.random.default_rng().integers(0, 2**31 - 1, members)]
    seeds = member_seeds("seed", seed, members)
    keras.utils.set_random_seed(seeds[0])
    return seeds


def _check_sample_weight(sample_weight, n_rows: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype="float32")
    if sample_weight.shape != (n_rows,) or not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
        raise ArgumentError("Invalid value for `sample_weight`: expected one finite weight >= 0 per row of `x` "
                            f"({n_rows}). Received: sample_weight with shape {sample_weight.shape}")
    return sample_weight


def _result(recorder: keras.callbacks.History, validation: _MemberValidation | None,
            stopper: MemberEarlyStopping | None, monitor: str, members: int, seconds: float) -> StackedTrainResult:
    """The `StackedTrainResult` of a finished `fit`."""
    history = {key: np.asarray(values) for key, values in recorder.history.items()}
    epochs_run = len(recorder.epoch)
    final = {} if validation is None else validation.scores()
    best, stopped = np.full(members, epochs_run), np.full(members, epochs_run)
    if stopper is not None:
        best = np.where(stopper.best_epoch >= 0, stopper.best_epoch + 1, epochs_run)
        stopped = np.where(stopper.stopped_epoch >= 0, stopper.stopped_epoch + 1, epochs_run)
    elif validation is not None and epochs_run:
        values = history[monitor]
        best = (np.argmax(values, axis=0) if higher_is_better(monitor) else np.argmin(values, axis=0)) + 1
    return StackedTrainResult(history=history, best_epochs=best, stopped_epochs=stopped, epochs_run=epochs_run,
                              validation=final, seconds=seconds)

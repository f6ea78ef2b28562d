"""The Dense-network factory `build_model`: a `kerasopt.network.Network`, its inputs, and how it compiles.

When training features are given, an adapted `Normalization` layer comes
first, so the model takes raw feature rows; a table gets its preprocessing
and becomes a `kerasopt.tabular.TabularModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from kerasopt import _validation as check
from kerasopt import augmentation as augmentation_lib
from kerasopt import losses
from kerasopt import optimizers as optimizers_lib
from kerasopt.config import DEFAULTS
from kerasopt.errors import ArgumentError
from kerasopt.network import AUGMENTATION_SEED_OFFSET, Network, make_regularizer
from kerasopt.tabular.layers import embedding_blocks, periodic_columns

__all__ = ["build_model", "make_optimizer", "make_regularizer"]


def build_model(
    inputs: int | np.ndarray, y=None, num_classes: int | None | str = "auto",
    hidden_units: int | Sequence[int] | None = None, activation: str = DEFAULTS["activation"],
    kernel_initializer: str | dict = DEFAULTS["kernel_initializer"], l1: float | Sequence[float] = DEFAULTS["l1"],
    l2: float | Sequence[float] = DEFAULTS["l2"], kernel_regularizer=None,
    dropout: float | Sequence[float] = DEFAULTS["dropout"], batch_norm: bool | Sequence[bool] = DEFAULTS["batch_norm"],
    normalize: bool = True, optimizer: str | dict | keras.optimizers.Optimizer = DEFAULTS["optimizer"],
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None, loss: Any = None,
    label_smoothing: float = DEFAULTS["label_smoothing"], metrics: list | None = None, seed: int | None = None,
    jit_compile: bool | str = "auto", steps_per_execution: int = 1, name: str = "kerasopt_dense", target=None,
    augment: Any = None, image_shape: Sequence[int] | None = None,
) -> keras.Model:
    """Builds and compiles a regularized Dense network with the defaults of `kerasopt.spec`.

    The run's learning-rate schedule needs the steps per epoch: `kerasopt.config.model_arguments` applies it.

    Args:
        inputs, normalize: The number of features, the training features (adapting a leading
            `Normalization` if `normalize`), or a table (`DataFrame`, dict of columns or Schema).
        y: Training labels, whose task and classes the model reads (a table model keeps them).
        num_classes: Classes (>= 2) of a softmax classifier, `None` for
            regression, `"auto"` from `y` or `target` (required without both).
        hidden_units, activation: Units per hidden layer (`()`: none; `None`: `budget.hidden_units_for`), activation.
        kernel_initializer: Initializer name or dict of every kernel (seeded).
        l1, l2: L1 / L2 strength, one value or one per Dense layer (output last).
        kernel_regularizer: Instead of `l1`/`l2` (left at their defaults), a
            regularizer (name, dict or instance) or one per Dense layer.
        dropout, batch_norm: Dropout rate after, and `BatchNormalization`
            before, each hidden activation; one value or one per layer.
        optimizer, learning_rate: Optimizer name, dict or instance, and a float
            or schedule (`None`: the default, or a dict's or instance's own).
        loss, metrics, label_smoothing: Default `kerasopt.losses.default_loss` (the sparse cross-entropy,
            smoothed if `label_smoothing` > 0) and `["accuracy"]`, or MSE and `["mae"]`.
        seed, name: Seed of the initializers and dropout masks; model name.
        jit_compile, steps_per_execution: Passed to `Model.compile`.
        target: For a table, the `TargetInfo` of `encode_target` instead of
            `y`: the model keeps the labels or restores the target's scale.
        augment, image_shape: Training-only image augmentation
            (`kerasopt.augmentation.get`) and the rows' image shape (default square, grey).

    Returns:
        A compiled `keras.Model` (`build_model(20, num_classes=4).output_shape == (None, 4)`).

    Raises:
        ArgumentError: naming the argument and echoing the value.
    """
    num_classes, target = _task(inputs, y, num_classes, target)
    schema, features, n_inputs = _inputs(inputs)
    network = Network.create(num_classes, hidden_units, activation, kernel_initializer, l1, l2, kernel_regularizer,
                             dropout, batch_norm, embeddings=[] if schema is None else embedding_blocks(schema),
                             rows=_rows(inputs) or None, periodic=[] if schema is None else periodic_columns(schema))
    seed = None if seed is None else check.non_negative_int("seed", seed)
    x_in, x = _input_stage(schema, features, n_inputs, normalize, augment, image_shape, seed)
    outputs = network.apply(x, seed)
    model, loss_weights, metrics = _wrap(x_in, outputs, schema, target, num_classes, metrics, name)
    loss = losses.default_loss(num_classes, label_smoothing) if loss is None else loss
    model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss=loss, loss_weights=loss_weights,
                  metrics=metrics, jit_compile=jit_compile,
                  steps_per_execution=check.positive_int("steps_per_execution", steps_per_execution))
    return model


def _wrap(x_in, outputs, schema, target, num_classes, metrics, name: str):
    """`(model, loss weights, metrics)`: a `keras.Model`, or for a table a `TabularModel` with its output side."""
    if schema is None:
        default = ["mae"] if num_classes is None else ["accuracy"]
        return keras.Model(x_in, outputs, name=name), None, default if metrics is None else metrics
    from kerasopt.tabular import model as tabular_model

    outputs, loss_weights, default_metrics = tabular_model.output_side(outputs, target, num_classes)
    model = tabular_model.TabularModel(x_in, outputs, name=name, schema=schema, target=target)
    return model, loss_weights, default_metrics if metrics is None else metrics


def _inputs(inputs):
    """`(schema, training features, number of inputs)` of `build_model`'s `inputs` (`None` where absent)."""
    if _is_table(inputs):
        from kerasopt import tabular

        schema = inputs if isinstance(inputs, tabular.Schema) else tabular.infer_schema(inputs)
        return schema, None, len(schema.features)
    if isinstance(inputs, (int, np.integer)) and not isinstance(inputs, bool):
        return None, None, check.positive_int("inputs", inputs)
    features = np.asarray(inputs, dtype="float32")
    if features.ndim != 2 or features.shape[0] < 1 or features.shape[1] < 1:
        raise ArgumentError("Invalid value for `inputs`: expected a positive integer or a 2-D array "
                            f"of training features. Received: inputs with shape {features.shape}")
    return None, features, features.shape[1]


def _input_stage(schema, features, n_inputs: int, normalize: bool, augment, image_shape, seed):
    """`(inputs, x)`: the model's inputs and what the network takes (preprocessed, augmented, normalized)."""
    if schema is not None:
        if augment is not None:
            raise ArgumentError("`augment` applies to image rows (an array or a number of pixels), not to a table. "
                                f"Received: augment={augment!r}")
        from kerasopt.tabular.layers import build_preprocessing

        return build_preprocessing(schema)
    seed = None if seed is None else seed + AUGMENTATION_SEED_OFFSET
    augmentation = augmentation_lib.get(augment, image_shape, seed=seed)
    x_in = keras.Input(shape=(n_inputs,), name="features")
    x = x_in if augmentation is None else augmentation(x_in)
    if features is not None and normalize:
        norm = keras.layers.Normalization(name="normalization")
        norm.adapt(features)
        x = norm(x)
    return x_in, x


def make_optimizer(optimizer, learning_rate=None) -> keras.optimizers.Optimizer:
    """The optimizer of `build_model`'s `optimizer` and `learning_rate` (see there).

    Args:
        optimizer: Optimizer name, dict or instance.
        learning_rate: A float, a `LearningRateSchedule`, or `None`.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ArgumentError("Pass `learning_rate` to the optimizer instance itself, not to build_model. "
                                f"Received: learning_rate={learning_rate!r}")
        return optimizer
    if learning_rate is None:
        own = isinstance(optimizer, dict) and ("learning_rate" in optimizer or "class_name" in optimizer)
        learning_rate = None if own else DEFAULTS["learning_rate"]
    if learning_rate is not None and not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = check.positive_float("learning_rate", learning_rate)
    return optimizers_lib.get(optimizer, **({} if learning_rate is None else {"learning_rate": learning_rate}))


def _task(inputs, y, num_classes, target):
    """`(num_classes, target)` of `build_model`: from `y`, `target` or `num_classes`, never guessed."""
    if not (num_classes is None or (isinstance(num_classes, str) and num_classes == "auto")):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
            raise ArgumentError("Invalid value for `num_classes`: expected an integer >= 2, None for regression, "
                                "or 'auto' to read the task from `y` or `target`. "
                                f"Received: num_classes={check.shown(num_classes)}")
        num_classes = int(num_classes)
    table = _is_table(inputs)
    if target is not None:
        from kerasopt import tabular

        if not table:
            raise ArgumentError("`target` applies to tables (a DataFrame or Schema as `inputs`). "
                                f"Received: target={check.shown(target)}")
        if not isinstance(target, tabular.TargetInfo):
            raise ArgumentError("Invalid value for `target`: expected a kerasopt.tabular.TargetInfo or None (pass "
                                f"labels as `y`). Received: target={check.shown(target)}")
        if y is not None:
            raise ArgumentError("Pass either `y` (the labels) or `target` (their TargetInfo), not both.")
        return target.num_classes, target
    if y is None:
        if isinstance(num_classes, str):
            raise ArgumentError("build_model needs the task: pass the training labels (`build_model(X, y)`), "
                                "`num_classes=K` for a K-class classifier, or `num_classes=None` for regression. "
                                "Received: num_classes='auto'")
        return num_classes, None
    return _task_from_labels(inputs, y, num_classes, table)


def _task_from_labels(inputs, y, num_classes, table: bool):
    from kerasopt import tabular

    rows = _rows(inputs)
    if np.ndim(y) != 1 or (rows is not None and len(y) != rows):
        raise ArgumentError(f"Invalid value for `y`: expected one label per row of `inputs` ({rows} rows). "
                            f"Received: y={check.shown(y)}")
    task = None if num_classes == "auto" else ("regression" if num_classes is None else "classification")
    _, info = tabular.encode_target(y, task=task, min_rows_per_class=1)
    if info.task == "regression":
        return None, (info if table else None)
    if table:
        if num_classes not in ("auto", info.num_classes):
            raise ArgumentError(f"Invalid value for `num_classes`: `y` holds {info.num_classes} classes. "
                                f"Received: num_classes={num_classes}")
        return info.num_classes, info
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in info.classes):
        raise ArgumentError("Invalid value for `y`: a model over an array or a number of inputs trains on class "
                            f"indices 0..K-1; `y` holds the labels {check.shown(list(info.classes))}. Pass the "
                            "features as a pandas.DataFrame (the model then keeps the labels), or encode them.")
    needed = max(info.classes) + 1
    if num_classes == "auto":
        return needed, None
    if num_classes < needed:
        raise ArgumentError(f"Invalid value for `num_classes`: `y` holds class index {needed - 1}. "
                            f"Received: num_classes={num_classes}")
    return num_classes, None


def _rows(inputs) -> int | None:
    """Number of rows of `inputs` (`None` for a number of inputs or a schema)."""
    if isinstance(inputs, (int, np.integer)) or not hasattr(inputs, "__len__"):
        return None
    return check.row_count(inputs)


def _is_table(inputs) -> bool:
    if isinstance(inputs, (int, np.integer, np.ndarray, list, tuple)):
        return False
    from kerasopt.tabular.model import is_tabular_input

    return is_tabular_input(inputs)

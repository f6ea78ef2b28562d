"""`TabularModel`, the Functional model that carries a table's `Schema` and `TargetInfo`, and its output side
(`output_side`: the output tensor, loss weight and metrics a table model is compiled with)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import keras
import numpy as np
import pandas as pd

from kerasopt.errors import ArgumentError, DataError
from kerasopt.inference import predict_batches
from kerasopt.losses import data_loss_metric
from kerasopt.tabular.schema import Schema
from kerasopt.tabular.target import TargetInfo

__all__ = ["TabularModel", "SoftmaxAUC", "is_tabular_input", "output_side"]


def _needs_conversion(x) -> bool:
    if isinstance(x, pd.DataFrame):
        return True
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    if isinstance(x, Mapping):
        return any(isinstance(v, (pd.Series, list, tuple, np.ndarray)) for v in x.values())
    return False


@keras.saving.register_keras_serializable(package="kerasopt")
class TabularModel(keras.Model):
    """A Functional model over named table columns that carries its `Schema` and `TargetInfo`.

    Its inputs are keyed by the column names. `predict`, `evaluate`, `fit`
    and calling the model accept a `pandas.DataFrame`, a dict of named
    columns (strings, NaN) or a 2-D array in the schema's column order, and
    convert them with `schema.to_inputs`. The schema and the target info
    are part of the model's config, so a saved `.keras` file loads with
    both (`keras.saving.load_model`) and still speaks the original labels.
    Targets given to `fit`, `evaluate` and `kerasopt.train` are the original
    labels (the values of `classes`: strings, 1..K, booleans...) or, for
    regression, the raw target values; the model encodes them
    (`convert_targets`). Only a model without a target (built with
    `num_classes`) takes class indices.

    Built by `kerasopt.build_model` from a DataFrame or a `Schema`.

    Attributes:
        schema: The `Schema` of the inputs.
        target: The `TargetInfo` of the output.
        classes: The class labels (original values), or `None` for regression.
    """

    def __init__(self, *args, schema=None, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema if isinstance(schema, Schema) or schema is None else Schema.from_config(schema)
        self.target = target if isinstance(target, TargetInfo) or target is None else TargetInfo.from_config(target)
        self._converted = False

    @property
    def classes(self) -> list | None:
        return None if self.target is None else self.target.classes

    def get_config(self):
        config = super().get_config()
        config["schema"] = None if self.schema is None else self.schema.get_config()
        config["target"] = None if self.target is None else self.target.get_config()
        return config

    def convert_inputs(self, x, notes: list[str] | None = None):
        """Returns `schema.to_inputs(x)` for raw rows; datasets and tensors pass unchanged."""
        if self.schema is not None and not self._converted and _needs_conversion(x):
            return self.schema.to_inputs(x, notes=notes)
        return x

    def convert_targets(self, y):
        """Returns `target.encode(y)`: class indices for original labels, float32 for regression values.

        `y` passes unchanged without a target, when it is `None`, a dataset
        or a tensor, and inside `converted()`.
        """
        if self.target is None or self._converted or not isinstance(y, (pd.Series, np.ndarray, list, tuple)):
            return y
        try:
            return self.target.encode(y)
        except DataError as e:
            if "not one of the classes" not in str(e):
                raise
            raise DataError(f"{e} The model takes its original labels, not class indices.") from None

    @contextlib.contextmanager
    def converted(self):
        """A context in which `fit`, `evaluate` and `predict` take data already converted (the output of
        `convert_inputs` and `convert_targets`) and convert nothing again.

        `fit` uses it for Keras's own validation pass, and `kerasopt.train`
        for data it converted once.
        """
        previous, self._converted = self._converted, True
        try:
            yield self
        finally:
            self._converted = previous

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(self.convert_inputs(inputs), *args, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict` on raw rows; quiet (`verbose=0`) and without `steps` or `callbacks`,
        it calls the model directly on batches of at least 1,024 rows (`kerasopt.inference.predict_batches`),
        without `predict`'s fixed cost per call."""
        x = self.convert_inputs(x)
        if verbose == 0 and steps is None and callbacks is None and isinstance(x, (dict, np.ndarray)):
            with self.converted():
                return predict_batches(self, x, max(batch_size or 0, 1024))
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(self.convert_inputs(x), self.convert_targets(y), *args, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        validation = kwargs.get("validation_data")
        if isinstance(validation, tuple) and validation:
            kwargs["validation_data"] = (self.convert_inputs(validation[0]),
                                         *map(self.convert_targets, validation[1:2]), *validation[2:])
        x, y = self.convert_inputs(x), self.convert_targets(y)
        with self.converted():
            return super().fit(x, y, *args, **kwargs)

    def predict_proba(self, x, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities, one column per class in the order of `classes`."""
        if self.classes is None:
            raise ArgumentError("predict_proba needs a classifier; this model is a regression model.")
        return np.asarray(self.predict(x, batch_size=batch_size, verbose=0))

    def predict_labels(self, x, batch_size: int = 1024) -> np.ndarray:
        """Predicted labels in their original values, or restored values for regression."""
        outputs = np.asarray(self.predict(x, batch_size=batch_size, verbose=0))
        if self.target is None:
            return outputs.argmax(axis=-1) if outputs.shape[-1] > 1 else outputs[:, 0]
        return self.target.decode(outputs)


def is_tabular_input(inputs) -> bool:
    """Whether `build_model` should build a `TabularModel` for `inputs` (a DataFrame, dict or Schema)."""
    return isinstance(inputs, (pd.DataFrame, Schema, Mapping))


def output_side(outputs, target: TargetInfo | None, num_classes: int | None) -> tuple:
    """The output side of a table model: its output tensor, loss weight and metrics.

    A classifier reports `accuracy`, `log_loss` (the cross-entropy without
    the weight penalties that `loss` adds) and, for two classes, `auc`
    (`SoftmaxAUC`). A regression output goes back to the target's scale
    (`Rescaling(std, offset=mean)`, given a target); the squared error is
    divided by the target's training variance, so the loss is that of a
    standardized target and the weight penalties keep the strength they
    have on any other table. Its metrics report the data loss in the
    target's units, `mse`, which the `loss` (scaled, with every weight
    penalty added) is not.

    Args:
        outputs: The network's output tensor.
        target: The `TargetInfo`, or `None`.
        num_classes: Classes of the softmax output, or `None` for regression.

    Returns:
        `(outputs, loss_weights, metrics)` for `Model.compile`.
    """
    if num_classes is not None:
        metrics = ["accuracy", data_loss_metric(num_classes)]
        return outputs, None, metrics + ([SoftmaxAUC(name="auc")] if num_classes == 2 else [])
    if target is not None:
        outputs = keras.layers.Rescaling(target.std, offset=target.mean, name="tabular_restore_target")(outputs)
    var = 1.0 if target is None else target.units_factor("mse")  # the training variance
    metrics = [data_loss_metric(None), keras.metrics.RootMeanSquaredError(name="rmse"),
               keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.R2Score(name="r2")]
    return outputs, 1.0 / var, metrics


@keras.saving.register_keras_serializable(package="kerasopt")
class SoftmaxAUC(keras.metrics.AUC):
    """ROC AUC of a two-class softmax output against integer labels 0/1.

    `keras.metrics.AUC` wants one probability per row; this passes it the
    second column (the probability of class 1).
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.reshape(y_true, (-1, 1))
        return super().update_state(y_true, y_pred[:, 1:2], sample_weight=sample_weight)

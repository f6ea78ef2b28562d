"""Predictions and scores in batches without the fixed cost of `Model.predict` and `Model.evaluate`.

`keras.Model.predict` and `evaluate` build a `tf.data` pipeline and trace a step for each new
model, a fixed cost of a few tenths of a second that dominates the predictions and scores of a small
table (and a run predicts and scores several times). As Keras's guide advises for data that fits in
memory, `predict_batches` calls the model directly, in inference mode, on consecutive slices of the
rows, and `evaluate_batches` runs the model's own `test_step` (its compiled loss and metrics) on
them. The values are those of `predict` and `evaluate` to float rounding (eager and traced
execution may differ in the last bit), and repeatable: the same model and rows give the same values.

Example:

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
>>> predict_batches(model, np.array([[1.0, 2.0], [3.0, 4.0]]), batch_size=1).tolist()
[[3.0], [7.0]]
"""

from __future__ import annotations

import numpy as np

from kerasopt import _validation as check

__all__ = ["predict_batches", "evaluate_batches", "output_metrics", "outputs_and_metrics"]


def predict_batches(model, inputs, batch_size: int = 4096) -> np.ndarray:
    """Returns `model`'s outputs for every row of `inputs`, called eagerly in inference mode.

    Args:
        model: A functional `keras.Model` with one output.
        inputs: An array, or a dict of arrays with the same number of rows (a `TabularModel`'s
            converted inputs).
        batch_size: Rows per call.

    Returns:
        A NumPy array of the outputs, one row per input row (none for no rows).
    """
    import keras  # here, not at the top: `kerasopt.tabular` imports this module while Keras registers it

    batch_size = check.positive_int("batch_size", batch_size)
    outputs = [keras.ops.convert_to_numpy(model(batch, training=False))
               for batch, _ in _batches(inputs, None, batch_size)]
    if not outputs:  # no rows (Keras's own `predict` fails on them): an empty array of the output's shape
        return np.zeros((0, *model.outputs[0].shape[1:]), dtype=model.outputs[0].dtype)
    return np.concatenate(outputs)


def evaluate_batches(model, inputs, targets, batch_size: int = 4096) -> dict[str, float]:
    """Returns the loss and metrics of `model.evaluate(inputs, targets)`, computed eagerly.

    The model's metrics are reset, then its `test_step` (the compiled loss, weight penalties
    included, and the compiled metrics, in inference mode) runs on each slice of the rows. On JAX,
    whose `test_step` takes the model's state as an argument, it is `model.evaluate`.

    Args:
        model: A compiled `keras.Model`.
        inputs: An array, or a dict of arrays with the same number of rows (a `TabularModel`'s
            converted inputs).
        targets: An array of targets, one per row, as `fit` takes them.
        batch_size: Rows per step.

    Returns:
        `{name: value}` as `model.evaluate(..., return_dict=True)` gives it (empty for no rows).
    """
    import keras

    batch_size = check.positive_int("batch_size", batch_size)
    if len(targets) == 0:
        return {}
    if keras.backend.backend() == "jax":  # JAX's `test_step` is stateless (it takes the state too): Keras's loop
        values = model.evaluate(inputs, targets, batch_size=batch_size, verbose=0, return_dict=True)
        return {name: float(value) for name, value in sorted(values.items())}
    model.reset_metrics()
    for batch in _batches(inputs, targets, batch_size):
        model.test_step(batch)
    return {name: float(value) for name, value in sorted(model.get_metrics_result().items())}


def output_metrics(model, targets, outputs: np.ndarray, batch_size: int = 4096) -> dict[str, float]:
    """Returns the compiled metrics of `evaluate_batches` from outputs already predicted, without its `loss`.

    The model's metrics are reset, then updated (`compute_metrics`) with each slice of the targets and
    outputs, as `test_step` updates them after calling the model: for the outputs of `predict_batches`,
    the values are `evaluate_batches`'s.

    Args:
        model: A compiled `keras.Model`.
        targets: An array of targets, one per row, as `fit` takes them.
        outputs: The model's outputs for those rows.
        batch_size: Rows per update (as `evaluate_batches`).

    Returns:
        `{name: value}` without `loss` (empty for no rows).
    """
    import keras

    if len(targets) == 0:
        return {}
    model.reset_metrics()
    for batch, y in _batches(np.asarray(outputs), targets, check.positive_int("batch_size", batch_size)):
        model.compute_metrics(None, y, keras.ops.convert_to_tensor(batch))
    return {name: float(value) for name, value in sorted(model.get_metrics_result().items()) if name != "loss"}


def outputs_and_metrics(model, inputs, labels, batch_size: int = 4096) -> tuple[np.ndarray | None, dict[str, float]]:
    """Predicts held-out rows once with a `TabularModel` and returns the outputs and the model's metrics of them.

    Args:
        model: A `kerasopt.tabular.TabularModel`.
        inputs: The raw rows (a DataFrame), as `model.predict` takes them.
        labels: Their labels, in the original values.
        batch_size: Rows per `model.predict` call.

    Returns:
        `(outputs, metrics)`: the model's outputs and `output_metrics` of them (without `loss`);
        `(None, {})` for no rows.
    """
    if not len(labels):
        return None, {}
    outputs = np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))
    return outputs, output_metrics(model, model.convert_targets(labels), outputs)


def _batches(inputs, targets, batch_size: int):
    """`(inputs, targets)` of consecutive slices of `batch_size` rows (`targets` may be `None`)."""
    import keras

    for start in range(0, check.row_count(inputs), batch_size):
        rows_of = slice(start, start + batch_size)
        yield (keras.tree.map_structure(lambda a: a[rows_of], inputs),
               None if targets is None else targets[rows_of])

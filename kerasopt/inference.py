"""Predictions in batches without `Model.predict`'s fixed cost per call.

`keras.Model.predict` builds a `tf.data` pipeline and runs a traced step on every call, a fixed
cost of a few tenths of a second that dominates the predictions of a small table (and a run
predicts several times). As Keras's guide advises for data that fits in memory, `predict_batches`
calls the model directly, in inference mode, on consecutive slices of the rows. The outputs are
`predict`'s to float rounding (eager and traced execution may differ in the last bit), and
repeatable: the same model and rows give the same outputs.

Example:

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
>>> predict_batches(model, np.array([[1.0, 2.0], [3.0, 4.0]]), batch_size=1).tolist()
[[3.0], [7.0]]
"""

from __future__ import annotations

import numpy as np

from kerasopt import _validation as check

__all__ = ["predict_batches"]


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
    rows = len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)
    outputs = [keras.ops.convert_to_numpy(model(keras.tree.map_structure(lambda a: a[start:start + batch_size],
                                                                         inputs), training=False))
               for start in range(0, rows, batch_size)]
    if not outputs:  # no rows (Keras's own `predict` fails on them): an empty array of the output's shape
        return np.zeros((0, *model.outputs[0].shape[1:]), dtype=model.outputs[0].dtype)
    return np.concatenate(outputs)

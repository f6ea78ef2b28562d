"""Serving export: a TensorFlow SavedModel that takes raw named columns.

`export_model` writes a table model as a SavedModel whose `serving_default`
signature takes one 1-D tensor per feature column (named by `signature_names`)
and needs neither kerasopt nor Keras; docs/cli.md ("Serving") gives the dtypes
and outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from kerasopt.errors import ArgumentError, OutputExistsError

__all__ = ["export_model", "signature_names"]

_VALID = re.compile(r"[^A-Za-z0-9_.\-]")


def signature_names(schema) -> dict[str, str]:
    """Returns `{column name: signature input name}` for the columns a model uses.

    Characters other than letters, digits, `_`, `.` and `-` become `_`, a name that does not start
    with a letter or digit gets an `x` before it, and a clash a `_2`, `_3`... suffix.

    Args:
        schema: The model's `kerasopt.tabular.Schema`.

    Returns:
        A dict in the schema's column order.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in schema.features:
        base = _VALID.sub("_", column.name) or "column"
        if not base[0].isalnum():
            base = "x" + base
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        names[column.name] = name
    return names


def _label_dtype(classes):
    import tensorflow as tf

    kinds = {type(c) for c in classes}
    if kinds <= {bool}:
        return tf.bool
    if kinds <= {int}:
        return tf.int64
    if kinds <= {int, float}:
        return tf.float64
    return tf.string


def _serving_function(model):
    """The serving function of a `TabularModel` and its input signature."""
    import tensorflow as tf

    from kerasopt.tabular import MISSING

    schema, target = model.schema, model.target
    names = signature_names(schema)
    signature = {names[c.name]: tf.TensorSpec([None], tf.string if c.kind == "categorical" else tf.float32,
                                              name=names[c.name]) for c in schema.features}
    classes = None
    if target.task == "classification":
        dtype = _label_dtype(target.classes)
        values = [str(c) for c in target.classes] if dtype == tf.string else list(target.classes)
        classes = tf.constant(values, dtype=dtype)

    def serve(columns):
        inputs = {}
        for column in schema.features:
            cells = columns[names[column.name]]
            if column.kind == "categorical":
                cells = tf.where(tf.equal(cells, ""), tf.constant(MISSING), cells)
            inputs[column.key] = tf.reshape(cells, (-1, 1))
        outputs = model(inputs, training=False)
        if classes is None:
            return {"value": tf.reshape(outputs, (-1,))}
        rows = tf.shape(outputs)[0]
        return {"label": tf.gather(classes, tf.argmax(outputs, axis=-1)), "probabilities": outputs,
                "classes": tf.tile(classes[tf.newaxis, :], tf.stack([rows, 1]))}

    return serve, signature


def export_model(model, out_dir: str | os.PathLike, overwrite: bool = False) -> dict[str, str]:
    """Writes a table model as a TensorFlow SavedModel for serving.

    Args:
        model: A `TabularModel` with its target, or the path of its `.keras` file.
        out_dir: The SavedModel directory to write (atomically); it must not exist, or be empty,
            unless `overwrite`.
        overwrite: Whether to replace an existing `out_dir`.

    Returns:
        `{column name: signature input name}` (see `signature_names`).

    Raises:
        DataError: for a model that cannot be loaded or has no table schema.
        OutputExistsError: when `out_dir` exists and `overwrite` is False.
        ArgumentError: when the Keras backend is not TensorFlow.
    """
    import keras

    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.exists(out_dir) and not overwrite and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
        raise OutputExistsError(f"Output path {out_dir} already exists. Choose another --out, or pass "
                                "--overwrite to replace it.")
    if keras.backend.backend() != "tensorflow":
        raise ArgumentError("Exporting a SavedModel needs the TensorFlow backend; run with "
                            f"KERAS_BACKEND=tensorflow. Received: backend={keras.backend.backend()!r}")
    if isinstance(model, (str, os.PathLike)):
        from kerasopt.pipeline import _load_tabular_model

        model = _load_tabular_model(os.fspath(model))
    elif getattr(model, "schema", None) is None or getattr(model, "target", None) is None:
        raise ArgumentError("Invalid value for `model`: expected a kerasopt table model with its target "
                            f"(from kerasopt train, or build_model(X, y)). Received: model={type(model).__name__}")
    serve, signature = _serving_function(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=serve, input_signature=[signature])
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=parent)
    try:
        archive.write_out(tmp, verbose=False)
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir) if os.path.isdir(out_dir) else os.remove(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return signature_names(model.schema)

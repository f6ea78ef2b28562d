"""The course's worked cases as functions that return their numbers.

Each module is one experiment; import it directly, e.g.
`from kerasopt.experiments import backprop`. The scripts in `scripts/` and the
notebooks in `notebooks/` only call these functions.
"""

import os

from kerasopt import _io


def check_outputs(out_dir, names, overwrite: bool) -> None:
    """Raises `OutputExistsError` before any training if `out_dir` holds `names` and `overwrite` is False."""
    if out_dir is not None:
        _io.check_out_dir(out_dir, names, overwrite)


def write_outputs(out_dir, files: dict) -> list[str]:
    """Writes `{file name: Figure, text or JSON-ready object}` into `out_dir` atomically; returns the paths."""
    from matplotlib.figure import Figure

    from kerasopt.plotting import save_figure

    paths = [os.path.join(os.fspath(out_dir), name) for name in files] if out_dir is not None else []
    for path, content in zip(paths, files.values()):
        if isinstance(content, Figure):
            save_figure(content, path)
        elif isinstance(content, str):
            _io.write_text(path, content)
        else:
            _io.write_json(path, content)
    return paths


def train_curves(model, x, y, **kwargs):
    """Runs `kerasopt.train` without early stopping; returns its result and the per-epoch logs as float lists."""
    from kerasopt.training import train

    result = train(model, x, y, early_stopping=False, **kwargs)
    return result, {k: [float(v) for v in values] for k, values in result.history.history.items()}


def classifier(core, layers, name: str, input_name: str):
    """Chains `layers` on a raw-row input named `input_name` into a classifier compiled with `core`'s optimizer."""
    import keras

    inputs = keras.Input(shape=core.input_shape[1:], name=input_name)
    x = inputs
    for layer in layers:
        x = layer(x)
    model = keras.Model(inputs, x, name=name)
    model.compile(optimizer=core.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

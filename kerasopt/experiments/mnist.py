"""MNIST with a dense network: the course's 784-500-10 classifier and the `PRESETS`.

The model rescales raw pixels itself (`Rescaling(1 / max_value)`), so loaders return raw
pixel values and a saved model takes raw rows. Nothing is downloaded: `load_mnist` reads a
local Keras-format `mnist.npz`; `load_digits` gives scikit-learn's 8x8 digits. See docs/course.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from kerasopt import _validation as check
from kerasopt.errors import DataError

__all__ = [
    "AUGMENTED",
    "COURSE",
    "PRESETS",
    "STRONG",
    "Images",
    "MnistResult",
    "build_mnist_model",
    "default_mnist_path",
    "load_digits",
    "load_mnist",
    "plot_mnist_history",
    "run_mnist",
    "save_mnist_run",
    "subsample",
]

_KEYS = ("x_train", "y_train", "x_test", "y_test")

#: The course's setting: 784-500-10, ReLU, Adam 1e-3, batch 100, 5 epochs
#: (the course reports about 98%; measured 97.59% to 98.01% over seeds 0 and 1).
COURSE: dict[str, Any] = {"hidden_units": (500,), "epochs": 5, "batch_size": 100,
                          "learning_rate": 1e-3, "dropout": 0.0, "batch_norm": False, "l2": 0.0,
                          "schedule": None}
#: A regularized setting of the same 784-500-10 network: dropout 0.2 on the
#: pixels and 0.5 after the hidden layer, Adam 2e-3 decayed to 0 by a cosine
#: over 30 epochs (measured 98.60% with seed 0; dropout 0.5 alone with Adam
#: 1e-3 gave 98.44-98.58%, adding batch norm 98.24%).
STRONG: dict[str, Any] = {"hidden_units": (500,), "epochs": 30, "batch_size": 100,
                          "learning_rate": 2e-3, "dropout": 0.5, "input_dropout": 0.2,
                          "batch_norm": False, "l2": 0.0, "schedule": "cosine"}
#: Data augmentation, the course's missing regularizer: a wider 784-1024-1024-10
#: ReLU network, dropout 0.3 after each hidden layer, random rotations (up to
#: 10 degrees), shifts (up to 10% of the side) and zooms (up to 10%) of the
#: training images, Adam 1e-3 decayed to 0 by a cosine over 80 epochs, batch 128
#: (99.32% with seed 0; timings and seed 1 in docs/course.md).
AUGMENTED: dict[str, Any] = {"hidden_units": (1024, 1024), "epochs": 80, "batch_size": 128,
                             "learning_rate": 1e-3, "dropout": 0.3, "input_dropout": 0.0,
                             "batch_norm": False, "l2": 0.0, "schedule": "cosine",
                             "augment": {"rotation": 10.0, "shift": 0.1, "zoom": 0.1}}
#: The presets by name, as `scripts/train_mnist.py --preset` reads them.
PRESETS: dict[str, dict[str, Any]] = {"course": COURSE, "strong": STRONG, "augmented": AUGMENTED}


class Images(NamedTuple):
    """An image classification data set as flattened raw-pixel rows.

    Attributes:
        x_train: float32 `(rows, pixels)` raw pixel values in `[0, max_value]`.
        y_train: int32 labels.
        x_test: float32 test rows.
        y_test: int32 test labels.
        max_value: The largest possible pixel value (255 for MNIST, 16 for
            the 8x8 digits); the model divides by it.
        name: A short description of where the data came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    max_value: float
    name: str


def default_mnist_path() -> str:
    """Returns where Keras caches `mnist.npz`: `$KERAS_HOME/datasets/mnist.npz` or `~/.keras/datasets/mnist.npz`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "mnist.npz")


def _flatten(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).reshape(len(x), -1).astype("float32")


def load_mnist(path: str | os.PathLike | None = None) -> Images:
    """Loads MNIST from a local Keras-format `mnist.npz` file (never downloads).

    Args:
        path: Path of the `.npz` file with arrays `x_train` (n, 28, 28),
            `y_train`, `x_test`, `y_test`, as `keras.datasets.mnist` stores
            it; `None` reads the Keras cache (`default_mnist_path()`).

    Returns:
        `Images` with images flattened to 784 raw pixel values (float32,
        0..255) and int32 labels; `max_value=255`.

    Raises:
        DataError: if the file is missing (the message names the exact path
            to put it at), unreadable, lacks a key, or the shapes disagree.
    """
    target = os.fspath(path) if path is not None else default_mnist_path()
    if not os.path.isfile(target):
        where = "at that path" if path is not None else "there (the Keras cache)"
        raise DataError(f"MNIST file not found: {target}. Place a Keras-format mnist.npz "
                        f"(keys x_train, y_train, x_test, y_test) {where}, e.g. copy it to "
                        f"{target}; nothing is downloaded.")
    try:
        with np.load(target, allow_pickle=False) as npz:
            missing = [k for k in _KEYS if k not in npz.files]
            if missing:
                raise DataError(f"MNIST file {target} lacks the array(s) {', '.join(missing)}; a "
                                f"Keras-format mnist.npz holds {', '.join(_KEYS)}. Found: "
                                f"{', '.join(npz.files) or 'nothing'}.")
            arrays = {k: npz[k] for k in _KEYS}
    except DataError:
        raise
    except (OSError, ValueError) as e:
        raise DataError(f"MNIST file {target} is not a readable .npz file: {e}") from None
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y) or len(x) == 0:
            raise DataError(f"MNIST file {target}: x_{part} has {len(x)} rows but y_{part} has "
                            f"{len(y)}; they must match and be non-empty.")
    return Images(_flatten(arrays["x_train"]), arrays["y_train"].astype("int32").ravel(),
                  _flatten(arrays["x_test"]), arrays["y_test"].astype("int32").ravel(),
                  255.0, f"MNIST ({target})")


def load_digits(test_size: float = 0.25, seed: int = 0) -> Images:
    """Returns scikit-learn's bundled 8x8 digits (1797 images) as `Images`.

    A small stand-in for MNIST that needs no file: 64 raw pixel values in
    0..16 per image (`max_value=16`), split stratified into train and test.

    Args:
        test_size: Fraction of the images held out for testing, in (0, 1).
        seed: Seed of the split.

    Returns:
        `Images` with float32 pixels and int32 labels.

    Example:

    >>> data = load_digits()
    >>> data.x_train.shape, data.x_test.shape, data.max_value
    ((1347, 64), (450, 64), 16.0)
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    test_size = check.open_unit_interval("test_size", test_size)
    bunch = sk_load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data.astype("float32"), bunch.target.astype("int32"), test_size=test_size,
        stratify=bunch.target, random_state=seed)
    return Images(x_train, y_train, x_test, y_test, 16.0, "scikit-learn 8x8 digits")


def subsample(data: Images, n_train: int | None = None, n_test: int | None = None,
              seed: int = 0) -> Images:
    """Returns a random subset of the train and test rows (for quick runs).

    Args:
        data: The full `Images`.
        n_train: Number of training rows to keep (`None` keeps all).
        n_test: Number of test rows to keep (`None` keeps all).
        seed: Seed of the draw.

    Returns:
        `Images` with at most `n_train` / `n_test` rows.
    """
    rng = np.random.default_rng(seed)

    def take(x, y, n, name):
        if n is None:
            return x, y
        n = check.positive_int(name, n)
        if n >= len(x):
            return x, y
        index = np.sort(rng.choice(len(x), size=n, replace=False))
        return x[index], y[index]

    x_train, y_train = take(data.x_train, data.y_train, n_train, "n_train")
    x_test, y_test = take(data.x_test, data.y_test, n_test, "n_test")
    return data._replace(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def build_mnist_model(n_pixels: int = 784, num_classes: int = 10, max_value: float = 255.0,
                      hidden_units=(500,), dropout: float = 0.0, batch_norm: bool = False,
                      l2: float = 0.0, learning_rate=1e-3, kernel_initializer: str | dict = "he_normal",
                      input_dropout: float = 0.0, seed: int | None = None, augment=None):
    """Builds the compiled classifier: `Rescaling(1/max_value)`, then `kerasopt.build_model`'s layers.

    Args:
        n_pixels: Pixels per image (784 for MNIST, 64 for the 8x8 digits).
        num_classes: Number of classes.
        max_value: Largest raw pixel value; the model divides its raw pixel rows by it.
        hidden_units: Hidden layer sizes (the course: `(500,)`).
        dropout: Dropout rate after each hidden layer.
        batch_norm: Whether to add batch normalization to the hidden layers.
        l2: L2 strength on every kernel (Keras `L2`: adds `l2 * sum(w**2)`).
        learning_rate: Adam's learning rate, a float or a schedule.
        kernel_initializer: Initializer of every Dense kernel.
        input_dropout: Dropout rate on the (rescaled) pixels, in [0, 1).
        seed: Seed of the initializers and dropout.
        augment: Augmentation in training only (`kerasopt.augmentation.get`) on square grey
            images, right after the rescaling, before `input_dropout`.

    Returns:
        A compiled `keras.Model` (sparse categorical cross-entropy, accuracy).
    """
    import keras

    from kerasopt.experiments import classifier
    from kerasopt.models import build_model

    max_value = check.positive_float("max_value", max_value)
    input_dropout = check.unit_interval("input_dropout", input_dropout)
    core = build_model(check.positive_int("n_pixels", n_pixels), num_classes=num_classes,
                       hidden_units=hidden_units, activation="relu", dropout=dropout, batch_norm=batch_norm,
                       l1=0.0, l2=l2, normalize=False, optimizer="adam", learning_rate=learning_rate, seed=seed,
                       kernel_initializer=kernel_initializer, augment=augment)
    # One flat model that takes raw pixels: the rescaling, then build_model's chain (the augmentation
    # first if any) with the input dropout before the first Dense layer.
    layers = [keras.layers.Rescaling(1.0 / max_value, name="rescaling"), *core.layers[1:]]
    if input_dropout:
        at = next(i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense))
        layers.insert(at, keras.layers.Dropout(input_dropout, seed=None if seed is None else seed + 999,
                                               name="input_dropout"))
    return classifier(core, layers, "mnist_dense", "pixels")


@dataclass
class MnistResult:
    """What `run_mnist` returns.

    Attributes:
        test_accuracy: Accuracy on the test rows after the last epoch.
        test_loss: Test cross-entropy (plus any L2 penalty, as Keras reports it).
        train_accuracy: Accuracy on the training rows (inference mode).
        history: Per-epoch logs of `fit` (`loss`, `accuracy`, `val_*` for
            the test rows, `learning_rate`).
        seconds: Wall time of `fit` (the final evaluation not included).
        config: The settings of the run, JSON-ready.
        model: The trained `keras.Model`.
    """

    test_accuracy: float
    test_loss: float
    train_accuracy: float
    history: dict[str, list[float]]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)
    model: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Returns the numbers and settings as a JSON-ready dict (no model)."""
        return {"test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
                "train_accuracy": self.train_accuracy, "seconds": round(self.seconds, 2),
                "config": self.config, "history": self.history}


def run_mnist(data: Images, hidden_units=(500,), epochs: int = 5, batch_size: int = 100,
              learning_rate: float = 1e-3, dropout: float = 0.0, batch_norm: bool = False,
              l2: float = 0.0, schedule: str | dict | None = None,
              kernel_initializer: str | dict = "he_normal", input_dropout: float = 0.0,
              augment=None, seed: int = 0, verbose: int = 0, callbacks=None) -> MnistResult:
    """Trains the dense MNIST classifier; the test rows are `fit`'s validation data, used for no choice.

    Args:
        data: `Images` from `load_mnist`, `load_digits` or `subsample`.
        hidden_units: Hidden layer sizes.
        epochs: Number of epochs.
        batch_size: Mini-batch size.
        learning_rate: Initial Adam learning rate.
        dropout: Dropout rate after each hidden layer.
        batch_norm: Whether to use batch normalization.
        l2: L2 strength on every kernel.
        schedule: A schedule name or dict for `kerasopt.schedules.get` (`"cosine"` decays over
            all `epochs`); `None` keeps the rate constant.
        kernel_initializer: Initializer of every Dense kernel.
        input_dropout: Dropout rate on the input pixels.
        augment: Augmentation in training only, for `kerasopt.augmentation.get` (`"rotation,shift"`).
        seed: Seed of initialization, dropout, augmentation and shuffling.
        verbose: Verbosity of `fit`.
        callbacks: More Keras callbacks for `fit`.

    Returns:
        A `MnistResult`.
    """
    from kerasopt import schedules
    from kerasopt.experiments import train_curves

    epochs = check.positive_int("epochs", epochs)
    batch_size = check.positive_int("batch_size", batch_size)
    steps_per_epoch = math.ceil(len(data.x_train) / batch_size)
    rate: Any = check.positive_float("learning_rate", learning_rate)
    if schedule is not None:
        rate = schedules.get(schedule, learning_rate=rate, steps_per_epoch=steps_per_epoch, epochs=epochs)
    num_classes = int(max(data.y_train.max(), data.y_test.max())) + 1
    model = build_mnist_model(data.x_train.shape[1], num_classes, data.max_value, hidden_units,
                              dropout=dropout, batch_norm=batch_norm, l2=l2, learning_rate=rate,
                              kernel_initializer=kernel_initializer, input_dropout=input_dropout, seed=seed,
                              augment=augment)
    result, history = train_curves(model, data.x_train, data.y_train, validation_data=(data.x_test, data.y_test),
                                   epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                                   callbacks=callbacks)
    config = {"data": data.name, "train_rows": int(len(data.x_train)), "test_rows": int(len(data.x_test)),
              "hidden_units": check.units("hidden_units", hidden_units),
              "epochs": epochs, "batch_size": batch_size, "learning_rate": float(learning_rate),
              "dropout": float(dropout), "batch_norm": bool(batch_norm), "l2": float(l2),
              "schedule": schedule, "kernel_initializer": kernel_initializer,
              "input_dropout": float(input_dropout), "augment": augment, "seed": seed}
    return MnistResult(test_accuracy=result.metrics["validation"]["accuracy"],
                       test_loss=result.metrics["validation"]["loss"],
                       train_accuracy=result.metrics["train"]["accuracy"], history=history,
                       seconds=result.seconds, config=config, model=model)


def plot_mnist_history(history: dict[str, list[float]], title: str | None = None):
    """Draws the loss and accuracy curves of `run_mnist`; returns a Figure.

    `run_mnist` passes the test rows to `fit` as its validation data, so the
    second curve is the test rows, evaluated after each epoch in inference
    mode and used for no choice; the training curve is `fit`'s running mean
    over each epoch's batches, with dropout and augmentation on, which is why
    it can lie below the test curve.
    """
    from kerasopt.plotting import plot_history

    figure = plot_history(history, title=title)
    for ax in figure.axes:
        for line in ax.get_lines():
            if line.get_label() == "validation":
                line.set_label("test rows (after each epoch)")
            elif line.get_label() == "train":
                line.set_label("train (running mean in training mode)")
        if ax.get_legend() is not None:
            ax.legend(fontsize="small")
    return figure


def save_mnist_run(result: MnistResult, out_dir: str | os.PathLike, overwrite: bool = False,
                   save_model: bool = False) -> list[str]:
    """Writes `metrics.json` and `mnist_curves.png` (and optionally `model.keras`) atomically.

    Args:
        result: A `MnistResult`.
        out_dir: Output directory (created when missing).
        overwrite: Whether to replace files of an earlier run.
        save_model: Whether to save the trained model as `model.keras`.

    Returns:
        The paths written.

    Raises:
        OutputExistsError: if a file would be replaced and `overwrite` is False.
    """
    from kerasopt import _io
    from kerasopt.experiments import check_outputs, write_outputs

    names = ["metrics.json", "mnist_curves.png"] + (["model.keras"] if save_model else [])
    check_outputs(out_dir, names, overwrite)
    write_outputs(out_dir, {"metrics.json": result.to_dict(), "mnist_curves.png": plot_mnist_history(
        result.history, title=f"test accuracy {result.test_accuracy:.4f}")})
    paths = [os.path.join(os.fspath(out_dir), n) for n in names]
    if save_model:
        _io.write_with(paths[2], result.model.save)
    return paths

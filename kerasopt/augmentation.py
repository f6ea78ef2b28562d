"""Data augmentation for images given as flat pixel rows: `ImageAugmentation` and `get` (docs/course.md).

The random transforms run in training only; at inference the layer returns its input, so a saved
model takes raw pixel rows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import keras

from kerasopt import _validation as check
from kerasopt.errors import ArgumentError

__all__ = ["DEFAULTS", "ImageAugmentation", "get"]

#: What a bare name in the vocabulary stands for (`get("rotation,shift,zoom")`).
DEFAULTS: dict[str, Any] = {"rotation": 10.0, "shift": 0.1, "zoom": 0.1, "flip": "horizontal"}
_FLIPS = ("horizontal", "vertical", "horizontal_and_vertical")


def _image_shape(value) -> tuple[int, int, int]:
    ok = (isinstance(value, Sequence) and not isinstance(value, str) and len(value) in (2, 3)
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value))
    if not ok:
        raise ArgumentError("Invalid value for `image_shape`: expected (height, width) or (height, width, "
                            f"channels) of positive integers. Received: image_shape={value!r}")
    return tuple(int(v) for v in value) + ((1,) if len(value) == 2 else ())


def _spec(name: str, value) -> Any:
    """Checks one vocabulary entry; `name` is the key, `value` its setting."""
    arg = f"augment[{name!r}]"
    if name == "rotation":
        if not check._is_real(value) or not 0 <= value <= 180:
            raise ArgumentError(f"Invalid value for `{arg}`: expected degrees in [0, 180]. "
                                f"Received: {arg}={value!r}")
        return float(value)
    if name in ("shift", "zoom"):
        if not check._is_real(value) or not 0 <= value < 1:
            raise ArgumentError(f"Invalid value for `{arg}`: expected a fraction in [0, 1). "
                                f"Received: {arg}={value!r}")
        return float(value)
    if value in (None, False):
        return None
    if value is True:
        return "horizontal"
    if isinstance(value, str) and value.lower() in _FLIPS:
        return value.lower()
    raise ArgumentError(f"Invalid value for `{arg}`: expected one of {', '.join(map(repr, _FLIPS))}, True "
                        f"or None. Received: {arg}={value!r}")


@keras.saving.register_keras_serializable(package="kerasopt")
class ImageAugmentation(keras.layers.Layer):
    """Random flip, rotation, shift and zoom (in that order) of flat pixel rows, in training only.

    Args:
        image_shape: `(height, width[, channels])` of the row-major images; `None` reads square
            grey images from the row length (`(28, 28, 1)` for 784 pixels).
        rotation: Largest rotation in degrees, either way (0 for none).
        shift: Largest shift as a fraction of the height and of the width.
        zoom: Largest zoom in or out, as a fraction of the size.
        flip: `None`, `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`.
        seed: Seed of the random transforms.
        **kwargs: Base `Layer` arguments (`name`, ...).

    Raises:
        ArgumentError: naming the argument and echoing it, for a bad setting.

    Example:

    >>> layer = ImageAugmentation((28, 28), rotation=10, shift=0.1, zoom=0.1, seed=0)
    >>> import numpy as np
    >>> rows = np.random.default_rng(0).uniform(size=(2, 784)).astype("float32")
    >>> bool((np.asarray(layer(rows, training=False)) == rows).all())
    True
    """

    def __init__(self, image_shape=None, rotation: float = 0.0, shift: float = 0.0, zoom: float = 0.0,
                 flip: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = None if image_shape is None else _image_shape(image_shape)
        self.rotation = _spec("rotation", rotation)
        self.shift = _spec("shift", shift)
        self.zoom = _spec("zoom", zoom)
        self.flip = _spec("flip", flip)
        self.seed = None if seed is None else check.non_negative_int("seed", seed)
        layers = keras.layers
        fill = {"fill_mode": "constant", "fill_value": 0.0, "interpolation": "bilinear"}
        self.transforms = []
        if self.flip:
            self.transforms.append(layers.RandomFlip(self.flip, seed=self._seed(0), name="flip"))
        if self.rotation:
            self.transforms.append(layers.RandomRotation(self.rotation / 360.0, seed=self._seed(1),
                                                         name="rotation", **fill))
        if self.shift:
            self.transforms.append(layers.RandomTranslation(self.shift, self.shift, seed=self._seed(2),
                                                            name="shift", **fill))
        if self.zoom:
            self.transforms.append(layers.RandomZoom((-self.zoom, self.zoom), seed=self._seed(3),
                                                     name="zoom", **fill))

    def _seed(self, offset: int) -> int | None:
        return None if self.seed is None else self.seed + offset

    def build(self, input_shape):
        n_inputs = input_shape[-1]
        if self.image_shape is None:
            if n_inputs is None:
                raise ArgumentError("Invalid value for `image_shape`: rows of unknown length need an explicit "
                                    "(height, width, channels). Received: image_shape=None")
            side = math.isqrt(n_inputs)
            if side * side != n_inputs:
                raise ArgumentError("Invalid value for `image_shape`: rows of a non-square pixel count need an "
                                    "explicit (height, width, channels). Received: image_shape=None for "
                                    f"{n_inputs} inputs")
            self.image_shape = (side, side, 1)
        n_pixels = math.prod(self.image_shape)
        if n_inputs is not None and n_inputs != n_pixels:
            raise ArgumentError(f"Invalid value for `image_shape`: {self.image_shape} holds {n_pixels} pixels "
                                f"but the rows have {n_inputs}. Received: image_shape={self.image_shape!r}")
        shape = (input_shape[0], *self.image_shape)
        for layer in self.transforms:
            layer.build(shape)
        self.built = True

    def call(self, inputs, training=None):
        if not training or not self.transforms:
            return inputs
        x = keras.ops.reshape(inputs, (-1, *self.image_shape))
        for layer in self.transforms:
            x = layer(x, training=True)
        return keras.ops.reshape(x, (-1, math.prod(self.image_shape)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        shape = None if self.image_shape is None else list(self.image_shape)
        return {**super().get_config(), "image_shape": shape, "rotation": self.rotation, "shift": self.shift,
                "zoom": self.zoom, "flip": self.flip, "seed": self.seed}


def get(identifier, image_shape=None, seed: int | None = None) -> ImageAugmentation | None:
    """Returns the augmentation layer an identifier names, like `keras.optimizers.get`.

    Args:
        identifier: `None`, `False`, `""` or `"none"` for none; comma-separated names with their
            `DEFAULTS` (`"rotation,shift,zoom"`); a dict of names to settings; or an instance.
        image_shape: Shape of the images (see `ImageAugmentation`).
        seed: Seed of the random transforms.

    Returns:
        An `ImageAugmentation` layer, or `None` for no augmentation.

    Raises:
        ArgumentError: naming `augment` and echoing it, for an unknown name, key or setting.

    Example:

    >>> layer = get("rotation,shift,zoom", image_shape=(28, 28, 1))
    >>> layer.rotation, layer.shift, layer.zoom
    (10.0, 0.1, 0.1)
    """
    if isinstance(identifier, ImageAugmentation):
        return identifier
    if identifier is None or identifier is False:
        return None
    if isinstance(identifier, str):
        names = [n.strip().lower() for n in identifier.split(",") if n.strip()]
        if not names or names == ["none"]:
            return None
        unknown = [n for n in names if n not in DEFAULTS]
        if unknown:
            raise ArgumentError(f"Invalid value for `augment`: unknown name {unknown[0]!r}; expected "
                                f"comma-separated names from {', '.join(DEFAULTS)}. Received: augment={identifier!r}")
        spec = {n: DEFAULTS[n] for n in names}
    elif isinstance(identifier, dict):
        unknown = [k for k in identifier if k not in DEFAULTS]
        if unknown:
            raise ArgumentError(f"Invalid value for `augment`: unknown key {unknown[0]!r}; expected keys "
                                f"from {', '.join(DEFAULTS)}. Received: augment={identifier!r}")
        spec = dict(identifier)
    else:
        raise ArgumentError("Invalid value for `augment`: expected a name such as 'rotation,shift,zoom', a dict "
                            "such as {'rotation': 10}, an ImageAugmentation or None. "
                            f"Received: augment={identifier!r}")
    return ImageAugmentation(image_shape, seed=seed, name="augmentation", **spec)

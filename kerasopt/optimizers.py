"""Optimizer lookup by the course's names (`available()`), a dict or an instance, like `keras.optimizers.get`.

Keyword arguments override a name's preset: the course's Adam is `get("adam", beta_2=0.99)`.
"""

from __future__ import annotations

from typing import Any

import keras

from kerasopt.errors import ArgumentError

__all__ = ["get", "available"]

# name -> (Keras class, preset keyword arguments)
_OPTIMIZERS: dict[str, tuple[type, dict[str, Any]]] = {
    "sgd": (keras.optimizers.SGD, {}),
    "momentum": (keras.optimizers.SGD, {"momentum": 0.9}),
    "nesterov": (keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (keras.optimizers.Adagrad, {}),
    "rmsprop": (keras.optimizers.RMSprop, {"rho": 0.9}),
    "adam": (keras.optimizers.Adam, {}),
    "adamw": (keras.optimizers.AdamW, {}),
    "nadam": (keras.optimizers.Nadam, {}),
    "adadelta": (keras.optimizers.Adadelta, {}),
}


def available() -> list[str]:
    """Returns the optimizer names that `get` understands."""
    return sorted(_OPTIMIZERS)


def get(identifier: str | dict | keras.optimizers.Optimizer = "adam", **kwargs) -> keras.optimizers.Optimizer:
    """Returns a fresh Keras optimizer.

    Args:
        identifier: An optimizer name (see `available()`), an instance (returned as is), or a dict:
            Keras's serialized form or `{"name": "momentum", "learning_rate": 0.01}`.
        **kwargs: Keyword arguments for the optimizer (e.g. `learning_rate`, a float or a
            `LearningRateSchedule`); they override the name's preset and the dict's values.

    Returns:
        A `keras.optimizers.Optimizer`.

    Raises:
        ArgumentError: if the identifier is unknown or the optimizer refuses a keyword argument.

    Example:

    >>> opt = get("momentum", learning_rate=0.01)
    >>> type(opt).__name__, float(opt.momentum)
    ('SGD', 0.9)
    """
    if isinstance(identifier, keras.optimizers.Optimizer):
        if kwargs:
            raise ArgumentError("Keyword arguments cannot be combined with an optimizer instance; "
                                f"configure the instance instead. Received: {sorted(kwargs)}")
        return identifier
    if isinstance(identifier, dict):  # Keras's serialized form, or {"name": ..., **arguments}
        if "class_name" in identifier:
            name, config = identifier["class_name"], dict(identifier.get("config", {}))
        elif "name" in identifier:
            config = dict(identifier)
            name = config.pop("name")
        else:
            raise ArgumentError("An optimizer dict needs a 'name' (or Keras's 'class_name') key. "
                                f"Received: optimizer={identifier!r}")
        return get(str(name), **{**config, **kwargs})
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _OPTIMIZERS:
            raise ArgumentError(f"Unknown optimizer: optimizer={identifier!r}. "
                                f"Known optimizers: {', '.join(available())}.")
        cls, preset = _OPTIMIZERS[key]
        try:
            return cls(**{**preset, **kwargs})
        except (TypeError, ValueError) as e:  # unknown or invalid keyword argument
            raise ArgumentError(f"Invalid arguments for optimizer {identifier!r}: {e}") from None
    raise ArgumentError(f"Could not interpret optimizer identifier: optimizer={identifier!r}")


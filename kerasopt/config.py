"""Run configuration of the training pipeline: defaults, files, overrides.

A configuration is a flat dict keyed by the options of `kerasopt.spec.FIELDS`; `resolve`
layers defaults, a JSON or YAML file and overrides, so a run's `config.json` fed back with
`--config` reproduces the run.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from kerasopt import _validation as check
from kerasopt import spec
from kerasopt.errors import ArgumentError, ConfigError

__all__ = ["DEFAULTS", "load_file", "model_arguments", "resolve"]

#: Every option's default, from `kerasopt.spec.FIELDS`: the cross-validated defaults
#: (docs/benchmarks.md, "Phone data"): standardized inputs, one ELU layer whose strong L1 penalty
#: silences the features that carry no signal, Adam with an exponential decay per epoch, early
#: stopping, and 5 bagged networks averaged.
DEFAULTS: dict[str, Any] = spec.defaults()


def load_file(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a JSON or YAML configuration file into a dict.

    Raises:
        ConfigError: if the file is missing, unreadable or not a mapping.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"Config file not found: {path}. Pass an existing .json or .yaml file.")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.lower().endswith((".yaml", ".yml")):
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as e:  # yaml.YAMLError is not a ValueError
        raise ConfigError(f"Config file {path} cannot be read: {str(e).splitlines()[0]}") from None
    except Exception as e:  # yaml.YAMLError
        raise ConfigError(f"Config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of option names to values, "
                          f"not {type(data).__name__}.")
    return data


def resolve(file_config: dict[str, Any] | None = None, **overrides) -> dict[str, Any]:
    """Returns the full configuration: defaults < file values < overrides.

    `None` overrides (flags not given) and the keys of `spec.DERIVED` are ignored; keys may use
    dashes. `schedule` without `schedule_args` takes the default's `schedule_args` if it names the
    default schedule, else none: those arguments belong to the default schedule.

    Args:
        file_config: Values from a configuration file (or a dict).
        **overrides: Values that win over the file's (command-line flags).

    Returns:
        A new dict with every key of `DEFAULTS`, each value checked and normalized.

    Raises:
        ConfigError: for an unknown key, or a mapping option that is not a mapping.
        ArgumentError: for an invalid value, naming the key and echoing the value.
    """
    config = copy.deepcopy(DEFAULTS)
    for source in (file_config or {}, {k: v for k, v in overrides.items() if v is not None}):
        source = {str(k).replace("-", "_"): v for k, v in source.items()}
        source = {k: v for k, v in source.items() if k not in spec.DERIVED}
        if "schedule" in source and "schedule_args" not in source:
            same = spec.check_value("schedule", source["schedule"]) == DEFAULTS["schedule"]
            config["schedule_args"] = copy.deepcopy(DEFAULTS["schedule_args"]) if same else {}
        for key, value in source.items():
            if key not in DEFAULTS:
                raise ConfigError(f"Unknown configuration key {key!r}.{check.suggest(key, DEFAULTS)} "
                                  f"Known keys: {', '.join(DEFAULTS)}.")
            config[key] = value
    for key, value in config.items():
        try:
            config[key] = spec.check_value(key, value)
        except ArgumentError as e:
            if spec.FIELD[key].type is dict:
                raise ConfigError(str(e)) from None
            raise
    return config


def model_arguments(config: dict[str, Any], steps_per_epoch: int) -> dict[str, Any]:
    """Returns the `kerasopt.build_model` arguments (all but the inputs) that a configuration describes.

    The learning rate is the configuration's `schedule` with `schedule_args`
    (`kerasopt.schedules.get`), counted in epochs of `steps_per_epoch` steps;
    a schedule's length in epochs (`cosine`'s `decay_epochs`) defaults to the
    configuration's `epochs`.

    Args:
        config: A resolved configuration (see `resolve`).
        steps_per_epoch: Gradient steps per epoch of the run.

    Returns:
        A dict of `build_model` keyword arguments, `seed` included.
    """
    from kerasopt import schedules

    learning_rate = schedules.get(config["schedule"], learning_rate=config["learning_rate"],
                                  steps_per_epoch=steps_per_epoch, epochs=config["epochs"],
                                  **config["schedule_args"])
    optimizer = config["optimizer"]
    if isinstance(optimizer, str) and config["optimizer_args"]:
        optimizer = {"name": optimizer, **config["optimizer_args"]}
    return {**{name: config[name] for name in spec.BUILD_MODEL_ARGS}, "optimizer": optimizer,
            "learning_rate": learning_rate, "seed": config["seed"]}

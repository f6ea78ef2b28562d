"""Run configuration of the training pipeline: defaults, files, overrides.

A configuration is a flat dict. `resolve` layers defaults, a JSON or YAML
file and explicit overrides (command-line flags), checks every key and value,
and returns the full resolved dict that `run_training` uses and writes to
`config.json`.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from typing import Any

from kerasopt.errors import ConfigError

__all__ = ["DEFAULTS", "load_file", "resolve"]

# The defaults come from a 5-fold cross-validated comparison on the real phone data (README,
# "Defaults and accuracy"): standardized inputs, one ELU layer whose strong L1 penalty silences
# the features that carry no signal, Adam with an exponential decay per epoch, early stopping,
# and a refit on the training and validation rows.
DEFAULTS: dict[str, Any] = {
    "data": None,               # CSV path; None: the embedded phone-like data
    "target": None,             # required with `data`; the embedded data's is price_range
    "task": None,               # None: detected from the target; "classification" or "regression"
    "categorical": [],          # columns to treat as categorical (e.g. integer codes)
    "numeric": [],              # columns to treat as numeric (text cells become missing)
    "drop": [],                 # columns that are not features (identifiers, leaks)
    "hidden_units": [128],
    "activation": "elu",
    "kernel_initializer": "he_normal",
    "l1": 0.01,
    "l2": 0.0,
    "dropout": 0.0,
    "batch_norm": False,
    "optimizer": "adam",
    "optimizer_args": {},
    "learning_rate": 0.01,
    "schedule": "exponential",  # None/"constant", "step", "multistep", ...
    "schedule_args": {"gamma": 0.98},
    "epochs": 300,
    "batch_size": 32,
    "patience": 50,
    "reduce_lr_on_plateau": False,
    "class_weight": None,
    "validation_split": 0.2,
    "test_split": 0.2,
    "refit": True,              # retrain on train + validation rows for the best epoch count
    "seed": 0,
}


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

    Overrides whose value is `None` are ignored (a flag that was not given).

    Raises:
        ConfigError: for an unknown key (with the closest known key) or a
            value of the wrong type.
    """
    config = copy.deepcopy(DEFAULTS)
    # `derived` holds what a run learned (columns, classes, rows) in its config.json; it is
    # not configuration, so a config.json fed back with --config reproduces the run.
    file_config = {k: v for k, v in (file_config or {}).items() if k != "derived"}
    for source in (file_config, {k: v for k, v in overrides.items() if v is not None}):
        source = {str(k).replace("-", "_"): v for k, v in source.items()}
        if "schedule" in source and "schedule_args" not in source:
            config["schedule_args"] = {}  # the default's arguments belong to the default schedule
        for key, value in source.items():
            if key not in DEFAULTS:
                close = difflib.get_close_matches(key, DEFAULTS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"Unknown configuration key {key!r}.{hint} "
                                  f"Known keys: {', '.join(DEFAULTS)}.")
            config[key] = value
    if isinstance(config["hidden_units"], int):
        config["hidden_units"] = [config["hidden_units"]]
    for key in ("optimizer_args", "schedule_args"):
        if not isinstance(config[key], dict):
            raise ConfigError(f"Invalid value for `{key}`: expected a mapping of argument names to "
                              f"values. Received: {key}={config[key]!r}")
    return config

"""Search spaces: the default space (from `kerasopt.spec.FIELDS`), overrides and their checks.

A space maps a hyperparameter name to a spec: a fixed value; a list or `{"choices": [...]}`; or a
range `{"min": a, "max": b}` with optional `"step"`, `"sampling": "log"` and `"zero": true` (0 or a
log-scale value). List and range specs may add `"default"`, the first trial's value. docs/tuning.md
describes the formats and the default space.
"""

from __future__ import annotations

import copy
import numbers
import os
from typing import Any

from kerasopt import _validation as check
from kerasopt import spec
from kerasopt.budget import hidden_units_for
from kerasopt.errors import ArgumentError, ConfigError
from kerasopt.spec import OPTIMIZERS, SCHEDULES

__all__ = ["DEFAULT_SPACE", "resolve_space", "declare", "MOMENTUM_OPTIMIZERS", "OPTIMIZERS", "SCHEDULES"]

MOMENTUM_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop")


def _default_space() -> dict[str, Any]:
    """The `search` entries of `kerasopt.spec.FIELDS`, each defaulting to its option's default.

    So the first trial is kerasopt's default classifier (its hidden layers from
    `kerasopt.budget.hidden_units_for`, its schedule's default `schedule_args`).
    """
    defaults = spec.defaults()
    units = defaults["hidden_units"] if defaults["hidden_units"] is not None else hidden_units_for(None, False)
    space: dict[str, Any] = {}
    for f in spec.FIELDS:
        for name, hp in (f.search or {}).items():
            hp = copy.deepcopy(hp)
            if isinstance(hp, dict) and name != "schedule_args" and "default" not in hp:
                if name == "num_layers":
                    hp["default"] = len(units)
                elif name == "units":
                    hp["default"] = units[0] if units else hp["min"]
                else:
                    hp["default"] = defaults[name]
            space[name] = hp
    space["schedule_args"][defaults["schedule"]] = defaults["schedule_args"]
    return space


# The ranges leave out what only wasted trials on the phone data: tanh hidden layers and learning
# rates above 0.03 (trials there diverged, or scored well in cross-validation and then worse on
# held-out rows); both remain available through overrides. Trials run at most 150 epochs.
DEFAULT_SPACE: dict[str, Any] = _default_space()

# The entries that are not options: the depth and width of the hidden layers (option `hidden_units`) and the
# momentum (an `optimizer_args` argument). Every entry's values have its field's type and pass its check.
_FIELDS = {**spec.FIELD, **{f.name: f for f in (
    spec.Field("num_layers", int, None, "hidden layers", "model", check=check.non_negative_int),
    spec.Field("units", int, None, "units per hidden layer", "model", check=check.positive_int),
    spec.Field("momentum", float, None, "momentum of sgd, momentum, nesterov and rmsprop", "optimizer",
               check=check.unit_interval))}}


def _fail(name: str, expected: str, value) -> ConfigError:
    return ConfigError(f"Invalid value for `space.{name}`: expected {expected}. Received: {name}={value!r}")


def _check_value(name: str, value) -> Any:
    """One value of entry `name`, checked and normalized by its option's check (`spec.check_value`).

    A trial's optimizer and schedule must also be one of the field's `choices`; its value is one scalar of the
    field's type (not a per-layer list, nor `None`, which a run sizes to its rows).
    """
    f = _FIELDS[name]
    try:
        value = spec.check_value(name, value, _FIELDS)
        if f.choices:
            value = check.one_of(name, value, f.choices)
    except ArgumentError as e:
        raise ConfigError(str(e).replace(f"`{name}`", f"`space.{name}`", 1)) from None
    if not isinstance(value, f.type):
        raise _fail(name, "a single integer" if f.type is int else "a single number", value)
    return value


def _check_spec(name: str, spec) -> Any:
    """Returns the normalized spec: a scalar, {"choices": [...]} or a range dict."""
    if isinstance(spec, (list, tuple)):
        spec = {"choices": list(spec)}
    if not isinstance(spec, dict):
        return _check_value(name, spec)
    if set(spec) == {"value"}:
        return _check_value(name, spec["value"])
    if "choices" in spec:
        return _check_choices(name, spec)
    return _check_range(name, spec)


def _check_choices(name: str, spec: dict) -> dict[str, Any]:
    """Returns the normalized `{"choices": [...], "default": ...}` spec."""
    if not set(spec) <= {"choices", "default"}:
        raise ConfigError(f"Invalid value for `space.{name}`: a choice spec takes only 'choices' and "
                          f"'default'. Received: {name}={spec!r}")
    choices = spec["choices"]
    if not isinstance(choices, (list, tuple)) or not choices:
        raise _fail(name, "a non-empty list of choices", choices)
    values = [_check_value(name, v) for v in choices]
    if len(set(map(repr, values))) != len(values):
        raise _fail(name, "choices without repeats", choices)
    out: dict[str, Any] = {"choices": values}
    if "default" in spec:
        default = _check_value(name, spec["default"])
        if repr(default) not in map(repr, values):
            raise ConfigError(f"Invalid value for `space.{name}`: the default {spec['default']!r} is not "
                              f"one of the choices {values!r}. Received: {name}={spec!r}")
        out["default"] = default
    return out


def _check_range(name: str, spec: dict) -> dict[str, Any]:
    """Returns the normalized `{"min": ..., "max": ...}` spec (with `step`, `sampling`, `zero`, `default`)."""
    keys, allowed = set(spec), {"min", "max", "step", "sampling", "zero", "default"}
    if not {"min", "max"} <= keys or not keys <= allowed:
        raise ConfigError(f"Invalid value for `space.{name}`: expected a value, a list of choices, "
                          f"{{'choices': [...]}} or {{'min': ..., 'max': ...}} (optional 'step', "
                          f"'sampling', 'zero', 'default'). Received: {name}={spec!r}")
    if _FIELDS[name].type not in (int, float):
        raise _fail(name, "a value or a list of choices (a range needs a numeric hyperparameter)", spec)
    lo, hi = _check_value(name, spec["min"]), _check_value(name, spec["max"])
    if lo > hi:
        raise ConfigError(f"Invalid value for `space.{name}`: min ({lo!r}) is greater than max ({hi!r}). "
                          f"Received: {name}={spec!r}")
    out: dict[str, Any] = {"min": lo, "max": hi}
    sampling = spec.get("sampling", "linear")
    if sampling not in ("linear", "log"):
        raise _fail(name, "'sampling' of 'linear' or 'log'", sampling)
    if sampling == "log":
        if lo <= 0:
            raise ConfigError(f"Invalid value for `space.{name}`: log sampling needs min > 0 (use "
                              f"\"zero\": true to also try 0). Received: {name}={spec!r}")
        out["sampling"] = "log"
    if "step" in spec:
        step = spec["step"]
        if not isinstance(step, numbers.Real) or isinstance(step, bool) or not step > 0:
            raise _fail(name, "a positive 'step'", step)
        if _FIELDS[name].type is int and not isinstance(step, numbers.Integral):
            raise _fail(name, "an integer 'step'", step)
        out["step"] = step
    if spec.get("zero", False):
        if spec["zero"] is not True or _FIELDS[name].type is not float:
            raise _fail(name, "'zero': true only on a float range", spec["zero"])
        out["zero"] = True
    if "default" in spec:
        default = _check_value(name, spec["default"])
        if not (lo <= default <= hi or (default == 0 and out.get("zero"))):
            raise ConfigError(f"Invalid value for `space.{name}`: the default {spec['default']!r} is outside "
                              f"[{lo!r}, {hi!r}]" + (" (or 0)" if out.get("zero") else "") +
                              f". Received: {name}={spec!r}")
        out["default"] = default
    return out


def _check_schedule_args(value) -> dict[str, dict]:
    if not isinstance(value, dict):
        raise _fail("schedule_args", "a mapping of schedule name to its arguments", value)
    for key, args in value.items():
        if key not in SCHEDULES:
            raise ConfigError(f"Unknown schedule in `space.schedule_args`: {key!r}. "
                              f"Known schedules: {', '.join(SCHEDULES)}.")
        if not isinstance(args, dict):
            raise _fail(f"schedule_args.{key}", "a mapping of argument names to values", args)
    return copy.deepcopy(value)


def _values(spec) -> list | None:
    """The finite list of values of a spec, or None for a range."""
    if isinstance(spec, dict):
        return spec.get("choices")
    return [spec]


def resolve_space(overrides: dict[str, Any] | str | os.PathLike | None = None,
                  fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Returns the default space updated with `overrides`, checked.

    Args:
        overrides: A dict of specs (see docs/tuning.md), the path of a
            JSON or YAML file holding one, or `None` for the default space.
            Each name given replaces the default spec of that name;
            `schedule_args` is merged per schedule.
        fixed: Values that replace the defaults of fixed hyperparameters
            unless `overrides` names them (a search's `label_smoothing` option).

    Returns:
        The full, normalized space dict.

    Raises:
        ConfigError: for an unknown name, a min above its max, an unknown
            optimizer or schedule, a negative rate, an empty choice list, or
            a schedule without the arguments it needs.
    """
    if overrides is None:
        overrides = {}
    elif isinstance(overrides, (str, os.PathLike)):
        from kerasopt import config as config_lib
        overrides = config_lib.load_file(overrides)
    if not isinstance(overrides, dict):
        raise ConfigError(f"Invalid value for `space`: expected a dict or a file path. Received: space={overrides!r}")
    unknown = [k for k in overrides if k not in DEFAULT_SPACE]
    if unknown:
        raise ConfigError(f"Unknown hyperparameter(s) in the search space: {', '.join(map(str, unknown))}. "
                          f"Known: {', '.join(DEFAULT_SPACE)}.")
    merged = {**copy.deepcopy(DEFAULT_SPACE), **(fixed or {})}
    for key, value in overrides.items():
        if key == "schedule_args":
            merged["schedule_args"].update(_check_schedule_args(value))
        else:
            merged[key] = value
    space = {k: (_check_schedule_args(v) if k == "schedule_args" else _check_spec(k, v))
             for k, v in merged.items()}
    piecewise_args = set(space["schedule_args"].get("piecewise", {}))
    if "piecewise" in _values(space["schedule"]) and not {"boundaries", "values"} <= piecewise_args:
        raise ConfigError("The 'piecewise' schedule needs `space.schedule_args.piecewise` with "
                          "'boundaries' and 'values'.")
    return space


def declare(hp, space: dict[str, Any]) -> dict[str, Any]:
    """Declares the hyperparameters of `space` on `hp` and returns the values of this trial.

    Args:
        hp: A `keras_tuner.HyperParameters`.
        space: A space from `resolve_space`.

    Returns:
        A dict with `hidden_units` (list), `activation`, `dropout`,
        `batch_norm`, `l1`, `l2`, `optimizer`, `learning_rate`, `momentum`
        (`None` where it does not apply), `schedule`, `batch_size`, `epochs`.
    """
    values = _declare_layers(hp, space)
    for name in ("l1", "l2", "optimizer", "learning_rate"):
        values[name] = _declare_one(hp, name, space[name])
    with_momentum = [o for o in _values(space["optimizer"]) if o in MOMENTUM_OPTIMIZERS]
    values["momentum"] = None
    if with_momentum:
        momentum = _declare_one(hp, "momentum", space["momentum"], ("optimizer", with_momentum))
        values["momentum"] = momentum if values["optimizer"] in MOMENTUM_OPTIMIZERS else None
    for name in ("schedule", "batch_size", "epochs", "label_smoothing"):
        values[name] = _declare_one(hp, name, space[name])
    return values


def _declare_layers(hp, space: dict[str, Any]) -> dict[str, Any]:
    """Declares the depth, the units of each layer (conditional on the depth) and the layer options."""
    depth_spec = space["num_layers"]
    depth = _declare_one(hp, "num_layers", depth_spec)
    depth_values = _values(depth_spec) or list(range(depth_spec["min"], depth_spec["max"] + 1))
    max_depth = max(depth_values)
    units = []
    for i in range(max_depth):
        parents = [d for d in depth_values if d > i]
        unit = _declare_one(hp, "units", space["units"], ("num_layers", parents), f"units_{i}")
        if i < depth:
            units.append(unit)
    values: dict[str, Any] = {"hidden_units": units}
    if max_depth:
        deep = [d for d in depth_values if d > 0]
        for name in ("activation", "dropout", "batch_norm"):
            value = _declare_one(hp, name, space[name], ("num_layers", deep))
            values[name] = value if depth else DEFAULT_INACTIVE[name]
    else:
        values.update(DEFAULT_INACTIVE)
    return values


def _declare_one(hp, name: str, spec, parent: tuple[str, list] | None = None, hp_name: str | None = None):
    """Declares one hyperparameter (active when `parent`'s value is in its list) and returns its value."""
    hp_name = hp_name or name
    if parent is not None:
        with hp.conditional_scope(*parent):
            return _declare_one(hp, name, spec, None, hp_name)
    if not isinstance(spec, dict):
        return hp.Fixed(hp_name, spec)
    default = spec.get("default")
    if "choices" in spec:
        choices = spec["choices"]
        if len(choices) == 1:
            return hp.Fixed(hp_name, choices[0])
        if _FIELDS[name].type is bool and sorted(choices) == [False, True]:
            return hp.Boolean(hp_name, default=bool(default))
        return hp.Choice(hp_name, choices, ordered=_FIELDS[name].type in (int, float), default=default)
    lo, hi = spec["min"], spec["max"]
    sampling = spec.get("sampling", "linear")
    if spec.get("zero"):
        on = hp.Boolean(f"{hp_name}_on", default=default is None or default > 0)
        inner = {k: v for k, v in spec.items() if k not in ("zero", "default")}
        if default:
            inner["default"] = default
        with hp.conditional_scope(f"{hp_name}_on", [True]):
            value = _declare_one(hp, name, inner, None, hp_name)
        return value if on else 0.0
    if lo == hi:
        return hp.Fixed(hp_name, lo)
    if _FIELDS[name].type is int:
        return hp.Int(hp_name, lo, hi, step=spec.get("step"), sampling=sampling, default=default)
    return hp.Float(hp_name, lo, hi, step=spec.get("step"), sampling=sampling, default=default)


# Values used when there is no hidden layer (the hyperparameters are then inactive).
DEFAULT_INACTIVE = {"activation": "relu", "dropout": 0.0, "batch_norm": False}

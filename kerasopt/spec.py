"""The one specification of a model and its training run.

Every option is one `Field` of `FIELDS` (name, type, default, help, choices,
group, flag form, search range). Derived from it: `kerasopt.config.DEFAULTS`
and the checks of `config.resolve`, the flags of `kerasopt train`, the
defaults of `kerasopt.build_model` (`BUILD_MODEL_ARGS`) and the tuner's
default space. Batch size, epochs and patience default to `None`, sized by
`kerasopt.budget`; the run-level schedule is applied by
`kerasopt.config.model_arguments`, which knows the steps per epoch.

Example:

>>> from kerasopt import spec
>>> spec.FIELD["activation"].default
'elu'
"""

from __future__ import annotations

import codecs
import copy
import json
import numbers
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kerasopt import _validation as check
from kerasopt import budget
from kerasopt.errors import ArgumentError, ConfigError

__all__ = ["Field", "FIELDS", "FIELD", "GROUPS", "DERIVED", "BUILD_MODEL_ARGS", "OPTIMIZERS", "SCHEDULES",
           "TASKS", "TRAIN_COMMAND_FIELDS", "DEMO_TARGET", "COURSE_PRESET", "LABEL_SMOOTHING", "NUMERIC_SCALING",
           "NUMERIC_EMBEDDING", "defaults", "fields",
           "check_value", "check_data_source", "format_default", "describe", "describe_python", "TUNE_FIELDS",
           "TUNE_FIELD", "TUNERS", "TUNE_OBJECTIVES", "DEFINES_SEARCH", "tune_options", "to_argv", "default_out"]

# Kept in step with kerasopt.optimizers.available() and kerasopt.schedules.available() (checked by
# the tests) so that options are validated and documented without loading Keras.
OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamw", "momentum", "nadam", "nesterov", "rmsprop", "sgd")
SCHEDULES = ("constant", "step", "multistep", "exponential", "piecewise", "inverse_time", "cosine")
TASKS = ("classification", "regression")
NUMERIC_SCALINGS = ("standard", "robust")  # also kerasopt.tabular.NUMERIC_SCALINGS
NUMERIC_EMBEDDINGS = ("none", "periodic")  # also kerasopt.tabular.NUMERIC_EMBEDDINGS
#: The course's preset for the phone table (`scripts/train_phone.py`): the defaults chosen on its 1,600
#: nearly linear rows before the 30-table benchmark chose today's (docs/course.md). Strong L1 selects the
#: few columns that matter there; quantile bins only add inputs to a linear signal.
COURSE_PRESET = {"l1": 0.01, "numeric_bins": 0, "numeric_scaling": "standard"}
#: Default label smoothing of a classifier: none. 0.1 gained on the fold shuffles it was chosen on and lost on
#: the held-out shuffle of all 17 classification tables (docs/benchmarks.md, "Label smoothing").
LABEL_SMOOTHING = 0.0
#: Default scaling of numeric columns (also `infer_schema`'s): median and interquartile range, then smooth
#: clipping, so that one extreme value cannot dominate a column (docs/benchmarks.md, "Robust scaling").
NUMERIC_SCALING = "robust"
#: Default learned embedding of numeric columns: none (docs/benchmarks.md, "Periodic embeddings").
NUMERIC_EMBEDDING = "none"
#: Label column of the embedded demo data (`kerasopt.data.make_phone_data`); a user's file names its own.
DEMO_TARGET = "price_range"
#: Groups in the order `--help` shows them.
GROUPS = ("data", "columns", "model", "optimizer", "training")
#: Keys a run writes to its `config.json` besides the options (facts about the data and the run).
#: `kerasopt.config.resolve` ignores them, so a run's `config.json` fed back with `--config`
#: reproduces the run.
DERIVED = ("derived", "feature_columns", "num_classes", "steps_per_epoch", "data_source", "rows")


@dataclass(frozen=True)
class Field:
    """One option of a run.

    Attributes:
        name: The config key and `build_model` argument; the flag is `--name-with-dashes`.
        type: Type of one value, which also converts the command-line text.
        default: The default value.
        help: One line for `--help` (the default is appended). Text in `[[...]]` is for the command line
            alone (typed values, flags): `describe_python` leaves it out.
        group: One of `GROUPS`; `"search"` for an option of a search (`TUNE_FIELDS`), `"train"` for one
            of the `kerasopt train` command alone (`TRAIN_COMMAND_FIELDS`).
        check: `check(name, value) -> value`, validating and normalizing (raising
            `ArgumentError`), or `None`.
        choices: Allowed values shown in `--help`.
        cli: `"value"`, `"nargs"` or `"comma"` (a list), `"bool"` (`--flag/--no-flag`), `"json"`,
            or `None` (config file only).
        nargs: argparse `nargs` for `cli="nargs"`.
        metavar: Placeholder in `--help`.
        search: The tuner's hyperparameter(s), `{name: spec}` in `kerasopt.tuning.space` form, or
            `None`.
    """

    name: str
    type: type
    default: Any
    help: str
    group: str
    check: Callable[[str, Any], Any] | None = None
    choices: tuple | None = None
    cli: str | None = "value"
    nargs: str | None = None
    metavar: str | None = None
    search: Mapping[str, Any] | None = None

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. `--hidden-units`."""
        return "--" + self.name.replace("_", "-")


# -- value checks (name, value) -> normalized value ------------------------------------------------

def _optional(inner: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else inner(name, value)


def _text(name: str, value) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise check._fail(name, "a non-empty string", value)
    return value


def _columns(name: str, value) -> list[str]:
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise check._fail(name, "a list of column names", value)
    return list(value)


def _units(name: str, value) -> list[int]:
    if isinstance(value, str):  # "64,32", as the flag takes it
        try:
            value = [int(v) for v in (p.strip() for p in value.split(",")) if v]
        except ValueError:
            raise check._fail(name, "a list of positive integers (units per hidden layer), e.g. 64,32", value) from None
    value = value.tolist() if hasattr(value, "tolist") else value  # a NumPy array or integer (an estimator's)
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, list, tuple)):
        raise check._fail(name, "a list of positive integers (units per hidden layer)", value)
    return check.units(name, value)


def _per_layer(inner: Callable[[str, Any], float]) -> Callable[[str, Any], Any]:
    def one_or_list(name: str, value):
        if isinstance(value, (list, tuple)):
            return [inner(name, v) for v in value]
        return inner(name, value)
    return one_or_list


def _flag(name: str, value) -> bool:
    """`_validation.flag`, worded as a config file writes a bool."""
    return check.flag(name, value, "true or false")


def _encoding(name: str, value) -> str:
    value = _text(name, value)
    try:
        codecs.lookup(value)
    except LookupError:
        raise check._fail(name, "a text encoding known to Python, e.g. utf-8, latin-1 or cp1252", value) from None
    return value


def _name_or_mapping(name: str, value):
    return dict(value) if isinstance(value, Mapping) else _text(name, value)


def _mapping(name: str, value) -> dict:
    if not isinstance(value, Mapping):
        raise ArgumentError(f"Invalid value for `{name}`: expected a mapping of argument names to values. "
                            f"Received: {name}={value!r}")
    return dict(value)


def _one_of(choices: tuple) -> Callable[[str, Any], str]:
    return lambda name, value: check.one_of(name, value, choices)


def _class_weight(name: str, value):
    if isinstance(value, Mapping):
        return dict(value)
    return check.one_of(name, value, ("balanced",))


def _bagging(name: str, value) -> int:
    value = check.non_negative_int(name, value)
    if value == 1:
        raise check._fail(name, "0 (one network) or a number of networks >= 2", value)
    return value


def _schedule(name: str, value):
    """A mapping, a number, or a name in lower case (as `kerasopt.schedules.get` reads it)."""
    if isinstance(value, (Mapping, numbers.Real)) and not isinstance(value, bool):
        return value
    return _text(name, value).lower()


_LOG_RANGE = {"min": 1e-6, "max": 1e-2, "sampling": "log", "zero": True}
_SMALL = f"{budget.SMALL_TABLE_ROWS:,} rows"  # up to it, the sized options take a small table's values

FIELDS: tuple[Field, ...] = (
    # -- data ----------------------------------------------------------------------------------
    Field("data", str, None, "labelled CSV file (required, unless --demo)", "data",
          check=_optional(_text), metavar="CSV"),
    Field("demo", bool, False, "use the embedded phone-like demo data instead of --data", "data",
          check=_flag, cli="bool"),
    Field("target", str, None, f"label column; required with --data (the demo data's is {DEMO_TARGET})",
          "data", check=_optional(_text), metavar="COLUMN"),
    Field("encoding", str, None, "text encoding of the CSV, e.g. latin-1 or cp1252; none: UTF-8 (with or "
          "without byte-order mark)", "data", check=_optional(_encoding), metavar="NAME"),
    # -- columns -------------------------------------------------------------------------------
    Field("categorical", str, [], "columns to treat as categories[[, e.g. a,b]]", "columns",
          check=_columns, cli="comma", metavar="COL,..."),
    Field("numeric", str, [], "columns to treat as numbers[[, e.g. c]]", "columns",
          check=_columns, cli="comma", metavar="COL,..."),
    Field("drop", str, [], "columns to leave out[[, e.g. d]]", "columns", check=_columns, cli="comma",
          metavar="COL,..."),
    Field("task", str, None, "classification or regression; none: inferred from the target column",
          "columns", check=_optional(_one_of(TASKS)), choices=TASKS),
    Field("numeric_scaling", str, NUMERIC_SCALING, "how the model scales numeric columns: standard (mean and "
          "standard deviation) or robust (median and interquartile range, then smooth clipping of extremes)",
          "columns", check=_one_of(NUMERIC_SCALINGS), choices=NUMERIC_SCALINGS),
    Field("numeric_bins", int, None, "piecewise-linear encoding of each numeric column into up to N "
          "quantile bins, added beside its scaled value; 0: off; none: "
          f"{budget.NUMERIC_BINS}, or {budget.LARGE_TABLE_BINS} above {budget.SMALL_TABLE_ROWS:,} training rows",
          "columns", check=_optional(check.non_negative_int), metavar="N"),
    Field("numeric_embedding", str, NUMERIC_EMBEDDING, "learned embedding of each numeric column, added beside "
          "its scaled value: none, or periodic (cosines of learned frequencies mapped to 3 values, as RealMLP's "
          "PBLD)", "columns", check=_one_of(NUMERIC_EMBEDDINGS), choices=NUMERIC_EMBEDDINGS),
    # -- model ---------------------------------------------------------------------------------
    Field("hidden_units", int, None, "units per hidden layer[[, e.g. 64,32; the flag alone: no hidden layer]]; "
          f"none: {','.join(map(str, budget.TWO_LAYER_UNITS))} up to {budget.TWO_LAYER_ROWS:,} training rows (a "
          f"classification: {budget.SMALL_TABLE_ROWS + 1:,} to {budget.TWO_LAYER_ROWS:,}), else "
          f"{','.join(map(str, budget.HIDDEN_UNITS))}", "model",
          check=_optional(_units),
          cli="nargs", nargs="*", metavar="N,...",
          search={"num_layers": {"min": 0, "max": 2}, "units": {"min": 16, "max": 128, "step": 16}}),
    Field("activation", str, "elu", "activation of the hidden layers (any Keras name)", "model",
          check=_text, search={"activation": {"choices": ["relu", "elu"]}}),
    Field("kernel_initializer", str, "he_normal", "Keras initializer of every Dense kernel", "model",
          check=_name_or_mapping),
    Field("l1", float, 1e-4, "L1 strength on every Dense kernel", "model",
          check=_per_layer(check.non_negative_float), search={"l1": dict(_LOG_RANGE)}),
    Field("l2", float, 0.0, "L2 strength on every Dense kernel", "model",
          check=_per_layer(check.non_negative_float), search={"l2": dict(_LOG_RANGE)}),
    Field("dropout", float, 0.0, "dropout rate after the hidden layers, one or one per layer[[ (e.g. 0.2,0.1)]]",
          "model",
          check=_per_layer(check.unit_interval), cli="nargs", nargs="+", metavar="RATE,...",
          search={"dropout": {"min": 0.0, "max": 0.3, "step": 0.1}}),
    Field("batch_norm", bool, False, "batch normalization between each Dense layer and its activation",
          "model", check=_flag, cli="bool", search={"batch_norm": {"choices": [False, True]}}),
    Field("label_smoothing", float, LABEL_SMOOTHING, "share of each one-hot target spread evenly over the "
          "classes in a classifier's cross-entropy (a regression ignores it)", "model", check=check.unit_interval,
          search={"label_smoothing": LABEL_SMOOTHING}),
    # -- optimizer -----------------------------------------------------------------------------
    Field("optimizer", str, "adam", "optimizer name", "optimizer", check=_name_or_mapping, choices=OPTIMIZERS,
          search={"optimizer": {"choices": ["adam", "nadam", "rmsprop", "momentum"]}}),
    Field("optimizer_args", dict, {}, 'optimizer arguments[[, e.g. \'{"beta_2": 0.99}\']]', "optimizer",
          check=_mapping, cli="json", metavar="JSON",
          # the tuner's momentum (for sgd, momentum, nesterov, rmsprop) is an optimizer argument
          search={"momentum": {"min": 0.5, "max": 0.95, "default": 0.9}}),
    Field("learning_rate", float, 0.01, "initial learning rate", "optimizer", check=check.positive_float,
          search={"learning_rate": {"min": 1e-3, "max": 3e-2, "sampling": "log"}}),
    Field("schedule", str, "exponential", "learning-rate schedule per epoch (constant: none)", "optimizer",
          check=_optional(_schedule), choices=SCHEDULES,
          search={"schedule": {"choices": ["constant", "exponential", "cosine"]}}),
    Field("schedule_args", dict, {"gamma": 0.98},
          "schedule arguments[[, e.g. '{\"step_size\": 50, \"gamma\": 0.5}']]; a schedule's length in epochs "
          "(cosine's decay_epochs) defaults to the run's epochs[[; another --schedule drops the default's]]",
          "optimizer", check=_mapping, cli="json", metavar="JSON",
          # arguments per schedule name; the default schedule's are this field's default
          search={"schedule_args": {"step": {"step_size": 30, "gamma": 0.5},
                                    "multistep": {"milestones": [60, 120], "gamma": 0.3},
                                    "inverse_time": {"decay_rate": 0.05},
                                    "cosine": {}}}),
    # -- training ------------------------------------------------------------------------------
    Field("epochs", int, None, "maximum epochs (early stopping may end sooner); none: sized to the training "
          f"rows, {budget.EPOCHS} up to {_SMALL}", "training", check=_optional(check.positive_int),
          # trials are shorter than a final run: at most 150 epochs, with early stopping
          search={"epochs": 150}),
    Field("batch_size", int, None, "rows per gradient step; none: sized to the training rows, "
          f"{budget.BATCH_SIZE} up to {_SMALL}", "training", check=_optional(check.positive_int),
          search={"batch_size": {"choices": [16, 32, 64], "default": 32}}),
    Field("patience", int, None, "early-stopping patience in epochs; none: sized to the training rows, "
          f"{budget.PATIENCE} up to {_SMALL}", "training", check=_optional(check.non_negative_int)),
    Field("reduce_lr_on_plateau", bool, False, "halve the learning rate when the validation loss stalls"
          "[[ (needs --schedule constant)]]", "training", check=_flag, cli="bool"),
    Field("class_weight", str, None, "balanced: weight classes inversely to their frequency", "training",
          check=_optional(_class_weight), choices=("balanced",)),
    Field("validation_split", float, 0.2, "fraction of the non-test rows for early stopping", "training",
          check=check.unit_interval),
    Field("test_split", float, 0.2, "fraction of the rows held out for the test metrics", "training",
          check=check.unit_interval),
    Field("refit", bool, True, "after early stopping, retrain on the training and validation rows for "
          "the best epoch count", "training", check=_flag, cli="bool"),
    Field("bagging", int, 5, "train K networks, each on all but one of K folds of the non-test rows with "
          "early stopping on its own fold, as one stacked model, and save their average (0: one network"
          "[[, early stopping on --validation-split, then --refit]])", "training", check=_bagging, metavar="K"),
    Field("seed", int, 0, "seed that makes the run repeatable", "training",
          check=_optional(check.non_negative_int)),
    Field("baseline", bool, True, "also fit scikit-learn baselines (a regularized linear model and gradient "
          "boosting) on the same rows and report their scores beside the network's", "training", check=_flag,
          cli="bool"),
)

#: name -> Field
FIELD: dict[str, Field] = {f.name: f for f in FIELDS}

#: The options that are `kerasopt.build_model` arguments of the same name: the model group's, the optimizer
#: and the learning rate (`optimizer_args` and the schedule reach it through those two: `config.model_arguments`).
BUILD_MODEL_ARGS = (*(f.name for f in FIELDS if f.group == "model"), "optimizer", "learning_rate")

#: The options of `kerasopt train` that are not options of the run (not keys of its configuration); their
#: flags are checked as they are parsed.
TRAIN_COMMAND_FIELDS: tuple[Field, ...] = (
    Field("out", str, None, "run directory; none: runs/<name of the --data file>, runs/phone for the demo data",
          "train", check=_optional(_text), metavar="DIR"),
    Field("cv", int, None, "instead of one run, estimate accuracy by K-fold cross-validation (stratified "
          "for a classification) and write cv.json into --out", "train", check=_optional(check.folds), metavar="K"),
)


def defaults() -> dict[str, Any]:
    """Returns a fresh dict of every option's default (`kerasopt.config.DEFAULTS`)."""
    return {f.name: copy.deepcopy(f.default) for f in FIELDS}


def fields(group: str | None = None) -> tuple[Field, ...]:
    """Returns the fields of one group (see `GROUPS`), or all of them."""
    if group is not None and group not in GROUPS:
        raise ArgumentError(f"Invalid value for `group`: expected one of {', '.join(GROUPS)}. "
                            f"Received: group={group!r}")
    return tuple(f for f in FIELDS if group is None or f.group == group)


def check_value(name: str, value, fields: Mapping[str, Field] | None = None) -> Any:
    """Returns `value` validated and normalized for option `name` (of `fields`, default `FIELD`).

    Raises:
        ArgumentError: naming the option and echoing the value.
    """
    f = (FIELD if fields is None else fields)[name]
    return value if f.check is None else f.check(name, value)


def check_data_source(data, demo, command: str = "train") -> None:
    """Checks that a run names its rows once: a labelled CSV file (`data`) or the embedded demo data (`demo`).

    Args:
        data: The `data` option (`None` when not given).
        demo: The `demo` option (`None` when not given).
        command: `"train"` or `"tune"`: the command whose flags (and config keys) the message names; a
            search's configuration has no key `demo`.

    Raises:
        ConfigError: for neither or both, naming the flags and the config keys and echoing the values.
    """
    if (data is None) == (not demo):
        demo_key = "; config key `demo`" if command == "train" else ""
        sources = (f"--data (a labelled CSV file; config key `data`) or --demo (the embedded phone-like demo "
                   f"data{demo_key})")
        raise ConfigError((f"Pass {sources}." if data is None else f"Pass either {sources}, not both.")
                          + f" Received: data={check.shown(data)}, demo={bool(demo)}")


def format_default(field: Field) -> str:
    """Returns a field's default as `--help` shows it: as it would be typed after the flag.

    `none` for no value, `on`/`off` for a `--flag/--no-flag` pair, JSON for a
    mapping, comma-separated items for a list.
    """
    value = field.default
    if value is None:
        return "none"
    if field.cli == "bool":
        return "on" if value else "off"
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else "none"
    return str(value)


_CLI_ONLY = re.compile(r"\[\[(.*?)\]\]")  # the command line's part of a `Field.help`


def describe(field: Field) -> str:
    """Returns a field's text in `--help`: its help, its choices and its default (`format_default`)."""
    return _described(_CLI_ONLY.sub(r"\1", field.help), field.choices, str, format_default(field))


def describe_python(field: Field, default) -> str:
    """Returns a field's text in a Python docstring: `describe`'s, as Python writes the values.

    Args:
        field: The option.
        default: The default of the Python argument (e.g. of an estimator's
            constructor), shown as a Python literal.

    Returns:
        The help without its command-line part (`[[...]]`), the choices and
        the default as Python literals.
    """
    return _described(_CLI_ONLY.sub("", field.help), field.choices, repr, repr(default))


def _described(text: str, choices: tuple | None, show: Callable[[Any], str], default: str) -> str:
    listed = f"; one of {', '.join(map(show, choices))}" if choices else ""
    return f"{text}{listed} (default: {default})"


# -- kerasopt tune ---------------------------------------------------------------------------------
# The options of a search: `kerasopt tune`'s flags (`kerasopt.cli`), the keys of its `--config`
# file and of `kerasopt.tuning.tune(data, target, config, **overrides)`, their defaults and checks,
# and the flags the distributed launcher hands its processes (`to_argv`) all come from here.

TUNERS = ("random", "grid", "bayesian", "hyperband")
#: Scores a search ranks trials on, per task, the default first; none includes the weight penalty.
TUNE_OBJECTIVES = {"classification": ("val_accuracy",), "regression": ("val_rmse", "val_mae", "val_r2")}
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(name: str, value) -> float:
    """A positive number of seconds, or text such as `90s`, `5m`, `1.5h`."""
    if isinstance(value, str):
        text = value.strip().lower()
        number, scale = (text[:-1], _UNITS[text[-1]]) if text[-1:] in _UNITS else (text, 1.0)
        try:
            value = float(number) * scale
        except ValueError:
            raise check._fail(name, "a positive duration such as 90s, 5m or 1h", value) from None
    return check.positive_float(name, value)


def _folds(name: str, value) -> int:
    """`cv`: an integer >= 2, or 0 (also `None`) for one validation split."""
    return check.folds(name, value, zero="one validation split")


def _objective(name: str, value):
    names = tuple(n for task in TASKS for n in TUNE_OBJECTIVES[task])
    if value in ("val_loss", "loss", "accuracy"):
        raise check._fail(name, f"a score without the weight penalty, one of {', '.join(names)}", value)
    return check.one_of(name, value, names)


def _tune(name: str, base: str | None = None, **changes) -> Field:
    """A search option: a new field, or (with `base`) a run option with the changes a search makes."""
    return replace(FIELD[base], name=name, group="search", **changes) if base else Field(name, group="search",
                                                                                            **changes)


# The options that define a search (`DEFINES_SEARCH`), then those that may change between its runs.
_DEFINING: tuple[Field, ...] = (
    *(FIELD[name] for name in ("data", "encoding", "target", "task", "categorical", "numeric", "drop",
                               "numeric_scaling", "numeric_bins", "numeric_embedding", "label_smoothing")),
    _tune("tuner", type=str, default="bayesian", help="search strategy", check=_one_of(TUNERS),
          choices=TUNERS),
    _tune("max_trials", type=int, default=30, help="number of trials (an upper bound for grid and hyperband)",
          check=check.positive_int, metavar="N"),
    _tune("executions_per_trial", type=int, default=1, help="trainings per trial and fold, averaged",
          check=check.positive_int, metavar="N"),
    _tune("objective", type=str, default=None,
          help="score that ranks the trials, never including the weight penalty: val_accuracy for "
               "classification; val_rmse, val_mae or val_r2 (target units) for regression; none: "
               "val_accuracy or val_rmse", check=_optional(_objective)),
    _tune("cv", type=int, default=3, help="folds of the k-fold objective on the training rows; 0: one "
          "validation split of --validation-split", check=_folds, metavar="K"),
    _tune("space", type=str, default=None, help="JSON or YAML file of overrides of the default search space",
          check=_optional(_name_or_mapping), metavar="FILE"),
    _tune("epochs", "epochs", default=None, help=f"maximum epochs per trial; none: the space's "
          f"({FIELD['epochs'].search['epochs']})", check=_optional(check.positive_int), search=None),
    _tune("patience", "patience", default=15, help="early-stopping patience inside trials"),
    _tune("validation_split", "validation_split", help="validation fraction of the training rows with --cv 0",
          check=check.open_unit_interval),
    _tune("test_split", "test_split", help="fraction of the rows the search never sees; the retrained best "
          "model is scored on them"),
    _tune("seed", "seed", help="seed of the splits, folds, oracle and training", check=check.non_negative_int),
    _tune("out", type=str, default=None, help="output directory; none: runs/<name of the --data file>-tune",
          check=_optional(_text), metavar="DIR"),
)

TUNE_FIELDS: tuple[Field, ...] = (
    *_DEFINING,
    _tune("ensemble", type=int, default=5, help="best_model.keras averages N retrainings of the best "
          "configuration", check=check.positive_int, metavar="N"),
    _tune("population", type=int, default=None, help="train up to P trials that differ only in learning rate, "
          "l1, l2 and dropout as one stacked model; none: 8 for grid and random, 1 for bayesian and hyperband; "
          "0 or 1: one trial at a time", check=_optional(check.non_negative_int), metavar="P"),
    _tune("time_budget", type=str, default=None, help="start no new trial after TIME (90s, 5m, 1h; plain "
          "numbers are seconds), then retrain the best configuration", check=_optional(_duration),
          metavar="TIME"),
    FIELD["baseline"],
    _tune("baselines", type=bool, default=False, help="also tune scikit-learn baselines on the same rows and "
          "print a comparison", check=_flag, cli="bool"),
    _tune("finalize", type=bool, default=True, help="write trials.csv and retrain the best configuration "
          "(--no-finalize: only run trials; a later run finalizes)", check=_flag, cli="bool"),
    _tune("tensorboard", type=str, default=None, help="write TensorBoard HParams logs of the search (one run "
          "per trial) into DIR", check=_optional(_text), metavar="DIR"),
    _tune("workers", type=int, default=0, help="run a chief and N worker processes on 127.0.0.1",
          check=check.non_negative_int, metavar="N"),
    _tune("role", type=str, default=None, help="take part in a search across machines that share --out",
          check=_optional(_one_of(("chief", "worker"))), choices=("chief", "worker")),
    _tune("oracle", type=str, default=None, help="HOST:PORT of the chief (with --role)", check=_optional(_text),
          metavar="HOST:PORT"),
    _tune("worker_id", type=str, default=None, help="unique id of a worker (with --role worker)",
          check=_optional(_text)),
    _tune("timeout", type=float, default=None, help="seconds after which a distributed run stops (its finished "
          "trials are kept); none: 6 hours", check=_optional(check.positive_float), metavar="SECONDS"),
    _tune("overwrite", type=bool, default=False, help="start over, deleting this search's outputs in --out",
          check=_flag, cli=None),
    _tune("verbose", type=int, default=1, help="1: progress lines, status line and summary; 0: quiet (--quiet)",
          check=check.non_negative_int, cli=None),
)

#: name -> search option
TUNE_FIELD: dict[str, Field] = {f.name: f for f in TUNE_FIELDS}

#: The options that define a search: a rerun must repeat them to resume it (`search.json`), and every
#: process of a distributed search gets them (`to_argv`). The others may change between runs.
DEFINES_SEARCH = tuple(f.name for f in _DEFINING)


def default_out(data, suffix: str = "") -> str:
    """Returns the default output folder of a command on `data`: `runs/<file name without extension><suffix>`.

    `runs/phone<suffix>` for the demo data (`data=None`), `runs/dataframe<suffix>` for a DataFrame.
    """
    if data is None:
        return os.path.join("runs", "phone" + suffix)
    if not isinstance(data, (str, os.PathLike)):
        return os.path.join("runs", "dataframe" + suffix)
    stem = os.path.splitext(os.path.basename(os.path.normpath(os.fspath(data))))[0]
    return os.path.join("runs", (stem or "run") + suffix)


def tune_options(config: Mapping[str, Any] | None = None, **overrides) -> dict[str, Any]:
    """Returns every search option: defaults < `config` (a dict of a JSON/YAML file's options) < `overrides`.

    Keys may use dashes (`max-trials`). Every value is checked and
    normalized (`cv=None` becomes 0, a `time_budget` text seconds); `data`
    may also be a DataFrame.

    Raises:
        ArgumentError: for an unknown key or a bad value (naming it).
    """
    given = {**{str(k).replace("-", "_"): v for k, v in dict(config or {}).items()}, **overrides}
    unknown = sorted(set(given) - set(TUNE_FIELD))
    if unknown:
        raise ArgumentError(f"Unknown option(s) of a search: {', '.join(unknown)}. Known: "
                            f"{', '.join(TUNE_FIELD)}.")
    options = {f.name: copy.deepcopy(f.default) for f in TUNE_FIELDS}
    options.update(given)
    return {name: value if name == "data" and not isinstance(value, (str, os.PathLike, type(None)))
            else check_value(name, value, TUNE_FIELD) for name, value in options.items()}


def to_argv(values: Mapping[str, Any], names, fields: Mapping[str, Field] = TUNE_FIELD) -> list[str]:
    """Returns the command-line flags that give `values[name]` for each of `names` (unset ones left out).

    The inverse of the parser `kerasopt.cli` builds from the same fields:
    parsing the result gives back the values. A value that starts with `-`
    is joined to its flag (`--drop=-x`), so that it is not read as a flag.
    A list flag splits its words at commas, so a column name with a comma
    cannot be given on the command line (a `--config` file can give it: the
    distributed launcher hands over the options that define a search that way).
    """
    argv: list[str] = []
    for name in names:
        f, value = fields[name], values.get(name)
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        if f.cli == "bool":
            argv.append(f.flag if value else "--no-" + f.flag[2:])
        elif f.cli == "comma":
            argv += _flag_words(f.flag, ",".join(value))
        elif f.cli == "nargs":
            argv += [f.flag, *(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))]
        elif f.cli == "json" or isinstance(value, Mapping):
            argv += [f.flag, json.dumps(value)]
        else:
            argv += _flag_words(f.flag, repr(value) if isinstance(value, float) else str(value))
    return argv


def _flag_words(flag: str, text: str) -> list[str]:
    """`[flag, text]`, or `[flag=text]` when `text` starts with `-` (else argparse would read it as a flag)."""
    return [f"{flag}={text}"] if text.startswith("-") else [flag, text]

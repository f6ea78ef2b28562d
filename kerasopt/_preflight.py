"""Input checks the command line runs before Keras and TensorFlow are imported.

Importing TensorFlow takes seconds; a missing file, a wrong `--target` or an
existing output are refused in a fraction of a second instead, with the same
one-line errors the commands raise themselves. Each check reads only what the
command reads anyway (the CSV, the configuration); none writes anything.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["check"]


def check(args: argparse.Namespace, overrides: dict | None = None) -> None:
    """Checks the inputs of a parsed `kerasopt` command line; raises its first user error.

    For `train`, it also completes `args` with what the command runs: `args.run_config`, the
    configuration (`kerasopt.config.resolve` of `--config` and the flags), and `args.out`, its
    default (`kerasopt.spec.default_out`) when not given.

    Args:
        args: The parsed arguments of `train`, `predict`, `evaluate` or `tune`.
        overrides: The run options the flags of `train` give
            (`kerasopt.cli.spec_overrides(args)`).

    Raises:
        KerasoptError: for a missing or unreadable file, an unknown target or
            id column, an existing output, or an invalid configuration.
    """
    if args.command == "train":
        _train(args, overrides or {})
    checks = {"predict": _predict, "evaluate": _evaluate, "tune": _tune}
    if args.command in checks:
        checks[args.command](args)


def _target_in(frame, target: str, declared: dict) -> None:
    """Checks the target and the declared column names (`{"categorical": [...], ...}`) against `frame`."""
    from kerasopt import data as data_lib
    from kerasopt.tabular.schema import check_names

    features = [c for c in data_lib.check_target(target, frame.columns) if c != target]
    for argument, names in declared.items():
        check_names(argument, names or (), features)


def _train(args, overrides: dict) -> None:
    from kerasopt import _io, pipeline, spec
    from kerasopt import config as config_lib

    file_config = config_lib.load_file(args.config) if args.config else None
    args.run_config = config = config_lib.resolve(file_config, **overrides)
    if args.out is None:
        args.out = spec.default_out(config["data"])
    if args.cv is not None:
        _io.check_out_dir(args.out, (), args.overwrite)
        _io.check_out_file(os.path.join(args.out, "cv.json"), args.overwrite)
    else:
        _io.check_out_dir(args.out, pipeline.RUN_FILES, args.overwrite)
    frame, _ = pipeline.load_training_data(config)
    data = None if config["demo"] else config["data"]
    _target_in(frame, pipeline.target_column(config["target"], data, frame),
               {name: config[name] for name in ("categorical", "numeric", "drop")})


def _predict(args) -> None:
    from kerasopt import _io, pipeline
    from kerasopt import data as data_lib

    _io.check_out_file(args.out, args.overwrite)
    _io.check_model_file(args.model)
    frame = data_lib.load_csv(args.data, encoding=args.encoding)
    pipeline.check_id_column(frame, args.id_column, args.data)


def _evaluate(args) -> None:
    from kerasopt import _io, pipeline
    from kerasopt import data as data_lib

    _io.check_out_dir(args.out, pipeline.EVALUATION_FILES, args.overwrite)
    _io.check_model_file(args.model)
    data_lib.load_csv(args.data, encoding=args.encoding)


def _tune(args) -> None:
    from kerasopt import data as data_lib
    from kerasopt import pipeline

    if args.data is None:
        return
    frame = data_lib.load_csv(args.data, encoding=args.encoding)
    _target_in(frame, pipeline.target_column(args.target, args.data, frame),
               {name: getattr(args, name) for name in ("categorical", "numeric", "drop")})

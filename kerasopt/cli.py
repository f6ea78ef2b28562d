"""The `kerasopt` command line: `kerasopt train`, `kerasopt predict`.

Every expected failure (bad data, bad flags, an existing run, a file that
cannot be read or written) prints one line `kerasopt: error: ...` to stderr
and exits with status 1 (2 for flag syntax), never a traceback; any other
exception is a bug and keeps its traceback. The flags of `kerasopt train` are
generated from `kerasopt.spec`, and every `--help` shows each default. Keras is imported only once the inputs have been checked
and the backend (`--backend`) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from kerasopt.errors import KerasoptError

__all__ = ["main", "build_parser", "ArgumentParser", "run_reporting_errors", "experiment_parser", "add_spec_flags",
           "spec_overrides", "default_out"]


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose usage errors are one line (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _json_arg(text: str):
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected JSON, e.g. '{{\"gamma\": 0.5}}'; got {text!r}") from None
    return value


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float:
    """Parses a duration: `90s`, `5m`, `1.5h` or plain seconds; positive."""
    value = str(text).strip().lower()
    number, scale = (value[:-1], _UNITS[value[-1]]) if value[-1:] in _UNITS else (value, 1.0)
    try:
        seconds = float(number) * scale
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive duration such as 90s, 5m or 1h. Received: {text!r}")
    return seconds


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _help(text: str) -> str:
    return text.replace("%", "%%")


def add_spec_flags(p: argparse.ArgumentParser) -> None:
    """Adds one flag per option of `kerasopt.spec.FIELDS`, grouped, each help showing the true default.

    Every flag defaults to `None` ("not given"), so that `config.resolve` can
    layer defaults < `--config` file < flags.
    """
    from kerasopt import spec

    titles = {"data": "data", "columns": "columns (override the inferred kind of a column)",
              "model": "model (overrides --config)", "optimizer": "optimizer and learning-rate schedule",
              "training": "training"}
    for group in spec.GROUPS:
        g = p.add_argument_group(titles[group])
        for f in spec.fields(group):
            if f.cli is None:
                continue
            choices = f"; one of {', '.join(map(str, f.choices))}" if f.choices else ""
            text = _help(f"{f.help}{choices} (default: {spec.format_default(f)})")
            if f.cli == "bool":
                g.add_argument(f.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
            elif f.cli == "json":
                g.add_argument(f.flag, type=_json_arg, metavar=f.metavar or "JSON", help=text)
            elif f.cli == "comma":
                g.add_argument(f.flag, type=_comma_list, metavar=f.metavar, help=text)
            elif f.cli == "nargs":
                g.add_argument(f.flag, type=f.type, nargs=f.nargs, metavar=f.metavar, help=text)
            else:
                g.add_argument(f.flag, type=f.type, metavar=f.metavar, help=text)


def spec_overrides(args: argparse.Namespace) -> dict:
    """Returns the options given as flags (those not given are `None`), for `config.resolve`."""
    from kerasopt import spec

    overrides = {f.name: getattr(args, f.name, None) for f in spec.FIELDS if f.cli is not None}
    if overrides.get("dropout") is not None and len(overrides["dropout"]) == 1:
        overrides["dropout"] = overrides["dropout"][0]
    return overrides


def default_out(config: dict) -> str:
    """Returns the default run directory: `runs/<data file name without extension>`, `runs/phone` for the demo."""
    if config.get("data") is None:
        return os.path.join("runs", "phone")
    stem = os.path.splitext(os.path.basename(os.path.normpath(os.fspath(config["data"]))))[0]
    return os.path.join("runs", stem or "run")


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Appends the default to every help line of `parser` (and its subcommands) that lacks one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _show_defaults(sub)
            continue
        if action.help in (None, argparse.SUPPRESS) or action.required or not action.option_strings:
            continue
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)) or "(default" in action.help:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            action.help += " (default: off)"
        elif action.default is None:
            action.help += " (default: none)"
        else:
            action.help += " (default: %(default)s)"


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier results at the output path")


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the `kerasopt` command.

    The options of `kerasopt train` are generated from `kerasopt.spec.FIELDS`;
    every help line shows its default.
    """
    from kerasopt import spec

    from kerasopt import __version__

    parser = ArgumentParser(prog="kerasopt", description="Build, train and tune regularized dense networks.")
    parser.add_argument("--version", action="version", version=f"kerasopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    train = sub.add_parser("train", help="train a model on a CSV and write a run directory",
                           description="Train a Dense network on a labelled CSV (default: embedded "
                                       "phone-like data) and write model.keras, config.json, "
                                       "metrics.json, history.csv and curves.png into --out.")
    train.add_argument("--config", metavar="FILE",
                       help="JSON or YAML file of options (a run's config.json reproduces the run); flags "
                            "override it")
    train.add_argument("--out", help="run directory (default: runs/<name of the --data file>, runs/phone "
                                     "for the demo data)")
    train.add_argument("--cv", type=int, metavar="K",
                       help="instead of one run, estimate accuracy by stratified K-fold cross-validation "
                            "and write cv.json into --out")
    train.add_argument("--quiet", action="store_true",
                       help="no progress line (it is shown only when stderr is a terminal)")
    train.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2], help="Keras fit verbosity")
    add_spec_flags(train)
    _add_common(train)
    predict = sub.add_parser("predict", help="predict the rows of a CSV with a saved model",
                             description="Write the id column (when present), the prediction in the original "
                                         "labels and one probability column per class for the rows of a CSV.")
    predict.add_argument("--model", required=True, help="model.keras of a train or tune run")
    predict.add_argument("--data", required=True, help="CSV with the feature columns (any order; an id column "
                                                       "and other extra columns are allowed)")
    predict.add_argument("--out", required=True, help="output CSV")
    predict.add_argument("--proba", action=argparse.BooleanOptionalAction, default=True,
                         help="write one probability column per class (default: on; --no-proba omits them)")
    _add_common(predict)
    evaluate = sub.add_parser("evaluate", help="score a saved model on a labelled CSV",
                              description="Score a saved model on labelled rows: accuracy, balanced accuracy, "
                                          "log loss, per-class precision/recall/F1 and a confusion matrix, or "
                                          "RMSE, MAE, R^2 and a residual plot; written to --out and printed.")
    evaluate.add_argument("--model", required=True, help="model.keras of a train or tune run")
    evaluate.add_argument("--data", required=True, help="CSV with the feature columns and the target column")
    evaluate.add_argument("--out", required=True, help="folder for evaluation.json and the figure")
    _add_common(evaluate)
    export = sub.add_parser("export", help="write a saved model as a TensorFlow SavedModel for serving",
                            description="Write a TensorFlow SavedModel whose serving signature takes the raw "
                                        "named columns (NaN for a missing number, \"\" for a missing category) "
                                        "and returns the label in its original values and one probability per "
                                        "class, or the regression value. Loading it needs TensorFlow only.")
    export.add_argument("--model", required=True, help="model.keras of a train or tune run")
    export.add_argument("--out", required=True, help="SavedModel directory to write")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    # --- tune subcommand (owned by tuning) ---
    tune = sub.add_parser("tune", help="search hyperparameters with KerasTuner and keep the best model",
                          description="Search the hyperparameters of a Dense network for a table with KerasTuner "
                                      "and write trials.csv, trials.png, best_config.json and "
                                      "best_model.keras into --out. Running the same command again "
                                      "resumes an interrupted search.")
    tune.add_argument("--data", metavar="CSV", help=_help(spec.FIELD["data"].help))
    tune.add_argument("--target", metavar="COLUMN", help=_help(spec.FIELD["target"].help))
    for name in ("task", "categorical", "numeric", "drop"):
        field = spec.FIELD[name]
        choices = f"; one of {', '.join(field.choices)}" if field.choices else ""
        tune.add_argument(field.flag, type=_comma_list if field.cli == "comma" else field.type,
                          choices=field.choices, metavar=field.metavar, help=_help(f"{field.help}{choices}"))
    tune.add_argument("--tuner", default="bayesian", choices=["random", "grid", "bayesian", "hyperband"],
                      help="search strategy (default bayesian)")
    tune.add_argument("--max-trials", type=int, default=30, help="number of trials (default 30)")
    tune.add_argument("--executions-per-trial", type=int, default=1, help="trainings per trial, averaged")
    tune.add_argument("--objective", help="val_accuracy, val_loss, accuracy or loss (default: val_accuracy for "
                                          "classification, val_loss for regression)")
    tune.add_argument("--cv", type=int, metavar="K", default=3,
                      help="k-fold objective on the training rows (default 3); 0: one validation split")
    tune.add_argument("--space", metavar="FILE", help="JSON or YAML overrides of the default search space")
    tune.add_argument("--seed", type=int, default=spec.FIELD["seed"].default,
                      help="seed of splits, oracle and training")
    tune.add_argument("--out", default=os.path.join("runs", "tune"), help="output directory (default runs/tune)")
    tune.add_argument("--epochs", type=int, help=f"maximum epochs per trial (default: the space's, "
                                                  f"{spec.FIELD['epochs'].search['epochs']})")
    tune.add_argument("--patience", type=int, default=15, help="early-stopping patience inside trials")
    tune.add_argument("--validation-split", type=float, default=spec.FIELD["validation_split"].default,
                      help="validation fraction with --cv 0")
    tune.add_argument("--test-split", type=float, default=0.0,
                      help="fraction of rows the search never sees; the best model is scored on them")
    tune.add_argument("--workers", type=int, default=0, metavar="N",
                      help="run a chief and N workers on 127.0.0.1")
    tune.add_argument("--role", choices=["chief", "worker"], help="take part in a search across machines")
    tune.add_argument("--oracle", metavar="HOST:PORT", help="address of the chief (with --role)")
    tune.add_argument("--worker-id", help="unique worker id (with --role worker)")
    tune.add_argument("--timeout", type=float, metavar="SECONDS", help="bound on a distributed run (default: 6 hours)")
    tune.add_argument("--time-budget", type=_duration, metavar="TIME",
                      help="start no new trial after TIME (e.g. 90s, 5m, 1h; plain numbers are seconds), then "
                           "retrain the best configuration as usual")
    tune.add_argument("--tensorboard", metavar="DIR",
                      help="write TensorBoard HParams logs of the search (one run per trial) into DIR")
    tune.add_argument("--no-finalize", action="store_true",
                      help="only run trials: no trials.csv or retraining (a later run without it finalizes)")
    tune.add_argument("--baselines", action="store_true",
                      help="also tune scikit-learn baselines on the same rows and print a comparison")
    tune.add_argument("--ensemble", type=int, default=5, metavar="N",
                      help="best_model.keras averages N retrainings of the best configuration (default 5)")
    tune.add_argument("--sequential", action="store_true",
                      help="train a trial's folds and executions, and the final ensemble, one network at a time "
                           "(each fold learning its own column statistics) instead of as one stacked model")
    tune.add_argument("--population", type=int, metavar="P",
                      help="train up to P trials that differ only in learning rate, l1, l2 and dropout as one "
                           "stacked model (default: 8 for grid and random, 1 for bayesian and hyperband; "
                           "0 or 1: one trial at a time)")
    tune.add_argument("--quiet", action="store_true",
                      help="no progress lines, status line or summary (the status line shows only on a terminal)")
    _add_common(tune)
    # --- end tune ---
    _show_defaults(parser)
    return parser


def _train(args) -> int:
    from kerasopt import config as config_lib
    from kerasopt.pipeline import run_training

    file_config = config_lib.load_file(args.config) if args.config else None
    config = config_lib.resolve(file_config, **spec_overrides(args))
    if args.out is None:
        args.out = default_out(config)
    if args.cv is not None:
        return _cross_validate(config, args)
    summary = run_training(config, args.out, overwrite=args.overwrite, verbose=args.verbose,
                           progress=not args.quiet)
    for note in summary["notes"]:
        print(f"note: {note}")
    if config["bagging"]:
        print(f"trained {config['bagging']} networks, each on all but one of {config['bagging']} folds, for at most "
              f"{summary['epochs_run']} epochs (median best epoch {summary['best_epoch']}) in "
              f"{summary['seconds']:.1f} s; their average written to {args.out}")
    else:
        refit = (f", then refit on {summary['refit_rows']} train + validation rows for {summary['best_epoch']} "
                 "epochs" if summary["refit_rows"] else "")
        print(f"trained {summary['epochs_run']} epochs (best epoch {summary['best_epoch']}){refit} in "
              f"{summary['seconds']:.1f} s; run written to {args.out}")
    for split, values in summary["metrics"].items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items()
                          if isinstance(v, float) and k not in ("rows", "log_loss"))
        label = "out-of-fold" if split == "validation" and config["bagging"] else split
        print(f"  {label:<10} {shown}")
    if "balanced_accuracy" in summary["scores"]:
        print(f"  {'test':<10} balanced_accuracy {summary['scores']['balanced_accuracy']:.4f}")
    return 0


def _cross_validate(config, args) -> int:
    from kerasopt import _io
    from kerasopt.errors import OutputExistsError
    from kerasopt.pipeline import cross_validate_config

    path = os.path.join(args.out, "cv.json")
    if os.path.exists(path) and not args.overwrite:
        raise OutputExistsError(f"{path} already exists. Choose another --out, or pass --overwrite to replace it.")
    result = cross_validate_config(config, folds=args.cv, progress=not args.quiet)
    _io.write_json(path, {"config": config, **result})
    folds = ", ".join(f"{a:.4f}" for a in result["folds"])
    print(f"{args.cv}-fold cross-validated {result['metric']} {result['mean']:.4f} +- {result['std']:.4f} "
          f"(folds: {folds}); written to {path}")
    return 0


def _predict(args) -> int:
    from kerasopt.pipeline import predict_file

    notes: list[str] = []
    result = predict_file(args.model, args.data, args.out, overwrite=args.overwrite, proba=args.proba,
                          notes=notes)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {len(result)} predictions to {args.out}")
    return 0


def _evaluate(args) -> int:
    from kerasopt.evaluation import format_scores
    from kerasopt.pipeline import evaluate_file

    notes: list[str] = []
    scores = evaluate_file(args.model, args.data, args.out, overwrite=args.overwrite, notes=notes)
    for note in notes:
        print(f"note: {note}")
    print(format_scores(scores))
    print(f"report written to {args.out}")
    return 0


def _export(args) -> int:
    from kerasopt.export import export_model

    names = export_model(args.model, args.out, overwrite=args.overwrite)
    renamed = [f"{column!r} as {name!r}" for column, name in names.items() if column != name]
    if renamed:
        print(f"note: signature inputs renamed: {', '.join(renamed)}")
    print(f"SavedModel written to {args.out}; inputs: {', '.join(names.values())}")
    return 0


def _import_keras_quietly() -> None:
    """Imports Keras with the C++ start-up chatter of TensorFlow (CUDA probes) silenced.

    Those lines bypass Python's logging, so file descriptor 2 is pointed at
    /dev/null for the import only; Python-level errors are unaffected.
    """
    if "keras" in sys.modules:
        return
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and not isinstance(error, KerasoptError) and error.strerror:
        files = " -> ".join(os.fspath(f) for f in (error.filename, error.filename2) if f is not None)
        return f"{error.strerror}: {files}"
    return " ".join(str(error).split()) or type(error).__name__


def run_reporting_errors(prog: str, body: Callable[[], int | None],
                         resumes: str = "training from its last finished epoch") -> int:
    """Runs `body()`; an expected failure becomes one line `<prog>: error: ...` and status 1.

    Expected failures are kerasopt's own errors (`kerasopt.errors.KerasoptError`) and file
    errors (an `OSError` that names a file: missing, unreadable, permission denied). Any other
    exception is a bug and propagates with its traceback. Keras is imported first with
    TensorFlow's start-up chatter silenced.

    Args:
        prog: Name shown before `error:`.
        body: The command's work; returns its exit status (`None` means 0).
        resumes: What a rerun resumes, for the message after Ctrl-C.

    Returns:
        The exit status.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        _import_keras_quietly()
        status = body()
        return 0 if status is None else status
    except (KerasoptError, OSError) as e:
        if isinstance(e, OSError) and not isinstance(e, KerasoptError) and e.filename is None:
            raise  # not about a file the user named: a bug
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished outputs are kept, and a rerun of the same command resumes "
              f"{resumes}.", file=sys.stderr)
        return 130


def experiment_parser(prog: str, doc: str, seed_help: str = "random seed (default 0)",
                      out_required: bool = False) -> ArgumentParser:
    """Returns the parser shared by the experiment scripts: `--out`, `--seed`, `--overwrite`."""
    parser = ArgumentParser(prog=prog, description=doc.strip().splitlines()[0])
    parser.add_argument("--out", required=out_required,
                        help="folder for the outputs" + ("" if out_required else " (none are written without it)"))
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    return parser


COMMANDS = {"train": _train, "predict": _predict, "evaluate": _evaluate, "export": _export}
# --- tune subcommand (owned by tuning) ---


def _tune(args) -> int:
    from kerasopt.tuning.search import tune

    result = tune(args.data, args.target, task=args.task, categorical=args.categorical or (),
                  numeric=args.numeric or (), drop=args.drop or (), tuner=args.tuner, max_trials=args.max_trials,
                  executions_per_trial=args.executions_per_trial, objective=args.objective,
                  cv=None if args.cv == 0 else args.cv,
                  space=args.space, seed=args.seed, out=args.out, epochs=args.epochs, patience=args.patience,
                  validation_split=args.validation_split, test_split=args.test_split, overwrite=args.overwrite,
                  workers=args.workers, role=args.role, oracle=args.oracle, worker_id=args.worker_id,
                  timeout=args.timeout, time_budget=args.time_budget, tensorboard=args.tensorboard,
                  baselines=args.baselines, ensemble=args.ensemble, sequential=args.sequential,
                  population=args.population, verbose=0 if args.quiet else 1,
                  finalize=not args.no_finalize)
    if args.role == "worker":
        print(f"worker {args.worker_id}: search over; the chief writes the results to {args.out}")
    elif args.no_finalize:
        print(f"trials written to {args.out} in {result.seconds:.1f} s")
    else:
        print(f"search written to {args.out} in {result.seconds:.1f} s")
    return 0


COMMANDS["tune"] = _tune
# --- end tune ---


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Example:

    >>> main(["train", "--epochs", "5", "--out", "runs/demo"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if getattr(args, "backend", None):
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != args.backend:
            print(f"kerasopt: error: Keras is already loaded with another backend; set "
                  f"KERAS_BACKEND={args.backend} before starting Python.", file=sys.stderr)
            return 1
        os.environ["KERAS_BACKEND"] = args.backend
    resumes = "the search (finished trials are kept)" if args.command == "tune" else \
        "training from its last finished epoch"
    return run_reporting_errors(f"kerasopt {args.command}", lambda: COMMANDS[args.command](args), resumes)


if __name__ == "__main__":
    sys.exit(main())

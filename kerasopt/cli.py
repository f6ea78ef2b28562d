"""The `kerasopt` command line: `kerasopt train`, `kerasopt predict`.

Every expected failure (bad data, bad flags, an existing run, a file that
cannot be read or written) prints one line `kerasopt: error: ...` to stderr
and exits with status 1 (2 for flag syntax), never a traceback; any other
exception is a bug and keeps its traceback. The flags of `kerasopt train` are
generated from `kerasopt.spec`, and every `--help` shows each default; list
flags take commas (`--hidden-units 64,32`, `--categorical a,b`) or spaces.
`train` and `tune` need `--data` or `--demo`. Keras is imported only once the
inputs have been checked (`kerasopt._preflight`: files, target, outputs) and
the backend (`--backend`) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from kerasopt.errors import KerasoptError

__all__ = ["main", "build_parser", "ArgumentParser", "run_reporting_errors", "experiment_parser", "spec_overrides",
           "demo_unless_data"]


class _Formatter(argparse.HelpFormatter):
    """Shows a list flag as `--categorical COL,...`: one form, however many words it was typed in."""

    def _format_args(self, action, default_metavar):
        if isinstance(action, _ListAction):
            return self._metavar_formatter(action, default_metavar)(1)[0]
        return super()._format_args(action, default_metavar)


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose usage errors are one line (exit status 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _json_arg(text: str):
    try:
        return json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected JSON, e.g. '{{\"gamma\": 0.5}}'; got {text!r}") from None


_ITEMS = {int: "integers", float: "numbers", str: "names"}


def _list_of(item_type: type) -> Callable[[str], list]:
    """Parses one command-line word of a list flag: items separated by commas."""
    def parse(text: str) -> list:
        try:
            return [item_type(item.strip()) for item in text.split(",") if item.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {_ITEMS.get(item_type, 'values')} separated by commas "
                                             f"(or spaces), e.g. 64,32; got {text!r}") from None
    return parse


class _ListAction(argparse.Action):
    """Stores a list flag's items given with commas, spaces or both: `a,b`, `a b` and `a, b` are one list."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [item for value in values for item in value])


def _checked(f) -> Callable[[str], object]:
    """An argparse `type` that converts a flag's text with the field's type, then its check."""
    def convert(text: str):
        try:
            value = f.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {f.type.__name__}; got {text!r}") from None
        try:
            return value if f.check is None else f.check(f.name, value)
        except KerasoptError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return convert


def _add_field(g, f, check: bool = False) -> None:
    """Adds the flag of one `kerasopt.spec.Field` (default `None`: not given, so that `config.resolve` can
    layer defaults < `--config` file < flags), its help showing the default.

    With `check`, a one-value flag is checked as it is parsed (a bad value is a usage error). A list flag
    (`cli` `"comma"` or `"nargs"`) takes commas, spaces or both: `--hidden-units 64,32`, `--categorical a b`.
    """
    from kerasopt import spec

    if f.cli is None:
        return
    text = spec.describe(f).replace("%", "%%")
    if f.cli == "bool":
        g.add_argument(f.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    elif f.cli == "json":
        g.add_argument(f.flag, type=_json_arg, metavar=f.metavar or "JSON", help=text)
    elif f.cli in ("comma", "nargs"):
        g.add_argument(f.flag, type=_list_of(f.type), nargs=f.nargs or "+", action=_ListAction,
                       metavar=f.metavar, help=text)
    else:
        g.add_argument(f.flag, type=_checked(f) if check else f.type, metavar=f.metavar, help=text)


def spec_overrides(args: argparse.Namespace) -> dict:
    """Returns the options given as flags (those not given are `None`), for `config.resolve`."""
    from kerasopt import spec

    overrides = {f.name: getattr(args, f.name, None) for f in spec.FIELDS if f.cli is not None}
    if overrides.get("dropout") is not None and len(overrides["dropout"]) == 1:
        overrides["dropout"] = overrides["dropout"][0]
    return overrides


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

    The options of `kerasopt train` and `tune` are generated from `kerasopt.spec`;
    every help line shows its default.
    """
    from kerasopt import __version__

    parser = ArgumentParser(prog="kerasopt", description="Build, train and tune regularized dense networks.")
    parser.add_argument("--version", action="version", version=f"kerasopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    for add in (_add_train_command, _add_predict_command, _add_evaluate_command, _add_export_command,
                _add_tune_command):
        add(sub)
    _show_defaults(parser)
    return parser


def _add_train_command(sub) -> None:
    from kerasopt import spec

    train = sub.add_parser("train", help="train a model on a CSV and write a run directory",
                           description="Train a Dense network on a labelled CSV (--data, or --demo for "
                                       "embedded phone-like data) and write model.keras, config.json, "
                                       "metrics.json, history.csv and curves.png into --out.")
    train.add_argument("--config", metavar="FILE",
                       help="JSON or YAML file of options (a run's config.json reproduces the run); flags "
                            "override it")
    for f in spec.TRAIN_COMMAND_FIELDS:
        _add_field(train, f, check=True)
    train.add_argument("--quiet", action="store_true",
                       help="no progress line (it is shown only when stderr is a terminal)")
    train.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2], help="Keras fit verbosity")
    titles = {"data": "data", "columns": "columns (override the inferred kind of a column)",
              "model": "model (overrides --config)", "optimizer": "optimizer and learning-rate schedule",
              "training": "training"}
    for group in spec.GROUPS:
        g = train.add_argument_group(titles[group])
        for f in spec.fields(group):
            _add_field(g, f)
    _add_common(train)


def _add_predict_command(sub) -> None:
    from kerasopt import spec

    predict = sub.add_parser("predict", help="predict the rows of a CSV with a saved model",
                             description="Write the id column (when present), the prediction in the original "
                                         "labels and one probability column per class for the rows of a CSV.")
    predict.add_argument("--model", required=True, help="model.keras of a train or tune run")
    predict.add_argument("--data", required=True, help="CSV with the feature columns (any order; an id column "
                                                       "and other extra columns are allowed)")
    predict.add_argument("--out", required=True, help="output CSV")
    predict.add_argument("--proba", action=argparse.BooleanOptionalAction, default=True,
                         help="write one probability column per class (default: on; --no-proba omits them)")
    predict.add_argument("--id", metavar="COLUMN", dest="id_column",
                         help="column copied to the output as the row key (default: id when the file has one "
                              "the model does not use, else row: the data row number from 1)")
    _add_field(predict, spec.FIELD["encoding"])
    _add_common(predict)


def _add_evaluate_command(sub) -> None:
    from kerasopt import spec

    evaluate = sub.add_parser("evaluate", help="score a saved model on a labelled CSV",
                              description="Score a saved model on labelled rows: accuracy, balanced accuracy, "
                                          "log loss, per-class precision/recall/F1 and a confusion matrix, or "
                                          "RMSE, MAE, R^2 and a residual plot; written to --out and printed.")
    evaluate.add_argument("--model", required=True, help="model.keras of a train or tune run")
    evaluate.add_argument("--data", required=True, help="CSV with the feature columns and the target column")
    evaluate.add_argument("--out", required=True, help="folder for evaluation.json and the figure")
    _add_field(evaluate, spec.FIELD["encoding"])
    _add_common(evaluate)


def _add_export_command(sub) -> None:
    export = sub.add_parser("export", help="write a saved model as a TensorFlow SavedModel for serving",
                            description="Write a TensorFlow SavedModel whose serving signature takes the raw "
                                        "named columns (NaN for a missing number, \"\" for a missing category) "
                                        "and returns the label in its original values and one probability per "
                                        "class, or the regression value. Loading it needs TensorFlow only.")
    export.add_argument("--model", required=True, help="model.keras of a train or tune run")
    export.add_argument("--out", required=True, help="SavedModel directory to write")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _add_tune_command(sub) -> None:
    from kerasopt import spec

    tune = sub.add_parser("tune", help="search hyperparameters with KerasTuner and keep the best model",
                          description="Search the hyperparameters of a Dense network for a table with KerasTuner "
                                      "and write trials.csv, trials.png, best_config.json and "
                                      "best_model.keras into --out. Running the same command again "
                                      "resumes an interrupted search.")
    tune.add_argument("--config", metavar="FILE", help="JSON or YAML file of search options (keys as the flags "
                                                         "without dashes); flags override it")
    for f in spec.TUNE_FIELDS:
        _add_field(tune, f, check=True)
    _add_field(tune, spec.FIELD["demo"])
    tune.add_argument("--quiet", action="store_true",
                      help="no progress lines, status line or summary (the status line shows only on a terminal)")
    _add_common(tune)


def _train(args) -> int:
    from kerasopt.pipeline import run_training

    config = args.run_config  # resolved by _preflight.check, which also set the default --out
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
    from kerasopt.signals import summary_lines

    for line in summary_lines(summary, out_of_fold=bool(config["bagging"])):
        print(line)
    for warning in summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for line in summary.get("comparison", ()):
        print(line)
    print(f"report: {summary['paths']['report.html']}")
    return 0


def _cross_validate(config, args) -> int:
    from kerasopt import _io
    from kerasopt.pipeline import cross_validate_config

    path = os.path.join(args.out, "cv.json")  # an existing one was refused by _preflight
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
                          notes=notes, id_column=args.id_column, encoding=args.encoding)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {len(result)} predictions to {args.out}")
    return 0


def _evaluate(args) -> int:
    from kerasopt.evaluation import format_scores
    from kerasopt.pipeline import evaluate_file

    notes: list[str] = []
    scores = evaluate_file(args.model, args.data, args.out, overwrite=args.overwrite, notes=notes,
                           encoding=args.encoding)
    for note in notes:
        print(f"note: {note}")
    print(format_scores(scores))
    for warning in scores["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"evaluation written to {args.out}")
    print(f"report: {os.path.join(args.out, 'report.html')}")
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
                         resumes: str = "the run after its last finished phase",
                         before_keras: Callable[[], None] | None = None) -> int:
    """Runs `body()`; an expected failure becomes one line `<prog>: error: ...` and status 1.

    Expected failures are `KerasoptError`s and `OSError`s that name a file; any other exception
    propagates. Keras is imported quietly after `before_keras()`.

    Args:
        prog: Name shown before `error:`.
        body: The command's work; returns its exit status (`None` means 0).
        resumes: What a rerun resumes, for the message after Ctrl-C.
        before_keras: Checks to run before Keras (and TensorFlow) is imported.

    Returns:
        The exit status.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if before_keras is not None:
            before_keras()
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
    """Returns the parser shared by the experiment scripts: `--out`, `--seed` (checked as the spec's), `--overwrite`."""
    from kerasopt import spec

    parser = ArgumentParser(prog=prog, description=doc.strip().splitlines()[0])
    parser.add_argument("--out", required=out_required,
                        help="folder for the outputs" + ("" if out_required else " (none are written without it)"))
    parser.add_argument("--seed", type=_checked(spec.FIELD["seed"]), default=0, help=seed_help)
    parser.add_argument("--overwrite", action="store_true", help="replace earlier outputs in --out")
    return parser


def _tune(args) -> int:
    from kerasopt import spec
    from kerasopt.tuning.search import tune

    given = {f.name: getattr(args, f.name) for f in spec.TUNE_FIELDS
             if f.cli is not None and getattr(args, f.name) is not None and f.name not in ("data", "target")}
    result = tune(args.data, args.target, config=args.config, overwrite=args.overwrite,
                  verbose=0 if args.quiet else 1, **given)
    if args.role == "worker":
        print(f"worker {args.worker_id}: search over; the chief writes the results to {result.out_dir}")
    elif args.finalize is False:
        print(f"trials written to {result.out_dir} in {result.seconds:.1f} s")
    else:
        print(f"search written to {result.out_dir} in {result.seconds:.1f} s")
        if os.path.isfile(os.path.join(result.out_dir, "report.html")):
            print(f"report: {os.path.join(result.out_dir, 'report.html')}")
    return 0


COMMANDS = {"train": _train, "predict": _predict, "evaluate": _evaluate, "export": _export, "tune": _tune}


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    error = _data_error(args)
    if error:
        print(f"kerasopt {args.command}: error: {error} (see kerasopt {args.command} --help)", file=sys.stderr)
        return 2
    if getattr(args, "backend", None):
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != args.backend:
            print(f"kerasopt: error: Keras is already loaded with another backend; set "
                  f"KERAS_BACKEND={args.backend} before starting Python.", file=sys.stderr)
            return 1
        os.environ["KERAS_BACKEND"] = args.backend
    from kerasopt import _preflight

    resumes = {"tune": "the search (finished trials are kept)"}
    return run_reporting_errors(f"kerasopt {args.command}", lambda: COMMANDS[args.command](args),
                                resumes.get(args.command, "the run after its last finished phase"),
                                before_keras=lambda: _preflight.check(
                                    args, spec_overrides(args) if args.command == "train" else None))


def demo_unless_data(argv: list[str]) -> list[str]:
    """Returns `argv` with `--demo` added when it names no data (`--data`, `--demo` or `--config`).

    The phone scripts (`scripts/train_phone.py`, `scripts/tune_phone.py`) run on the embedded
    phone-like demo data when given no file, as the first command of the README does.
    """
    named = any(a.split("=", 1)[0] in ("--data", "--demo", "--no-demo", "--config") for a in argv)
    return list(argv) if named or any(a in ("-h", "--help") for a in argv) else [*argv, "--demo"]


def _data_error(args) -> str | None:
    """The usage error of a `train` or `tune` whose flags name no data, or both (`spec.check_data_source`)."""
    from kerasopt import spec

    if args.command not in ("train", "tune") or (args.config is not None and args.data is None and not args.demo):
        return None  # a --config file may name the data: checked once it is read
    try:
        spec.check_data_source(args.data, args.demo, args.command)
    except KerasoptError as e:
        return str(e)
    return None


if __name__ == "__main__":
    sys.exit(main())

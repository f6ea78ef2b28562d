"""The `kerasopt` command line: `kerasopt train`, `kerasopt predict`.

Every expected failure (bad data, bad flags, an existing run) prints one line
`kerasopt: error: ...` to stderr and exits with status 1 (2 for flag syntax),
never a traceback. Keras is imported only once the inputs have been checked
and the backend (`--backend`) is set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

__all__ = ["main", "build_parser", "ArgumentParser", "run_reporting_errors", "experiment_parser"]


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


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and optimizer (override --config)")
    g.add_argument("--hidden-units", type=int, nargs="*", metavar="N", help="units per hidden layer, e.g. 64 32")
    g.add_argument("--activation", help="hidden activation (default relu)")
    g.add_argument("--kernel-initializer", help="Keras initializer name (default he_normal)")
    g.add_argument("--l1", type=float, help="L1 strength for every Dense kernel")
    g.add_argument("--l2", type=float, help="L2 strength for every Dense kernel")
    g.add_argument("--dropout", type=float, nargs="+", metavar="RATE", help="dropout rate(s) after hidden layers")
    g.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="batch normalization between Dense and activation")
    g.add_argument("--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, nadam, adadelta")
    g.add_argument("--optimizer-args", type=_json_arg, metavar="JSON", help='e.g. \'{"beta_2": 0.99}\'')
    g.add_argument("--learning-rate", type=float, help="initial learning rate")
    g.add_argument("--schedule", help="constant, step, multistep, exponential, piecewise, inverse_time, cosine")
    g.add_argument("--schedule-args", type=_json_arg, metavar="JSON", help='e.g. \'{"step_size": 50, "gamma": 0.5}\'')
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    t.add_argument("--reduce-lr-on-plateau", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--class-weight", choices=["balanced"], help="weight classes inversely to their frequency")
    t.add_argument("--validation-split", type=float, help="fraction of non-test rows for validation")
    t.add_argument("--test-split", type=float, help="fraction of rows held out for the test metrics")
    t.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="after early stopping, retrain on train + validation rows for the best epoch count "
                        "(default on)")
    t.add_argument("--seed", type=int, help="seed that makes the run repeatable")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier results at the output path")


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the `kerasopt` command."""
    parser = ArgumentParser(prog="kerasopt", description="Build, train and tune regularized dense networks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    train = sub.add_parser("train", help="train a model on a CSV and write a run directory",
                           description="Train a Dense network on a labelled CSV (default: embedded "
                                       "phone-like data) and write model.keras, config.json, "
                                       "metrics.json, history.csv and curves.png into --out.")
    train.add_argument("--data", help="labelled CSV (default: embedded phone-like data)")
    train.add_argument("--target", help="label column (default price_range)")
    train.add_argument("--config", help="JSON or YAML file of options; flags override it")
    train.add_argument("--out", default=os.path.join("runs", "phone"), help="run directory (default runs/phone)")
    train.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2], help="Keras fit verbosity")
    train.add_argument("--cv", type=int, metavar="K",
                       help="instead of one run, estimate accuracy by stratified K-fold cross-validation "
                            "and write cv.json into --out")
    _add_model_flags(train)
    _add_common(train)
    predict = sub.add_parser("predict", help="predict the classes of a CSV with a saved model",
                             description="Write id,<target> predictions for the rows of a CSV.")
    predict.add_argument("--model", required=True, help="model.keras of a training run")
    predict.add_argument("--data", required=True, help="CSV with an optional id column and the feature columns")
    predict.add_argument("--out", required=True, help="output CSV")
    _add_common(predict)
    # --- tune subcommand (owned by tuning) ---
    tune = sub.add_parser("tune", help="search hyperparameters with KerasTuner and keep the best model",
                          description="Search the hyperparameters of a Dense classifier with KerasTuner "
                                      "and write trials.csv, trials.png, best_config.json and "
                                      "best_model.keras into --out. Running the same command again "
                                      "resumes an interrupted search.")
    tune.add_argument("--data", help="labelled CSV (default: embedded phone-like data)")
    tune.add_argument("--target", default="price_range", help="label column (default price_range)")
    tune.add_argument("--tuner", default="bayesian", choices=["random", "grid", "bayesian", "hyperband"],
                      help="search strategy (default bayesian)")
    tune.add_argument("--max-trials", type=int, default=30, help="number of trials (default 30)")
    tune.add_argument("--executions-per-trial", type=int, default=1, help="trainings per trial, averaged")
    tune.add_argument("--objective", default="val_accuracy",
                      help="val_accuracy (default), val_loss, accuracy or loss")
    tune.add_argument("--cv", type=int, metavar="K", default=3,
                      help="k-fold objective on the training rows (default 3); 0: one validation split")
    tune.add_argument("--space", metavar="FILE", help="JSON or YAML overrides of the default search space")
    tune.add_argument("--seed", type=int, default=0, help="seed of splits, oracle and training (default 0)")
    tune.add_argument("--out", default=os.path.join("runs", "tune"), help="output directory (default runs/tune)")
    tune.add_argument("--epochs", type=int, help="maximum epochs per trial (default: the space's, 150)")
    tune.add_argument("--patience", type=int, default=15, help="early-stopping patience inside trials")
    tune.add_argument("--validation-split", type=float, default=0.2, help="validation fraction with --cv 0")
    tune.add_argument("--test-split", type=float, default=0.0,
                      help="fraction of rows the search never sees; the best model is scored on them")
    tune.add_argument("--workers", type=int, default=0, metavar="N",
                      help="run a chief and N workers on 127.0.0.1")
    tune.add_argument("--role", choices=["chief", "worker"], help="take part in a search across machines")
    tune.add_argument("--oracle", metavar="HOST:PORT", help="address of the chief (with --role)")
    tune.add_argument("--worker-id", help="unique worker id (with --role worker)")
    tune.add_argument("--timeout", type=float, metavar="SECONDS", help="bound on a distributed run")
    tune.add_argument("--baselines", action="store_true",
                      help="also tune scikit-learn baselines on the same rows and print a comparison")
    tune.add_argument("--ensemble", type=int, default=5, metavar="N",
                      help="best_model.keras averages N retrainings of the best configuration (default 5)")
    tune.add_argument("--quiet", action="store_true", help="no progress lines or summary")
    _add_common(tune)
    # --- end tune ---
    return parser


_CONFIG_FLAGS = ("data", "target", "hidden_units", "activation", "kernel_initializer", "l1", "l2", "dropout",
                 "batch_norm", "optimizer", "optimizer_args", "learning_rate", "schedule", "schedule_args",
                 "epochs", "batch_size", "patience", "reduce_lr_on_plateau", "class_weight",
                 "validation_split", "test_split", "refit", "seed")


def _train(args) -> int:
    from kerasopt import config as config_lib
    from kerasopt.pipeline import run_training

    file_config = config_lib.load_file(args.config) if args.config else None
    overrides = {k: getattr(args, k) for k in _CONFIG_FLAGS}
    if overrides["dropout"] is not None and len(overrides["dropout"]) == 1:
        overrides["dropout"] = overrides["dropout"][0]
    config = config_lib.resolve(file_config, **overrides)
    if args.cv is not None:
        return _cross_validate(config, args)
    summary = run_training(config, args.out, overwrite=args.overwrite, verbose=args.verbose)
    refit = (f", then refit on {summary['refit_rows']} train + validation rows for {summary['best_epoch']} epochs"
             if summary["refit_rows"] else "")
    print(f"trained {summary['epochs_run']} epochs (best epoch {summary['best_epoch']}){refit} in "
          f"{summary['seconds']:.1f} s; run written to {args.out}")
    for split, values in summary["metrics"].items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
        print(f"  {split:<10} {shown}")
    return 0


def _cross_validate(config, args) -> int:
    from kerasopt import _io
    from kerasopt.errors import OutputExistsError
    from kerasopt.pipeline import cross_validate_config

    path = os.path.join(args.out, "cv.json")
    if os.path.exists(path) and not args.overwrite:
        raise OutputExistsError(f"{path} already exists. Choose another --out, or pass --overwrite to replace it.")
    result = cross_validate_config(config, folds=args.cv)
    _io.write_json(path, {"config": config, **result})
    folds = ", ".join(f"{a:.4f}" for a in result["folds"])
    print(f"{args.cv}-fold cross-validated accuracy {result['mean']:.4f} +- {result['std']:.4f} "
          f"(folds: {folds}); written to {path}")
    return 0


def _predict(args) -> int:
    from kerasopt.pipeline import predict_file

    result = predict_file(args.model, args.data, args.out, overwrite=args.overwrite)
    print(f"wrote {len(result)} predictions to {args.out}")
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


def run_reporting_errors(prog: str, body: Callable[[], int | None],
                         resumes: str = "training from its last finished epoch") -> int:
    """Runs `body()`; an expected failure becomes one line `<prog>: error: ...` and status 1.

    Expected failures are kerasopt's own errors, `ValueError` (bad arguments) and `OSError`
    (files). Keras is imported first with TensorFlow's start-up chatter silenced.

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
    except (ValueError, OSError) as e:  # KerasoptError is a ValueError
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
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


COMMANDS = {"train": _train, "predict": _predict}
# --- tune subcommand (owned by tuning) ---


def _tune(args) -> int:
    from kerasopt.tuning.search import tune

    result = tune(args.data, args.target, tuner=args.tuner, max_trials=args.max_trials,
                  executions_per_trial=args.executions_per_trial, objective=args.objective,
                  cv=None if args.cv == 0 else args.cv,
                  space=args.space, seed=args.seed, out=args.out, epochs=args.epochs, patience=args.patience,
                  validation_split=args.validation_split, test_split=args.test_split, overwrite=args.overwrite,
                  workers=args.workers, role=args.role, oracle=args.oracle, worker_id=args.worker_id,
                  timeout=args.timeout, baselines=args.baselines, ensemble=args.ensemble,
                  verbose=0 if args.quiet else 1)
    if args.role == "worker":
        print(f"worker {args.worker_id}: search over; the chief writes the results to {args.out}")
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

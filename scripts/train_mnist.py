"""Train the course's dense MNIST classifier (784-500-10, Adam, batch 100) and report test accuracy.

Writes `metrics.json` (test accuracy, settings, per-epoch curves) and
`mnist_curves.png` to `--out`. Nothing is downloaded: pass `--data PATH/mnist.npz`
(Keras format) or put the file in the Keras cache (~/.keras/datasets/mnist.npz);
`--digits` uses scikit-learn's bundled 8x8 digits instead.

Usage:
    python scripts/train_mnist.py --data ../shared/data/mnist/mnist.npz --out runs/mnist
    python scripts/train_mnist.py --data ../shared/data/mnist/mnist.npz --preset strong --out runs/mnist_strong
    python scripts/train_mnist.py --data ../shared/data/mnist/mnist.npz --preset augmented --out runs/mnist_augmented
    python scripts/train_mnist.py --digits --epochs 3 --augment rotation,shift --out runs/digits

`--augment` takes comma-separated names (rotation: up to 10 degrees, shift: up to
10% of the side, zoom: up to 10%, flip: horizontal, not for digits), a JSON dict such
as '{"rotation": 15, "shift": 0.05}', or 'none'; the transforms act in training only.
"""

import argparse
import json
import sys

from kerasopt import spec
from kerasopt._io import check_out_dir
from kerasopt.errors import KerasoptError
from kerasopt.cli import ArgumentParser, _json_arg, experiment_parser, run_reporting_errors


def _schedule(text: str):
    """--schedule: a JSON dict (text starting with `{`; invalid JSON is a usage error), else the name."""
    text = text.strip()
    return _json_arg(text) if text.startswith("{") else text


def build_parser() -> ArgumentParser:
    p = experiment_parser("train_mnist.py", __doc__, out_required=True)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", help="Keras-format mnist.npz (default: the Keras cache)")
    src.add_argument("--digits", action="store_true", help="use scikit-learn's 8x8 digits instead of MNIST")
    p.add_argument("--preset", choices=["course", "strong", "augmented"], default="course",
                   help="course: 5 epochs, no regularization; strong: dropout 0.2 (input) and 0.5, "
                        "Adam 2e-3, 30 epochs, cosine schedule; augmented: 784-1024-1024-10, dropout 0.3, "
                        "random rotation/shift/zoom, Adam 1e-3, batch 128, 80 epochs, cosine schedule "
                        "(default: course)")
    p.add_argument("--augment", help="data augmentation in training: names (rotation,shift,zoom,flip), "
                                     "a JSON dict such as '{\"rotation\": 15}', or 'none'" + " (default: the preset's)")
    # The options shared with `kerasopt train` keep its names (kerasopt.spec); their defaults are the preset's.
    preset = " (default: the preset's)"
    p.add_argument("--epochs", type=int, help="number of epochs (no early stopping)" + preset)
    p.add_argument("--batch-size", type=int, help="rows per gradient step" + preset)
    p.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate",
                   help=spec.FIELD["learning_rate"].help + preset)
    p.add_argument("--hidden-units", "--hidden", type=int, nargs="+", dest="hidden_units", metavar="N",
                   help="units per hidden layer, e.g. 500" + preset)
    p.add_argument("--dropout", type=float, help="dropout rate after each hidden layer" + preset)
    p.add_argument("--input-dropout", type=float, help="dropout rate on the input pixels" + preset)
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None,
                   help=spec.FIELD["batch_norm"].help + preset)
    p.add_argument("--l2", type=float, help=spec.FIELD["l2"].help + preset)
    p.add_argument("--schedule", type=_schedule,
                   help="learning-rate schedule name (cosine, step, ...) or JSON dict; 'none' for constant; "
                        "cosine decays over --epochs" + preset)
    p.add_argument("--train-limit", type=int, help="use only this many training rows (default: all)")
    p.add_argument("--test-limit", type=int, help="use only this many test rows (default: all)")
    p.add_argument("--save-model", action="store_true", help="also write model.keras (default: off)")
    p.add_argument("--verbose", type=int, default=0, help="Keras fit verbosity (default: 0)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def run():
        from kerasopt.experiments import mnist

        from kerasopt import augmentation

        settings = dict(mnist.PRESETS[args.preset])
        for key in ("epochs", "batch_size", "learning_rate", "hidden_units", "dropout", "input_dropout",
                    "batch_norm", "l2"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        if args.schedule is not None:
            none = isinstance(args.schedule, str) and args.schedule.lower() == "none"
            settings["schedule"] = None if none else args.schedule
        if args.augment is not None:
            text = args.augment.strip()
            try:
                settings["augment"] = json.loads(text) if text.startswith("{") else text
            except json.JSONDecodeError as e:
                raise KerasoptError(f"--augment: not valid JSON ({e}). Received: --augment {text}") from None
        augmentation.get(settings.get("augment"))  # a bad value fails before the data loads
        data = mnist.load_digits(seed=args.seed) if args.digits else mnist.load_mnist(args.data)
        data = mnist.subsample(data, args.train_limit, args.test_limit, seed=args.seed)
        names = ["metrics.json", "mnist_curves.png"] + (["model.keras"] if args.save_model else [])
        check_out_dir(args.out, names, args.overwrite)
        result = mnist.run_mnist(data, seed=args.seed, verbose=args.verbose, **settings)
        paths = mnist.save_mnist_run(result, args.out, overwrite=args.overwrite, save_model=args.save_model)
        print(f"data:           {data.name} ({len(data.x_train)} train / {len(data.x_test)} test rows)")
        print(f"settings:       {json.dumps(result.config)}")
        print(f"train accuracy: {result.train_accuracy:.4f}")
        print(f"test accuracy:  {result.test_accuracy:.4f}")
        print(f"seconds:        {result.seconds:.1f}")
        for path in paths:
            print(f"wrote {path}")

    return run_reporting_errors("train_mnist.py", run)


if __name__ == "__main__":
    sys.exit(main())

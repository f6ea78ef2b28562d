"""Train the course's dense MNIST classifier (784-500-10, Adam, batch 100) and report test accuracy.

Writes `metrics.json` (test accuracy, settings, per-epoch curves) and
`mnist_curves.png` to `--out`. Nothing is downloaded: pass `--data PATH/mnist.npz`
(Keras format) or put the file in the Keras cache (~/.keras/datasets/mnist.npz);
`--digits` uses scikit-learn's bundled 8x8 digits instead.

Usage:
    python scripts/train_mnist.py --data ../shared/data/mnist/mnist.npz --out runs/mnist
    python scripts/train_mnist.py --data ../shared/data/mnist/mnist.npz --preset strong --out runs/mnist_strong
    python scripts/train_mnist.py --digits --epochs 3 --out runs/digits
"""

import argparse
import json
import sys

from kerasopt.errors import KerasoptError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="train_mnist.py", description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", help="Keras-format mnist.npz (default: the Keras cache)")
    src.add_argument("--digits", action="store_true", help="use scikit-learn's 8x8 digits instead of MNIST")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run's files in --out")
    p.add_argument("--preset", choices=["course", "strong"], default="course",
                   help="course: 5 epochs, no regularization; strong: dropout 0.3, 20 epochs, cosine schedule")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, dest="learning_rate")
    p.add_argument("--hidden", type=int, nargs="+", dest="hidden_units", help="hidden layer sizes, e.g. 500")
    p.add_argument("--dropout", type=float)
    p.add_argument("--batch-norm", action="store_true", default=None)
    p.add_argument("--l2", type=float)
    p.add_argument("--schedule", help="learning-rate schedule name (cosine, step, ...) or JSON dict; 'none' for constant")
    p.add_argument("--train-limit", type=int, help="use only this many training rows")
    p.add_argument("--test-limit", type=int, help="use only this many test rows")
    p.add_argument("--save-model", action="store_true", help="also write model.keras")
    p.add_argument("--verbose", type=int, default=0)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from kerasopt.experiments import mnist

    try:
        settings = dict(mnist.STRONG if args.preset == "strong" else mnist.COURSE)
        for key in ("epochs", "batch_size", "learning_rate", "hidden_units", "dropout", "batch_norm", "l2"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        if args.schedule is not None:
            text = args.schedule.strip()
            settings["schedule"] = None if text.lower() == "none" else (json.loads(text) if text.startswith("{") else text)
        data = mnist.load_digits(seed=args.seed) if args.digits else mnist.load_mnist(args.data)
        data = mnist.subsample(data, args.train_limit, args.test_limit, seed=args.seed)
        mnist._check_outputs(args.out, ["metrics.json"], args.overwrite)
        result = mnist.run_mnist(data, seed=args.seed, verbose=args.verbose, **settings)
        paths = mnist.save_mnist_run(result, args.out, overwrite=args.overwrite, save_model=args.save_model)
    except (KerasoptError, ValueError) as e:
        print(f"train_mnist.py: error: {e}", file=sys.stderr)
        return 1
    print(f"data:           {data.name} ({len(data.x_train)} train / {len(data.x_test)} test rows)")
    print(f"settings:       {json.dumps(result.config)}")
    print(f"train accuracy: {result.train_accuracy:.4f}")
    print(f"test accuracy:  {result.test_accuracy:.4f}")
    print(f"seconds:        {result.seconds:.1f}")
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

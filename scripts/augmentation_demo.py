"""Data augmentation on MNIST: a grid of augmented digits, and train/test curves with and without it.

Trains the augmented preset's network (784-1024-1024-10, dropout 0.3, Adam 1e-3
with a cosine decay, batch 128) on the same training rows twice, without and with
random rotations, shifts and zooms, and writes to --out:
`augmentation_grid.png` (the first test digits beside random variants),
`augmentation_curves.png` (accuracy on the clean training rows and on the test
rows after each epoch, and their gap) and `augmentation.json` (the numbers).
A subset of the training rows (--train-limit, default 10000) makes the gap
visible in a short run.

Usage:
    python scripts/augmentation_demo.py --data ../shared/data/mnist/mnist.npz --out notebooks/figures
    python scripts/augmentation_demo.py --digits --epochs 5 --out runs/augmentation
"""

import json
import sys

from kerasopt.cli import ArgumentParser, experiment_parser, run_reporting_errors


def build_parser() -> ArgumentParser:
    p = experiment_parser("augmentation_demo.py", __doc__, out_required=True)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", help="Keras-format mnist.npz (default: the Keras cache)")
    src.add_argument("--digits", action="store_true", help="use scikit-learn's 8x8 digits instead of MNIST")
    p.add_argument("--augment", default="rotation,shift,zoom",
                   help="names (rotation,shift,zoom,flip) or a JSON dict such as '{\"rotation\": 15}'")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024], dest="hidden_units")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, dest="learning_rate")
    p.add_argument("--train-limit", type=int, default=10000, help="training rows used (default 10000)")
    p.add_argument("--test-limit", type=int, help="test rows used (default all)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def run():
        from kerasopt import augmentation
        from kerasopt.experiments import augmentation as demo
        from kerasopt.experiments import mnist

        text = args.augment.strip()
        augment = json.loads(text) if text.startswith("{") else text
        augmentation.get(augment)  # a bad value fails before the data loads
        data = mnist.load_digits(seed=args.seed) if args.digits else mnist.load_mnist(args.data)
        data = mnist.subsample(data, args.train_limit, args.test_limit, seed=args.seed)
        result = demo.run_experiment(
            data, args.out, augment=augment, overwrite=args.overwrite, seed=args.seed, epochs=args.epochs,
            hidden_units=tuple(args.hidden_units), dropout=args.dropout, batch_size=args.batch_size,
            learning_rate=args.learning_rate, schedule="cosine")
        print(f"data: {data.name} ({len(data.x_train)} train / {len(data.x_test)} test rows)")
        print(f"{'run':<10} {'train acc':>9} {'test acc':>9} {'gap':>7} {'s/epoch':>8}")
        for label, numbers in result["summary"]["runs"].items():
            print(f"{label:<10} {numbers['train_accuracy']:>9.4f} {numbers['test_accuracy']:>9.4f} "
                  f"{numbers['gap']:>7.4f} {numbers['seconds_per_epoch']:>8.2f}")
        for name in demo.OUTPUT_FILES:
            print(f"wrote {args.out}/{name}")

    return run_reporting_errors("augmentation_demo.py", run)


if __name__ == "__main__":
    sys.exit(main())

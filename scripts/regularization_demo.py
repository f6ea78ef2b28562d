"""Dropout, batch normalization and L2 on an over-parameterised network: the train/validation gap.

Trains a 20-512-512-4 network on the phone data with each regularizer in turn
(same split and seed, no early stopping), prints final train/validation
accuracy and cross-entropy and their gap, and saves a CSV table and PNG
figures to --out. Without --data it uses generated phone-like rows.

Usage:
    python scripts/regularization_demo.py --out runs/regularization [--data ../shared/data/phone/train.csv]
"""

import sys

from kerasopt.cli import ArgumentParser, experiment_parser, run_reporting_errors


def build_parser() -> ArgumentParser:
    p = experiment_parser("regularization_demo.py", __doc__, out_required=True)
    p.add_argument("--data", help="labelled phone CSV (default: generated phone-like rows)")
    p.add_argument("--samples", type=int, default=2000, help="rows to generate without --data")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512], help="hidden layer sizes")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--validation-size", type=float, default=0.5, help="fraction of rows for validation")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--variants", nargs="+", help="subset of: none dropout batch_norm l2 dropout+batch_norm")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def run():
        from kerasopt.experiments import regularization

        result = regularization.run_experiment(
            args.out, data_path=args.data, n_samples=args.samples, overwrite=args.overwrite,
            hidden_units=tuple(args.hidden), epochs=args.epochs, batch_size=args.batch_size,
            validation_size=args.validation_size, learning_rate=args.lr, seed=args.seed,
            variants=args.variants)
        print(f"data: {result['data']}")
        print("Final metrics (loss = cross-entropy without penalty; gaps: train - val accuracy, val - train loss):")
        print(result["table"].to_string(float_format=lambda v: f"{v:.4f}"))
        print(f"\nwrote {len(regularization.OUTPUT_FILES)} files to {args.out}")

    return run_reporting_errors("regularization_demo.py", run)


if __name__ == "__main__":
    sys.exit(main())

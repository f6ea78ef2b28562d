"""Gaussian-noise augmentation of table rows, measured by cross-validation on the phone data.

Trains kerasopt's core default network (20-128-4 ELU, L1 0.01, Adam 0.01 with a
0.98 decay per epoch, batch 32, fixed epochs) with Gaussian noise of each
--stddevs on the standardized features (training only), 5-fold stratified
cross-validation for each --seeds, and writes `tabular_noise.csv` (one row per
seed, fold and noise level) and `tabular_noise.png` to --out.

Usage:
    python scripts/tabular_noise.py --data ../shared/data/phone/train.csv --out runs/tabular_noise
"""

import os
import sys

from kerasopt.cli import ArgumentParser, experiment_parser, run_reporting_errors

FILES = ("tabular_noise.csv", "tabular_noise.png")


def build_parser() -> ArgumentParser:
    p = experiment_parser("tabular_noise.py", __doc__, out_required=True)
    p.add_argument("--data", help="labelled phone CSV (default: generated phone-like rows)")
    p.add_argument("--stddevs", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=60)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def run():
        from kerasopt.experiments import check_outputs, regularization, tabular_noise, write_outputs

        check_outputs(args.out, FILES, args.overwrite)
        x, y = regularization.load_phone(args.data)
        table = tabular_noise.cross_validate_noise(x, y, args.stddevs, args.seeds, args.folds, args.epochs)
        summary = table.groupby("stddev").agg(test_accuracy=("test_accuracy", "mean"),
                                              test_std=("test_accuracy", "std"),
                                              train_accuracy=("train_accuracy", "mean"))
        print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
        source = os.path.basename(args.data) if args.data else "generated phone-like rows"
        figure = tabular_noise.plot_noise(table, title=f"{args.folds}-fold CV on {source}, {args.epochs} epochs")
        write_outputs(args.out, {FILES[0]: table.to_csv(index=False), FILES[1]: figure})
        for name in FILES:
            print(f"wrote {os.path.join(args.out, name)}")

    return run_reporting_errors("tabular_noise.py", run)


if __name__ == "__main__":
    sys.exit(main())

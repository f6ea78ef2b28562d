"""Weight decay on the book's high-dimensional linear regression (Dive into Deep Learning).

Sweeps lambda, prints train/test loss (squared loss / 2, without the penalty)
and ||w|| per lambda, compares L1 with L2 at equal strength (near-zero weights),
and saves CSV tables and PNG figures to --out.

Usage:
    python scripts/weight_decay.py --out runs/weight_decay [--seed 0] [--lambdas 0 1 2 3 5 10]
"""

import sys

from kerasopt.cli import ArgumentParser, experiment_parser, run_reporting_errors


def build_parser() -> ArgumentParser:
    p = experiment_parser("weight_decay.py", __doc__, out_required=True)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lambdas", type=float, nargs="+", default=[float(v) for v in range(11)])
    p.add_argument("--curve-lambdas", type=float, nargs="+", default=[0.0, 3.0],
                   help="lambdas whose per-epoch curves are drawn")
    p.add_argument("--compare-lambda", type=float, default=3.0, help="lambda of the L1-versus-L2 comparison")
    p.add_argument("--threshold", type=float, default=1e-3, help="|w| below this counts as near zero")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    def run():
        from kerasopt.experiments import weight_decay

        result = weight_decay.run_experiment(
            args.out, lambdas=args.lambdas, curve_lambdas=args.curve_lambdas,
            compare_lambda=args.compare_lambda, epochs=args.epochs, threshold=args.threshold,
            seed=args.seed, overwrite=args.overwrite)
        print("Lambda sweep (loss = squared loss / 2 without the penalty; Keras L2 strength = lambda / 2):")
        print(result["sweep"].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"\nL1 versus L2 at lambda = {args.compare_lambda:g} (near zero: |w| < {args.threshold:g}):")
        print(result["l1_l2"].to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"\nwrote {len(weight_decay.OUTPUT_FILES)} files to {args.out}")

    return run_reporting_errors("weight_decay.py", run)


if __name__ == "__main__":
    sys.exit(main())

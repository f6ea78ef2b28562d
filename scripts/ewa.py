"""Exponentially weighted averages of 30 seeded daily temperatures (beta 0.5 and 0.9).

Prints the averages with and without bias correction on some days and, with
--out DIR, saves DIR/ewa.png.

Usage:
    python scripts/ewa.py [--out notebooks/figures] [--seed 0] [--days 30] [--betas 0.5 0.9] [--overwrite]
"""

import sys

from kerasopt.cli import experiment_parser, run_reporting_errors
from kerasopt.experiments import check_outputs, ewa, write_outputs

FIGURES = ("ewa.png",)


def main(argv=None) -> int:
    parser = experiment_parser("ewa.py", __doc__, seed_help="seed of the temperatures (default 0)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.5, 0.9])
    args = parser.parse_args(argv)

    def run():
        if args.out:
            check_outputs(args.out, FIGURES, args.overwrite)
        result = ewa.ewa_experiment(days=args.days, betas=args.betas, seed=args.seed)
        print(ewa.format_table(result))
        if args.out:
            for path in write_outputs(args.out, {"ewa.png": ewa.plot_ewa(result)}):
                print(f"wrote {path}")

    return run_reporting_errors(parser.prog, run)


if __name__ == "__main__":
    sys.exit(main())

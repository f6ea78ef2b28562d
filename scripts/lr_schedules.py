"""The course's learning-rate schedules over 200 epochs, from kerasopt.schedules.

Prints each schedule's learning rate at some epochs and, with --out DIR,
saves DIR/lr_schedules.png.

Usage:
    python scripts/lr_schedules.py [--out notebooks/figures] [--epochs 200] [--learning-rate 0.1] [--overwrite]
"""

import sys

from kerasopt.cli import experiment_parser, run_reporting_errors
from kerasopt.experiments import check_outputs, lr_schedules, write_outputs

FIGURES = ("lr_schedules.png",)


def main(argv=None) -> int:
    parser = experiment_parser("lr_schedules.py", __doc__,
                               seed_help="accepted like every script's; the schedules have no randomness")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args(argv)

    def run():
        if args.out:
            check_outputs(args.out, FIGURES, args.overwrite)
        values = lr_schedules.schedule_values(args.epochs, args.learning_rate)
        print(lr_schedules.format_table(values))
        if args.out:
            figure = lr_schedules.plot_schedules(args.epochs, args.learning_rate)
            for path in write_outputs(args.out, {"lr_schedules.png": figure}):
                print(f"wrote {path}")

    return run_reporting_errors(parser.prog, run)


if __name__ == "__main__":
    sys.exit(main())

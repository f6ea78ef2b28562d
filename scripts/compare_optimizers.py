"""Optimizer race on y = x^3 + 0.1 noise, and two steps of each optimizer on w^2/2.

Trains a 1-20-1 ReLU network with SGD, Momentum, Nesterov, AdaGrad, RMSprop,
Adam and AdamW from the same initial weights, prints the final losses and
the first steps on f(w) = w^2/2 from w = 1, and, with --out DIR, saves
DIR/optimizers_race.png.

Usage:
    python scripts/compare_optimizers.py [--out notebooks/figures] [--seed 0] [--epochs 10]
        [--samples 1500] [--learning-rate 0.01] [--optimizers sgd adam ...] [--overwrite]
"""

import sys

from kerasopt.cli import experiment_parser, run_reporting_errors
from kerasopt.experiments import check_outputs, optimizer_race, write_outputs

FIGURES = ("optimizers_race.png",)


def main(argv=None) -> int:
    parser = experiment_parser("compare_optimizers.py", __doc__,
                               seed_help="seed of data, weights and batches (default 0)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--optimizers", nargs="+", default=list(optimizer_race.DEFAULT_OPTIMIZERS))
    args = parser.parse_args(argv)

    def run():
        if args.out:
            check_outputs(args.out, FIGURES, args.overwrite)
        steps = optimizer_race.trajectories(args.optimizers, learning_rate=args.learning_rate)
        race = optimizer_race.optimizer_race(args.optimizers, learning_rate=args.learning_rate,
                                             epochs=args.epochs, batch_size=args.batch_size,
                                             n_samples=args.samples, seed=args.seed)
        print(f"Two steps on f(w) = w^2/2 from w = 1 (learning rate {args.learning_rate:g}):")
        print(optimizer_race.format_trajectory_table(steps))
        print(f"\nFinal training loss after {args.epochs} epochs:")
        print(optimizer_race.format_race_table(race))
        if args.out:
            for path in write_outputs(args.out, {"optimizers_race.png": optimizer_race.plot_race(race)}):
                print(f"wrote {path}")

    return run_reporting_errors(parser.prog, run)


if __name__ == "__main__":
    sys.exit(main())

"""Optimizer race on y = x^3 + 0.1 noise, and two steps of each optimizer on w^2/2.

Trains a 1-20-1 ReLU network with SGD, Momentum, Nesterov, AdaGrad, RMSprop,
Adam and AdamW from the same initial weights, prints the final losses and
the first steps on f(w) = w^2/2 from w = 1, and, with --out DIR, saves
DIR/optimizers_race.png.

Usage:
    python scripts/compare_optimizers.py [--out docs/figures] [--seed 0] [--epochs 10]
        [--samples 1500] [--learning-rate 0.01] [--optimizers sgd adam ...] [--overwrite]
"""

import argparse
import os
import sys

from kerasopt.experiments import optimizer_race
from kerasopt.plotting import save_figure

FIGURES = ("optimizers_race.png",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="compare_optimizers.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the figures (none are written without it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, weights and batches (default 0)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--optimizers", nargs="+", default=list(optimizer_race.DEFAULT_OPTIMIZERS))
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    args = parser.parse_args(argv)
    paths = [os.path.join(args.out, name) for name in FIGURES] if args.out else []
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{parser.prog}: error: {', '.join(existing)} exists; pass --overwrite to replace it",
              file=sys.stderr)
        return 1
    try:
        steps = optimizer_race.trajectories(args.optimizers, learning_rate=args.learning_rate)
        race = optimizer_race.optimizer_race(args.optimizers, learning_rate=args.learning_rate,
                                             epochs=args.epochs, batch_size=args.batch_size,
                                             n_samples=args.samples, seed=args.seed)
    except ValueError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    print(f"Two steps on f(w) = w^2/2 from w = 1 (learning rate {args.learning_rate:g}):")
    print(optimizer_race.format_trajectory_table(steps))
    print(f"\nFinal training loss after {args.epochs} epochs:")
    print(optimizer_race.format_race_table(race))
    for path, figure in zip(paths, [optimizer_race.plot_race(race)]):
        save_figure(figure, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The course's learning-rate schedules over 200 epochs, from kerasopt.schedules.

Prints each schedule's learning rate at some epochs and, with --out DIR,
saves DIR/lr_schedules.png.

Usage:
    python scripts/lr_schedules.py [--out docs/figures] [--epochs 200] [--learning-rate 0.1] [--overwrite]
"""

import argparse
import os
import sys

from kerasopt.experiments import lr_schedules
from kerasopt.plotting import save_figure

FIGURES = ("lr_schedules.png",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lr_schedules.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the figures (none are written without it)")
    parser.add_argument("--seed", type=int, default=0,
                        help="accepted like every script's; the schedules have no randomness")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    args = parser.parse_args(argv)
    paths = [os.path.join(args.out, name) for name in FIGURES] if args.out else []
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{parser.prog}: error: {', '.join(existing)} exists; pass --overwrite to replace it",
              file=sys.stderr)
        return 1
    try:
        values = lr_schedules.schedule_values(args.epochs, args.learning_rate)
        figures = [lr_schedules.plot_schedules(args.epochs, args.learning_rate)] if paths else []
    except ValueError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    print(lr_schedules.format_table(values))
    for path, figure in zip(paths, figures):
        save_figure(figure, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

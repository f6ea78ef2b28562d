"""Exponentially weighted averages of 30 seeded daily temperatures (beta 0.5 and 0.9).

Prints the averages with and without bias correction on some days and, with
--out DIR, saves DIR/ewa.png.

Usage:
    python scripts/ewa.py [--out docs/figures] [--seed 0] [--days 30] [--betas 0.5 0.9] [--overwrite]
"""

import argparse
import os
import sys

from kerasopt.experiments import ewa
from kerasopt.plotting import save_figure

FIGURES = ("ewa.png",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ewa.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the figures (none are written without it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the temperatures (default 0)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.5, 0.9])
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    args = parser.parse_args(argv)
    paths = [os.path.join(args.out, name) for name in FIGURES] if args.out else []
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{parser.prog}: error: {', '.join(existing)} exists; pass --overwrite to replace it",
              file=sys.stderr)
        return 1
    try:
        result = ewa.ewa_experiment(days=args.days, betas=args.betas, seed=args.seed)
    except ValueError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    print(ewa.format_table(result))
    for path, figure in zip(paths, [ewa.plot_ewa(result)]):
        save_figure(figure, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One backpropagation step of Matt Mazur's 2-2-2 sigmoid network, by Keras autodiff.

Prints the total error, every gradient and every updated weight to 9
decimals (published: E_total 0.298371109, w5 -> 0.35891648,
w1 -> 0.149780716) and, with --out DIR, saves DIR/backprop_gradients.png.

Usage:
    python scripts/backprop_example.py [--out docs/figures] [--learning-rate 0.5] [--overwrite]
"""

import argparse
import os
import sys

from kerasopt.experiments import backprop
from kerasopt.plotting import save_figure

FIGURES = ("backprop_gradients.png",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="backprop_example.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the figures (none are written without it)")
    parser.add_argument("--seed", type=int, default=0,
                        help="accepted like every script's; the worked example has no randomness")
    parser.add_argument("--learning-rate", type=float, default=backprop.MAZUR["learning_rate"])
    parser.add_argument("--update-biases", action="store_true",
                        help="also update the biases (the article keeps them fixed)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    args = parser.parse_args(argv)
    paths = [os.path.join(args.out, name) for name in FIGURES] if args.out else []
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not args.overwrite:
        print(f"{parser.prog}: error: {', '.join(existing)} exists; pass --overwrite to replace it",
              file=sys.stderr)
        return 1
    try:
        result = backprop.backprop_step(learning_rate=args.learning_rate, update_biases=args.update_biases)
    except ValueError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    print(backprop.format_table(result))
    for path, figure in zip(paths, [backprop.plot_step(result)]):
        save_figure(figure, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

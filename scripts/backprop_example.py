"""One backpropagation step of Matt Mazur's 2-2-2 sigmoid network, by Keras autodiff.

Prints the total error, every gradient and every updated weight to 9
decimals (published: E_total 0.298371109, w5 -> 0.35891648,
w1 -> 0.149780716) and, with --out DIR, saves DIR/backprop_gradients.png.

Usage:
    python scripts/backprop_example.py [--out notebooks/figures] [--learning-rate 0.5] [--overwrite]
"""

import sys

from kerasopt.cli import experiment_parser, run_reporting_errors
from kerasopt.experiments import backprop, check_outputs, write_outputs

FIGURES = ("backprop_gradients.png",)


def main(argv=None) -> int:
    parser = experiment_parser("backprop_example.py", __doc__,
                               seed_help="accepted like every script's; the worked example has no randomness")
    parser.add_argument("--learning-rate", type=float, default=backprop.MAZUR["learning_rate"])
    parser.add_argument("--update-biases", action="store_true",
                        help="also update the biases (the article keeps them fixed)")
    args = parser.parse_args(argv)

    def run():
        if args.out:
            check_outputs(args.out, FIGURES, args.overwrite)
        result = backprop.backprop_step(learning_rate=args.learning_rate, update_biases=args.update_biases)
        print(backprop.format_table(result))
        if args.out:
            for path in write_outputs(args.out, {"backprop_gradients.png": backprop.plot_step(result)}):
                print(f"wrote {path}")

    return run_reporting_errors(parser.prog, run)


if __name__ == "__main__":
    sys.exit(main())

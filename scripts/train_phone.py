"""Train the phone price-range classifier: `kerasopt train --target price_range` with the course's preset.

Usage:
    python scripts/train_phone.py [--data ../shared/data/phone/train.csv] [--out runs/phone]

The course's preset (`kerasopt.spec.COURSE_PRESET`: `--l1 0.01 --numeric-bins 0 --numeric-scaling
standard`) comes before the given flags, so a flag given here wins. Without --data (or --config) it
trains on the embedded phone-like demo data (`--demo`).
"""

import sys

from kerasopt import spec
from kerasopt.cli import demo_unless_data, main

if __name__ == "__main__":
    preset = spec.to_argv(spec.COURSE_PRESET, spec.COURSE_PRESET, spec.FIELD)
    sys.exit(main(["train", "--target", "price_range", *preset, *demo_unless_data(sys.argv[1:])]))  # later flags win

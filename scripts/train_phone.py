"""Train the phone price-range classifier: `kerasopt train --target price_range`.

Usage:
    python scripts/train_phone.py [--data ../shared/data/phone/train.csv] [--out runs/phone]
"""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", "--target", "price_range", *sys.argv[1:]]))  # a later --target wins

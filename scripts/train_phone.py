"""Train the phone price-range classifier: `kerasopt train --target price_range`.

Usage:
    python scripts/train_phone.py [--data ../shared/data/phone/train.csv] [--out runs/phone]

Without --data (or --config) it trains on the embedded phone-like demo data (`--demo`).
"""

import sys

from kerasopt.cli import demo_unless_data, main

if __name__ == "__main__":
    sys.exit(main(["train", "--target", "price_range", *demo_unless_data(sys.argv[1:])]))  # a later --target wins

"""Train the phone price-range classifier: same as `kerasopt train`.

Usage:
    python scripts/train_phone.py [--data ../shared/data/phone/train.csv] [--out runs/phone]
"""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

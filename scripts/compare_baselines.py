"""Tune kerasopt and scikit-learn baselines on the same rows and print the comparison table.

`python scripts/compare_baselines.py --data ../shared/data/phone/train.csv --test-split 0.2 --out runs/compare`
(same flags as `kerasopt tune`; a finished search in --out is reused, not repeated).
"""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", "--baselines", "--target", "price_range", *sys.argv[1:]]))  # a later --target wins

"""Tune kerasopt and scikit-learn baselines on the same rows and print the comparison table.

`python scripts/compare_baselines.py --data ../shared/data/phone/train.csv --test-split 0.2 --out runs/compare`
(same flags as `kerasopt tune`; a finished search in --out is reused, not repeated; without --data it
searches the embedded phone-like demo data).
"""

import sys

from kerasopt.cli import demo_unless_data, main

if __name__ == "__main__":
    sys.exit(main(["tune", "--baselines", "--target", "price_range", *demo_unless_data(sys.argv[1:])]))  # a later --target wins

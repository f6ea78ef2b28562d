"""Search hyperparameters on the phone data: `python scripts/tune_phone.py --data train.csv --out runs/tune`.

Same flags as `kerasopt tune` (see `--help`); running it again resumes the search. Without --data it
searches the embedded phone-like demo data (`--demo`).
"""

import sys

from kerasopt.cli import demo_unless_data, main

if __name__ == "__main__":
    sys.exit(main(["tune", "--target", "price_range", *demo_unless_data(sys.argv[1:])]))  # a later --target wins

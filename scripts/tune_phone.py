"""Search hyperparameters on the phone data: `python scripts/tune_phone.py --data train.csv --out runs/tune`.

Same flags as `kerasopt tune` (see `--help`); running it again resumes the search.
"""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["tune", "--target", "price_range", *sys.argv[1:]]))  # a later --target wins

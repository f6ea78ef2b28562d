"""Search hyperparameters on the phone data: `python scripts/tune_phone.py --data train.csv --out runs/tune`.

Same flags as `kerasopt tune` (see `--help`), after the part of the course's preset that is a search
option (`--numeric-bins 0 --numeric-scaling standard`, `kerasopt.spec.COURSE_PRESET`): a flag given here
wins. Running it again resumes the search. Without --data it searches the embedded phone-like demo data (`--demo`).
"""

import sys

from kerasopt import spec
from kerasopt.cli import demo_unless_data, main

if __name__ == "__main__":
    preset = {k: v for k, v in spec.COURSE_PRESET.items() if k in spec.TUNE_FIELD}
    argv = spec.to_argv(preset, preset, spec.TUNE_FIELD)
    sys.exit(main(["tune", "--target", "price_range", *argv, *demo_unless_data(sys.argv[1:])]))  # later flags win

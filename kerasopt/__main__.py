"""`python -m kerasopt ...`: the `kerasopt` command line (see `kerasopt.cli`)."""

import sys

from kerasopt.cli import main

if __name__ == "__main__":
    sys.exit(main())

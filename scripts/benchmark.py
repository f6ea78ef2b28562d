"""Time kerasopt's training path beside plain Keras `fit` and the course's PyTorch loop.

Usage:
    python scripts/benchmark.py --out scripts/benchmarks.md --overwrite   # full run (about 15 min on 2 cores)
    python scripts/benchmark.py --quick                                # smoke run: tiny, measures nothing
    python scripts/benchmark.py --workloads phone mnist --backend jax --repeats 5

The work is in `kerasopt.benchmark`; `--help` lists the options.
"""

import sys

from kerasopt.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How the time of a default `kerasopt train` grows with the rows, beside LightGBM on the same rows.

Samples N rows (seed 0) of a table of the benchmark list (default: Fertility, the largest,
254,654 rows), writes them to a CSV and runs `python -m kerasopt train --data CSV --target T`
with no other flag, as its own process: the wall time is what a user waits for (import, reading,
training, scoring, saving), the peak is the resident memory of that process. LightGBM's
scikit-learn classifier / regressor (`benchmark_tables.lightgbm`: defaults, text columns as categories) fits the same
training rows (the run's train and validation rows) and scores the same 20 % test rows. The table
gives both, and the ratios: time against LightGBM's fit, and time per 1,000 rows against the
smallest size (a ratio that stays near 1 means the time grows no faster than the rows).

Usage:
    python scripts/benchmark_size.py                                  # 10,000, 50,000 and all rows
    python scripts/benchmark_size.py --rows 2000,5000 --table Wage    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import benchmark_tables  # noqa: E402  (this folder: the 30-table benchmark's models and scores)
from benchmarks import tables as bt  # noqa: E402

# The child's own peak resident memory, read from inside it after `kerasopt train` returns.
_CHILD = ("import resource, sys\n"
          "from kerasopt.cli import main\n"
          "code = main(sys.argv[1:])\n"
          "print('PEAK_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
          "sys.exit(code)\n")


def run_kerasopt(csv: str, target: str, out: str) -> dict:
    """One default `kerasopt train` in its own process: wall seconds, peak MB, test score."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, "train", "--data", csv, "--target", target, "--out", out,
                           "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark_size: kerasopt train failed:\n{proc.stderr[-2000:]}")
    peak = float(next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("PEAK_MB")))
    with open(os.path.join(out, "metrics.json")) as f:
        test = json.load(f)["test"]
    return {"seconds": seconds, "peak_mb": peak, "score": test.get("accuracy", test.get("r2"))}


def run_lightgbm(frame, target: str, task: str) -> dict:
    """LightGBM (`benchmark_tables.lightgbm`) on the rows `kerasopt train` trained on (seed 0 split), scored on
    its test rows."""
    import numpy as np

    from kerasopt import data

    train, val, test = data.split_rows(frame[target].to_numpy(), 0.2, 0.2, 0, stratify=task == bt.CLASSIFICATION)
    x, y = frame.drop(columns=[target]), frame[target]
    fit_rows = np.concatenate([train, val])
    model = benchmark_tables.lightgbm(x, task, 0, {})
    start = time.perf_counter()
    model.fit(x.iloc[fit_rows], y.iloc[fit_rows])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "score": benchmark_tables.score(task, y.iloc[test], model.predict(x.iloc[test]))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default="Fertility", help="a table of benchmarks/tables.csv (default: %(default)s)")
    p.add_argument("--rows", default="10000,50000,all", help="comma-separated sizes; 'all': every row")
    args = p.parse_args(argv)
    frame, target, task = bt.load(args.table)
    sizes = [len(frame) if s == "all" else min(int(s), len(frame)) for s in args.rows.split(",")]
    print(f"{args.table}: {len(frame)} rows, target {target} ({task}); kerasopt train with its defaults")
    print("| rows | kerasopt train | peak memory | test score | LightGBM fit | its test score | time / LightGBM "
          "| s per 1,000 rows / smallest |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            sample = frame if n == len(frame) else frame.sample(n, random_state=0)
            sample = sample.reset_index(drop=True)
            csv = os.path.join(tmp, f"{n}.csv")
            sample.to_csv(csv, index=False)
            ours = run_kerasopt(csv, target, os.path.join(tmp, f"run{n}"))
            peer = run_lightgbm(sample, target, task)
            per_row = ours["seconds"] / n
            first = first or per_row
            print(f"| {n:,} | {ours['seconds']:.1f} s | {ours['peak_mb']:.0f} MB | {ours['score']:.4f} | "
                  f"{peer['seconds']:.2f} s | {peer['score']:.4f} | {ours['seconds'] / peer['seconds']:.0f} | "
                  f"{per_row / first:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

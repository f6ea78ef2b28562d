"""Wall time of `kerasopt train` on the phone rows: bagging beside one network + refit, side by side.

Each variant runs as its own `python -m kerasopt train` process (import, data, training, saving:
what a user waits for), one after the other, `--repeats` times; the table shows the median wall
time, the training seconds the run reports, the held-out test accuracy (the 320 rows of the
default split) and the out-of-fold accuracy of bagging, and each variant's time against the first.

Usage:
    python scripts/benchmark_train.py --data ../shared/data/phone/train.csv
    python scripts/benchmark_train.py --data ... --variants "default;--bagging 0;--bagging 10" --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np


def run_variant(data: str, target: str, flags: list[str], out: str) -> dict:
    """Runs one `kerasopt train` and returns its wall seconds and reported figures."""
    command = [sys.executable, "-m", "kerasopt", "train", "--data", data, "--target", target, "--out", out,
               "--overwrite", "--quiet", *flags]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark_train: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    return {"wall": wall, "seconds": metrics["seconds"], "test": metrics["test_scores"].get("accuracy"),
            "oof": metrics.get("validation", {}).get("accuracy") if "out-of-fold" in metrics["note"] else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmark_train", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.path.join("..", "shared", "data", "phone", "train.csv"))
    p.add_argument("--target", default="price_range")
    p.add_argument("--variants", default="default;--bagging 0",
                   help="semicolon-separated flag sets; 'default' is no flags")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(";") if v.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(variants):
            flags = [] if variant == "default" else shlex.split(variant)
            runs = [run_variant(args.data, args.target, flags, os.path.join(tmp, f"run{i}"))
                    for _ in range(args.repeats)]
            rows.append((variant, runs))
    base = float(np.median([r["wall"] for r in rows[0][1]]))
    print(f"kerasopt train on {args.data}, {args.repeats} runs each, median wall time; load average at the end "
          f"{os.getloadavg()[0]:.2f}")
    print("| flags | wall s | training s | test accuracy (320 rows) | out-of-fold accuracy | wall vs first |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant, runs in rows:
        wall = float(np.median([r["wall"] for r in runs]))
        seconds = float(np.median([r["seconds"] for r in runs]))
        test = runs[-1]["test"]
        oof = runs[-1]["oof"]
        print(f"| `{variant}` | {wall:.1f} | {seconds:.1f} | {test:.4f} | "
              f"{'' if oof is None else f'{oof:.4f}'} | {wall / base:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The same `kerasopt tune` search stacked (the default) and `--sequential`: time, trials and scores.

Usage:
    python scripts/benchmark_search.py                          # phone data, 3 Bayesian trials, cv 3, ensemble 5
    python scripts/benchmark_search.py --max-trials 30          # the default search of scripts/tune_phone.py
    python scripts/benchmark_search.py --tuner random --max-trials 5 --out bench.json
    python scripts/benchmark_search.py --tuner random --max-trials 8 --population 8   # stacked in populations

Each way runs `python -m kerasopt tune --quiet` in its own process (the same
data, tuner, seed, trials, folds and ensemble) into its own folder under a
temporary directory, timed from the outside. The table shows the wall time
(process start, search and retraining), the trials' own seconds (the sum of
trials.csv's `seconds`), the best score and each trial's score with whether
the two searches ran the same configuration. A random search proposes the
same configurations both ways; a Bayesian one proposes from the scores so
far, so it can part ways after its initial random points. Nothing is
written unless --out is given (a JSON of the figures).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "phone" / "train.csv"
MODES = ("stacked", "sequential")
# --population P: the stacked search with populations of P trials; the other searches run trial by trial.


def _run(mode: str, args, folder: pathlib.Path) -> dict:
    import pandas as pd

    out = folder / mode
    command = [sys.executable, "-m", "kerasopt", "tune", "--data", str(args.data), "--target", args.target,
               "--tuner", args.tuner, "--max-trials", str(args.max_trials), "--cv", str(args.cv),
               "--seed", str(args.seed), "--ensemble", str(args.ensemble), "--out", str(out), "--quiet",
               *(["--epochs", str(args.epochs)] if args.epochs else []),
               *(["--sequential"] if mode == "sequential" else []),
               "--population", str(args.population if mode == "stacked" else 1)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"benchmark_search: the {mode} search failed:\n{done.stderr[-3000:]}")
    trials = pd.read_csv(out / "trials.csv").sort_values("trial_id", key=lambda s: s.astype(int))
    best = json.loads((out / "best_config.json").read_text())
    return {"mode": mode, "wall_seconds": seconds, "trial_seconds": float(trials.seconds.sum()),
            "best_score": float(best["score"]), "best_trial": str(best["trial_id"]),
            "scores": [float(v) for v in trials.score],
            "configs": [json.loads((out / "history" / f"trial_{t}.json").read_text())["hyperparameters"]
                        for t in trials.trial_id.astype(str)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"CSV (default {DEFAULT_DATA})")
    parser.add_argument("--target", default="price_range")
    parser.add_argument("--tuner", default="bayesian", choices=["random", "grid", "bayesian", "hyperband"])
    parser.add_argument("--max-trials", type=int, default=3)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="maximum epochs per trial (default: the space's)")
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--population", type=int, default=1,
                        help="population of the stacked search (default 1: trial by trial, like the sequential one)")
    parser.add_argument("--out", type=pathlib.Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"--data {args.data} does not exist")

    with tempfile.TemporaryDirectory(prefix="benchmark_search_") as folder:
        results = {mode: _run(mode, args, pathlib.Path(folder)) for mode in MODES}
    stacked, sequential = results["stacked"], results["sequential"]
    print(f"{args.data}: {args.tuner}, {args.max_trials} trial(s), cv {args.cv}, seed {args.seed}, "
          f"ensemble {args.ensemble}, stacked population {args.population}")
    print(f"{'':24}{'stacked':>12}{'sequential':>12}{'ratio':>8}")
    for key, label in (("wall_seconds", "wall time (s)"), ("trial_seconds", "trials' seconds")):
        print(f"{label:24}{stacked[key]:12.1f}{sequential[key]:12.1f}{stacked[key] / sequential[key]:8.2f}")
    print(f"{'best score (trial)':24}{stacked['best_score']:8.4f} ({stacked['best_trial']:>2})"
          f"{sequential['best_score']:8.4f} ({sequential['best_trial']:>2})")
    print(f"{'trial':>6}{'stacked':>12}{'sequential':>12}  same configuration")
    for i in range(max(len(stacked["scores"]), len(sequential["scores"]))):
        a = stacked["scores"][i] if i < len(stacked["scores"]) else float("nan")
        b = sequential["scores"][i] if i < len(sequential["scores"]) else float("nan")
        same = i < min(len(stacked["configs"]), len(sequential["configs"])) and \
            stacked["configs"][i] == sequential["configs"][i]
        print(f"{i:6d}{a:12.4f}{b:12.4f}  {'yes' if same else 'no'}")
    if args.out is not None:
        from kerasopt import _io

        _io.write_json(args.out, {"args": {k: str(v) for k, v in vars(args).items()}, **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())

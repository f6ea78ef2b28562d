"""Replays a finished Bayesian search's Gaussian process: KerasTuner's proposal search beside kerasopt's.

For the first n completed trials of a `kerasopt tune` output (n = 10, 15, ...), fits the oracle's
Gaussian process as the oracle does and minimizes its upper confidence bound two ways: KerasTuner's
(L-BFGS-B from 50 random points) and kerasopt's (`kerasopt.tuning._compat.bayesian_values`:
L-BFGS-B from the best 5 of 2000 random points scored in one call). Prints both minima and times.
No training runs.

Usage:
    python scripts/tune_phone.py --data ../shared/data/phone/train.csv --out runs/tune
    python scripts/replay_acquisition.py runs/tune
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _bound(oracle):
    return lambda p: float((lambda m, s: m - oracle.beta * s)(*oracle.gpr.predict(p.reshape(1, -1),
                                                                                  return_std=True))[0])


def minimum(oracle, starts: np.ndarray) -> float:
    import scipy.optimize

    bounds = oracle._get_hp_bounds()
    return min(float(np.ravel(scipy.optimize.minimize(_bound(oracle), x0=s, bounds=bounds, method="L-BFGS-B").fun)[0])
               for s in starts)


def main(argv: list[str] | None = None) -> int:
    import keras_tuner
    import sklearn

    from kerasopt.tuning import oracles
    from kerasopt.tuning.space import declare, resolve_space

    p = argparse.ArgumentParser(prog="replay_acquisition", description=__doc__.splitlines()[0])
    p.add_argument("search", help="output directory of a default-space Bayesian `kerasopt tune`")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting points")
    args = p.parse_args(argv)
    hp = keras_tuner.HyperParameters()
    declare(hp, resolve_space())
    oracle = oracles.DefaultsFirstBayesianOracle(objective=keras_tuner.Objective("val_accuracy", "max"),
                                                 max_trials=1000, seed=1)
    oracle._set_project_dir(args.search, "search")
    oracle.hyperparameters = hp.copy()
    oracle.reload()
    trials = [oracle.trials[k] for k in sorted(oracle.trials, key=int) if oracle.trials[k].status == "COMPLETED"]
    rng = np.random.default_rng(args.seed)
    print("| trials | KerasTuner: 50 random starts | s | kerasopt: best 5 of 2000 | s |")
    print("|---:|---:|---:|---:|---:|")
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        for n in range(10, len(trials) + 1, 5):
            oracle.trials = {t.trial_id: t for t in trials[:n]}
            x, y = oracle._vectorize_trials()
            oracle.gpr.fit(np.nan_to_num(x, posinf=0, neginf=0), np.nan_to_num(y, posinf=0, neginf=0))
            bounds = oracle._get_hp_bounds()
            start = time.perf_counter()
            theirs = minimum(oracle, rng.uniform(bounds[:, 0], bounds[:, 1], size=(50, len(bounds))))
            middle = time.perf_counter()
            pool = rng.uniform(bounds[:, 0], bounds[:, 1], size=(2000, len(bounds)))
            mu, sigma = oracle.gpr.predict(pool, return_std=True)
            ours = minimum(oracle, pool[np.argsort(mu - oracle.beta * sigma)[:5]])
            end = time.perf_counter()
            print(f"| {n} | {theirs:.5f} | {middle - start:.2f} | {ours:.5f} | {end - middle:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

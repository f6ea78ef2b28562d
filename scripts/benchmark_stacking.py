"""Per-network cost of stacked training: one phone network vs K networks trained as one model.

Usage:
    python scripts/benchmark_stacking.py                      # TensorFlow, and JAX when installed
    python scripts/benchmark_stacking.py --members 3 5 15 --epochs 30 --backends tensorflow
    python scripts/benchmark_stacking.py --quick              # smoke run: tiny, measures nothing
    python scripts/benchmark_stacking.py --population         # 10 learning rates: one population vs one by one

The network is the phone default: 20-128-4 ELU, batch 32, Adam, on 1,280 rows
(the first 1,280 of --data, or `kerasopt.data.make_phone_data` rows when the
file is absent). One network trains through `kerasopt.train` (its fast path:
one compiled call per epoch); K networks train through
`kerasopt.stacking.train_stacked`, every member on the same 1,280 rows in its
own order. A second pair of rows adds validation: 320 held-out rows per
network, scored every epoch (per member for the stacked model). Each backend
runs in its own process. A run trains for --epochs epochs and takes the median
epoch time after the first two (which compile or set up); --repeats rounds go
over all configurations in turn (the models are built once) and the table
shows the median over the rounds. "per network" divides the stacked epoch by K
and compares it with one network's epoch.

--population times a learning-rate search instead: the P = 10 rates of
`TUNING_LEARNING_RATES` (scripts/benchmark.py) on the tuning runs' phone
network (20-128-128-4 ReLU, SGD with momentum 0.9, batch 32, 10 epochs, the
first 1,024 rows), as one stacked population
(`build_stacked_model(population={"learning_rate": rates})` and
`train_stacked`) and as P networks built and trained one after another
(`build_model` and `kerasopt.train`). Both times are wall times of building
and training everything, median over --repeats rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

DEFAULT_DATA = pathlib.Path("/work/shared/data/phone/train.csv")


def _load(path: pathlib.Path, rows: int):
    import numpy as np

    from kerasopt import data as data_lib

    if path.exists():
        frame, source = data_lib.load_csv(path), str(path)
    else:
        frame, source = data_lib.make_phone_data(rows + 320, seed=0), "make_phone_data(seed=0)"
    x = frame[data_lib.PHONE_FEATURES].to_numpy("float32")
    y = frame[data_lib.PHONE_TARGET].to_numpy("int32")
    return x, y, np.arange(rows), np.arange(rows, min(len(x), rows + 320)), source


def _measure(args) -> dict:
    """Runs in the backend's own process; returns the epoch times."""
    import keras
    import numpy as np

    from kerasopt import stacking
    from kerasopt.models import build_model
    from kerasopt.training import train

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = [time.perf_counter()]

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

        def median(self) -> float:
            return float(np.median(np.diff(self.ends)[2:]))

    x, y, train_rows, val_rows, source = _load(pathlib.Path(args.data), args.rows)
    arch = {"num_classes": 4, "hidden_units": (128,), "activation": "elu"}
    xla = stacking.jit_for(-(-len(train_rows) // 32) * args.epochs)  # kerasopt's XLA policy for the run's length
    runs = {}  # "K/validate" -> function that trains for args.epochs and returns the median epoch time
    for validate in (False, True):
        def single(model=build_model(x[train_rows], seed=0, **arch), validate=validate):
            timer = EpochTimer()
            train(model, x[train_rows], y[train_rows], epochs=args.epochs, batch_size=32, early_stopping=False,
                  validation_data=(x[val_rows], y[val_rows]) if validate else None, callbacks=[timer], seed=0)
            return timer.median()
        runs[f"1/{validate}"] = single
        for k in args.members:
            def stacked(model=stacking.build_stacked_model(x[train_rows], members=k, seed=0, jit_compile=xla, **arch),
                        k=k, validate=validate):
                timer = EpochTimer()
                stacking.train_stacked(model, x, y, [train_rows] * k, [val_rows] * k if validate else None,
                                       epochs=args.epochs, batch_size=32, early_stopping=False, seed=0,
                                       callbacks=[timer])
                return timer.median()
            runs[f"{k}/{validate}"] = stacked
    times = {key: [] for key in runs}
    for _ in range(args.repeats):  # rounds over all configurations, so that load changes hit them alike
        for key, run in runs.items():
            times[key].append(run())
    return {"backend": keras.backend.backend(), "source": source, "rows": len(train_rows),
            "times": {key: float(np.median(t)) for key, t in times.items()}}


def _measure_population(args) -> dict:
    """Runs in the backend's own process; returns the wall times of the population and of the networks."""
    import keras
    import numpy as np

    from benchmark import TUNING_LEARNING_RATES
    from kerasopt import stacking
    from kerasopt.models import build_model
    from kerasopt.training import train

    x, y, train_rows, _, source = _load(pathlib.Path(args.data), args.rows)
    rates = list(TUNING_LEARNING_RATES[:args.trials])
    arch = {"num_classes": 4, "hidden_units": (128, 128), "activation": "relu", "optimizer": "momentum"}

    def stacked() -> float:
        start = time.perf_counter()
        model = stacking.build_stacked_model(x[train_rows], members=len(rates), seed=0,
                                             population={"learning_rate": rates}, **arch,
                                             jit_compile=stacking.jit_for(-(-len(train_rows) // 32) * args.epochs))
        stacking.train_stacked(model, x, y, [train_rows] * len(rates), epochs=args.epochs, batch_size=32,
                               early_stopping=False, seed=0)
        return time.perf_counter() - start

    def one_by_one() -> float:
        start = time.perf_counter()
        for k, rate in enumerate(rates):
            model = build_model(x[train_rows], seed=k, learning_rate=rate, **arch)
            train(model, x[train_rows], y[train_rows], epochs=args.epochs, batch_size=32, early_stopping=False,
                  seed=k)
        return time.perf_counter() - start

    times = {"stacked": [], "single": []}
    for _ in range(args.repeats):
        times["stacked"].append(stacked())
        times["single"].append(one_by_one())
    return {"backend": keras.backend.backend(), "source": source, "rows": len(train_rows), "trials": len(rates),
            "times": {key: float(np.median(t)) for key, t in times.items()}, "all": times}


def _population_table(results: list[dict], epochs: int) -> str:
    lines = ["| backend | trials | epochs | one by one (s) | one population (s) | one by one / population |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        single, stacked = r["times"]["single"], r["times"]["stacked"]
        lines.append(f"| {r['backend']} | {r['trials']} | {epochs} | {single:.1f} | {stacked:.1f} | "
                     f"{single / stacked:.1f}x |")
    for r in results:
        rounds = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(r["all"]["single"], r["all"]["stacked"]))
        lines.append(f"\n{r['backend']} rounds (one by one / population, s): {rounds}")
    return "\n".join(lines)


def _table(results: list[dict], members: list[int]) -> str:
    lines = ["| backend | validation | networks | ms per epoch | ms per network | per network vs one |",
             "|---|---|---:|---:|---:|---:|"]
    for r in results:
        for validate in (False, True):
            one = r["times"][f"1/{validate}"]
            lines.append(f"| {r['backend']} | {'yes' if validate else 'no'} | 1 | {one * 1e3:.1f} | "
                         f"{one * 1e3:.1f} | 1.00x |")
            for k in members:
                t = r["times"][f"{k}/{validate}"]
                lines.append(f"| {r['backend']} | {'yes' if validate else 'no'} | {k} stacked | {t * 1e3:.1f} | "
                             f"{t / k * 1e3:.1f} | {t / k / one:.2f}x |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="phone CSV (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default: 1280; 1024 with "
                        "--population)")
    parser.add_argument("--members", type=int, nargs="+", default=[3, 5, 15], help="K values (default: 3 5 15)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: 12; 10 with "
                        "--population)")
    parser.add_argument("--population", action="store_true",
                        help="time a population of learning rates against the networks one by one")
    parser.add_argument("--trials", type=int, default=10,
                        help="learning rates of --population, the first of TUNING_LEARNING_RATES (default: 10)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds over all configurations; the table shows the median (default: %(default)s)")
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"],
                        help="Keras backends, each in its own process (JAX is skipped when not installed)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run that measures nothing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rows = args.rows or (1024 if args.population else 1280)
    args.epochs = args.epochs or (10 if args.population else 12)
    if args.quick:
        args.rows, args.members, args.epochs, args.repeats, args.trials = 64, [2], 4, 1, 2
    if args.child:
        print(json.dumps(_measure_population(args) if args.population else _measure(args)))
        return 0

    results = []
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if backend == "jax" and subprocess.run([sys.executable, "-c", "import jax"], env=env,
                                               capture_output=True).returncode:
            print("jax: not installed, skipped", file=sys.stderr)
            continue
        command = [sys.executable, __file__, "--child", "--data", args.data, "--rows", str(args.rows),
                   "--epochs", str(args.epochs), "--repeats", str(args.repeats), "--members", *map(str, args.members),
                   "--trials", str(args.trials), *(["--population"] if args.population else [])]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()
    print(f"rows: {results[0]['rows']} training rows of {results[0]['source']}" if results else "no backend ran")
    print(f"{os.cpu_count()} CPU cores; load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(_population_table(results, args.epochs) if args.population else _table(results, args.members))
    return 0


if __name__ == "__main__":
    sys.exit(main())

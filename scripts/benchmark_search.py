"""`kerasopt tune` against a plain KerasTuner search over the same space, folds and trial count.

Usage:
    python scripts/benchmark_search.py                          # phone data, 4 trials, cv 3, 20 epochs: a few minutes
    python scripts/benchmark_search.py --max-trials 2 --epochs 5      # a quick check
    python scripts/benchmark_search.py --peers random --out bench.json

The peer is what a user would write instead of `kerasopt tune`: a
`keras_tuner.RandomSearch` / `keras_tuner.BayesianOptimization` whose
`build(hp)` declares the same hyperparameters (`kerasopt.tuning.space.declare`
of the default space, so the same names, ranges and defaults) and builds a plain
Keras network (`Normalization`, `Dense` with L1/L2, `BatchNormalization`,
`Dropout`, the optimizer and learning-rate schedule named by the trial), and
whose `run_trial` trains one network per fold, one after another, with
`EarlyStopping(patience, restore_best_weights=True)` on the validation loss,
scoring the mean of the folds' validation accuracy at their restored epoch.

kerasopt runs `python -m kerasopt tune --tuner random` and `--tuner bayesian`
(trials stacked: a trial's folds train as one stacked model) with the same
seed, trial count, epochs, patience and folds (`StratifiedKFold(cv,
shuffle=True, random_state=seed)` over all rows: `--test-split 0`), and no
retraining beyond one network (`--ensemble 1`). Each search runs in its own
process into a temporary folder, timed from the outside (process start
included). The table shows each search's best cross-validated accuracy, its
wall time and the ratio of the peer's time to kerasopt's. Nothing is written
unless --out is given (a JSON of the figures).
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
PEERS = {"random": "RandomSearch", "bayesian": "BayesianOptimization"}

# Run in its own process: the plain KerasTuner search of one tuner, printing a JSON line.
PEER = r'''
import json, math, os, sys, tempfile, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
start = time.perf_counter()
import keras, keras_tuner, numpy as np, pandas as pd
from sklearn.model_selection import StratifiedKFold
from kerasopt.tuning.space import declare, resolve_space

args = json.loads(sys.argv[1])
frame = pd.read_csv(args["data"])
y = pd.factorize(frame.pop(args["target"]), sort=True)[0].astype("int32")
x = frame.select_dtypes("number").to_numpy("float32")
classes = int(y.max()) + 1
folds = list(StratifiedKFold(args["cv"], shuffle=True, random_state=args["seed"]).split(x, y))
space = resolve_space({"epochs": args["epochs"]})

def learning_rate(values, steps):
    rate, epochs = float(values["learning_rate"]), int(values["epochs"])
    if values["schedule"] == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(rate, steps, 0.98)
    if values["schedule"] == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, steps * epochs)
    return rate

def optimizer(values, steps):
    lr = learning_rate(values, steps)
    name = values["optimizer"]
    if name == "momentum":
        return keras.optimizers.SGD(lr, momentum=float(values["momentum"]))
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr, momentum=float(values["momentum"] or 0.0))
    return {"adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam}[name](lr)

def build(hp, train_x=None):
    values = declare(hp, space)
    norm = keras.layers.Normalization()
    if train_x is not None:
        norm.adapt(train_x)
    layers = [keras.Input((x.shape[1],)), norm]
    reg = keras.regularizers.L1L2(float(values["l1"]), float(values["l2"]))
    for units in values["hidden_units"]:
        layers.append(keras.layers.Dense(units, kernel_regularizer=reg, kernel_initializer="he_normal"))
        if values["batch_norm"]:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(values["activation"]))
        if values["dropout"]:
            layers.append(keras.layers.Dropout(float(values["dropout"])))
    layers.append(keras.layers.Dense(classes, activation="softmax", kernel_regularizer=reg))
    model = keras.Sequential(layers)
    steps = math.ceil(len(x) * (1 - 1 / args["cv"]) / values["batch_size"])
    model.compile(optimizer(values, steps), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

class FoldTuner(getattr(keras_tuner, args["peer"])):
    def run_trial(self, trial, *unused, **kwargs):
        hp = trial.hyperparameters
        values = declare(hp, space)
        scores = []
        for train, val in folds:
            keras.backend.clear_session()
            model = build(hp, x[train])
            stop = keras.callbacks.EarlyStopping(patience=args["patience"], restore_best_weights=True)
            model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=int(values["epochs"]),
                      batch_size=int(values["batch_size"]), callbacks=[stop], verbose=0)
            scores.append(model.evaluate(x[val], y[val], verbose=0, return_dict=True)["accuracy"])
        return {"val_accuracy": float(np.mean(scores))}

with tempfile.TemporaryDirectory() as out:
    tuner = FoldTuner(hypermodel=build, objective="val_accuracy", max_trials=args["max_trials"],
                      seed=args["seed"] + 1, directory=out, project_name="peer")
    tuner.search()
    scores = [t.score for t in tuner.oracle.trials.values() if t.score is not None]
print(json.dumps({"best_score": max(scores), "trials": len(scores), "seconds_in_process":
                  time.perf_counter() - start}))
'''


def _kerasopt(tuner: str, args, folder: pathlib.Path) -> dict:
    import pandas as pd

    out = folder / f"kerasopt-{tuner}"
    command = [sys.executable, "-m", "kerasopt", "tune", "--data", str(args.data), "--target", args.target,
               "--tuner", tuner, "--max-trials", str(args.max_trials), "--cv", str(args.cv), "--seed", str(args.seed),
               "--epochs", str(args.epochs), "--patience", str(args.patience), "--test-split", "0",
               "--ensemble", "1", "--out", str(out), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"benchmark_search: kerasopt tune --tuner {tuner} failed:\n{done.stderr[-3000:]}")
    trials = pd.read_csv(out / "trials.csv")
    return {"search": f"kerasopt tune --tuner {tuner}", "best_score": float(trials.score.max()),
            "trials": int(trials.score.notna().sum()), "wall_seconds": seconds}


def _peer(tuner: str, args) -> dict:
    options = {"peer": PEERS[tuner], "data": str(args.data), "target": args.target, "cv": args.cv,
               "seed": args.seed, "epochs": args.epochs, "patience": args.patience, "max_trials": args.max_trials}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEER, json.dumps(options)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"benchmark_search: keras_tuner.{PEERS[tuner]} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"search": f"keras_tuner.{PEERS[tuner]}", "best_score": result["best_score"], "trials": result["trials"],
            "wall_seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"CSV (default {DEFAULT_DATA})")
    parser.add_argument("--target", default="price_range", help="label column (default price_range)")
    parser.add_argument("--peers", nargs="+", choices=sorted(PEERS), default=["random", "bayesian"],
                        help="KerasTuner searches to compare (default: random bayesian)")
    parser.add_argument("--max-trials", type=int, default=4, help="trials per search (default 4)")
    parser.add_argument("--cv", type=int, default=3, help="folds (default 3)")
    parser.add_argument("--epochs", type=int, default=20, help="maximum epochs per training (default 20)")
    parser.add_argument("--patience", type=int, default=15, help="early-stopping patience (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and both oracles (default 0)")
    parser.add_argument("--out", type=pathlib.Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"--data {args.data} does not exist")

    rows = []
    with tempfile.TemporaryDirectory(prefix="benchmark_search_") as folder:
        for tuner in args.peers:
            ours = _kerasopt(tuner, args, pathlib.Path(folder))
            peer = _peer(tuner, args)
            peer["time_vs_kerasopt"] = peer["wall_seconds"] / ours["wall_seconds"]
            rows += [ours, peer]
    print(f"{args.data}: {args.max_trials} trials, {args.cv}-fold CV accuracy, at most {args.epochs} epochs, "
          f"patience {args.patience}, seed {args.seed}")
    print(f"{'search':36}{'best CV accuracy':>18}{'trials':>8}{'wall s':>9}{'time / kerasopt':>17}")
    for row in rows:
        ratio = f"{row['time_vs_kerasopt']:.2f}" if "time_vs_kerasopt" in row else "1.00"
        print(f"{row['search']:36}{row['best_score']:18.4f}{row['trials']:8d}{row['wall_seconds']:9.1f}{ratio:>17}")
    if args.out is not None:
        from kerasopt import _io

        _io.write_json(args.out, {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a stacked JAX epoch's time goes: `train_stacked` beside prebuilt batches and `train_on_batch`.

15 stacked phone-sized networks (20-128-4 ELU, Adam, batch 32) on 1,280 random rows, JAX backend.
Prints ms per epoch three ways: `train_stacked` (its generator of NumPy batches), `fit` on a
generator of prebuilt batches, and one `train_on_batch` per step. If all three are close, the
time is the model's own step, not its input.

Usage:
    python scripts/probe_jax_stacking.py
"""

from __future__ import annotations

import os
import time

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

from kerasopt import stacking  # noqa: E402

MEMBERS, ROWS, EPOCHS = 15, 1280, 20


def main() -> int:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 20)).astype("float32")
    y = rng.integers(0, 4, ROWS)
    rows = [np.arange(ROWS)] * MEMBERS
    model = stacking.build_stacked_model(x, members=MEMBERS, num_classes=4, seed=0)
    stacking.train_stacked(model, x, y, rows, epochs=3, seed=0)  # compile
    start = time.perf_counter()
    stacking.train_stacked(model, x, y, rows, epochs=EPOCHS, seed=0)
    print(f"train_stacked: {(time.perf_counter() - start) / EPOCHS * 1000:.1f} ms/epoch")

    index, weight = stacking.plan_batches(rows, 32, list(range(MEMBERS)), 0)
    mask = (weight > 0).astype("float32")
    batches = [({"features": x[index[s]], "row_mask": mask[s]}, y[index[s]], weight[s]) for s in range(len(index))]
    model.steps_per_execution = 1
    model.fit((b for b in batches), epochs=1, steps_per_epoch=len(batches), verbose=0)  # compile
    start = time.perf_counter()
    for _ in range(10):
        model.fit((b for b in batches), epochs=1, steps_per_epoch=len(batches), verbose=0)
    print(f"fit on prebuilt batches: {(time.perf_counter() - start) / 10 * 1000:.1f} ms/epoch")
    start = time.perf_counter()
    for _ in range(10):
        for features, targets, weights in batches:
            model.train_on_batch(features, targets, sample_weight=weights)
    print(f"train_on_batch loop: {(time.perf_counter() - start) / 10 * 1000:.1f} ms/epoch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

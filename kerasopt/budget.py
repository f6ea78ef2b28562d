"""Size-aware training: batch size, epoch budget and patience from the number of training rows.

`batch_size`, `epochs` and `patience` default to `None`; `sized` turns them into numbers
from the rows one network trains on per epoch (docs/preprocessing.md has the table): up to
`SMALL_TABLE_ROWS` rows batch 32, 300 epochs, patience 50; above, a larger batch and the
epochs that fit in `STEP_BUDGET` gradient steps (counted in steps, not seconds, so a seed
still repeats a run). A value the user sets is kept as given.

Example:

>>> sized({"batch_size": None, "epochs": None, "patience": None}, 1024)[1]["batch_size"]
32
>>> b = training_budget(40_000)
>>> (b.batch_size, b.steps_per_epoch, b.epochs, b.patience)
(320, 125, 80, 13)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from kerasopt import _validation as check

__all__ = ["SMALL_TABLE_ROWS", "BATCH_SIZE", "MAX_BATCH_SIZE", "EPOCHS", "PATIENCE", "STEP_BUDGET", "MIN_EPOCHS",
           "MIN_PATIENCE", "SIZED", "Budget", "training_budget", "sized"]

SMALL_TABLE_ROWS = 4096
"""Up to this many rows per epoch, training uses the small-table values below."""
BATCH_SIZE = 32
"""Batch size of a small table."""
MAX_BATCH_SIZE = 1024
"""Largest sized batch."""
EPOCHS = 300
"""Most epochs of a small table (and of any table)."""
PATIENCE = 50
"""Early-stopping patience of a small table."""
STEP_BUDGET = 10_000
"""Gradient steps a table larger than `SMALL_TABLE_ROWS` may take (its epochs are what fits)."""
MIN_EPOCHS = 20
"""Fewest sized epochs."""
MIN_PATIENCE = 5
"""Smallest sized patience."""
SIZED = ("batch_size", "epochs", "patience")
"""The options that `sized` fills in when they are `None`."""


@dataclass(frozen=True)
class Budget:
    """The resolved training budget of a run.

    Attributes:
        rows: Rows one network trains on per epoch.
        batch_size: Rows per gradient step.
        epochs: Most epochs.
        patience: Early-stopping patience in epochs.
        steps_per_epoch: `ceil(rows / batch_size)`.
        max_steps: `steps_per_epoch * epochs`, the most gradient steps.
        sized: The options that were sized to the rows (the others were set).
    """

    rows: int
    batch_size: int
    epochs: int
    patience: int
    steps_per_epoch: int
    max_steps: int
    sized: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict (what a run writes under `derived.budget` in `config.json`)."""
        out = asdict(self)
        out["sized"] = list(self.sized)
        return out


def training_budget(rows: int, batch_size: int | None = None, epochs: int | None = None,
                    patience: int | None = None) -> Budget:
    """Returns the budget of a network that trains on `rows` rows per epoch.

    Each argument left `None` is sized to the rows, around the given ones.

    Args:
        rows: Rows one network trains on per epoch (>= 1).
        batch_size: Rows per step, or `None`.
        epochs: Most epochs, or `None`.
        patience: Early-stopping patience, or `None`.

    Returns:
        A `Budget`.
    """
    rows = check.positive_int("rows", rows)
    small = rows <= SMALL_TABLE_ROWS
    given = {"batch_size": batch_size, "epochs": epochs, "patience": patience}
    batch = (min(MAX_BATCH_SIZE, BATCH_SIZE * math.ceil(rows / SMALL_TABLE_ROWS)) if batch_size is None
             else check.positive_int("batch_size", batch_size))
    steps = math.ceil(rows / batch)
    if epochs is None:
        epochs = EPOCHS if small else min(EPOCHS, max(MIN_EPOCHS, STEP_BUDGET // steps))
    epochs = check.positive_int("epochs", epochs)
    if patience is None:
        patience = PATIENCE if small else max(MIN_PATIENCE, round(epochs * PATIENCE / EPOCHS))
    patience = check.non_negative_int("patience", patience)
    return Budget(rows=rows, batch_size=batch, epochs=epochs, patience=patience, steps_per_epoch=steps,
                  max_steps=steps * epochs, sized=tuple(k for k in SIZED if given[k] is None))


def sized(config: Mapping[str, Any], rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fills in the sized options of a configuration for `rows` rows per epoch.

    Args:
        config: A configuration (see `kerasopt.config.resolve`) whose
            `batch_size`, `epochs` and `patience` are numbers or `None`.
        rows: Rows one network trains on per epoch.

    Returns:
        `(config, budget)`: a copy of the configuration with the three
        options as numbers, and `Budget.as_dict()`.
    """
    budget = training_budget(rows, config.get("batch_size"), config.get("epochs"), config.get("patience"))
    return ({**config, "batch_size": budget.batch_size, "epochs": budget.epochs, "patience": budget.patience},
            budget.as_dict())

"""Size-aware training: input bins, network depth, batch size, epoch budget and patience from the rows.

`numeric_bins`, `hidden_units`, `batch_size`, `epochs` and `patience` default to `None`; `sized` turns
them into values from the rows one network trains on per epoch (the constants below; docs/preprocessing.md
has the table). A value the user sets is kept as given.

Example:

>>> sized({"batch_size": None, "epochs": None, "patience": None}, 1024)[1]["batch_size"]
32
>>> b = training_budget(40_000)
>>> (b.hidden_units, b.batch_size, b.steps_per_epoch, b.epochs, b.patience)
([128], 320, 125, 80, 13)
>>> hidden_units_for(1_600, regression=True), hidden_units_for(1_600), hidden_units_for(10_000)
([128, 128], [128], [128, 128])
>>> numeric_bins_for(1_600), numeric_bins_for(40_000)
(16, 48)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from kerasopt import _validation as check

__all__ = ["SMALL_TABLE_ROWS", "TWO_LAYER_ROWS", "NUMERIC_BINS", "LARGE_TABLE_BINS", "HIDDEN_UNITS",
           "TWO_LAYER_UNITS", "BATCH_SIZE", "MAX_BATCH_SIZE", "EPOCHS", "PATIENCE", "STEP_BUDGET", "MIN_EPOCHS",
           "MIN_PATIENCE", "SIZED", "Budget", "numeric_bins_for", "hidden_units_for", "training_budget", "sized"]

SMALL_TABLE_ROWS = 4096
"""Up to this many rows per epoch, training uses the small-table values below."""
NUMERIC_BINS = 16
"""Most quantile bins of a numeric column's piecewise-linear encoding up to `SMALL_TABLE_ROWS` rows."""
LARGE_TABLE_BINS = 48
"""Most quantile bins above `SMALL_TABLE_ROWS` rows (chosen on the benchmark: docs/benchmarks.md,
"Finer bins for a larger table")."""
TWO_LAYER_ROWS = 16_384
"""Up to this many rows per epoch, any network gets `TWO_LAYER_UNITS` (a classification only above
`SMALL_TABLE_ROWS`)."""
HIDDEN_UNITS = (128,)
"""Hidden layers of a classification up to `SMALL_TABLE_ROWS` rows, and of any network above
`TWO_LAYER_ROWS` rows."""
TWO_LAYER_UNITS = (128, 128)
"""Hidden layers of a regression up to `TWO_LAYER_ROWS` rows, and of a classification of
`SMALL_TABLE_ROWS` to `TWO_LAYER_ROWS` rows (chosen on the benchmark: docs/benchmarks.md,
"Two layers for a small regression" and "Two layers up to 16,384 rows")."""
BATCH_SIZE = 32
"""Batch size of a small table."""
MAX_BATCH_SIZE = 1024
"""Largest sized batch."""
EPOCHS = 300
"""Most epochs of a small table (and of any table)."""
PATIENCE = 50
"""Early-stopping patience of a small table."""
STEP_BUDGET = 10_000
"""Gradient steps a table larger than `SMALL_TABLE_ROWS` may take (its epochs are what fits); counted in
steps, not seconds, so a seed still repeats a run."""
MIN_EPOCHS = 20
"""Fewest sized epochs."""
MIN_PATIENCE = 5
"""Smallest sized patience."""
SIZED = ("numeric_bins", "hidden_units", "batch_size", "epochs", "patience")
"""The options that `sized` fills in when they are `None`."""


@dataclass(frozen=True)
class Budget:
    """The resolved training budget of a run.

    Attributes:
        rows: Rows one network trains on per epoch.
        numeric_bins: Most quantile bins of a numeric column.
        hidden_units: Units of each hidden layer.
        batch_size: Rows per gradient step.
        epochs: Most epochs.
        patience: Early-stopping patience in epochs.
        steps_per_epoch: `ceil(rows / batch_size)`.
        max_steps: `steps_per_epoch * epochs`, the most gradient steps.
        sized: The options that were sized to the rows (the others were set).
    """

    rows: int
    numeric_bins: int
    hidden_units: list[int]
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


def numeric_bins_for(rows: int | None) -> int:
    """Returns the default most quantile bins of a numeric column for `rows` rows per epoch.

    Args:
        rows: Rows one network trains on per epoch, or `None` where they are not known.

    Returns:
        `NUMERIC_BINS` up to `SMALL_TABLE_ROWS` rows (or `None`), else `LARGE_TABLE_BINS`.
    """
    small = rows is None or check.positive_int("rows", rows) <= SMALL_TABLE_ROWS
    return NUMERIC_BINS if small else LARGE_TABLE_BINS


def hidden_units_for(rows: int | None, regression: bool = False) -> list[int]:
    """Returns the default hidden layers of a network that trains on `rows` rows per epoch.

    Args:
        rows: Rows one network trains on per epoch, or `None` where they are
            not known (a network built from a shape): a small table's layers.
        regression: Whether the network is a regression.

    Returns:
        As a new list: `TWO_LAYER_UNITS` up to `TWO_LAYER_ROWS` rows, except
        for a classification of up to `SMALL_TABLE_ROWS` rows (or `None`);
        else `HIDDEN_UNITS`.
    """
    rows = None if rows is None else check.positive_int("rows", rows)
    if rows is None or rows <= SMALL_TABLE_ROWS:
        return list(TWO_LAYER_UNITS if regression else HIDDEN_UNITS)
    return list(TWO_LAYER_UNITS if rows <= TWO_LAYER_ROWS else HIDDEN_UNITS)


def training_budget(rows: int, batch_size: int | None = None, epochs: int | None = None,
                    patience: int | None = None, hidden_units: list[int] | None = None,
                    regression: bool = False, numeric_bins: int | None = None) -> Budget:
    """Returns the budget of a network that trains on `rows` rows per epoch.

    Each argument left `None` is sized to the rows, around the given ones.

    Args:
        rows: Rows one network trains on per epoch (>= 1).
        batch_size: Rows per step, or `None`.
        epochs: Most epochs, or `None`.
        patience: Early-stopping patience, or `None`.
        hidden_units: Units of each hidden layer, or `None`.
        regression: Whether the network is a regression (its default depth differs).
        numeric_bins: Most quantile bins of a numeric column, or `None`.

    Returns:
        A `Budget`.
    """
    rows = check.positive_int("rows", rows)
    small = rows <= SMALL_TABLE_ROWS
    given = {"numeric_bins": numeric_bins, "hidden_units": hidden_units, "batch_size": batch_size, "epochs": epochs,
             "patience": patience}
    units = hidden_units_for(rows, regression) if hidden_units is None else [int(u) for u in hidden_units]
    batch = (min(MAX_BATCH_SIZE, BATCH_SIZE * math.ceil(rows / SMALL_TABLE_ROWS)) if batch_size is None
             else check.positive_int("batch_size", batch_size))
    steps = math.ceil(rows / batch)
    if epochs is None:
        epochs = EPOCHS if small else min(EPOCHS, max(MIN_EPOCHS, STEP_BUDGET // steps))
    epochs = check.positive_int("epochs", epochs)
    if patience is None:
        patience = PATIENCE if small else max(MIN_PATIENCE, round(epochs * PATIENCE / EPOCHS))
    patience = check.non_negative_int("patience", patience)
    bins = numeric_bins_for(rows) if numeric_bins is None else check.non_negative_int("numeric_bins", numeric_bins)
    return Budget(rows=rows, numeric_bins=bins, hidden_units=units, batch_size=batch, epochs=epochs, patience=patience,
                  steps_per_epoch=steps, max_steps=steps * epochs, sized=tuple(k for k in SIZED if given[k] is None))


def sized(config: Mapping[str, Any], rows: int, regression: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fills in the sized options of a configuration for `rows` rows per epoch.

    Args:
        config: A configuration (see `kerasopt.config.resolve`) whose
            `numeric_bins`, `hidden_units`, `batch_size`, `epochs` and
            `patience` are set or `None`.
        rows: Rows one network trains on per epoch.
        regression: Whether the network is a regression.

    Returns:
        `(config, budget)`: a copy of the configuration with the five
        options set, and `Budget.as_dict()`.
    """
    budget = training_budget(rows, config.get("batch_size"), config.get("epochs"), config.get("patience"),
                             config.get("hidden_units"), regression, config.get("numeric_bins"))
    return ({**config, "numeric_bins": budget.numeric_bins, "hidden_units": list(budget.hidden_units),
             "batch_size": budget.batch_size, "epochs": budget.epochs, "patience": budget.patience}, budget.as_dict())

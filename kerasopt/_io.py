"""Atomic file output: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name. The
checks that refuse to replace earlier outputs, or to read a missing model file,
live here too, so the commands and their fail-fast preflight share them.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Callable

from kerasopt.errors import DataError, OutputExistsError


def write_with(path: str | os.PathLike, writer: Callable[[str], object]) -> None:
    """Calls `writer(tmp_path)` on a temporary path in the same folder and renames it to `path` on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base, suffix = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    try:
        writer(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def check_out_dir(out_dir: str | os.PathLike, names, overwrite: bool = False) -> None:
    """Refuses to replace earlier results: call it before any work that writes `names` into `out_dir`.

    Args:
        out_dir: The output directory (it need not exist yet).
        names: File names the work will write there.
        overwrite: Whether replacing them was asked for.

    Raises:
        OutputExistsError: if `out_dir` is a file, or holds one of `names` and
            `overwrite` is False.
    """
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputExistsError(f"Output path {out_dir} is a file, not a directory. Choose another --out.")
    present = [n for n in names if os.path.exists(os.path.join(out_dir, n))]
    if present and not overwrite:
        raise OutputExistsError(f"Output directory {out_dir} already holds {', '.join(present)}. "
                                "Choose another --out, or pass --overwrite to replace it.")


def check_out_file(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Refuses to replace an earlier output file: call it before any work that writes `path`.

    Args:
        path: The output file.
        overwrite: Whether replacing it was asked for.

    Raises:
        OutputExistsError: if `path` exists and `overwrite` is False.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(f"Output file {path} already exists. Choose another --out, "
                                "or pass --overwrite to replace it.")


def check_model_file(path: str | os.PathLike) -> None:
    """Raises `DataError` when the model file `path` (a training run's model.keras) does not exist."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"Model file not found: {path}. Pass the model.keras of a training run.")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` atomically."""
    write_with(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, obj) -> None:
    """Writes `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


_RAISE = object()


def read_json(path: str | os.PathLike, default=_RAISE):
    """Reads the JSON file `path` (UTF-8).

    Args:
        path: The file.
        default: What to return when the file is missing, unreadable or not
            valid JSON; left out, that error is raised.

    Returns:
        The parsed content, or `default`.

    Raises:
        OSError, ValueError: for a missing or unreadable file, or invalid
            JSON (`json.JSONDecodeError`), when no `default` is given.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        if default is _RAISE:
            raise
        return default

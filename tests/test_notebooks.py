"""Every notebook in notebooks/ runs top to bottom with small settings.

Each notebook is executed with nbclient on a fresh `python3` kernel (served
by ipykernel; jupyter_client starts it with this interpreter) in a temporary
working directory, with `KERASOPT_NOTEBOOK_QUICK=1`, so that notebooks
cannot rot. The committed notebooks are not modified.
"""

from __future__ import annotations

import glob
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))
CELL_TIMEOUT_S = 300


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebooks in {os.path.join(REPO, 'notebooks')}"


# The two notebooks that train the longest run with -m slow; their functions are tested in
# test_experiments_*.py and test_augmentation.py, and optimization.ipynb runs by default.
SLOW_NOTEBOOKS = ("mnist.ipynb", "regularization.ipynb")


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if os.path.basename(p) in SLOW_NOTEBOOKS
                                  else p for p in NOTEBOOKS], ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_executes_without_errors(path, tmp_path, monkeypatch):
    monkeypatch.setenv("KERASOPT_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel runs in tmp_path; make the checkout importable even without `pip install -e .`.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors

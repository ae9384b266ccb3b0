"""The example notebooks run top to bottom (nbclient, a fresh kernel, from the repository root),
their figures display, and they are stored with their outputs cleared."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01-quickstart.ipynb", "02-tune-a-policy.ipynb",
                                           "03-carbon-and-power.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if "image/png" in output.get("data", {})]
    assert images, f"{path.name}: no figure was displayed"


HISTORY = re.compile(r"\bissues?\b|closing note|previous version|\bused to\b|no longer|"
                     r"\bbefore this change\b", re.IGNORECASE)
"""Words that tell the project's history instead of teaching (a notebook is for users)."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_does_not_tell_internal_history(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        assert not HISTORY.search(cell.source), (path.name, HISTORY.search(cell.source))

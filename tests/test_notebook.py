"""notebooks/tutorial.ipynb runs from top to bottom (small populations), and is stored clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "tutorial.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_tutorial_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,  # per cell; a cold numba compile of the kernel takes ~2 minutes
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError (with the cell's traceback) if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert errors == []
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # survival, share exported, comparison, sweep response, heatmap
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "biased short" in text

"""Every tutorial notebook runs top to bottom in FAST mode within 3 minutes, and is committed clean."""
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LIMIT_S = 180


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs_or_widget_state(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb.get("metadata", {}), "widget state must be stripped"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"outputs must be stripped: {''.join(cell['source'])[:60]!r}"
            assert cell.get("execution_count") is None


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["FASDIFF_FAST"] = "1"  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=LIMIT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    took = time.perf_counter() - t0
    from tests.conftest import NOTEBOOK_TIMES

    NOTEBOOK_TIMES[path.name] = took
    assert took < LIMIT_S, f"{path.name} took {took:.0f} s (limit {LIMIT_S} s); slowest cells: {slowest_cells(nb)}"


def slowest_cells(nb, n=3):
    """The n slowest code cells of an executed notebook, from the timings nbclient records in each cell's metadata."""
    from datetime import datetime

    timed = []
    for i, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in t and "shell.execute_reply" in t:
            start, end = (datetime.fromisoformat(t[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
            timed.append(((end - start).total_seconds(), i, "".join(cell.source).strip().splitlines()[0][:50]))
    return "; ".join(f"cell {i} {s:.0f} s ({first!r})" for s, i, first in sorted(timed, reverse=True)[:n])

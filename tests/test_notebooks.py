"""Every tutorial notebook runs top to bottom in FAST mode within 3 minutes, and is committed clean.

Each notebook is executed **once per test session** (:func:`run_once`), with its exercises checked on the way
(``fasdiff_lite.course.execute``: at each exercise the student's blank answer runs first and its check must fail,
then the solution runs and must pass). ``tests/test_course.py`` and ``tests/test_book.py`` reuse these runs.
"""
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LIMIT_S = 180
_RUNS: dict = {}


def run_once(path):
    """The notebook at ``path`` executed in FAST mode (a ``fasdiff_lite.course.Run``), computed on first use and
    shared by every test of the session. A notebook that fails raises the same error in every test that asks."""
    from fasdiff_lite import course

    path = Path(path)
    if path not in _RUNS:
        os.environ["FASDIFF_FAST"] = "1"  # the kernel inherits this process's environment
        try:
            _RUNS[path] = course.execute(path, timeout=LIMIT_S, record_titles=True)
        except Exception as e:  # noqa: BLE001 - kept and re-raised for each test that needs this run
            _RUNS[path] = e
    run = _RUNS[path]
    if isinstance(run, Exception):
        raise run
    return run


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_install_cell_is_folded(path):
    """The long Colab install cell is not the first thing a reader sees: its code is folded in Jupyter
    (``jupyter.source_hidden``) and in the book (myst-nb's ``hide-input`` tag)."""
    nb = json.loads(path.read_text())
    install = next(c for c in nb["cells"] if c["cell_type"] == "code" and 'find_spec("fasdiff_lite")' in "".join(c["source"]))
    assert "hide-input" in install["metadata"].get("tags", []), "tag the install cell hide-input"
    assert install["metadata"].get("jupyter", {}).get("source_hidden") is True, "fold the install cell's code"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path):
    run = run_once(path)
    from tests.conftest import NOTEBOOK_TIMES

    NOTEBOOK_TIMES[path.name] = run.seconds
    assert run.seconds < LIMIT_S, f"{path.name} took {run.seconds:.0f} s (limit {LIMIT_S} s); slowest cells: {run.slowest_cells()}"

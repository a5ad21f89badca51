"""The course book (``make book``): built from the notebooks executed in FAST mode (the same runs as
tests/test_notebooks.py), every notebook gets a page, and every page shows that notebook's figures."""
import re

import pytest

from fasdiff_lite import course
from tests.test_notebooks import NOTEBOOKS, ROOT, run_once

pytest.importorskip("myst_nb", reason="the book needs the 'book' extra (sphinx, myst-nb)")


@pytest.mark.notebook
def test_book_builds_with_every_notebook_and_its_figures(tmp_path):
    runs = [run_once(p) for p in NOTEBOOKS]  # a notebook error fails here, before Sphinx
    html = course.build_book(runs, tmp_path / "book", extra_pages=[ROOT / "notebooks" / "SYLLABUS.md"])
    assert (html / "index.html").exists() and (html / "SYLLABUS.html").exists()
    index = (html / "index.html").read_text()
    for run in runs:
        page = html / "notebooks" / f"{run.path.stem}.html"
        assert page.exists(), f"no page for {run.path.name}"
        assert f"notebooks/{run.path.stem}.html" in index, f"{run.path.name} is not in the table of contents"
        n_figures = sum(1 for c in run.notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        n_images = len(re.findall(r"<img [^>]*src=\"[^\"]+\.png\"", page.read_text()))
        assert n_figures > 0, f"{run.path.name} drew no figure"
        assert n_images >= n_figures, f"{run.path.name}: {n_figures} figures in the run, {n_images} images on its page"

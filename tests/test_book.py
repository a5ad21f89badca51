"""The course book (``make book``): built from the notebooks executed in FAST mode (the same runs as
tests/test_notebooks.py), every notebook gets a page that reads like a course (d2l and the Hugging Face course as
the standard): its figures, a static picture of each widget's first view, links to open it in Colab and to download
it (from the one repository variable, ``settings.GITHUB_REPOSITORY``), previous/next links, a real footer, code and
outputs that are never cut off, the install cell folded; and the build writes nothing into the checkout.

The quick tests build a small book from two tiny notebooks (one kernel, seconds); the ``notebook`` test builds the
real one from the ten notebooks' runs."""
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from fasdiff_lite import book, course, settings
from tests.test_notebooks import NOTEBOOKS, ROOT, run_once

pytest.importorskip("myst_nb", reason="the book needs the 'book' extra (sphinx, myst-nb, sphinx-book-theme)")
pytest.importorskip("sphinx_book_theme", reason="the book needs the 'book' extra (sphinx, myst-nb, sphinx-book-theme)")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PREV = re.compile(r'<a class="left-prev"\s+href="([^"]+)"')
NEXT = re.compile(r'<a class="right-next"\s+href="([^"]+)"')
# the install cell (tools/sync_notebooks.py), tagged hide-input: its code is folded on the page
INSTALL_MARK = 'find_spec("fasdiff_lite")'


def _links(page: str) -> dict:
    bar = re.search(r'<div class="fl-launch">(.*?)</div>', page, re.S)
    assert bar, "no launch bar (Open in Colab / Download .ipynb) on the page"
    return dict(re.findall(r'<a class="fl-launch-button fl-(\w+)" href="([^"]+)"', bar.group(1)))


def _footer(page: str) -> str:
    m = re.search(r'<div class="fl-footer">(.*?)</div>', page, re.S)
    return re.sub(r"<[^>]+>", " ", m.group(1)) if m else ""


def check_page(page_file: Path, notebook_name: str) -> str:
    """What every notebook page must have; returns the page's HTML."""
    page = page_file.read_text()
    links = _links(page)
    assert links.get("colab") == book.notebook_links(notebook_name)["colab"], links
    for kind in ("download", "student"):
        assert links.get(kind), f"no {kind} link on {page_file.name}"
        target = page_file.parent / links[kind]
        assert target.exists(), f"{page_file.name}: its {kind} link points to a missing file {target.name}"
        nb = json.loads(target.read_text())
        assert nb["cells"], f"{target.name} is not a notebook"
    assert PREV.search(page) or NEXT.search(page), f"{page_file.name}: no previous/next links"
    footer = _footer(page)
    assert "fasdiff-lite" in footer and "MIT" in footer, f"{page_file.name}: footer without project or licence: {footer!r}"
    assert "©." not in page and "© Copyright ." not in page, f"{page_file.name}: an empty copyright line"
    assert "course.css" in page, f"{page_file.name} does not load the book's stylesheet"
    assert WIDGET_VIEW not in page, f"{page_file.name}: a widget left to JavaScript that a static page cannot run"
    return page


def check_stylesheet(html: Path) -> None:
    css = (html / "_static" / "course.css").read_text()
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S))
    wrap = [sel for sel, body in rules if "pre" in sel and re.search(r"white-space:\s*pre-wrap", body)]
    assert any("cell_input" in s for s in wrap) and any("cell_output" in s for s in wrap), \
        "code and printed outputs must wrap (white-space: pre-wrap), not be cut off"
    assert any("cell_output" in sel and re.search(r"overflow-x:\s*auto", body) for sel, body in rules), \
        "wide outputs (tables, pictures) must scroll sideways"
    assert any("img" in sel and re.search(r"max-width:\s*100%", body) for sel, body in rules), \
        "figures must fit the column"


# ------------------------------------------------------------------------------------ links, widgets
def test_links_come_from_the_one_repository_variable(monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import sync_notebooks
    finally:
        sys.path.remove(str(ROOT / "tools"))
    monkeypatch.setattr(settings, "GITHUB_REPOSITORY", "someone/fork")
    monkeypatch.setattr(settings, "GITHUB_BRANCH", "dev")
    links = book.notebook_links("07_x.ipynb")
    assert links["colab"] == sync_notebooks.colab_url("07_x.ipynb")  # the notebooks' badges say the same
    assert links["colab"] == "https://colab.research.google.com/github/someone/fork/blob/dev/notebooks/07_x.ipynb"
    assert links["github"] == "https://github.com/someone/fork/blob/dev/notebooks/07_x.ipynb"
    assert (links["download"], links["student"]) == ("07_x.ipynb", "07_x.student.ipynb")
    assert 'href="https://colab.research.google.com/github/someone/fork/' in book.launch_bar("07_x.ipynb")
    monkeypatch.setattr(settings, "GITHUB_REPOSITORY", "")
    links = book.notebook_links("07_x.ipynb")
    assert links["colab"] == "https://colab.research.google.com/" and links["github"] == ""
    assert "Upload notebook" in book.launch_bar("07_x.ipynb")  # says how to open it without a repository


def test_widget_html_draws_images_and_controls_as_they_were():
    png = "iVBORw0KGgo="
    models = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_d", "IPY_MODEL_i", "IPY_MODEL_h"]}},
        "s": {"model_name": "FloatSliderModel", "state": {"description": "rate", "value": 0.3, "min": 0, "max": 1,
                                                          "readout_format": ".2f"}},
        "d": {"model_name": "DropdownModel", "state": {"description": "face", "_options_labels": ["ann", "bob"], "index": 1}},
        "i": {"model_name": "ImageModel", "state": {"format": "png"}, "buffers": [{"path": ["value"], "data": png, "encoding": "base64"}]},
        "h": {"model_name": "HTMLModel", "state": {"value": "<b>22.79 dB</b>"}},
    }
    html = book.widget_html("box", models)
    assert f'src="data:image/png;base64,{png}"' in html
    assert "rate" in html and "0.30" in html and "bob" in html and "ann" not in html and "<b>22.79 dB</b>" in html
    assert book.widget_html("missing", models) == ""


# ------------------------------------------------------------------------------------ a small book
TINY = {
    "01_first.ipynb": [
        ("markdown", "# 01 · First\n\n<!-- badges (tools/sync_notebooks.py): none until GITHUB_REPOSITORY is set -->\n\nSome words."),
        ("code", f"# the install cell\nimport importlib.util\nimportlib.util.{INSTALL_MARK}", ["hide-input"]),
        ("code", textwrap.dedent("""\
            import tempfile, pathlib
            pathlib.Path("runs").mkdir(exist_ok=True); pathlib.Path("runs/left.txt").write_text("x")  # a relative write
            pathlib.Path(tempfile.mkdtemp(prefix="tiny-")).joinpath("t.txt").write_text("x")          # a temporary one
            print("a long printed line " + "with the number 22.79 dB at its end " * 6)""")),
        ("code", textwrap.dedent("""\
            import ipywidgets as W
            png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                "1f15c4890000000d49444154789c6360000002000005000157d0a5a90000000049454e44ae426082")
            slider = W.IntSlider(value=3, min=0, max=10, description="steps")
            box = W.VBox([slider, W.Image(value=png, format="png"), W.HTML("<i>caption at 3 steps</i>")])
            box""")),
        ("code", "slider.value = 7  # a later cell moves the widget: the book still shows it as its cell left it"),
        ("code", "from tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='counting'):\n    pass"),
    ],
    "02_second.ipynb": [("markdown", "# 02 · Second\n\nThe end."), ("code", "1 + 1")],
}


def _tiny_notebooks(folder: Path) -> Path:
    import nbformat

    folder.mkdir(parents=True)
    for name, cells in TINY.items():
        nb = nbformat.v4.new_notebook()
        for kind, text, *tags in cells:
            cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
            if tags:
                cell.metadata["tags"] = tags[0]
            nb.cells.append(cell)
        nbformat.write(nb, str(folder / name))
    return folder


@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    base = tmp_path_factory.mktemp("small")
    notebooks = _tiny_notebooks(base / "notebooks")
    before = sorted(p.relative_to(notebooks) for p in notebooks.rglob("*"))
    out = base / "build" / "book"
    runs = book.execute_for_book(notebooks, out, timeout=120)
    html = book.build_book(runs, out, sources=notebooks)
    return notebooks, before, out, html, runs


def test_small_book_writes_only_under_its_folder(small_book):
    notebooks, before, out, html, runs = small_book
    assert sorted(p.relative_to(notebooks) for p in notebooks.rglob("*")) == before, "the build wrote into the notebooks' folder"
    assert not (out / "tmp").exists() and not (out / "run").exists(), "the build's working copies must be removed"
    assert sorted(p.name for p in (out / "executed").glob("*.ipynb")) == sorted(TINY), "executed notebooks are kept for a rebuild"
    assert sorted(p.name for p in notebooks.parent.iterdir()) == ["build", "notebooks"]


def test_small_book_pages_read_like_a_course(small_book):
    notebooks, before, out, html, runs = small_book
    check_stylesheet(html)
    first = check_page(html / "notebooks" / "01_first.html", "01_first.ipynb")
    second = check_page(html / "notebooks" / "02_second.html", "02_second.ipynb")
    assert NEXT.search(first).group(1) == "02_second.html" and PREV.search(second).group(1) == "01_first.html"
    assert "<!-- badges" not in first
    # the install cell is folded: myst-nb's hide-input (a <details> around its code)
    cell = re.search(r'<div class="cell tag_hide-input[^"]*">(.*?)</details>', first, re.S)
    assert cell and "<summary" in cell.group(1), "the install cell's code must be folded (hide-input)"
    # the long printed line is all there, in an output that wraps (check_stylesheet): once in the code, 6 times printed
    assert first.count("with the number 22.79 dB at its end") == 1 + 6
    # the widget: a static picture of its first view (3 steps), no JavaScript widget left
    assert first.count('<div class="fl-widget">') == 1, "the widget's output is not a static picture"
    widget = first[first.index('<div class="fl-widget">'):]
    widget = widget[:widget.index('<div class="cell')]  # up to the next cell
    assert 'src="data:image/png;base64,' in widget and "caption at 3 steps" in widget
    assert "<b>3</b>" in widget and "<b>7</b>" not in widget
    assert "jupyter-widgets" not in first and "widget-state+json" not in first
    # a progress bar (a widget without controls) is drawn plain: no "interactive explorer" note on it
    bar = first[first.index('<div class="fl-widget fl-widget-plain">'):]
    bar = bar[:bar.index("</div>\n")]
    assert "counting" in bar and "fl-w-progress" in bar and "Interactive explorer" not in bar
    # the downloads: the notebook as committed (no outputs) and its student copy
    down = json.loads((html / "notebooks" / "01_first.ipynb").read_text())
    assert all(not c.get("outputs") for c in down["cells"] if c["cell_type"] == "code")


def test_small_book_checks_fail_on_a_broken_page(small_book, tmp_path):
    """The page checks can fail: a page without its launch bar, footer or prev/next links is refused."""
    notebooks, before, out, html, runs = small_book
    page = (html / "notebooks" / "01_first.html").read_text()
    for broken in (re.sub(r'<div class="fl-launch">.*?</div>', "", page, flags=re.S),
                   re.sub(r'<div class="fl-footer">.*?</div>', "<p>©.</p>", page, flags=re.S),
                   PREV.sub("<a ", NEXT.sub("<a ", page))):
        f = tmp_path / "01_first.html"
        f.write_text(broken)
        (tmp_path / "01_first.ipynb").write_text((html / "notebooks" / "01_first.ipynb").read_text())
        (tmp_path / "01_first.student.ipynb").write_text((html / "notebooks" / "01_first.student.ipynb").read_text())
        with pytest.raises(AssertionError):
            check_page(f, "01_first.ipynb")


# ------------------------------------------------------------------------------------ the real book
# Where a notebook's run could leave files in the checkout: its working folder (every relative path lands in
# notebooks/, e.g. notebooks/runs/) and the suite's output folder out/ (settings.REPO_DIR / "out"), less the folders
# of other tools that write there while the tests run (the fuzzer's, the browser test's). The rest of the checkout is
# left out on purpose: other jobs (training, fuzzing, regression data) add files there while the tests run.
_SCANNED = ("notebooks", "out")
_OTHER_TOOLS = {"out/fuzz", "out/browser"}
_CACHES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis"}


def _checkout_files() -> set[str]:
    """Every file, ignored ones included (a notebook's leftovers are gitignored), under the scanned folders."""
    import os

    found = set()
    for top in _SCANNED:
        for folder, dirs, files in os.walk(ROOT / top):
            rel = Path(folder).relative_to(ROOT)
            dirs[:] = [d for d in dirs if d not in _CACHES and str(rel / d) not in _OTHER_TOOLS]
            found |= {str(rel / f) for f in files}
    return found


# taken when pytest collects this module, before any test of the session runs a notebook
_BEFORE = _checkout_files()


@pytest.mark.notebook
def test_book_builds_with_every_notebook_and_its_figures(tmp_path):
    runs = [run_once(p) for p in NOTEBOOKS]  # a notebook error fails here, before Sphinx
    html = book.build_book(runs, tmp_path / "book", extra_pages=[ROOT / "notebooks" / "SYLLABUS.md"])
    assert (html / "index.html").exists() and (html / "SYLLABUS.html").exists()
    check_stylesheet(html)
    index = (html / "index.html").read_text()
    assert NEXT.search(index), "the front page has no link to the next page"
    for k, run in enumerate(runs):
        name, stem = run.path.name, run.path.stem
        page_file = html / "notebooks" / f"{stem}.html"
        assert page_file.exists(), f"no page for {name}"
        assert f"notebooks/{stem}.html" in index, f"{name} is not in the table of contents"
        page = check_page(page_file, name)
        assert PREV.search(page), f"{name}: no link to the previous page"
        if k + 1 < len(runs):
            assert NEXT.search(page).group(1) == f"{runs[k + 1].path.stem}.html", f"{name}: next is not the next notebook"
        n_figures = sum(1 for c in run.notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
        n_images = len(re.findall(r"<img [^>]*src=\"[^\"]+\.png\"", page))
        assert n_figures > 0, f"{name} drew no figure"
        assert n_images >= n_figures, f"{name}: {n_figures} figures in the run, {n_images} images on its page"
        n_widgets = sum(1 for c in run.notebook.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {}))
        drawn = re.findall(r'<div class="fl-widget( fl-widget-plain)?">', page)
        assert len(drawn) == n_widgets, f"{name}: {n_widgets} widgets, {len(drawn)} drawn statically"
        for explorer in page.split('<div class="fl-widget">')[1:]:  # the explorers (progress bars are plain)
            assert 'src="data:image/png;base64,' in explorer.split('<div class="cell')[0], f"{name}: an explorer without its picture"
        install = next(i for i, c in enumerate(run.notebook.cells) if c.cell_type == "code" and INSTALL_MARK in c.source)
        assert "hide-input" in run.notebook.cells[install].metadata.get("tags", [])
        assert re.search(r'<div class="cell tag_hide-input[^"]*">\s*<details', page), f"{name}: install cell not folded"
    # the runs and the build left no file in the checkout (notebooks/runs/, out/, ...) that was not there before
    left = sorted(_checkout_files() - _BEFORE)
    assert not left, f"the notebooks' runs or the build wrote into the checkout: {left[:10]}"

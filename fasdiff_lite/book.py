"""The course book: every notebook executed (FAST mode) and rendered with Sphinx + myst-nb, as a course reads.

``fasdiff-lite course --book DIR`` (``make book``): :func:`execute_for_book` runs the notebooks from a copy under
``DIR`` (nothing lands in the checkout), :func:`build_book` renders them with a launch bar per page ("open in Colab",
"download .ipynb", the student copy; :func:`notebook_links`), each widget's first view drawn as static HTML
(:func:`static_widgets`), and the theme's previous/next navigation and footer (``book/conf.py``). The notebooks'
solution and student copies, and running them with their exercise checks, are ``course.py``'s.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

from . import settings
from .course import WIDGET_STATE, WIDGET_VIEW, Run, _source, execute, notebooks, solution_source, student_notebook

BOOK_DIR = Path(__file__).resolve().parents[1] / "book"
COLAB = "https://colab.research.google.com"
# the badges line tools/sync_notebooks.py writes under each notebook's title: the book puts its own links there
_BADGES = re.compile(r"^(\[!\[Open in Colab\]\(.*|<!-- badges .*-->)\n?", re.M)


def notebook_links(name: str) -> dict:
    """Where a notebook opens and downloads from, for its page in the book. Built from the project's one repository
    variable, ``settings.GITHUB_REPOSITORY`` (with ``GITHUB_BRANCH``): the same one the notebooks' install cell and
    their Colab badges come from (``tools/sync_notebooks.py``). ``colab`` opens the notebook in Colab from GitHub
    (without a public repository: Colab's start page, where a downloaded notebook is uploaded); ``download`` and
    ``student`` are the book's own copies, beside the page (the solution copy without outputs, and the student copy);
    ``github`` the notebook's page on GitHub, or "" without a public repository."""
    repo, branch = settings.GITHUB_REPOSITORY, settings.GITHUB_BRANCH
    stem = Path(name).stem
    return {"colab": f"{COLAB}/github/{repo}/blob/{branch}/notebooks/{name}" if repo else f"{COLAB}/",
            "github": f"https://github.com/{repo}/blob/{branch}/notebooks/{name}" if repo else "",
            "download": f"{stem}.ipynb", "student": f"{stem}.student.ipynb"}


def launch_bar(name: str) -> str:
    """The row of links at the top of a notebook's page (raw HTML in the notebook's first markdown cell)."""
    from html import escape

    links = notebook_links(name)
    if links["github"]:
        colab_title, note = "Run this notebook in Google Colab", ""
    else:
        colab_title = "Open Colab, then File > Upload notebook with the .ipynb downloaded here"
        note = ("<span class=\"fl-launch-note\">no public repository yet: download the notebook, then in Colab "
                "<i>File › Upload notebook</i></span>")
    items = [f"<a class=\"fl-launch-button fl-colab\" href=\"{escape(links['colab'])}\" title=\"{colab_title}\" "
             "target=\"_blank\" rel=\"noopener\">Open in Colab</a>",
             f"<a class=\"fl-launch-button fl-download\" href=\"{escape(links['download'])}\" download "
             "title=\"the notebook as in the repository (solution copy, no outputs)\">Download .ipynb</a>",
             f"<a class=\"fl-launch-button fl-student\" href=\"{escape(links['student'])}\" download "
             "title=\"the student copy: answers blank, each check fails until the answer is right\">Student copy (.ipynb)</a>"]
    if links["github"]:
        items.append(f"<a class=\"fl-launch-button fl-github\" href=\"{escape(links['github'])}\">View on GitHub</a>")
    return f"<div class=\"fl-launch\">\n{' '.join(items)}{note}\n</div>"


# --- widgets: a static picture of each one's default view (a static page cannot run a widget)
def _widget_value(state: dict) -> str:
    from html import escape

    v, fmt = state.get("value"), state.get("readout_format") or ""
    try:
        text = format(v, fmt.lstrip("~")) if fmt and isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
    except (ValueError, TypeError):
        text = str(v)
    return escape(text)


def widget_html(model_id: str, models: dict, depth: int = 0) -> str:
    """Static HTML of one widget as it was shown, from Jupyter's widget state (``models``: model id -> entry of
    ``metadata.widgets[WIDGET_STATE]["state"]``): its images (PNG), HTML and labels as they were, its controls
    drawn disabled at their values. Anything else draws nothing."""
    from html import escape

    entry = models.get(model_id)
    if entry is None or depth > 40:
        return ""
    st, kind = entry.get("state", {}), (entry.get("model_name") or entry.get("state", {}).get("_model_name") or "")
    desc = escape(str(st.get("description") or ""))
    label = f"<span class=\"fl-w-desc\">{desc}</span>" if desc else ""

    def children() -> str:
        return "".join(widget_html(ref.removeprefix("IPY_MODEL_"), models, depth + 1) for ref in st.get("children", []))

    if kind in ("VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "StackModel"):
        return f"<div class=\"fl-w-vbox\">{children()}</div>"
    if kind in ("HBoxModel", "TabModel"):
        return f"<div class=\"fl-w-hbox\">{children()}</div>"
    if kind == "ImageModel":
        data = next((b["data"] for b in entry.get("buffers", []) if b.get("path") == ["value"]), None)
        if not data:
            return ""
        fmt = escape(str(st.get("format") or "png"))
        size = "".join(f" {k}=\"{escape(str(st[k]))}\"" for k in ("width", "height") if st.get(k))
        return f"<img class=\"fl-w-image\" src=\"data:image/{fmt};base64,{data}\"{size} alt=\"{desc or 'widget image'}\">"
    if kind in ("HTMLModel", "HTMLMathModel"):
        return f"<div class=\"fl-w-html\">{label}{st.get('value') or ''}</div>"
    if kind == "LabelModel":
        return f"<span class=\"fl-w-label\">{escape(str(st.get('value') or ''))}</span>"
    if kind in ("IntProgressModel", "FloatProgressModel"):  # e.g. tqdm's progress bars, as the cell left them
        lo, hi, v = float(st.get("min", 0)), float(st.get("max", 1)), float(st.get("value", 0))
        frac = min(max((v - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.0
        return (f"<span class=\"fl-w-control\">{label}<span class=\"fl-w-track fl-w-progress\">"
                f"<span class=\"fl-w-fill\" style=\"width:{100 * frac:.0f}%\"></span></span></span>")
    if kind.endswith("SliderModel") or kind in ("IntTextModel", "FloatTextModel", "BoundedIntTextModel",
                                                  "BoundedFloatTextModel", "TextModel"):
        value = st.get("value")
        if isinstance(value, list):  # range sliders
            shown = " – ".join(_widget_value({**st, "value": v}) for v in value)
        else:
            shown = _widget_value(st)
        bar = ""
        if kind.endswith("SliderModel") and not isinstance(value, list) and st.get("max") != st.get("min"):
            lo, hi = float(st.get("min", 0)), float(st.get("max", 1))
            frac = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.0
            bar = f"<span class=\"fl-w-track\"><span class=\"fl-w-fill\" style=\"width:{100 * frac:.0f}%\"></span></span>"
        return f"<span class=\"fl-w-control\">{label}{bar}<b>{shown}</b></span>"
    if kind in ("DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel", "SelectionSliderModel"):
        labels, index = st.get("_options_labels", []), st.get("index")
        if kind == "ToggleButtonsModel":
            buttons = "".join(f"<span class=\"fl-w-toggle{' on' if j == index else ''}\">{escape(str(l))}</span>"
                              for j, l in enumerate(labels))
            return f"<span class=\"fl-w-control\">{label}{buttons}</span>"
        chosen = escape(str(labels[index])) if isinstance(index, int) and 0 <= index < len(labels) else ""
        return f"<span class=\"fl-w-control\">{label}<span class=\"fl-w-select\">{chosen} ▾</span></span>"
    if kind in ("CheckboxModel", "ToggleButtonModel"):
        return f"<span class=\"fl-w-control\"><span class=\"fl-w-check\">{'☑' if st.get('value') else '☐'}</span>{desc}</span>"
    if kind == "ButtonModel":
        return f"<span class=\"fl-w-button\">{desc}</span>"
    if kind == "OutputModel":
        parts = []
        for o in st.get("outputs", []):
            d = o.get("data", {})
            if "image/png" in d:
                parts.append(f"<img class=\"fl-w-image\" src=\"data:image/png;base64,{d['image/png']}\" alt=\"output\">")
            elif "text/html" in d:
                parts.append(_text(d["text/html"]))
            elif o.get("output_type") == "stream" or "text/plain" in d:
                parts.append(f"<pre>{escape(_text(o.get('text') or d.get('text/plain', '')))}</pre>")
        return f"<div class=\"fl-w-vbox\">{''.join(parts)}</div>"
    return ""


def _text(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


WIDGET_NOTE = ("<div class=\"fl-widget-note\"><b>Interactive explorer</b>: a static picture of its first view. Run "
               "the notebook (Colab or Jupyter) to move its controls.</div>")
# the widgets a reader would try to move: a widget made of none of them (a progress bar) is drawn without the note
_CONTROLS = re.compile(r"(Slider|Dropdown|Select|RadioButtons|ToggleButtons?|Checkbox|Button|Text|Play|Picker)Model$")


def _has_controls(model_id: str, models: dict, depth: int = 0) -> bool:
    entry = models.get(model_id) or {}
    if _CONTROLS.search(entry.get("model_name") or "") or depth > 40:
        return bool(entry)
    return any(_has_controls(ref.removeprefix("IPY_MODEL_"), models, depth + 1)
               for ref in entry.get("state", {}).get("children", []))


def static_widgets(nb) -> int:
    """Replace every widget output of an executed notebook by a static HTML picture of the widget as its cell
    showed it (drawn from ``nb.metadata.widgets``, which :func:`execute` fills), and drop the widget state (the page
    then loads no widget JavaScript). A widget without a recorded state gets a line that says to run the notebook.
    Returns how many widget outputs were replaced."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            mid = data[WIDGET_VIEW].get("model_id", "")
            body = widget_html(mid, models)
            if not body:
                body = "<p>(its picture was not recorded: run the notebook to see it)</p>"
            if body and mid in models and not _has_controls(mid, models):
                out["data"] = {"text/html": f"<div class=\"fl-widget fl-widget-plain\">{body}</div>"}
            else:
                out["data"] = {"text/html": f"<div class=\"fl-widget\">{WIDGET_NOTE}{body}</div>"}
            out.get("metadata", {}).pop(WIDGET_VIEW, None)
            n += 1
    nb.metadata.pop("widgets", None)
    return n


def _book_page(nb, name: str) -> None:
    """An executed notebook as its book page shows it: without the kit's markup, widgets as static pictures, and
    the links to open or download it under its title."""
    for cell in nb.cells:  # the book shows the solutions without the kit's markup
        if cell.cell_type in ("code", "markdown"):
            cell["source"] = solution_source(_source(cell))
    static_widgets(nb)
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is not None:
        text = _BADGES.sub("", first["source"])
        head, nl, rest = text.partition("\n")
        if head.lstrip().startswith("# "):
            first["source"] = f"{head}\n\n{launch_bar(name)}\n\n{rest.lstrip(chr(10))}".rstrip("\n")
        else:
            first["source"] = f"{launch_bar(name)}\n\n{text}"


def build_book(executed: list[Path] | list, out_dir, book_dir=BOOK_DIR, extra_pages=(), sources=None) -> Path:
    """Build the course book (Sphinx + myst-nb, no execution: the notebooks come executed) into ``out_dir``/html.
    ``executed``: executed notebook files (or :class:`Run` objects; a notebook error has already stopped things in
    :func:`execute`). ``sources``: the folder of the notebooks as committed (default: the repository's
    ``notebooks/``), whose copies (solution, and the student copy) each page offers for download. Sphinx warnings
    are printed, not fatal; a Sphinx error raises RuntimeError. Writes only under ``out_dir``. Returns the HTML
    folder."""
    import nbformat

    out = Path(out_dir)
    sources = Path(sources) if sources is not None else BOOK_DIR.parent / "notebooks"
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(book_dir, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "notebooks").mkdir(exist_ok=True)
    downloads = src / "_extra" / "notebooks"  # html_extra_path: copied beside the pages
    downloads.mkdir(parents=True, exist_ok=True)
    names = []
    for item in executed:
        if isinstance(item, Run):
            nb, name = copy.deepcopy(item.notebook), item.path.name
        else:
            nb, name = nbformat.read(str(item), as_version=4), Path(item).name
        _book_page(nb, name)
        nbformat.write(nb, str(src / "notebooks" / name))
        clean = sources / name
        if clean.exists():
            shutil.copy(clean, downloads / name)
            nbformat.write(student_notebook(clean), str(downloads / f"{Path(name).stem}.student.ipynb"))
        names.append(Path(name).stem)
    for page in extra_pages:
        shutil.copy(page, src / Path(page).name)
    index = src / "index.md"
    index.write_text(index.read_text().replace("{notebooks}", "\n".join(f"notebooks/{n}" for n in names)))
    from sphinx.cmd.build import build_main

    html = out / "html"
    rc = build_main(["-b", "html", "-q", "-d", str(out / "doctrees"), str(src), str(html)])
    if rc != 0:
        raise RuntimeError(f"sphinx-build failed (exit {rc}): see the messages above")
    return html


def execute_for_book(notebook_dir, out_dir, timeout: int = 600) -> list[Run]:
    """Run every notebook of ``notebook_dir`` for the book, from a copy under ``out_dir``/run (the kernel's working
    folder) with ``TMPDIR`` under ``out_dir`` too, so whatever a notebook writes lands under ``out_dir``, never in
    the checkout; the temporary files are removed afterwards. Each executed notebook (outputs and widget states) is
    saved to ``out_dir``/executed, from which :func:`build_book` can run again without executing anything. Raises
    on the first notebook error or exercise problem."""
    import nbformat

    out = Path(out_dir)
    work, tmp, saved = out / "run", out / "tmp", out / "executed"
    for d in (work, tmp, saved):
        if d.exists():
            shutil.rmtree(d)
    shutil.copytree(notebook_dir, work, ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints", "__pycache__"))
    tmp.mkdir(parents=True)
    saved.mkdir(parents=True)
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp.resolve())  # the kernels inherit it
    runs = []
    try:
        for path in notebooks(work):
            run = execute(path, timeout=timeout)
            bad = run.problems()
            print(f"{path.name:45s} {run.seconds:6.1f} s, {len(run.exercises)} checked exercises"
                  + (f"; PROBLEMS: {bad}" if bad else ""), flush=True)
            if bad:
                raise RuntimeError(f"{path.name}: " + "; ".join(bad))
            nbformat.write(run.notebook, str(saved / path.name))
            runs.append(run)
    finally:
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return runs

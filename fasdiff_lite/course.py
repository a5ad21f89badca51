"""The teaching kit: solution and student copies of the notebooks from one source.

The notebooks in ``notebooks/`` are the **solution** copies. They follow nbgrader's convention:

* in a code cell, each answer is wrapped in lines ``### BEGIN SOLUTION`` / ``### END SOLUTION``; the code after
  the region is the exercise's **check** (plain ``assert`` statements);
* in a markdown cell, an instructor's rubric (for open questions, which get no fake assert) is wrapped in
  ``<!-- BEGIN SOLUTION -->`` / ``<!-- END SOLUTION -->``.

:func:`student_notebook` makes the student copy: each code region becomes a placeholder that keeps the cell
runnable up to its check (every name the answer binds is set to ``None``, every function it defines returns
``None``), so the check runs and fails with an ``AssertionError`` until the student writes the answer; rubric
regions are dropped. :func:`exercises` lists the exercises; :func:`execute` runs a notebook once in one kernel and,
at each exercise, runs the student version of its cells first (its check must fail) and then the solution (it must
pass). ``fasdiff-lite course`` is the command line for all of it.
"""
from __future__ import annotations

import ast
import copy
import json
import os
import re
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# nbformat, nbclient and sphinx (the dev and book extras, not dependencies of the suite) are imported where they
# are used, so the rest of the kit works without them.

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
PLACEHOLDER = "# YOUR CODE HERE"
# How the exercises work, as the solution copies say it; the student copy says it in a student's words instead.
SOLUTION_NOTE = (
    "In the **solution copy** (this file) each answer sits between `### BEGIN SOLUTION` and `### END SOLUTION`, followed\n"
    "by its check. In the **student copy** (`fasdiff-lite course --student out/`) the answer is blank (`# YOUR CODE HERE`,\n"
    "its names set to `None`): run the cell and the check fails with an `AssertionError` until your answer is right.\n"
    "Open questions have no check; the solution copy gives the instructor a rubric for them.")
STUDENT_NOTE = (
    "Each exercise cell holds a blank for your answer (`# YOUR CODE HERE`, its names set to `None`) and, after it, a\n"
    "check. Write your answer in place of the blank and run the cell: the check fails with an `AssertionError` until\n"
    "your answer is right. Open questions have no check: answer them in a cell of your own below the question.")
EXERCISE_RE = re.compile(r"\*\*Exercise\s+(\d+)([^*]*)\*\*")
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


_LOOKS_LIKE_MARKER = {False: re.compile(r"^#+\s*(BEGIN|END)\s*SOLUTION", re.I),
                      True: re.compile(r"^<!--\s*(BEGIN|END)\s*SOLUTION", re.I)}


class MarkerError(ValueError):
    """Solution markers that do not pair up, or a region the student copy cannot be made from."""


@dataclass
class Exercise:
    notebook: str
    number: int
    title: str
    cells: list = field(default_factory=list)  # indices of code cells holding a solution region (checked exercise)
    rubric_cells: list = field(default_factory=list)  # indices of markdown cells holding a rubric (open exercise)

    @property
    def kind(self) -> str:
        return "checked" if self.cells else ("open, rubric" if self.rubric_cells else "open, no rubric")

    @property
    def label(self) -> str:
        return f"{Path(self.notebook).stem} ex{self.number}"


# ------------------------------------------------------------------------------------------- markers
def _source(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def regions(text: str, begin: str = BEGIN, end: str = END, where: str = "cell") -> list[tuple[int, int]]:
    """(first, last) line numbers (0-based, inclusive) of each BEGIN…END marker pair in ``text``.
    Raises :class:`MarkerError` on an unpaired, nested or empty region."""
    out, start = [], None
    for i, line in enumerate(text.splitlines()):
        s = line.strip()
        if s == begin:
            if start is not None:
                raise MarkerError(f"{where}, line {i + 1}: {begin!r} inside another region (opened at line {start + 1})")
            start = i
        elif s == end:
            if start is None:
                raise MarkerError(f"{where}, line {i + 1}: {end!r} without a {begin!r} before it")
            if i == start + 1:
                raise MarkerError(f"{where}, line {start + 1}: empty solution region")
            out.append((start, i))
            start = None
        elif _LOOKS_LIKE_MARKER[begin.startswith("<")].match(s):
            raise MarkerError(f"{where}, line {i + 1}: malformed marker {s!r} (write exactly {begin!r} or {end!r})")
    if start is not None:
        raise MarkerError(f"{where}, line {start + 1}: {begin!r} without a matching {end!r}")
    return out


def placeholder(answer: str) -> str:
    """The student's blank for one answer region (its text without the markers, indented as in the cell): every
    name the answer binds is set to None, every function it defines keeps its signature and returns None, a
    ``return`` returns None, imports stay. So the cell runs up to its check, which then fails."""
    indent = re.match(r"[ \t]*", next((ln for ln in answer.splitlines() if ln.strip()), "")).group(0)
    body = textwrap.dedent(answer)
    try:
        tree = ast.parse(body)
    except SyntaxError as e:
        raise MarkerError(f"a solution region must hold complete statements: {e.msg} at its line {e.lineno}") from None
    lines, names = [PLACEHOLDER], []

    def bind(target):
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and node.id not in names:
                names.append(node.id)

    returns = False
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            blank = copy.deepcopy(stmt)
            doc = ast.get_docstring(stmt, clean=False)
            blank.body = ([ast.Expr(ast.Constant(doc))] if doc else []) + [ast.Return(ast.Constant(None))]
            blank.decorator_list = stmt.decorator_list
            lines += ast.unparse(blank).splitlines()
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            lines.append(ast.unparse(stmt))
        elif isinstance(stmt, ast.Return):
            returns = True
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                if isinstance(t, (ast.Name, ast.Tuple, ast.List)):
                    bind(t)
        else:  # loops, ifs, with: every plain name they assign
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
                    names.append(node.id)
                if isinstance(node, ast.Return):
                    returns = True
    if returns:  # the answer is a function body: its locals need no placeholder
        lines.append("return None")
    else:
        lines += [f"{n} = None" for n in names]
    return "\n".join(indent + ln if ln else ln for ln in lines)


def student_source(text: str, where: str = "cell") -> str:
    """A code cell's text with each solution region replaced by its placeholder."""
    spans = regions(text, where=where)
    if not spans:
        return text
    src = text.splitlines()
    out, pos = [], 0
    for a, b in spans:
        out += src[pos:a]
        try:
            out += placeholder("\n".join(src[a + 1 : b])).splitlines()
        except MarkerError as e:
            raise MarkerError(f"{where}, lines {a + 1}–{b + 1}: {e}") from None
        pos = b + 1
    out += src[pos:]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def student_markdown(text: str, where: str = "cell") -> str:
    """A markdown cell's text without its rubric regions."""
    spans = regions(text, MD_BEGIN, MD_END, where=where)
    src = text.splitlines()
    drop = {i for a, b in spans for i in range(a, b + 1)}
    return "\n".join(ln for i, ln in enumerate(src) if i not in drop).strip("\n")


def solution_source(text: str) -> str:
    """The text with the marker lines removed (what the answer looks like without the kit's markup)."""
    return "\n".join(ln for ln in text.splitlines() if ln.strip() not in (BEGIN, END, MD_BEGIN, MD_END))


# ------------------------------------------------------------------------------------------- notebooks
def _read(nb_or_path):
    import nbformat

    if isinstance(nb_or_path, (str, Path)):
        return nbformat.read(str(nb_or_path), as_version=4), Path(nb_or_path).name
    return nb_or_path, nb_or_path.get("metadata", {}).get("name", "notebook")


def exercises(nb_or_path) -> list[Exercise]:
    """The exercises of a notebook, in order. An exercise starts at a markdown cell with ``**Exercise N …**``; the
    code cells with solution regions and the markdown cells with rubrics that follow belong to it."""
    nb, name = _read(nb_or_path)
    found: list[Exercise] = []
    for i, cell in enumerate(nb.cells):
        text = _source(cell)
        where = f"{name} cell {i}"
        if cell.cell_type == "markdown":
            for m in EXERCISE_RE.finditer(text):
                found.append(Exercise(name, int(m.group(1)), m.group(2).strip(" .:—–-")))
            if regions(text, MD_BEGIN, MD_END, where=where):
                if not found:
                    raise MarkerError(f"{where}: a rubric before any **Exercise N** statement")
                found[-1].rubric_cells.append(i)
        elif cell.cell_type == "code" and regions(text, where=where):
            if not found:
                raise MarkerError(f"{where}: a solution region before any **Exercise N** statement")
            student_source(text, where=where)  # raises on a region the student copy cannot be made from
            found[-1].cells.append(i)
    return found


def student_notebook(nb_or_path):
    """The student copy: solution regions replaced by placeholders, rubrics dropped (a cell left empty by that
    is removed), the solution copy's note on how the exercises work (:data:`SOLUTION_NOTE`) put in a student's
    words (:data:`STUDENT_NOTE`), outputs cleared."""
    nb, name = _read(nb_or_path)
    nb = copy.deepcopy(nb)
    exercises(nb)  # validates every marker first
    cells = []
    for i, cell in enumerate(nb.cells):
        text, where = _source(cell), f"{name} cell {i}"
        if cell.cell_type == "code":
            cell["source"] = student_source(text, where=where)
            cell["outputs"], cell["execution_count"] = [], None
        elif cell.cell_type == "markdown":
            if MD_BEGIN in text:
                text = student_markdown(text, where=where)
                if not text.strip():
                    continue
            cell["source"] = text.replace(SOLUTION_NOTE, STUDENT_NOTE)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def notebooks(folder) -> list[Path]:
    return sorted(Path(folder).glob(NOTEBOOK_GLOB))


def write_student_copies(src_folder, out_folder, force: bool = False) -> list[Path]:
    """Write the student copy of every notebook in ``src_folder`` to ``out_folder``. Refuses to overwrite an
    existing file unless ``force``."""
    import nbformat

    paths = notebooks(src_folder)
    if not paths:
        raise FileNotFoundError(f"no notebooks ({NOTEBOOK_GLOB}) in {src_folder}")
    out = Path(out_folder)
    if out.exists() and out.resolve() == Path(src_folder).resolve():
        raise ValueError(f"{out} holds the solution notebooks: write the student copies somewhere else")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder")
    targets = [out / p.name for p in paths]
    there = [t for t in targets if t.exists()]
    if there and not force:
        raise ValueError(f"{len(there)} notebook(s) already in {out}, e.g. {there[0].name}; pass --force to overwrite them")
    copies = [student_notebook(p) for p in paths]  # all validated before anything is written
    out.mkdir(parents=True, exist_ok=True)
    for nb, t in zip(copies, targets):
        nbformat.write(nb, str(t))
    return targets


# ------------------------------------------------------------------------------------------- execution
@dataclass
class Run:
    """What :func:`execute` did to one notebook."""

    path: Path
    notebook: object  # the executed solution notebook, with outputs
    seconds: float
    exercises: list  # (Exercise, student outcome: the error name or "passed", solution outcome: "passed")
    titles: list = field(default_factory=list)  # every figure/axes title drawn (when record_titles)

    def problems(self) -> list[str]:
        return [f"{ex.label}: blank answer's check gave {st!r} (expected AssertionError)"
                for ex, st, _ in self.exercises if st != "AssertionError"]

    def slowest_cells(self, n: int = 3) -> str:
        timed = []
        for i, cell in enumerate(self.notebook.cells):
            t = cell.get("metadata", {}).get("execution", {})
            if "iopub.execute_input" in t and "shell.execute_reply" in t:
                a, b = (datetime.fromisoformat(t[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
                timed.append(((b - a).total_seconds(), i, _source(cell).strip().splitlines()[0][:50]))
        return "; ".join(f"cell {i} {s:.0f} s ({first!r})" for s, i, first in sorted(timed, reverse=True)[:n])


_RECORD_TITLES = """
import matplotlib.axes as _ma, matplotlib.figure as _mf
_course_titles = []
def _course_wrap(cls, name):
    orig = getattr(cls, name)
    def wrapped(self, label=None, *a, **k):
        if isinstance(label, str) and label: _course_titles.append(label)
        return orig(self, label, *a, **k) if label is not None else orig(self, *a, **k)
    setattr(cls, name, wrapped)
_course_wrap(_ma.Axes, "set_title"); _course_wrap(_mf.Figure, "suptitle")
"""


def _run_scratch(client, source: str, index: int):
    """Run ``source`` in the client's kernel as if it were cell ``index``, leaving the notebook untouched
    (nbclient writes the executed cell back into ``nb.cells[index]``). Returns the scratch cell."""
    import nbformat

    cells = client.nb.cells
    saved = cells[index]
    scratch = nbformat.v4.new_code_cell(source)
    try:
        client.execute_cell(scratch, index, store_history=False)
    finally:
        cells[index] = saved
    return scratch


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _keep_widget_views(client, cell, shown: dict) -> None:
    """After ``cell`` ran: copy the state of every widget it displayed (and of the widgets inside it) into
    ``shown``, as it is now. Later cells may move the widget; the book shows it as its cell left it."""
    todo = [o["data"][WIDGET_VIEW]["model_id"] for o in cell.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {}) and "model_id" in o["data"][WIDGET_VIEW]]
    while todo:
        mid = todo.pop()
        state = client.widget_state.get(mid)
        if mid in shown or not state:
            continue
        entry = {"model_name": state.get("_model_name"), "model_module": state.get("_model_module"),
                 "model_module_version": state.get("_model_module_version"), "state": copy.deepcopy(state)}
        buffers = client.widget_buffers.get(mid)
        if buffers:
            entry["buffers"] = copy.deepcopy(list(buffers.values()))
        shown[mid] = entry
        for ref in re.findall(r"IPY_MODEL_([\w-]+)", json.dumps(state)):
            todo.append(ref)


def execute(path, timeout: int = 600, check_exercises: bool = True, record_titles: bool = False,
            kernel_name: str = "python3") -> Run:
    """Run a notebook once, top to bottom, in one kernel (the environment, e.g. FASDIFF_FAST, is inherited).
    At each checked exercise the student version of its cells runs first; its outcome (the name of the error it
    raised, or "passed") is recorded, then the solution cells run as part of the notebook and must pass. Any error
    in a solution cell raises nbclient's CellExecutionError."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    first_cell = {}
    for ex in exercises(nb) if check_exercises else []:
        ex.notebook = path.name
        if ex.cells:
            first_cell[ex.cells[0]] = ex
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent)}})
    outcomes, titles = [], []
    shown: dict = {}  # widget model id -> its state when the cell that displayed it finished (the default view)
    t0 = time.perf_counter()
    # the kernel inherits this environment, except that figures are always drawn inline (kept as outputs)
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    with client.setup_kernel(env=env):
        if record_titles:
            _run_scratch(client, _RECORD_TITLES, 0)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if i in first_cell:
                ex = first_cell[i]
                outcome = "passed"
                for j in ex.cells:
                    try:
                        _run_scratch(client, student_source(_source(nb.cells[j])), j)
                    except CellExecutionError as e:
                        outcome = e.ename
                        break
                outcomes.append([ex, outcome, None])
            client.execute_cell(cell, i)
            _keep_widget_views(client, cell, shown)
            for o in outcomes:
                if o[2] is None and i == o[0].cells[-1]:
                    o[2] = "passed"
        if record_titles:
            probe = _run_scratch(client, "import json as _j; print(_j.dumps(_course_titles))", len(nb.cells) - 1)
            text = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
            titles = json.loads(text.strip() or "[]")
    took = time.perf_counter() - t0
    if shown:  # the widgets as first shown, in Jupyter's widget-state format: the book draws them from it
        nb.metadata["widgets"] = {WIDGET_STATE: {"state": shown, "version_major": 2, "version_minor": 0}}
    return Run(path, nb, took, [tuple(o) for o in outcomes], titles)

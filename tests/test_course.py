"""The teaching kit (``fasdiff_lite/course.py``, ``fasdiff-lite course``): student copies made from the solution
notebooks, with every exercise's check failing on the blank answer and passing on the solution; rubrics for the
open questions; and face counts that the notebooks' outputs can back."""
import re

import nbformat
import pytest

from fasdiff_lite import cli, course, data, settings
from tests.test_notebooks import NOTEBOOKS, ROOT, run_once

COURSE_NOTEBOOKS = [p for p in NOTEBOOKS if "01" <= p.name[:2] <= "09"]


# ------------------------------------------------------------------ course.py on a tiny synthetic notebook
def tiny_notebook(code: str, rubric: str | None = None):
    cells = [nbformat.v4.new_markdown_cell("## Exercises\n\n**Exercise 1: add.** Set `total` to 2 + 3."),
             nbformat.v4.new_code_cell(code)]
    if rubric is not None:
        cells += [nbformat.v4.new_markdown_cell("**Exercise 2 (open).** Why?"), nbformat.v4.new_markdown_cell(rubric)]
    return nbformat.v4.new_notebook(cells=cells)


SOLVED = """x = 2
### BEGIN SOLUTION
total = x + 3
### END SOLUTION
assert total is not None, "set total"
assert total == 5, "not the sum"
"""

FUNCTION = """def area(w, h):
    ### BEGIN SOLUTION
    a = w * h
    return a
    ### END SOLUTION


assert area(2, 3) == 6, "not the area"
"""


def run_code(src: str) -> str:
    """'passed' or the name of the exception the code raises."""
    try:
        exec(compile(src, "<cell>", "exec"), {})
    except Exception as e:  # noqa: BLE001
        return type(e).__name__
    return "passed"


def test_blank_answer_fails_its_check_and_the_solution_passes():
    nb = tiny_notebook(SOLVED)
    student = course.student_notebook(nb)
    code = student.cells[1].source
    assert "### BEGIN SOLUTION" not in code and "x + 3" not in code and course.PLACEHOLDER in code
    assert "total = None" in code and "x = 2" in code
    assert run_code(code) == "AssertionError"
    assert run_code(nb.cells[1].source) == "passed"
    wrong = SOLVED.replace("x + 3", "x * 3")  # a plausible wrong answer
    assert run_code(wrong) == "AssertionError"


def test_function_answer_keeps_its_signature_and_returns_none():
    code = course.student_source(FUNCTION)
    assert "def area(w, h):" in code and "return None" in code and "w * h" not in code and "a = None" not in code
    assert run_code(code) == "AssertionError"
    assert run_code(FUNCTION) == "passed"


def test_exercises_are_found_and_rubrics_dropped():
    rubric = "<!-- BEGIN SOLUTION -->\n**Rubric.** Full marks for a reason.\n<!-- END SOLUTION -->"
    nb = tiny_notebook(SOLVED, rubric=rubric)
    exs = course.exercises(nb)
    assert [(e.number, e.kind) for e in exs] == [(1, "checked"), (2, "open, rubric")]
    assert exs[0].title == "add" and exs[0].cells == [1] and exs[1].rubric_cells == [3]
    student = course.student_notebook(nb)
    assert len(student.cells) == 3 and not any("Rubric" in c.source for c in student.cells)
    mixed = tiny_notebook(SOLVED, rubric="Keep this.\n" + rubric + "\nAnd this.")
    assert course.student_notebook(mixed).cells[3].source == "Keep this.\nAnd this."


@pytest.mark.parametrize("code, message", [
    ("### BEGIN SOLUTION\ntotal = 5\n", "without a matching"),
    ("total = 5\n### END SOLUTION\n", "without a '### BEGIN SOLUTION' before it"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\ntotal = 5\n### END SOLUTION\n", "inside another region"),
    ("### BEGIN SOLUTION\n### END SOLUTION\n", "empty solution region"),
    ("## BEGIN SOLUTION\ntotal = 5\n### END SOLUTION\n", "malformed marker"),
    ("### BEGIN SOLUTION\nif True:\n### END SOLUTION\n    total = 5\n", "complete statements"),
])
def test_malformed_markers_give_a_clear_error(code, message):
    with pytest.raises(course.MarkerError, match=re.escape(message)):
        course.student_notebook(tiny_notebook(code))


def test_solution_before_any_exercise_is_an_error():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOLVED)])
    with pytest.raises(course.MarkerError, match="before any"):
        course.exercises(nb)


def test_command_writes_student_copies_and_never_overwrites(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(tiny_notebook(SOLVED), str(src / "01_tiny.ipynb"))
    out = tmp_path / "student"
    assert cli.main(["course", "--notebooks", str(src), "--student", str(out)]) == 0
    written = nbformat.read(str(out / "01_tiny.ipynb"), as_version=4)
    assert course.PLACEHOLDER in written.cells[1].source
    assert cli.main(["course", "--notebooks", str(src), "--student", str(out)]) == 1  # exists: refused
    assert "--force" in capsys.readouterr().err
    assert cli.main(["course", "--notebooks", str(src), "--student", str(out), "--force"]) == 0
    assert cli.main(["course", "--notebooks", str(src), "--student", str(src), "--force"]) == 1  # never the sources
    assert cli.main(["course", "--notebooks", str(src), "--list"]) == 0
    assert "exercise 1" in capsys.readouterr().out


# ------------------------------------------------------------------ the real notebooks
def test_student_copies_of_the_notebooks_hold_no_solution(tmp_path):
    written = course.write_student_copies(ROOT / "notebooks", tmp_path)
    assert len(written) == len(NOTEBOOKS)
    for path in written:
        nb = nbformat.read(str(path), as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        markers = {course.BEGIN, course.END, course.MD_BEGIN, course.MD_END}
        assert not [ln for ln in text.splitlines() if ln.strip() in markers], path.name
        assert "Rubric (instructors)" not in text, path.name
        src = nbformat.read(str(ROOT / "notebooks" / path.name), as_version=4)
        assert src.cells[0].source == nb.cells[0].source  # the first cells (badge, setup) are left alone
        assert "solution copy** (this file)" not in text, f"{path.name}: the student copy says it is the solution copy"
        if course.SOLUTION_NOTE in "\n".join(c.source for c in src.cells):
            assert course.STUDENT_NOTE in text, f"{path.name}: the note on how exercises work is not in a student's words"


def test_the_solution_note_is_found_where_the_notebooks_explain_the_exercises():
    """The student copy's note replaces the solution copy's word for word: a notebook whose exercise section says it
    another way would keep "(this file)" in the student copy."""
    for path in COURSE_NOTEBOOKS:
        text = "\n".join(c.source for c in nbformat.read(str(path), as_version=4).cells)
        if "solution copy** (this file)" in text:
            assert course.SOLUTION_NOTE in text, f"{path.name}: reword its note exactly as course.SOLUTION_NOTE"


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=[p.stem for p in COURSE_NOTEBOOKS])
def test_every_exercise_has_a_title(path):
    """`fasdiff-lite course --list` shows a title for each exercise, not a blank or only "(open)"."""
    for ex in course.exercises(path):
        assert re.sub(r"^\([^)]*\)[:\s]*", "", ex.title).strip(), f"{ex.label}: no title after **Exercise {ex.number}"


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=[p.stem for p in COURSE_NOTEBOOKS])
def test_every_open_exercise_has_a_rubric(path):
    exs = course.exercises(path)
    if path.name[:2] != "09":
        assert any(e.cells for e in exs), "no checked exercise"
    assert not [e.label for e in exs if e.kind == "open, no rubric"], "an open exercise without a rubric"


@pytest.mark.notebook
@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=[p.stem for p in COURSE_NOTEBOOKS])
def test_each_check_fails_blank_and_passes_solved(path):
    """The notebook's one FAST run (shared with test_notebooks): at every checked exercise the student's blank
    answer ran first and its check raised AssertionError, then the solution ran and passed."""
    run = run_once(path)
    checked = [e for e in course.exercises(path) if e.cells]
    assert [e.number for e, _, _ in run.exercises] == [e.number for e in checked]
    assert not run.problems(), run.problems()
    assert all(solved == "passed" for _, _, solved in run.exercises)


# ------------------------------------------------------------------ data honesty: face counts
COUNT_RE = re.compile(r"(?<![×x*/.,\d])\b(\d{1,3}(?:,\d{3})+|\d+) +((?:held-out|validation|shared|sample) +)*faces\b",
                      re.I)  # "12 faces", "22,991 faces", not "64×64 face"
TRAINED_ON = re.compile(r"\btrained\b[^\n]*\bon\s*$")  # "... trained 30,000 steps on": a shipped model's training set


def face_claims(run) -> list[tuple[int, str]]:
    """(count, words) for every "N … faces" in the run's figure titles and printed outputs, except the size of a
    shipped model's training set ("... trained ... on 22,991 faces", read from its files: not faces on this machine)."""
    texts = list(run.titles)
    for cell in run.notebook.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if out.get("output_type") == "stream" else out.get("data", {}).get("text/plain", ""))
    return [(int(m.group(1).replace(",", "")), m.group(0)) for t in texts for m in COUNT_RE.finditer(t)
            if not TRAINED_ON.search(t[max(0, m.start() - 120):m.start()])]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_output_claims_more_faces_than_there_are(path):
    """Every "N faces" a notebook prints or puts in a figure title is at most what this machine has: the 150
    held-out faces (830 in all) of ../shared where it is, else the sample faces only, and then no output may call
    its faces validation or held-out faces."""
    run = run_once(path)
    n_samples = len(data.sample_faces(64))
    shared = settings.shared_dir() is not None
    for n, words in face_claims(run):
        if re.search(r"held-out|validation", words, re.I):
            assert shared, f"{words!r}: no validation faces on this machine, only {n_samples} sample faces"
            assert n <= 150, f"{words!r}: the validation split has 150 faces"
        assert n <= (830 if shared else n_samples), f"{words!r}: more faces than this machine has"

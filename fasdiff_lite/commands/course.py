"""``fasdiff-lite course``: the teaching kit (see ``fasdiff_lite/course.py``).

    fasdiff-lite course --list                    the exercises of every notebook, checked or open
    fasdiff-lite course --student out/            write the student copies (blank answers, no rubrics)
    fasdiff-lite course --book build/book         run every notebook (its exercises checked) and build the course book
"""
from __future__ import annotations

from pathlib import Path

from .. import book, course, settings


def add_arguments(p) -> None:
    p.add_argument("--notebooks", type=Path, default=settings.REPO_DIR / "notebooks",
                   help="folder of the solution notebooks (default: the repository's notebooks/)")
    p.add_argument("--list", action="store_true", help="list the exercises")
    p.add_argument("--student", type=Path, metavar="DIR", help="write the student notebooks to DIR")
    p.add_argument("--book", type=Path, metavar="DIR",
                   help="execute every notebook (exercise checks included; FASDIFF_FAST from the environment) and "
                        "build the HTML course book under DIR/html")
    p.add_argument("--force", action="store_true", help="overwrite existing student notebooks")


def main(args) -> int:
    if not (args.list or args.student or args.book):
        args.list = True
    if not course.notebooks(args.notebooks):
        raise FileNotFoundError(f"no notebooks ({course.NOTEBOOK_GLOB}) in {args.notebooks}: pass --notebooks DIR "
                                "(the solution notebooks are in the repository's notebooks/ folder)")
    if args.list:
        for path in course.notebooks(args.notebooks):
            for ex in course.exercises(path):
                print(f"{path.stem:45s} exercise {ex.number}  {ex.kind:15s} {ex.title[:60]}")
    if args.student:
        for t in course.write_student_copies(args.notebooks, args.student, force=args.force):
            print(f"wrote {t}")
    if args.book:
        # run from a copy under the book's folder (TMPDIR there too): the build writes nothing into the checkout
        runs = book.execute_for_book(args.notebooks, args.book)
        syllabus = args.notebooks / "SYLLABUS.md"
        html = book.build_book(runs, args.book, extra_pages=[syllabus] if syllabus.exists() else [],
                                 sources=args.notebooks)
        print(f"course book: {html / 'index.html'}")
    return 0

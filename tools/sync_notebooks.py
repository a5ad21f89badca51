#!/usr/bin/env python3
"""Write every notebook's Colab install cell and its Colab/Binder badges, and the README's, from ONE place:
``fasdiff_lite/settings.py`` (``GITHUB_REPOSITORY``, ``GITHUB_BRANCH``).

    python tools/sync_notebooks.py                    # rewrite every notebook in notebooks/ and the README
    python tools/sync_notebooks.py notebooks/09_*.ipynb   # only these files
    python tools/sync_notebooks.py --check            # change nothing; exit 1 and name the files that differ

What it writes:

- the install cell: the first code cell that mentions ``find_spec("fasdiff_lite")`` (or, where there is none, a new
  one before the first code cell). It installs the suite from ``FASDIFF_SOURCE`` (a wheel URL, a pip git URL or a
  local path; the environment variable of the same name overrides it), pinning every package already installed to
  its version (Colab's numpy, torch, torchvision and ipywidgets stay as they are), then compressai without its
  numpy<2 pin, then checks that ``import fasdiff_lite`` works. Where ``FASDIFF_SOURCE`` is empty it stops with a
  message that says how to set it.
- the badge line in the first markdown cell: a line that starts with ``[![Open in Colab]`` or the placeholder
  comment ``<!-- badges``; it is added under the title where there is none. With no repository set, the
  placeholder comment (invisible) stands in for badges that would lead nowhere.
- in README.md, the text between ``<!-- sync:NAME:start -->`` and ``<!-- sync:NAME:end -->`` for NAME in
  ``badges`` (a table of notebooks with their badges) and ``colab-cell`` (the install cell).

Cells keep their ids and metadata; outputs are left as they are (the notebooks are committed without them).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fasdiff_lite import settings  # noqa: E402  (cheap: no torch)

NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
COMPRESSAI = "compressai==1.2.8"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
BADGE_LINE = re.compile(r"^(\[!\[Open in Colab\]\(.*|<!-- badges .*-->)$", re.M)

INSTALL_CELL = '''\
# Install fasdiff-lite where it is missing (Colab, a fresh machine); it skips itself where the suite is installed.
# FASDIFF_SOURCE: where the suite comes from: a wheel URL or file, "git+https://github.com/<owner>/<name>", or a folder.
FASDIFF_SOURCE = {source!r}  # written by tools/sync_notebooks.py from fasdiff_lite/settings.py
import importlib, importlib.util, os, subprocess, sys, tempfile
if importlib.util.find_spec("fasdiff_lite") is None:
    source = os.environ.get("FASDIFF_SOURCE") or FASDIFF_SOURCE
    if not source:
        raise RuntimeError(
            "fasdiff-lite is not installed here and FASDIFF_SOURCE is empty (the project has no public home yet). "
            "Set FASDIFF_SOURCE at the top of this cell to where the suite is: a wheel "
            "(https://.../fasdiff_lite-0.1.0-py3-none-any.whl, or a file you uploaded to /content), a git URL "
            "('git+https://github.com/<owner>/<name>') or a folder, then run this cell again.")
    # Every package already installed is pinned to its version, so Colab's numpy, torch, torchvision and ipywidgets
    # stay as they are; only what is missing gets installed. compressai comes last, without its pin on numpy 1.x.
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-warn-conflicts"]
    installed = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
    pins = os.path.join(tempfile.mkdtemp(), "installed.txt")
    with open(pins, "w") as f:  # pip, setuptools and wheel are build tools, free to move
        f.write("\\n".join(p for p in installed if p.split("==")[0].lower() not in ("pip", "setuptools", "wheel")))
    for step in ([*pip, "-c", pins, source], [*pip, *"--no-deps {compressai}".split()]):
        run = subprocess.run(step, capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
        if (run.stdout + run.stderr).strip():
            print((run.stdout + run.stderr).strip())  # pip's own words, in the notebook rather than the server's log
        if run.returncode != 0:
            raise RuntimeError(f"could not install {{step[-1]!r}} (pip's message is above). Check FASDIFF_SOURCE "
                               f"({{source!r}}): a wheel URL or file, a git URL or a folder that exists.")
    importlib.invalidate_caches()
    if importlib.util.find_spec("fasdiff_lite") is None:
        raise RuntimeError("fasdiff-lite was installed but cannot be imported: restart the runtime "
                           "(Runtime > Restart session) and run this cell again.")
import fasdiff_lite
print("fasdiff-lite", fasdiff_lite.__version__, "from", os.path.dirname(fasdiff_lite.__file__))
'''


def install_cell(source: str | None = None) -> str:
    """The install cell's source, for ``source`` (default: the project's, from settings)."""
    src = settings.install_source() if source is None else source
    return INSTALL_CELL.format(source=src, compressai=COMPRESSAI).rstrip("\n")


def colab_url(notebook: str) -> str:
    repo, branch = settings.GITHUB_REPOSITORY, settings.GITHUB_BRANCH
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{notebook}"


def binder_url(notebook: str | None = None) -> str:
    repo, branch = settings.GITHUB_REPOSITORY, settings.GITHUB_BRANCH
    target = f"notebooks/{notebook}" if notebook else "notebooks"
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?labpath={target}"


def badge_line(notebook: str) -> str:
    """The badges of one notebook, or an invisible placeholder where the project has no public repository yet."""
    if not settings.GITHUB_REPOSITORY:
        return "<!-- badges (tools/sync_notebooks.py): none until GITHUB_REPOSITORY is set in fasdiff_lite/settings.py -->"
    return (f"[![Open in Colab]({COLAB_BADGE})]({colab_url(notebook)}) "
            f"[![Binder]({BINDER_BADGE})]({binder_url(notebook)})")


def _source(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _set_source(cell, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def sync_notebook(path: Path) -> str:
    """The notebook's JSON text with its install cell and badges brought up to date."""
    raw = path.read_text()
    nb = json.loads(raw)
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    target = next((c for c in code if 'find_spec("fasdiff_lite")' in _source(c)), None)
    if target is None:
        target = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": []}
        if nb.get("nbformat_minor", 0) >= 5:
            target["id"] = "install-fasdiff-lite"
        cells.insert(cells.index(code[0]) if code else len(cells), target)
    _set_source(target, install_cell())
    first_md = next((c for c in cells if c["cell_type"] == "markdown"), None)
    if first_md is not None:
        text, line = _source(first_md), badge_line(path.name)
        if BADGE_LINE.search(text):
            text = BADGE_LINE.sub(lambda m: line, text, count=1)
        else:
            head, _, rest = text.partition("\n")
            text = f"{head}\n\n{line}\n" + (f"\n{rest.lstrip(chr(10))}" if rest.strip() else "")
        _set_source(first_md, text.rstrip("\n"))
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _title(path: Path) -> str:
    nb = json.loads(path.read_text())
    md = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    first = _source(md).splitlines()[0] if md else path.stem
    return first.lstrip("# ").strip()


def readme_blocks(notebooks: list[Path]) -> dict[str, str]:
    if settings.GITHUB_REPOSITORY:
        rows = ["| notebook | open it |", "|---|---|"]
        rows += [f"| [{_title(p)}](notebooks/{p.name}) | {badge_line(p.name)} |" for p in notebooks]
        rows += ["", f"All notebooks in JupyterLab on Binder: [![Binder]({BINDER_BADGE})]({binder_url()})"]
        badges = "\n".join(rows)
    else:
        badges = ("*No Colab or Binder badges yet: the project has no public repository. Once it has one, set "
                  "`GITHUB_REPOSITORY = \"owner/name\"` in `fasdiff_lite/settings.py` and run "
                  "`python tools/sync_notebooks.py`; it writes the badges here and in every notebook, and the "
                  "install cell's default source.*")
    cell = "```python\n" + install_cell() + "\n```"
    return {"badges": badges, "colab-cell": cell}


def sync_readme(text: str, notebooks: list[Path]) -> str:
    for name, body in readme_blocks(notebooks).items():
        pattern = re.compile(rf"(<!-- sync:{name}:start -->\n)(?:.*?\n)?(<!-- sync:{name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md lacks the markers <!-- sync:{name}:start --> ... <!-- sync:{name}:end -->")
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="notebooks and/or README.md (default: all notebooks and README.md)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if any file is out of date")
    args = ap.parse_args(argv)
    all_notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    paths = [p.resolve() for p in args.paths] or [*all_notebooks, README]
    stale = []
    for path in paths:
        old = path.read_text()
        new = sync_readme(old, all_notebooks) if path.name == "README.md" else sync_notebook(path)
        if new != old:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    verb = "out of date" if args.check else "rewritten"
    for p in stale:
        print(f"{verb}: {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}")
    if args.check and stale:
        print("run `python tools/sync_notebooks.py` to bring them in line with fasdiff_lite/settings.py")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

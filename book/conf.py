"""Sphinx configuration of the fasdiff-lite course book (``make book``; ``fasdiff_lite.book.build_book``).

The notebooks arrive already executed in FAST mode (their exercises checked on the way), so myst-nb only renders
them: ``nb_execution_mode = "off"``. Any notebook error stops the build before Sphinx runs. Each notebook page gets,
from ``build_book``: links to open it in Colab and to download it (built from ``settings.GITHUB_REPOSITORY``, the
project's one repository variable), and a static picture of each widget's first view.

The theme is sphinx-book-theme (the ``book`` extra): a chapter list on the left, the page's sections on the right,
previous/next links under every page. ``_static/course.css`` makes code and outputs scroll or wrap instead of being
cut off, and sizes the figures; ``_templates/fl-footer.html`` is the footer, from the repository's own files."""
import re
import tomllib
from datetime import date
from importlib import metadata
from pathlib import Path

from fasdiff_lite import settings


def _project() -> dict:
    """Name, version and licence, from the checkout's pyproject.toml and README (an installed package's metadata
    where there is no checkout)."""
    pyproject, readme = settings.REPO_DIR / "pyproject.toml", settings.REPO_DIR / "README.md"
    if pyproject.exists():
        meta = tomllib.loads(pyproject.read_text())["project"]
        name, version, licence = meta["name"], meta["version"], meta.get("license", "")
    else:
        m = metadata.metadata("fasdiff-lite")
        name, version, licence = m["Name"], m["Version"], m.get("License-Expression") or m.get("License") or ""
    if isinstance(licence, dict):
        licence = licence.get("text", "")
    words = ""  # the README's own licence section, e.g. "MIT for the code. Sample faces: public domain (...)."
    if readme.exists():
        m = re.search(r"^## Licen[cs]e\s*\n+(.+?)(?:\n\n|\n#|\Z)", readme.read_text(), re.S | re.M)
        words = " ".join(m.group(1).split()) if m else ""
    from html import escape

    words_html = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(words))  # the README's markdown code spans
    return {"name": name, "version": version, "licence": licence, "licence_words": words, "licence_html": words_html}


PROJECT = _project()
REPO = settings.GITHUB_REPOSITORY  # "owner/name", or "" while the project has no public repository

project = f"{PROJECT['name']} course"
author = f"the {PROJECT['name']} authors"
copyright = f"{date.today().year}, {author}"
version = release = PROJECT["version"]
html_title = "fasdiff-lite · the course"

extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_extra", "_templates", "_static"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header", "misc.highlighting_failure", "myst.xref_missing"]

html_theme = "sphinx_book_theme"
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_extra_path = ["_extra"]  # build_book puts each notebook's .ipynb (solution and student copies) there
html_show_sourcelink = False
html_show_copyright = False  # the footer says it (fl-footer.html)
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 2,
    "show_toc_level": 2,
    "show_prev_next": True,
    "use_download_button": False,  # each notebook page has its own links (fasdiff_lite.course.launch_bar)
    "use_fullscreen_button": True,
    "use_repository_button": bool(REPO),
    "repository_url": f"https://github.com/{REPO}" if REPO else "",
    "repository_branch": settings.GITHUB_BRANCH,
    "footer_content_items": ["fl-footer.html"],
}
html_context = {
    "fl_project": PROJECT,
    "fl_repository_url": f"https://github.com/{REPO}" if REPO else "",
    "fl_built": date.today().isoformat(),
}

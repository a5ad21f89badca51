# fasdiff-lite: two commands on a fresh machine
#   make quickstart   set everything up (.venv) and run the main job on the embedded default
#   make test         set up if needed and run the tests (FAST mode: small sizes, CPU)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COMPRESSAI := compressai==1.2.8

.PHONY: setup quickstart test lab demo clean book

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[notebooks,demo,dev]"
	@# compressai's metadata pins numpy<2 but it works with numpy 2: install it without its pins
	$(BIN)/python -m pip install -q --no-deps $(COMPRESSAI)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

quickstart: setup
	$(BIN)/fasdiff-lite quickstart

test: setup
	FASDIFF_FAST=1 $(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab notebooks/

demo: setup
	$(BIN)/fasdiff-lite demo

# the course book: every notebook executed in FAST mode (exercise checks included; any error stops it), rendered
# with Sphinx + myst-nb + sphinx-book-theme (the [book] extra) into build/book/html (open build/book/html/index.html).
# The notebooks run from a copy in build/book/run, with TMPDIR in build/book/tmp: the build writes only under build/.
# The executed notebooks stay in build/book/executed (fasdiff_lite.book.build_book rebuilds the HTML from them).
book: setup $(VENV)/.book-installed
	FASDIFF_FAST=1 MPLBACKEND=Agg $(BIN)/fasdiff-lite course --book build/book

$(VENV)/.book-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install -q -e ".[book]"
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache out

"""The Colab install cell, for real, in a simulated Colab.

A fresh venv stands in for a Colab runtime: numpy 2.x, torch, torchvision and the rest of the scientific stack are
already there (this environment's copies, seen through a .pth file and a folder of links, so torch is not copied),
ipywidgets 7.7.1 (with its widgetsnbextension 3.x) is installed in it as on Colab, and neither fasdiff-lite nor
compressai is. The install cell that ``tools/sync_notebooks.py`` writes is pointed at a wheel built from this
checkout (``FASDIFF_SOURCE``); it must install without changing numpy, torch, torchvision or ipywidgets and with no
pip ERROR, and then notebooks 00 and 07 (their install cell replaced by the generated one, run from a folder outside
the checkout, so only the wheel's package data is there) must run in FAST mode in that venv's kernel.

Needs PyPI (ipywidgets 7.7.1 and compressai 1.2.8; pip's cache serves them after the first run): skips without it.
"""
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import sync_notebooks  # noqa: E402

COLAB_IPYWIDGETS = "7.7.1"
# Colab has these (and much more) preinstalled; the simulation leaves out only what Colab lacks or has in another version
NOT_PREINSTALLED = ("fasdiff_lite", "__editable__", "compressai", "ipywidgets", "widgetsnbextension", "jupyterlab_widgets")
WATCHED = ("numpy", "torch", "torchvision", "ipywidgets")
NOTEBOOK_LIMIT_S = 180

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


@functools.lru_cache(maxsize=1)
def built_wheel() -> Path:
    """One wheel of this checkout per test session (shared by test_colab and test_package)."""
    import atexit
    import shutil

    out = Path(tempfile.mkdtemp(prefix="fasdiff-wheel-"))
    atexit.register(shutil.rmtree, out, True)
    return build_wheel(out)


def build_wheel(out: Path) -> Path:
    """A wheel of this checkout, built from a copy of the package (so no build/ or egg-info lands in the checkout)."""
    import shutil

    src = out / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "fasdiff_lite", src / "fasdiff_lite", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out / "dist"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (out / "dist").glob("fasdiff_lite-*.whl")
    return wheel


def layered_venv(path: Path, exclude=()) -> Path:
    """A venv of this Python (made without pip) whose site-packages also sees this environment's packages, minus
    ``exclude``, through a folder of links beside it and a .pth file: nothing big is copied. The folder of links lies
    outside the venv, so pip run in the venv treats those packages as "outside environment" and never uninstalls
    them. Returns the venv's python."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(path)], check=True, timeout=300)
    py = path / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    links = path.parent / f"{path.name}-preinstalled"
    links.mkdir()
    for entry in ours.iterdir():
        if entry.name.startswith(tuple(exclude)) or entry.suffix == ".pth":
            continue
        (links / entry.name).symlink_to(entry)
    (site / "zz_preinstalled.pth").write_text(str(links) + "\n")  # after the venv's own packages on sys.path
    return py


def versions(py: Path) -> dict:
    code = "import json, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in %r}))" % (WATCHED,)
    return json.loads(subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=True).stdout)


def run_notebook(py: Path, path: Path, env: dict, cells: int | None = None) -> tuple[float, list[str]]:
    """Run a notebook (or its first ``cells`` cells) in ``py``'s kernel; returns (seconds, text outputs)."""
    script = f"""
import json, sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read({str(path)!r}, as_version=4)
if {cells!r} is not None:
    nb.cells = nb.cells[:{cells!r}]
t0 = time.perf_counter()
NotebookClient(nb, timeout={NOTEBOOK_LIMIT_S}, kernel_name="python3", resources={{"metadata": {{"path": {str(path.parent)!r}}}}}).execute()
took = time.perf_counter() - t0
texts = []
for c in nb.cells:
    for o in c.get("outputs", []):
        texts.append(o.get("text") or json.dumps(o.get("data", {{}}).get("text/plain", "")))
print(json.dumps({{"took": took, "texts": texts}}))
"""
    r = subprocess.run([str(py), "-c", script], capture_output=True, text=True, env=env, timeout=NOTEBOOK_LIMIT_S + 120)
    assert r.returncode == 0, f"{path.name} failed in the simulated Colab:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    res = json.loads(r.stdout.strip().splitlines()[-1])
    return res["took"], res["texts"]


def test_install_cell_is_generated_from_one_place():
    cell = sync_notebooks.install_cell("git+https://github.com/someone/fork")
    compile(cell, "install cell", "exec")  # plain Python: no shell magics, valid wherever it runs
    assert "FASDIFF_SOURCE = 'git+https://github.com/someone/fork'" in cell
    assert "--no-deps compressai==1.2.8" in cell and '"-c", pins' in cell and "find_spec(\"fasdiff_lite\")" in cell
    for bad in ("numpy<", "numpy==", "torch==", "--force-reinstall", "--upgrade", "-U "):
        assert bad not in cell


def test_badges_follow_the_repository_variable(monkeypatch):
    from fasdiff_lite import settings

    monkeypatch.setattr(settings, "GITHUB_REPOSITORY", "")
    assert sync_notebooks.badge_line("00_x.ipynb").startswith("<!-- badges")
    assert settings.install_source() == ""
    monkeypatch.setattr(settings, "GITHUB_REPOSITORY", "someone/fork")
    line = sync_notebooks.badge_line("00_x.ipynb")
    assert "colab.research.google.com/github/someone/fork/blob/main/notebooks/00_x.ipynb" in line
    assert "mybinder.org/v2/gh/someone/fork/main?labpath=notebooks/00_x.ipynb" in line
    assert settings.install_source() == "git+https://github.com/someone/fork@main"


def test_an_empty_source_stops_with_a_message_that_says_how_to_set_it(tmp_path):
    """Without fasdiff_lite importable and without a source, the cell raises before pip runs."""
    code = sync_notebooks.install_cell("").replace("import fasdiff_lite\n", "")
    env = {k: v for k, v in os.environ.items() if k != "FASDIFF_SOURCE"}
    r = subprocess.run([sys.executable, "-I", "-c", code.replace('importlib.util.find_spec("fasdiff_lite") is None', "True", 1)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode != 0 and "FASDIFF_SOURCE is empty" in r.stderr and "git+https://github.com/<owner>/<name>" in r.stderr


def test_colab_cell_installs_the_wheel_and_notebooks_00_and_07_run(tmp_path):
    t0 = time.perf_counter()
    wheel = built_wheel()
    py = layered_venv(tmp_path / "colab", NOT_PREINSTALLED)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"ipywidgets=={COLAB_IPYWIDGETS}"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and ("NewConnectionError" in r.stderr or "No matching distribution" in r.stderr):
        pytest.skip(f"PyPI not reachable: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr
    before = versions(py)
    assert before["ipywidgets"] == COLAB_IPYWIDGETS and int(before["numpy"].split(".")[0]) >= 2, before
    gone = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('fasdiff_lite'), u.find_spec('compressai'))"],
                          capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert gone == ["None", "None"], "the simulated Colab must start without fasdiff-lite and compressai"

    # the notebooks, as tools/sync_notebooks.py writes them, in a folder outside the checkout (no ../shared beside it)
    work = tmp_path / "content" / "notebooks"
    work.mkdir(parents=True)
    for name in ("00_setup_and_tour.ipynb", "07_fasdiff_end_to_end.ipynb"):
        (work / name).write_text(sync_notebooks.sync_notebook(ROOT / "notebooks" / name))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "FASDIFF_ASSETS", "FASDIFF_SHARED")}
    env.update(FASDIFF_FAST="1", FASDIFF_SOURCE=str(wheel), PATH=f"{py.parent}:{env.get('PATH', '')}")
    setup_s = time.perf_counter() - t0

    took00, texts00 = run_notebook(py, work / "00_setup_and_tour.ipynb", env)
    out = "\n".join(texts00)
    assert "ERROR" not in out, f"pip printed an error in the install cell:\n{out[:3000]}"
    assert "fasdiff-lite 0.1.0 from " + str(tmp_path / "colab") in out, "the install cell did not install the wheel into the venv"
    after = versions(py)
    assert after == before, f"the install changed Colab's packages: {before} -> {after}"
    assert subprocess.run([str(py), "-c", "import compressai, fasdiff_lite"], cwd=tmp_path, env=env).returncode == 0

    took07, texts07 = run_notebook(py, work / "07_fasdiff_end_to_end.ipynb", env)
    assert "ERROR" not in "\n".join(texts07)
    print(f"simulated Colab: setup {setup_s:.0f} s, notebook 00 {took00:.0f} s (with the install), notebook 07 {took07:.0f} s")
    assert took00 < NOTEBOOK_LIMIT_S and took07 < NOTEBOOK_LIMIT_S


SYNCED = [*sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ROOT / "README.md"]


@pytest.mark.parametrize("path", SYNCED, ids=[p.stem for p in SYNCED])
def test_install_cell_and_badges_are_generated_from_settings(path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py"), "--check", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

"""The built package carries what it needs: a wheel installed into a fresh venv (no checkout, no editable install)
runs ``fasdiff-lite quickstart`` from a folder outside the repository, and the sdist holds the same package data.

The fresh venv sees this environment's third-party packages through a folder of links (torch is not copied; see
tests/test_colab.py: ``layered_venv``), but not fasdiff-lite itself: the wheel is installed into it with --no-deps.
"""
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.test_colab import built_wheel, layered_venv

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "fasdiff_lite" / "assets"

pytestmark = pytest.mark.slow


def shipped_files() -> set[str]:
    return {str(p.relative_to(ROOT)) for p in ASSETS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_assets_live_in_the_package_and_settings_point_there(monkeypatch, tmp_path):
    from fasdiff_lite import settings

    assert settings.ASSETS_DIR == ASSETS or os.environ.get("FASDIFF_ASSETS")
    assert (ASSETS / "prior/tiny/prior.json").exists() and (ASSETS / "splits/shared_faces_split.json").exists()
    assert not (ROOT / "assets").exists(), "assets/ moved to fasdiff_lite/assets/ (package data)"
    env = {**os.environ, "FASDIFF_ASSETS": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "from fasdiff_lite import settings; print(settings.ASSETS_DIR)"],
                         capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert out == str(tmp_path), "FASDIFF_ASSETS must still override the shipped folder"


def test_wheel_alone_runs_quickstart_and_the_sdist_carries_the_same_assets(tmp_path):
    wheel = built_wheel()
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = shipped_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)[:5]}"

    # the sdist, through the same PEP 517 backend pip uses
    src = wheel.parent.parent / "src"  # the copy of the checkout the wheel was built from
    r = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
                        str(tmp_path / "sdist")], cwd=src, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (sdist,) = (tmp_path / "sdist").glob("fasdiff_lite-*.tar.gz")
    with tarfile.open(sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = shipped_files() - in_sdist
    assert not missing, f"the sdist lacks {sorted(missing)[:5]}"

    # a fresh venv without fasdiff-lite; the wheel installed with --no-deps; run from a folder outside the repository
    py = layered_venv(tmp_path / "venv", exclude=("fasdiff_lite", "__editable__"))
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("FASDIFF_ASSETS", "PYTHONPATH", "VIRTUAL_ENV")}
    env["FASDIFF_FAST"] = "1"
    cli = py.parent / "fasdiff-lite"
    package = lambda: {p: p.stat().st_mtime_ns for p in (tmp_path / "venv").rglob("*") if p.is_file() and p.suffix != ".pyc"}  # noqa: E731
    before = package()
    r = subprocess.run([str(cli), "quickstart"], cwd=elsewhere, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    site = str(tmp_path / "venv")
    where = subprocess.run([str(py), "-c", "from fasdiff_lite import settings; print(settings.ASSETS_DIR)"],
                           cwd=elsewhere, capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert where.startswith(site), f"the installed package reads its assets from {where}, not from the venv"
    assert "fasdiff" in r.stdout and "no shipped learned codec" not in r.stdout, r.stdout[-2000:]
    assert (elsewhere / "out" / "quickstart.png").exists(), "outputs go under the current folder"
    assert package() == before, "nothing may be written into the installed package"

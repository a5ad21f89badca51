"""The package lists in pyproject.toml, environment.yml and binder/ stay consistent; compressai is always
installed with --no-deps; and the Colab install never downgrades numpy or torch."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPRESSAI = "compressai==1.2.8"


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + meta["optional-dependencies"]["notebooks"] + meta["optional-dependencies"]["demo"]
    return {_name(r) for r in reqs}


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(r) for r in dep["pip"]}
        else:
            names.add(_name(dep))
    missing = _pyproject_names() - names
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert "compressai" not in names, "compressai must be installed with --no-deps, not from environment.yml"


def test_binder_matches_pyproject_and_is_cpu_only():
    lines = [l for l in (ROOT / "binder/requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert any("download.pytorch.org/whl/cpu" in l for l in lines), "Binder must use CPU-only torch"
    names = {_name(l) for l in lines if not l.startswith("-")}
    missing = _pyproject_names() - names
    assert not missing, f"binder/requirements.txt lacks {sorted(missing)}"
    post = (ROOT / "binder/postBuild").read_text()
    assert f"--no-deps {COMPRESSAI}" in post and "-e ." in post


def test_compressai_installed_without_its_numpy_pin_everywhere():
    assert "--no-deps $(COMPRESSAI)" in (ROOT / "Makefile").read_text() and COMPRESSAI in (ROOT / "Makefile").read_text()
    assert f"--no-deps {COMPRESSAI}" in (ROOT / "README.md").read_text()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        setup = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        assert f"--no-deps {COMPRESSAI}" in setup, f"{nb.name}: Colab cell must install compressai with --no-deps"
        assert "find_spec" in setup, f"{nb.name}: Colab cell must skip installing when fasdiff_lite is present"
        for bad in ("numpy<", "numpy==", "torch==", "torch<", "--force-reinstall", "-U ", "--upgrade"):
            assert bad not in setup, f"{nb.name}: Colab cell must not pin or reinstall numpy/torch ({bad!r})"


@pytest.mark.slow
def test_colab_install_keeps_numpy_and_torch(tmp_path):
    """Resolve the Colab cell's two installs against this environment (numpy 2 + torch, like Colab) with
    pip's dry run: neither may replace numpy or torch."""
    import numpy
    import torch

    assert int(numpy.__version__.split(".")[0]) >= 2, "this check needs numpy 2, as on Colab"
    plans = {
        "compressai": [COMPRESSAI, "--no-deps"],
        "suite": [f"{ROOT}[notebooks,demo]"],
    }
    for what, args in plans.items():
        report = tmp_path / f"{what}.json"
        r = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report), *args],
            capture_output=True, text=True, timeout=600,
        )
        if r.returncode != 0 and ("NewConnectionError" in r.stderr or "Could not find a version" in r.stderr):
            pytest.skip(f"package index not reachable: {r.stderr.strip().splitlines()[-1]}")
        assert r.returncode == 0, r.stderr
        installs = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
        assert "numpy" not in installs, f"{what}: would replace numpy {numpy.__version__} with {installs.get('numpy')}"
        assert "torch" not in installs, f"{what}: would replace torch {torch.__version__} with {installs.get('torch')}"

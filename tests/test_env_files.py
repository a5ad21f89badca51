"""The package lists in pyproject.toml, environment.yml and binder/ stay consistent; compressai is always
installed with --no-deps; binder/requirements.txt resolves (with CPU torch where its index can be reached). The Colab
install cell itself is run for real in a simulated Colab by tests/test_colab.py."""
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


def _resolves(host: str) -> bool:
    import socket

    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_binder_requirements_resolve_with_cpu_torch(tmp_path):
    """pip's dry run of binder/requirements.txt on Python 3.11 (Binder's runtime.txt), from a clean pip
    configuration (``--isolated``: no machine-local indexes, wheels or constraints). Where download.pytorch.org
    answers, the resolved torch and torchvision must be its CPU builds (``+cpu``). Where it does not (this project's
    machines reach PyPI only), the file is resolved against PyPI without that line: that proves the whole set is
    consistent for Python 3.11 on Linux, not that Binder gets the CPU build (the CPU index carries the same versions
    with a ``+cpu`` label, which pip prefers over PyPI's for the same version)."""
    assert sys.version_info[:2] == (3, 11), "Binder's runtime.txt asks for Python 3.11: resolve with that"
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"
    req = (ROOT / "binder/requirements.txt").read_text()
    cpu_index = _resolves("download.pytorch.org")
    if not cpu_index:
        req = "\n".join(l for l in req.splitlines() if "download.pytorch.org" not in l)
    (tmp_path / "requirements.txt").write_text(req)
    report = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--retries", "1", "--timeout", "30", "--report", str(report), "-r", str(tmp_path / "requirements.txt")],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and ("NewConnectionError" in r.stderr or "NameResolutionError" in r.stderr):
        pytest.skip(f"PyPI not reachable: {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr[-3000:]
    installs = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    assert {"torch", "torchvision", "jupyterlab", "ipywidgets", "diffusers"} <= set(installs)
    if cpu_index:
        assert installs["torch"].endswith("+cpu") and installs["torchvision"].endswith("+cpu"), installs["torch"]
        assert not [n for n in installs if n.startswith("nvidia-")], "CPU torch pulls no CUDA libraries"
    else:
        print(f"download.pytorch.org unreachable: resolved {len(installs)} packages against PyPI only "
              f"(torch {installs['torch']}); the CPU build itself was not checked here")

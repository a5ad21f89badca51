"""Shared fixtures. Tests that need ../shared skip cleanly where it is absent (a user's fresh clone)."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("FASDIFF_FAST", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread in this process and in every notebook kernel it starts (they inherit the environment): numpy and
# scipy each bring an OpenBLAS pool, torch its own; on a 2-core CI machine the pools contend.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from fasdiff_lite import settings  # noqa: E402

requires_shared = pytest.mark.skipif(settings.shared_dir() is None, reason="../shared/faces not present (fresh clone)")
ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """A script of the repository that is not in the package (``benchmarks/…``, ``tools/…``), imported as a module."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steered(codec):
    """A FaSDiff codec with non-zero control, LFE, decoder and FiLM weights added (seeded), so a reload that lost
    any of them would decode differently."""
    import torch

    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in codec.trainable_modules().values():
            for p in m.parameters():
                p.add_(0.02 * torch.randn(p.shape, generator=g))
    return codec


@pytest.fixture(scope="session")
def sample_faces():
    from fasdiff_lite import data

    return data.sample_faces(64)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    64-px work gains nothing from more, and on a busy 2-core machine torch's worker threads stall."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)

# Notebook run times, printed at the end of the run (the issue asks to print them).
NOTEBOOK_TIMES: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if NOTEBOOK_TIMES:
        terminalreporter.section("notebook run times (FAST mode, this machine)")
        for name, took in NOTEBOOK_TIMES.items():
            terminalreporter.write_line(f"{name:45s} {took:6.1f} s")

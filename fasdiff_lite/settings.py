"""Settings shared by the whole suite: the FAST switch, where things live, which device to use.

The FAST switch
---------------
Set the environment variable ``FASDIFF_FAST=1`` and every notebook, script and test shrinks its sizes
and step counts (fewer faces, fewer training steps, fewer diffusion steps) so it runs top to bottom on
a 2-core CPU in minutes. Leave it unset (or ``0``) on Colab to run at full size::

    import fasdiff_lite as fl
    n_faces = fl.settings.pick(full=512, fast=16)

Paths
-----
``ASSETS_DIR``  the shipped weights, model cards, sample faces and the split file: ``fasdiff_lite/assets/``,
               package data, so it is there in a wheel or sdist install as in a clone; ``$FASDIFF_ASSETS``
               points it at another folder.
``shared_dir()`` the optional data folder beside the checkout (``../shared``), or ``$FASDIFF_SHARED``.

Outputs (figures, ``.fsd`` files, runs) go under the current directory (``out/``, ``runs/``), never into
the installed package.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TypeVar

import numpy

# torch (1 s to import) is imported inside the functions that need it: tools/sync_notebooks.py and the course tooling
# read these settings without it. threadpoolctl is optional.

T = TypeVar("T")

FAST_ENV = "FASDIFF_FAST"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = Path(os.environ.get("FASDIFF_ASSETS") or PACKAGE_DIR / "assets")


# ------------------------------------------------------------------------------ the project's home
# The ONE place that names the project's public repository. Every notebook's Colab install cell and its Colab/Binder
# badges, and the README's badges, are generated from it by ``tools/sync_notebooks.py`` (``--check`` in the tests).
# Empty until the repository is public on GitHub: then the notebooks carry no badges and the install cell stops with
# a message that says how to point it at a wheel, a git URL or a folder. A fork sets its own "owner/name" here and
# runs ``python tools/sync_notebooks.py``.
GITHUB_REPOSITORY = ""
GITHUB_BRANCH = "main"


def install_source() -> str:
    """Where the Colab cell installs the suite from by default: the public repository as a pip git URL, or ""."""
    return f"git+https://github.com/{GITHUB_REPOSITORY}@{GITHUB_BRANCH}" if GITHUB_REPOSITORY else ""


def is_fast() -> bool:
    """True when the FAST switch is on (``FASDIFF_FAST`` is 1/true/yes). Read on every call."""
    return os.environ.get(FAST_ENV, "0").strip().lower() in {"1", "true", "yes", "on"}


def pick(full: T, fast: T) -> T:
    """Return ``fast`` when the FAST switch is on, else ``full``."""
    return fast if is_fast() else full


def cpu_threads(n: int | None = None) -> int:
    """Set torch's CPU thread count for a notebook or script and return it: ``n`` if given, else 1 in FAST
    mode, else torch's own choice. 64-px faces gain little from more threads, and torch's worker threads
    stall when other work holds the cores (measured on a 2-core machine: notebook 01 took 187 s with torch's
    2 threads beside a busy job, against 4 s on the idle machine). numpy's and scipy's BLAS pools get the same
    limit (with ``threadpoolctl``)."""
    import torch

    if n is None and is_fast():
        n = 1
    if n is not None:
        if n < 1:
            raise ValueError(f"threads must be at least 1, got {n}")
        torch.set_num_threads(int(n))
        _limit_blas_threads(int(n))
    return torch.get_num_threads()


def _limit_blas_threads(n: int) -> None:
    """numpy and scipy each bring their own OpenBLAS thread pool (two threads each on a 2-core machine, beside
    torch's): limit them too, so a FAST run does not have three pools taking turns on the same cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional nicety: without it only torch's pool is limited
        return
    threadpool_limits(limits=n, user_api="blas")


def shared_dir() -> Path | None:
    """The ``shared`` data folder beside the checkout, or None when it is absent (a fresh clone)."""
    candidates = []
    if os.environ.get("FASDIFF_SHARED"):
        candidates.append(Path(os.environ["FASDIFF_SHARED"]))
    candidates += [REPO_DIR.parent / "shared", Path.cwd().parent / "shared", Path.cwd() / "shared"]
    for c in candidates:
        if (c / "faces").is_dir():
            return c.resolve()
    return None


def cache_dir() -> Path:
    """Where the suite keeps what it computes once and reads back (decoded face sets, SD's empty-prompt embedding):
    ``$FASDIFF_CACHE``, default ``~/.cache/fasdiff-lite``."""
    return Path(os.environ.get("FASDIFF_CACHE", Path.home() / ".cache" / "fasdiff-lite"))


def device(prefer: str | None = None):
    """The torch device to use: ``prefer`` if given, else CUDA when present, else CPU."""
    import torch

    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe() -> dict:
    """Versions and hardware, for the environment check in notebook 00 and ``fasdiff-lite info``."""
    import torch

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "fast_mode": is_fast(),
        "assets": str(ASSETS_DIR),
        "shared_faces": str(shared_dir() / "faces") if shared_dir() else None,
    }
    for mod in ("diffusers", "compressai", "pywt", "PIL", "gradio", "ipywidgets", "matplotlib"):
        try:
            m = __import__(mod)
            info[mod] = getattr(m, "__version__", "?")
        except Exception as e:  # noqa: BLE001 - report, don't fail, in an environment check
            info[mod] = f"missing ({type(e).__name__})"
    return info

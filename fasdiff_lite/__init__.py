"""fasdiff-lite: learned facial image compression with a diffusion prior, built to be read and taught.

Modules (each one idea; lower floors never import higher ones):

    floor 1  settings · data · frequency · metrics · baselines · bitstream   plain tools
    floor 2  compressor · prior · face_metrics                                the learned pieces
    floor 3  control · lfe                                                    compressor ↔ prior
    floor 4  codec                                                            FaSDiffCodec: bytes ↔ image
    floor 5  train/ · evaluate                                                work done with the models
    top      cli · demo · widgets                                             faces for people

Submodules are imported on first use (``fasdiff_lite.frequency`` etc.), so ``import fasdiff_lite`` is cheap.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "settings", "data", "frequency", "metrics", "baselines", "bitstream", "compressor", "prior",
    "face_metrics", "control", "lfe", "codec", "train", "evaluate", "cli", "demo", "widgets", "plots",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))

"""fasdiff-lite: learned facial image compression with a diffusion prior, built to be read and taught.

Floors (each module imports only from its own floor or below; ``tests/test_layout.py`` checks it)::

    floor 1  settings · registry · data · faces · face_sets ·            plain tools; registry: every name and default;
             frequency · bitstream · rans                                data: the one path for pixels; faces: detection,
                                                                         alignment; face_sets: UTKFace, CelebA identities
    floor 2  models/compressor · prior · stable_diffusion ·              the learned pieces, each usable alone
             prior_loading · latent_decoder · adversarial · fusion ·     (prior: DiffusionPrior and the tiny prior;
             identity · integer_scales                                   prior_loading: load_prior; integer_scales:
                                                                         entropy tables every machine computes alike)
    floor 3  models/control · models/lfe · models/steering               what ties the compressor to the prior; steering:
                                                                         control residuals + FiLM + UNet, one function
    floor 4  models/codec · models/zoo                                   FaSDiffCodec: bytes ↔ image; shipped models
             evaluation/ (metrics · face_metrics · verification · realism · measuring, for people and for machines
                          perceptual · baselines · bdrate · run ·     (portability: does a file decode on
                          portability)                               another machine?)
    floor 5  train/ (loop · compressor · autoencoder · prior · fasdiff   work done with the models
             · identity)
    top      cli · commands/ · demo · explore/ · course · book           faces for people; no model logic (demo: its
                                                                         callbacks, commands/demo: the Gradio app;
                                                                         course: the notebooks as student and solution
                                                                         copies; book: the course book)

Submodules are imported on first use (``fasdiff_lite.frequency``, ``fasdiff_lite.models`` etc.), so
``import fasdiff_lite`` is cheap.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "settings", "registry", "data", "faces", "face_sets", "frequency", "bitstream", "rans", "models", "evaluation", "train", "explore", "commands", "cli", "demo", "course",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))

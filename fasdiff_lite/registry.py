"""Every name and default of the suite, said once: the shipped models, the codec variants, the ids a ``.fsd`` header
stores, the decode setting, and the checks of what a user may ask for (rate, realism, steps).

Everything else imports from here (the bitstream, the models, the zoo, the CLI, the demo, the evaluation, the
notebook explorers): change a default here and every entry point follows. Loading the models by these names is
``models/zoo.py``'s job; this module loads nothing.

::

    name              kind         folder under fasdiff_lite/assets/    id in a .fsd header
    hf-compressor     compressor   compressor/hf                        1   the high-frequency-sensitive compressor
    hyperprior        compressor   compressor/hyperprior                2   the plain mean-scale hyperprior (baseline)
    tiny              prior        prior/tiny                           -   the tiny latent diffusion prior
    fasdiff           codec        fasdiff/full                         3   FaSDiff: control + hybrid LFE
    fasdiff-nolfe     codec        fasdiff/nolfe                        4   ablation: no low-frequency module
    fasdiff-plain     codec        fasdiff/plain                        5   ablation: plain hyperprior, no LFE
"""
from __future__ import annotations

from pathlib import Path

from . import settings

# ---------------------------------------------------------------------------------------- the models
SHIPPED = {  # name -> (kind, folder under settings.ASSETS_DIR, the file that says it is there)
    "hf-compressor": ("compressor", "compressor/hf", "model.safetensors"),
    "hyperprior": ("compressor", "compressor/hyperprior", "model.safetensors"),
    "tiny": ("prior", "prior/tiny", "prior.json"),
    "fasdiff": ("codec", "fasdiff/full", "codec.json"),
    "fasdiff-nolfe": ("codec", "fasdiff/nolfe", "codec.json"),
    "fasdiff-plain": ("codec", "fasdiff/plain", "codec.json"),
}
KINDS = ("compressor", "prior", "codec")
VARIANTS = {  # FaSDiff codec variant (its model id) -> (the compressor it is trained on by default, uses the LFE)
    "fasdiff": ("hf-compressor", True),
    "fasdiff-nolfe": ("hf-compressor", False),
    "fasdiff-plain": ("hyperprior", False),
}
MODEL_IDS = {"hf-compressor": 1, "hyperprior": 2, "fasdiff": 3, "fasdiff-nolfe": 4, "fasdiff-plain": 5}  # .fsd header
DEFAULT_CODEC = "fasdiff"  # what `fasdiff-lite compress` writes when asked for no codec (else the first compressor)

# ---------------------------------------------------------------------------------- the decode setting
DEFAULT_STEPS, DEFAULT_REALISM = 4, 1.0  # the FaSDiff decode setting of the CLI, the demo, the eval and the training
MAX_STEPS = 50  # most denoising steps a decode may ask for


def names(kind: str | None = None) -> list[str]:
    """Every shipped name (of one ``kind``: compressor, prior or codec), present here or not."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return [n for n, (k, _, _) in SHIPPED.items() if kind in (None, k)]


def folder(name: str) -> Path:
    """Where a shipped model lives (``fasdiff_lite/assets/...``)."""
    if name not in SHIPPED:
        raise ValueError(f"unknown model {name!r}; shipped: {', '.join(SHIPPED)}")
    return settings.ASSETS_DIR / SHIPPED[name][1]


def available(kind: str | None = None) -> list[str]:
    """The shipped models (of one ``kind``) whose files are present in ``fasdiff_lite/assets/``."""
    return [n for n in names(kind) if (folder(n) / SHIPPED[n][2]).exists()]


# ------------------------------------------------------------------------------- checks of user input
def check_unit(value, name: str) -> float:
    """``value`` as a float in [0, 1] (NaN refused), or a ValueError naming ``name``: a rate or a realism."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= r <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return r


def check_rate(rate) -> float:
    """A rate in [0, 1] (0 = fewest bytes, 1 = best quality), or a ValueError."""
    return check_unit(rate, "rate")


def check_realism(realism) -> float:
    """A realism setting in [0, 1] (0 = the compressor's own output, 1 = the full diffusion decode), or a ValueError."""
    return check_unit(realism, "realism")


def check_steps(steps) -> int:
    """A denoising step count: a whole number from 1 to :data:`MAX_STEPS`, or a ValueError."""
    try:
        ok = not isinstance(steps, bool) and int(steps) == steps and 1 <= int(steps) <= MAX_STEPS
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    return int(steps)

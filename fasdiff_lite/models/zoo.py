"""The model zoo: every shipped model by name, and one cached loader (as CompressAI's ``zoo`` names its models).

::

    name              kind         folder under fasdiff_lite/assets/
    hf-compressor     compressor   compressor/hf            the high-frequency-sensitive compressor
    hyperprior        compressor   compressor/hyperprior    the plain mean-scale hyperprior (baseline)
    tiny              prior        prior/tiny               the tiny latent diffusion prior
    fasdiff           codec        fasdiff/full             FaSDiff: control + hybrid LFE on the tiny prior
    fasdiff-nolfe     codec        fasdiff/nolfe            ablation: no low-frequency module
    fasdiff-plain     codec        fasdiff/plain            ablation: plain hyperprior, no LFE

``load(name)`` builds a fresh model (a shipped name, or a folder that holds a compressor, a prior or a codec);
``cached(name)`` loads it once per process for inference (CLI, demo, evaluation), the codecs sharing one prior
and one copy of each compressor. ``available()`` says which shipped models are present in ``fasdiff_lite/assets/``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .. import settings
from .codec import CODEC_FILE, FaSDiffCodec
from .compressor import HFCompressor
from .prior import PRIOR_FILE, load_prior

SHIPPED = {  # name -> (kind, folder under settings.ASSETS_DIR, the file that says it is there)
    "hf-compressor": ("compressor", "compressor/hf", "model.safetensors"),
    "hyperprior": ("compressor", "compressor/hyperprior", "model.safetensors"),
    "tiny": ("prior", "prior/tiny", PRIOR_FILE),
    "fasdiff": ("codec", "fasdiff/full", CODEC_FILE),
    "fasdiff-nolfe": ("codec", "fasdiff/nolfe", CODEC_FILE),
    "fasdiff-plain": ("codec", "fasdiff/plain", CODEC_FILE),
}
KINDS = ("compressor", "prior", "codec")


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


def kind_of(name: str | Path) -> str:
    """compressor, prior or codec: of a shipped name, or of what a folder holds."""
    if str(name) in SHIPPED:
        return SHIPPED[str(name)][0]
    path = Path(name)
    if (path / CODEC_FILE).exists():
        return "codec"
    if (path / PRIOR_FILE).exists():
        return "prior"
    if (path / "model.safetensors").exists() or path.is_dir():
        return "compressor"
    raise ValueError(f"unknown model {str(name)!r}: use one of {', '.join(SHIPPED)} or a model folder")


def load(name: str | Path, device=None, prior=None):
    """A fresh model by shipped name or folder. ``prior``: for codecs, an already-loaded prior to build on."""
    kind = kind_of(name)
    path = folder(str(name)) if str(name) in SHIPPED else Path(name)
    if kind == "prior":
        return load_prior(str(name) if str(name) in SHIPPED else path, device=device)
    if kind == "codec":
        return FaSDiffCodec.from_pretrained(path, prior=prior, device=device)
    model = HFCompressor.from_pretrained(path, device)
    if str(name) in SHIPPED:
        model.zoo_name = str(name)  # a codec built on it records it by this name (FaSDiffCodec.save_pretrained)
    return model


@lru_cache(maxsize=None)
def cached(name: str, device: str = "cpu"):
    """:func:`load`, once per process and device: for inference only (CLI, demo, evaluation). A codec gets the
    cached prior and compressor when its folder names shipped ones, so the variants share them."""
    if kind_of(name) != "codec":
        return load(name, device)
    path = folder(name) if name in SHIPPED else Path(name)
    meta = FaSDiffCodec.read_config(path)
    src_prior, src_comp = meta["prior"].get("load_prior", {}), meta["compressor"].get("shipped")
    prior = cached(src_prior["name"], device) if src_prior.get("name") in SHIPPED and len(src_prior) == 1 else None
    compressor = cached(src_comp, device) if src_comp in SHIPPED else None
    return FaSDiffCodec.from_pretrained(path, prior=prior, device=device, compressor=compressor)

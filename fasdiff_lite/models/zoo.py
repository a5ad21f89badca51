"""The model zoo: every shipped model loaded by name, with one cached loader (as CompressAI's ``zoo`` loads its models).

The names themselves, their kinds and folders are said once in :mod:`fasdiff_lite.registry` (this module re-exports
``names``, ``folder`` and ``available`` from there, so ``zoo.names("codec")`` keeps working).

``load(name)`` builds a fresh model (a shipped name, or a folder that holds a compressor, a prior or a codec);
``cached(name)`` loads it once per process for inference (CLI, demo, evaluation), the codecs sharing one prior
and one copy of each compressor.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..registry import KINDS, SHIPPED, available, folder, names  # noqa: F401  (the zoo's own vocabulary)
from .codec import CODEC_FILE, FaSDiffCodec
from .compressor import HFCompressor
from .prior import PRIOR_FILE
from .prior_loading import load_prior


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


def decode_settings(name: str | Path, steps: int, realism: float) -> dict:
    """The keyword arguments ``decompress`` takes for this model: steps and realism for a FaSDiff codec, none for a
    compressor."""
    return {"steps": steps, "realism": realism} if kind_of(name) == "codec" else {}


def load(name: str | Path, device=None, prior=None):
    """A fresh model by shipped name or folder. ``prior``: for codecs, an already-loaded prior to build on."""
    kind = kind_of(name)
    path = folder(str(name)) if str(name) in SHIPPED else Path(name)
    if kind == "prior":
        return load_prior(str(name) if str(name) in SHIPPED else path, device=device)
    if kind == "codec":
        return FaSDiffCodec.from_pretrained(path, prior=prior, device=device)
    return HFCompressor.shipped(str(name), device) if str(name) in SHIPPED else HFCompressor.from_pretrained(path, device)


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

"""``load_prior``: a diffusion prior by name or folder, the one way the codec, the zoo, the trainers and the notebooks
get one::

    load_prior("tiny")                        the shipped tiny prior (models/prior.py)
    load_prior("stable-diffusion")            SD 2.1-base from the hub, SD-Turbo as the fallback (models/stable_diffusion.py)
    load_prior("sd21-base" | "sd-turbo")      one of them only; model_id="<owner>/<name>" or a folder instead of the default
    load_prior("path/to/folder")              a saved prior (prior.json) or a diffusers SD checkpoint (vae/, unet/)

It lives in its own file because it needs both implementations, and ``stable_diffusion`` builds on ``prior``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import settings
from .prior import PRIOR_FILE, TINY_DIR_NAME, DiffusionPrior, PriorUnavailable, TinyPrior, load_folder, read_json
from .stable_diffusion import SD_MODELS, StableDiffusionPrior, hub_candidates, load_from_hub


def load_prior(name: str | Path = "tiny", device=None, model_id: str | None = None, **kwargs) -> DiffusionPrior:
    """The prior by name: ``"tiny"`` (shipped weights), ``"stable-diffusion"`` (SD 2.1-base from the hub,
    falling back to SD-Turbo; or ``model_id``: a hub id or a local folder), ``"sd21-base"``, ``"sd-turbo"``, or
    a folder (one written by ``save_pretrained``, or a diffusers Stable Diffusion checkpoint with ``vae/``,
    ``unet/``, ``scheduler/``; pass ``context=`` or have ``text_encoder/`` + ``tokenizer/`` and ``transformers``).
    ``device``: None picks CUDA when present. The prior remembers where it came from (``prior.source``, with
    the hub id that actually loaded), so a codec saved on it can name it.

    A hub id that is missing, or a hub that cannot be reached (and no copy in the local cache), raises
    :class:`PriorUnavailable` within seconds, naming every id tried, the alternatives and how to pass a folder."""
    prior = _load_prior(str(name), device, model_id, **kwargs)
    loaded = getattr(prior, "_hub_id", None) or model_id
    prior.source = {"name": str(name), **({"model_id": loaded} if loaded else {})}
    return prior


def _load_prior(name: str, device, model_id: str | None, **kwargs) -> DiffusionPrior:
    if name == "tiny":
        folder = settings.ASSETS_DIR / TINY_DIR_NAME
        if not (folder / PRIOR_FILE).exists():
            raise PriorUnavailable(
                f"the tiny prior's weights are not in {folder}. Train and export them with\n"
                f"  fasdiff-lite train autoencoder --export {folder}\n"
                f"  fasdiff-lite train prior --vae {folder} --export {folder}\n"
                "(see fasdiff_lite/assets/prior/tiny/MODEL_CARD.md), or set FASDIFF_ASSETS to a folder that has them."
            )
        return TinyPrior.from_pretrained(folder, device=device)
    if name in SD_MODELS:
        return load_from_hub(name, hub_candidates(name, model_id), device, **kwargs)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / PRIOR_FILE).exists():
            kind = read_json(path / PRIOR_FILE).get("kind", "tiny")
            cls = TinyPrior if kind == "tiny" else StableDiffusionPrior
            vae, unet, sched, context = load_folder(path, torch.float32)
            return cls(vae, unet, sched, context).to(settings.device(device))
        if (path / "unet").is_dir() and (path / "vae").is_dir():
            return StableDiffusionPrior.from_pretrained(path, device=device, **kwargs)
        raise PriorUnavailable(f"{path} holds neither a saved prior ({PRIOR_FILE}) nor a diffusers checkpoint (vae/, unet/)")
    raise PriorUnavailable(
        f"unknown prior {name!r}: use 'tiny', one of {', '.join(SD_MODELS)} (optionally with model_id=...), "
        "or the path of a folder"
    )


__all__ = ["load_prior"]

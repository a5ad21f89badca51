"""The FaSDiff codec: bytes in, face out, with a diffusion decoder steered by the visual prompt.

::

    compress:    image ─pad─▶ HFCompressor ─range coder─▶ .fsd bytes      (the compressor's streams,
                                                                            in a container whose
                                                                            model id names the codec)
    decompress:  bytes ─▶ ŷ (visual prompt), x_fid (fidelity reconstruction)
                    │
                    │ realism = 0  ──────────────────────────────────────────────▶ x_fid
                    ▼
                 z_start = VAE(x_fid), noised to t₀ = realism·(T−1)     (low frequencies survive the
                    │                                                   noise; detail does not)
                    ▼  `steps` denoising steps (DDIM), noise seeded by the file's own bytes
                 ε̂ = prior UNet(z_t, t | ControlNet(z_t, t, ŷ) residuals, FiLM-modulated by HybridLFE(x_fid))
                    ▼
                 x_gen = VAE⁻¹(ẑ₀) ─ low-frequency correction (LFE variants):
                                     x_out = x_gen − LF(x_gen) + LF(x_fid),  LF = smooth hybrid low-pass
                                     (HybridLFE.correct)
                    ▼
                 crop back to the original size

Three variants share this file (their names are the model ids in the bitstream):

- ``fasdiff``: HF-sensitive compressor + control + hybrid LFE (the full method);
- ``fasdiff-nolfe``: the same without the LFE (no FiLM, no low-frequency correction);
- ``fasdiff-plain``: plain hyperprior compressor + control, no LFE: a plain diffusion codec.

The prior and the compressor are frozen; the control and the LFE are what ``train/fasdiff.py`` trains.
Decoding is deterministic: the same bytes, steps and realism give the same pixels.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn as nn

from . import bitstream, data, settings
from .compressor import HFCompressor, PAD_MULTIPLE, load_compressor, pad
from .control import VisualPromptControl
from .lfe import HybridLFE, LFEConfig
from .prior import DiffusionPrior, load_prior

VARIANTS = {  # model id -> (compressor, use LFE)
    "fasdiff": ("hf-compressor", True),
    "fasdiff-nolfe": ("hf-compressor", False),
    "fasdiff-plain": ("hyperprior", False),
}
CODEC_FILE = "codec.json"
MAX_STEPS = 50  # most denoising steps a decode may ask for
SHIPPED = {"fasdiff": "fasdiff/full", "fasdiff-nolfe": "fasdiff/nolfe", "fasdiff-plain": "fasdiff/plain"}


class FaSDiffCodec(nn.Module):
    """Compressor + diffusion prior + visual-prompt control (+ hybrid low-frequency enhancement)."""

    def __init__(self, compressor: HFCompressor, prior: DiffusionPrior, variant: str = "fasdiff",
                 control: VisualPromptControl | None = None, lfe: HybridLFE | None = None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.compressor = compressor.eval().requires_grad_(False)
        self.prior = prior.eval().requires_grad_(False)
        self.control = control or VisualPromptControl(prior.unet, compressor.config.M).to(prior.device)
        use_lfe = VARIANTS[variant][1]
        if use_lfe and lfe is None:
            lfe = HybridLFE(LFEConfig(residual_channels=self.control.residual_channels)).to(prior.device)
        self.lfe = lfe if use_lfe else None

    # ------------------------------------------------------------------------------ the bytes
    def compress(self, image, rate: float = 0.5) -> bytes:
        """Any image → ``.fsd`` bytes (the compressor's streams; the header names this codec)."""
        x = image if isinstance(image, torch.Tensor) and image.ndim == 4 else data.to_tensor(data.load_image(image))
        streams, (h, w) = self.compressor.compress_tensor(x, rate)
        return bitstream.pack(bitstream.Packet(self.variant, h, w, float(rate), tuple(streams)))

    def _unpack(self, blob: bytes) -> bitstream.Packet:
        p = bitstream.unpack(blob)
        if p.model != self.variant:
            raise bitstream.BitstreamError(f"this file was made by {p.model!r}; this decoder is {self.variant!r}")
        if len(p.streams) != 2:
            raise bitstream.BitstreamError(f"expected 2 streams (y, z), found {len(p.streams)}")
        return p

    # ------------------------------------------------------------------------------ decoding
    @torch.no_grad()
    def fidelity(self, blob: bytes) -> tuple[torch.Tensor, torch.Tensor, bitstream.Packet]:
        """(x_fid at the padded size, the visual prompt ŷ, the packet)."""
        p = self._unpack(blob)
        ph, pw = (-(-n // PAD_MULTIPLE) * PAD_MULTIPLE for n in (p.height, p.width))
        x_fid, prompt = self.compressor.decompress_tensor(list(p.streams), (ph, pw), p.rate)
        return x_fid, prompt, p

    def control_fn(self, prompt: torch.Tensor, x_fid: torch.Tensor, latent_size: tuple[int, int]):
        """``fn(z_t, t) -> UNet residual kwargs`` for :meth:`DiffusionPrior.sample`."""
        modulate = None
        if self.lfe is not None:
            feats = self.lfe.features(x_fid, latent_size)
            modulate = lambda residuals: self.lfe.modulate(residuals, feats)  # noqa: E731
        context = self.prior.context
        return lambda z_t, t: self.control(z_t, t, context, prompt, modulate=modulate)

    def schedule(self, steps: int, realism: float) -> tuple[int, int]:
        """(start_t, the DDIM grid size) such that exactly ``steps`` grid steps lie at or below
        ``start_t = realism·(T−1)``: the first of them sets the starting noise level. Fewer than
        ``steps`` only when there are not that many timesteps below start_t (realism < 0.05)."""
        T = self.prior.num_train_timesteps
        start_t = max(1, round(realism * (T - 1)))
        sched = self.prior.schedulers["ddim"]
        for total in range(int(steps), T + 1):
            sched.set_timesteps(total)
            if int((sched.timesteps <= start_t).sum()) >= steps:
                return start_t, total
        return start_t, T

    @torch.no_grad()
    def decompress(self, blob: bytes, steps: int = 4, realism: float = 1.0, progress: bool = False) -> torch.Tensor:
        """``.fsd`` bytes → 1×3×H×W image in [0, 1].

        steps: denoising steps actually run (1–50). realism: 0 gives the compressor's fidelity
        reconstruction; 1 starts the denoising from (almost) pure noise; in between, from x_fid's
        latent noised to ``realism·(T−1)`` (image-to-image style).
        """
        if isinstance(steps, bool) or int(steps) != steps or not 1 <= int(steps) <= MAX_STEPS:
            raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
        steps, realism = int(steps), float(realism)
        if not 0.0 <= realism <= 1.0:  # also refuses NaN
            raise ValueError(f"realism must be in [0, 1], got {realism}")
        x_fid, prompt, p = self.fidelity(blob)
        if realism == 0.0:
            return x_fid[..., : p.height, : p.width]
        dev = self.prior.device
        x_fid, prompt = x_fid.to(dev), prompt.to(dev)
        g = torch.Generator(device="cpu").manual_seed(bitstream.seed_of(blob))
        start_t, total = self.schedule(steps, realism)
        z_start = self.prior.encode(x_fid)
        z = self.prior.sample(
            start_latent=z_start, start_t=start_t, steps=total, max_steps=steps, generator=g, progress=progress,
            control=self.control_fn(prompt, x_fid, tuple(z_start.shape[-2:])), output="latent", scheduler="ddim",
        )
        x = self.prior.decode(z)
        if self.lfe is not None:
            x = self.lfe.correct(x, x_fid)
        return x[..., : p.height, : p.width].float()

    # ------------------------------------------------------------------------------ saving
    def trainable_state(self) -> dict[str, torch.Tensor]:
        mods = {"control": self.control, **({"lfe": self.lfe} if self.lfe is not None else {})}
        return {f"{k}.{n}": v.detach().cpu().contiguous() for k, m in mods.items() for n, v in m.state_dict().items()}

    def save_pretrained(self, folder: str | Path, extra: dict | None = None, dtype: torch.dtype | None = torch.float16) -> Path:
        """``codec.json`` (variant, which compressor and prior) + ``control_lfe.safetensors`` (floating-point
        tensors stored as ``dtype``, fp16 by default: half the size; loading casts back to the model's dtype)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v for k, v in self.trainable_state().items()}
        save_file(state, str(folder / "control_lfe.safetensors"))
        meta = {"variant": self.variant, "compressor": VARIANTS[self.variant][0], "prior": "tiny",
                "lfe": self.lfe.extra_config() if self.lfe is not None else None, **(extra or {})}
        (folder / CODEC_FILE).write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, prior: DiffusionPrior | None = None, device=None) -> "FaSDiffCodec":
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / CODEC_FILE).exists():
            raise FileNotFoundError(f"no FaSDiff codec in {folder}; train one with `fasdiff-lite train fasdiff`")
        meta = json.loads((folder / CODEC_FILE).read_text())
        prior = prior or load_prior(meta.get("prior", "tiny"), device=device)
        lfe = None
        if meta.get("lfe"):
            cfg = dict(meta["lfe"])
            cfg["residual_channels"] = tuple(cfg["residual_channels"])
            lfe = HybridLFE(LFEConfig(**cfg))
        codec = cls(load_compressor(meta["compressor"], device=prior.device), prior, meta["variant"], lfe=lfe)
        state = load_file(str(folder / "control_lfe.safetensors"))
        codec.control.load_state_dict({k[len("control."):]: v for k, v in state.items() if k.startswith("control.")})
        if codec.lfe is not None:
            codec.lfe.load_state_dict({k[len("lfe."):]: v for k, v in state.items() if k.startswith("lfe.")})
        return codec.to(prior.device).eval()


def load_codec(name: str = "fasdiff", prior: DiffusionPrior | None = None, device=None) -> FaSDiffCodec:
    """A shipped codec by variant name (``fasdiff``, ``fasdiff-nolfe``, ``fasdiff-plain``) or a folder."""
    folder = settings.ASSETS_DIR / SHIPPED[name] if name in SHIPPED else Path(name)
    return FaSDiffCodec.from_pretrained(folder, prior=prior, device=device)


@lru_cache(maxsize=None)
def _cached_prior(name: str, device: str):
    return load_prior(name, device=device)


@lru_cache(maxsize=None)
def cached_codec(name: str = "fasdiff", device: str = "cpu") -> FaSDiffCodec:
    """:func:`load_codec`, loaded once per process, the variants sharing one prior (for CLI and demo)."""
    folder = settings.ASSETS_DIR / SHIPPED[name] if name in SHIPPED else Path(name)
    meta = json.loads((folder / CODEC_FILE).read_text()) if (folder / CODEC_FILE).exists() else {}
    return FaSDiffCodec.from_pretrained(folder, prior=_cached_prior(meta.get("prior", "tiny"), device))


def available_codecs() -> list[str]:
    """The shipped FaSDiff variants present in ``assets/``."""
    return [n for n, rel in SHIPPED.items() if (settings.ASSETS_DIR / rel / CODEC_FILE).exists()]


def training_inputs(codec: FaSDiffCodec, x: torch.Tensor, rate: float) -> dict:
    """What one training step needs, from a batch of faces: quantised prompt ŷ and x_fid (no grads;
    the compressor is frozen), and the target latent z0 of the original faces."""
    with torch.no_grad():
        out = codec.compressor.forward_rate(pad(x), rate)  # eval mode: real rounding, as at decode time
        z0 = codec.prior.encode(x)
    return {"prompt": out["y_hat"], "x_fid": out["x_hat"].clamp(0, 1), "z0": z0}

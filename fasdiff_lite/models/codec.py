"""The FaSDiff codec: bytes in, face out, with a diffusion decoder steered by the visual prompt.

::

    compress:    image ─▶ HFCompressor (pads, codes) ─range coder─▶ .fsd bytes   (the compressor's streams, in a
                                                                                 container whose model id names
                                                                                 the codec)
    decompress:  1. unpack         bytes ─▶ packet (checked by the compressor: this codec's id, streams y and z)
                 2. fidelity       ─▶ x_fid (fidelity reconstruction) and ŷ (the visual prompt)
                                      realism = 0 stops here: the answer is x_fid
                 3. timesteps      (steps, realism) ─▶ the last `steps` DDIM timesteps at or below t₀ = realism·(T−1)
                 4. denoise        z = VAE(x_fid) noised to t₀ (noise seeded by the file's own bytes), then
                                   ε̂ = prior UNet(z_t, t | ControlNet(z_t, t, ŷ) residuals, FiLM-modulated by
                                   HybridLFE(x_fid)) at each timestep       (low frequencies survive the noise;
                                                                             detail does not)
                 5. decode         x_gen = VAE⁻¹(ẑ₀)
                 6. LF correction  x_out = x_gen − LF(x_gen) + LF(x_fid)   (LFE variants; HybridLFE.correct)
                 7. crop           back to the original size

Three variants share this file (their names are the model ids in the bitstream):

- ``fasdiff``: HF-sensitive compressor + control + hybrid LFE (the full method);
- ``fasdiff-nolfe``: the same without the LFE (no FiLM, no low-frequency correction);
- ``fasdiff-plain``: plain hyperprior compressor + control, no LFE: a plain diffusion codec.

The prior and the compressor are frozen; the control and the LFE are what ``train/fasdiff.py`` trains, with
:meth:`FaSDiffCodec.training_loss`. Decoding is deterministic: the same bytes, steps and realism give the same
pixels. A saved codec folder describes itself (``codec.json``): its compressor (a shipped one by name, any
other as the subfolder ``compressor/``), where its prior came from, and the control's and the LFE's config, so
``FaSDiffCodec.from_pretrained(folder)`` alone rebuilds it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import bitstream, data
from .compressor import HFCompressor, hf_loss, pad
from .control import VisualPromptControl
from .lfe import HybridLFE, LFEConfig, lf_consistency_loss
from .prior import DiffusionPrior, load_prior, randn

VARIANTS = {  # model id -> (compressor it was trained on by default, use LFE)
    "fasdiff": ("hf-compressor", True),
    "fasdiff-nolfe": ("hf-compressor", False),
    "fasdiff-plain": ("hyperprior", False),
}
CODEC_FILE = "codec.json"
WEIGHTS_FILE = "control_lfe.safetensors"
FORMAT = 2  # codec.json schema: 2 records the compressor, the prior's source and the control's config
MAX_STEPS = 50  # most denoising steps a decode may ask for
SAMPLER = "ddim"


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

    # ------------------------------------------------------------------------------ decoding
    @torch.no_grad()
    def decompress(self, blob: bytes, steps: int = 4, realism: float = 1.0, progress: bool = False) -> torch.Tensor:
        """``.fsd`` bytes → 1×3×H×W image in [0, 1].

        steps: denoising steps actually run (1–50). realism: 0 gives the compressor's fidelity
        reconstruction; 1 starts the denoising from (almost) pure noise; in between, from x_fid's
        latent noised to ``realism·(T−1)`` (image-to-image style).
        """
        steps, realism = check_steps(steps), check_realism(realism)
        # 1. unpack: the compressor checks the header (this codec's id, two streams)
        p = self.compressor.unpack(blob, self.variant)
        # 2. fidelity reconstruction x_fid (at the padded size) and the visual prompt ŷ
        x_fid, prompt = self.compressor.decompress_tensor(list(p.streams), (p.height, p.width), p.rate, crop=False)
        if realism == 0.0:
            return x_fid[..., : p.height, : p.width]
        x_fid, prompt = x_fid.to(self.prior.device), prompt.to(self.prior.device)
        # 3. timesteps for (steps, realism)
        timesteps = self.timesteps(steps, realism)
        # 4. denoise: x_fid's latent noised to timesteps[0], with noise seeded by the file's own bytes
        g = torch.Generator(device="cpu").manual_seed(bitstream.seed_of(blob))
        z0 = self.prior.encode(x_fid)
        z, _ = self.prior.add_noise(z0, timesteps[0], randn(z0.shape, g, z0.device, z0.dtype))
        control = self.control_fn(prompt, x_fid, tuple(z0.shape[-2:]))
        z = self.prior.denoise(z, timesteps, control, generator=g, scheduler=SAMPLER, progress=progress)
        # 5. decode the latent
        x = self.prior.decode(z)
        # 6. low-frequency correction: x's detail on x_fid's coarse structure (LFE variants)
        if self.lfe is not None:
            x = self.lfe.correct(x, x_fid)
        # 7. crop back to the original size
        return x[..., : p.height, : p.width].float()

    @torch.no_grad()
    def fidelity(self, blob: bytes) -> tuple[torch.Tensor, torch.Tensor, bitstream.Packet]:
        """Steps 1–2 of :meth:`decompress`: (x_fid at the padded size, the visual prompt ŷ, the packet)."""
        p = self.compressor.unpack(blob, self.variant)
        x_fid, prompt = self.compressor.decompress_tensor(list(p.streams), (p.height, p.width), p.rate, crop=False)
        return x_fid, prompt, p

    def timesteps(self, steps: int, realism: float) -> torch.Tensor:
        """The ``steps`` DDIM timesteps to run: those of the coarsest grid that has at least ``steps`` of them at
        or below ``start_t = realism·(T−1)``, the last ``steps`` of those (the first sets the starting noise
        level). Fewer than ``steps`` only when there are not that many timesteps below start_t (realism < 0.05)."""
        T = self.prior.num_train_timesteps
        start_t = max(1, round(realism * (T - 1)))
        sched = self.prior.schedulers[SAMPLER]
        for total in range(int(steps), T + 1):
            sched.set_timesteps(total)
            if int((sched.timesteps <= start_t).sum()) >= steps:
                break
        return self.prior.get_timesteps(total, start_t, max_steps=steps, scheduler=SAMPLER)

    def control_fn(self, prompt: torch.Tensor, x_fid: torch.Tensor, latent_size: tuple[int, int]):
        """``fn(z_t, t) -> UNet residual kwargs`` for :meth:`DiffusionPrior.denoise`."""
        modulate = None
        if self.lfe is not None:
            feats = self.lfe.features(x_fid, latent_size)
            modulate = lambda residuals: self.lfe.modulate(residuals, feats)  # noqa: E731
        context = self.prior.context
        return lambda z_t, t: self.control(z_t, t, context, prompt, modulate=modulate)

    # ------------------------------------------------------------------------------ training
    def training_loss(self, x: torch.Tensor, rate: float, hf_weight: float = 0.5, lf_weight: float = 1.0) -> dict:
        """The FaSDiff objective for one batch of faces x at ``rate`` (differentiable in the control and the LFE)::

            ŷ, x_fid = compressor(x, r)       frozen, real rounding: what the decoder will see
            z0 = VAE(x);  t ~ U{0 … T−1};  z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε
            ε̂ = UNet(z_t, t | ControlNet(z_t, t, ŷ) residuals [· (1+γ) + β from HybridLFE(x_fid)])

            loss = ‖ε̂ − ε‖²                                                diffusion (noise prediction with control)
                 + w_hf · ᾱ_t · ‖DWT_detail(x̂0) − DWT_detail(x)‖²         high-frequency term
                 + w_lf · ᾱ_t · (‖LL(x̂0) − LL(x)‖² + ‖LP(x̂0) − LP(x)‖²)   low-frequency consistency (LFE variants)

        where x̂0 = VAE⁻¹(ẑ0) is the clean image the step implies. The pixel terms are weighted by ᾱ_t: at high
        noise x̂0 is a guess and should not be pushed around. Returns ``loss``, ``diffusion``, ``hf``, ``lf``.
        """
        prior = self.prior
        with torch.no_grad():  # the compressor and the VAE are frozen
            out = self.compressor.forward_rate(pad(x), rate)  # eval mode: real rounding, as at decode time
            prompt, x_fid = out["y_hat"], out["x_hat"].clamp(0, 1)[..., : x.shape[-2], : x.shape[-1]]
            z0 = prior.encode(x)
        t = torch.randint(0, prior.num_train_timesteps, (z0.shape[0],), device=z0.device)
        z_t, eps = prior.add_noise(z0, t)
        residuals = self.control_fn(prompt, x_fid, tuple(z0.shape[-2:]))(z_t, t)
        eps_hat = prior.predict_noise(z_t, t, **residuals)
        diffusion = F.mse_loss(eps_hat.float(), eps.float())
        w = prior.alphas_cumprod.to(z0.device)[t].mean()  # ᾱ_t: trust x̂0 only where the noise is low
        z0_hat = prior.predict_x0(z_t, t, eps_hat)
        x0_hat = ((prior.vae.decode(z0_hat / prior.scaling_factor + prior.shift_factor).sample + 1) / 2).clamp(0, 1)
        zero = torch.zeros((), device=x.device)
        hf = hf_loss(x, x0_hat) if hf_weight > 0 else zero
        lf = lf_consistency_loss(x, x0_hat) if (lf_weight > 0 and self.lfe is not None) else zero
        return {"loss": diffusion + w * (hf_weight * hf + lf_weight * lf), "diffusion": diffusion, "hf": hf, "lf": lf}

    def trainable_modules(self) -> dict[str, nn.Module]:
        """What training changes: the control, and the LFE when this variant has one."""
        return {"control": self.control, **({"lfe": self.lfe} if self.lfe is not None else {})}

    # ------------------------------------------------------------------------------ saving
    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {f"{k}.{n}": v.detach().cpu().contiguous()
                for k, m in self.trainable_modules().items() for n, v in m.state_dict().items()}

    def save_pretrained(self, folder: str | Path, extra: dict | None = None, dtype: torch.dtype | None = torch.float16) -> Path:
        """A folder that describes itself, like a diffusers pipeline folder::

            codec.json                 variant; compressor: a shipped name, or "compressor/" below;
                                       prior: load_prior's arguments, or "prior/" below; control and LFE config
            control_lfe.safetensors    the trained control (+ LFE), floating-point tensors stored as ``dtype``
                                       (fp16 by default: half the size; loading casts back; None keeps them)
            compressor/, prior/        only for a compressor / prior that is not shipped (saved in full precision)
        """
        from safetensors.torch import save_file

        from . import zoo

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v for k, v in self.trainable_state().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        shipped = getattr(self.compressor, "zoo_name", None)
        if shipped in zoo.names("compressor"):
            compressor = {"shipped": shipped}
        else:
            self.compressor.save_pretrained(folder / "compressor")
            compressor = {"folder": "compressor"}
        if self.prior.source is not None:
            prior = {"load_prior": dict(self.prior.source)}
        else:
            self.prior.save_pretrained(folder / "prior", dtype=None)
            prior = {"folder": "prior"}
        meta = {"format": FORMAT, "variant": self.variant, "compressor": compressor, "prior": prior,
                "control": self.control.config(), "lfe": self.lfe.extra_config() if self.lfe is not None else None,
                **(extra or {})}
        (folder / CODEC_FILE).write_text(json.dumps(meta, indent=1))
        return folder

    @staticmethod
    def read_config(folder: str | Path) -> dict:
        """``codec.json`` of a codec folder in the current schema (a format-1 file, which named the compressor by
        its shipped name and the prior as "tiny", is read as such)."""
        folder = Path(folder)
        if not (folder / CODEC_FILE).exists():
            raise FileNotFoundError(f"no FaSDiff codec in {folder}; train one with `fasdiff-lite train fasdiff`")
        meta = json.loads((folder / CODEC_FILE).read_text())
        if isinstance(meta.get("compressor"), str):
            meta["compressor"] = {"shipped": meta["compressor"]}
        if isinstance(meta.get("prior", "tiny"), str):
            meta["prior"] = {"load_prior": {"name": meta.get("prior", "tiny")}}
        return meta

    @classmethod
    def from_pretrained(cls, folder: str | Path, prior: DiffusionPrior | None = None, device=None,
                        compressor: HFCompressor | None = None) -> "FaSDiffCodec":
        """Rebuild the codec saved in ``folder`` from that folder alone. ``prior`` / ``compressor``: already-loaded
        ones to use instead of loading them again (the zoo's cached loader shares one prior between variants)."""
        from safetensors.torch import load_file

        from . import zoo

        folder = Path(folder)
        meta = cls.read_config(folder)
        if prior is None:
            src = meta["prior"]
            prior = load_prior(folder / src["folder"], device) if "folder" in src else load_prior(**src["load_prior"], device=device)
        if compressor is None:
            src = meta["compressor"]
            compressor = (HFCompressor.from_pretrained(folder / src["folder"], prior.device) if "folder" in src
                          else zoo.load(src["shipped"], device=prior.device))
        control_cfg = meta.get("control") or {"prompt_channels": compressor.config.M}
        control = VisualPromptControl(prior.unet, **control_cfg).to(prior.device)
        lfe = None
        if meta.get("lfe"):
            cfg = dict(meta["lfe"])
            cfg["residual_channels"] = tuple(cfg["residual_channels"])
            lfe = HybridLFE(LFEConfig(**cfg))
        codec = cls(compressor, prior, meta["variant"], control=control, lfe=lfe)
        state = load_file(str(folder / WEIGHTS_FILE))
        for name, module in codec.trainable_modules().items():
            module.load_state_dict({k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")})
        return codec.to(prior.device).eval()


def check_steps(steps) -> int:
    """A denoising step count: a whole number from 1 to :data:`MAX_STEPS`, or a ValueError."""
    if isinstance(steps, bool) or int(steps) != steps or not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    return int(steps)


def check_realism(realism) -> float:
    """A realism setting in [0, 1] (NaN refused), or a ValueError."""
    try:
        r = float(realism)
    except (TypeError, ValueError):
        raise ValueError(f"realism must be a number in [0, 1], got {realism!r}") from None
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"realism must be in [0, 1], got {realism}")
    return r

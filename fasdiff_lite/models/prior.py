"""The stable diffusion prior: a latent diffusion model that the codec steers to draw a face.

FaSDiff decodes a face by running Stable Diffusion, steered (through a ControlNet) by the latent that
the compressor decoded from the bitstream. This module is that Stable Diffusion part, behind one small
interface, :class:`DiffusionPrior`, with two implementations that share every line of run-time code:

- ``tiny`` (the default, :class:`TinyPrior`, here): a 1 M-parameter KL autoencoder (64×64×3 faces ↔ 16×16×4
  latents) and a 3.7 M-parameter denoising UNet, trained on the shared faces' train split in 55 minutes
  of one CPU thread and shipped in ``fasdiff_lite/assets/prior/tiny`` (see its MODEL_CARD.md). One denoising step takes
  about 8 ms on one CPU thread; a 20-step face, about 0.2 s.
- ``stable-diffusion`` (``StableDiffusionPrior``, in ``models/stable_diffusion.py`` with the hub loading and its
  error messages): a real diffusers checkpoint (SD 2.1-base or SD-Turbo in mind) from the Hugging Face hub or a
  local folder, in fp16 on a GPU.

Both are the same two diffusers models, used exactly as Stable Diffusion uses them::

    image x ∈ [0,1]  ──encode──▶  z0 = (E(2x−1) − shift)·scale        the VAE, "scaled latent" N×4×h×w
                                      │
    forward noising (training):   z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε        ε ~ N(0, I), t ∈ {0 … 999}
                                      │
    the UNet:                     ε̂ = UNet(z_t, t, context [, ControlNet residuals])
    training objective:           ‖ε̂ − ε‖²                           (train/prior.py)
                                      │
    sampling: z_T ~ N(0, I) ──DDIM / DPM-Solver, a few steps──▶ ẑ0 ──decode──▶ image ∈ [0,1]

``context`` is the cross-attention input. In Stable Diffusion it is the CLIP text embedding of the
prompt; FaSDiff uses the empty prompt, so here it is one fixed tensor per model: the real empty-prompt
embedding for SD (computed once with the checkpoint's text encoder, then cached on disk), and a fixed
random 1×8×64 tensor stored with the tiny weights (the UNet learns its key/value projections, so 8
fixed tokens act as 8 learned memory slots). ``predict_noise`` accepts the
``down_block_additional_residuals`` / ``mid_block_additional_residual`` that a diffusers
``ControlNetModel`` returns, which is how a later module steers the prior with the compressor's latent.

Public API::

    from fasdiff_lite.models.prior_loading import load_prior
    prior = load_prior("tiny")                   # or "stable-diffusion", "sd21-base", "sd-turbo", a folder, model_id=...
    z = prior.encode(x)                          # N×3×H×W in [0,1] → N×4×H/f×W/f scaled latent
    x = prior.decode(z)                          # and back
    eps = prior.predict_noise(z_t, t, down_block_additional_residuals=..., mid_block_additional_residual=...)
    imgs = prior.sample(4, steps=20, generator=torch.Generator().manual_seed(0))   # from pure noise
    ts = prior.get_timesteps(20, start_t=500)    # image to image (diffusers' get_timesteps / set_begin_index):
    z_t, _ = prior.add_noise(z, ts[0])           #   noise a latent to the first of them,
    z0 = prior.denoise(z_t, ts)                  #   and run exactly those steps (steered: models/steering.py)
    prior.set_scheduler("dpm")                   # "ddim" (default), "dpm" (DPM-Solver++), "ddpm"
    prior.unet, prior.vae, prior.context, prior.train_scheduler, prior.latent_shape(64, 64)

Errors: anything that stops a prior from loading (weights missing, no network, ``transformers`` not
installed) raises :class:`PriorUnavailable` with a message that says what to do.

Where the rest lives: ``models/prior_loading.py`` (:func:`load_prior`: a prior by name or folder),
``models/stable_diffusion.py`` (the SD checkpoint, hub ids, the empty-prompt embedding), ``models/latent_decoder.py``
(the codec's own trainable copy of the VAE decoder), and what the noise does to each frequency band,
``frequency.spectral_snr`` / ``frequency.wavelet_band_snr`` (notebook 04).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .. import settings

# diffusers (about 2 s to import) is imported inside the functions that build or load its models: the explorers of
# notebooks 01–03 import the models (through the zoo) and never load diffusers.

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
TINY_DIR_NAME = "prior/tiny"  # under settings.ASSETS_DIR
SAMPLERS = ("ddim", "dpm", "ddpm")
PRIOR_FILE = "prior.json"  # marks a folder written by DiffusionPrior.save_pretrained
CONTEXT_FILE = "context.safetensors"


class PriorUnavailable(RuntimeError):
    """A diffusion prior that cannot be loaded here; the message says why and what to do."""


# ------------------------------------------------------------------------------------- the interface
class EmptyPrompt(nn.Module):
    """The cross-attention context for the empty prompt: one fixed tensor 1×L×D, saved with the weights."""

    def __init__(self, context: torch.Tensor):
        super().__init__()
        if context.ndim != 3 or context.shape[0] != 1:
            raise ValueError(f"the context must have shape 1×tokens×dim, got {tuple(context.shape)}")
        self.register_buffer("context", context.detach().clone())

    def forward(self, batch_size: int) -> torch.Tensor:
        return self.context.expand(batch_size, -1, -1)


class DiffusionPrior(nn.Module):
    """A latent diffusion prior: VAE + UNet + empty-prompt context + noise schedulers.

    Build one with ``prior_loading.load_prior`` (or :meth:`TinyPrior.from_pretrained`,
    ``stable_diffusion.StableDiffusionPrior.from_pretrained``); the constructor takes ready-made parts.
    ``scheduler_config`` is a diffusers scheduler config (dict); the training scheduler (DDPM) and the
    sampling schedulers (DDIM, DPM-Solver++) are all built from it, so they share one noise schedule.
    """

    kind = "generic"
    source: dict | None = None  # the load_prior arguments that rebuild it ({"name": "tiny"}); None: built in memory

    def __init__(self, vae, unet, scheduler_config: dict, context: torch.Tensor, sampler: str = "ddim"):
        super().__init__()
        self.vae, self.unet = vae, unet
        self.empty_prompt = EmptyPrompt(context.to(unet.dtype))
        if context.shape[-1] != unet.config.cross_attention_dim:
            raise ValueError(
                f"context has dim {context.shape[-1]} but the UNet's cross_attention_dim is "
                f"{unet.config.cross_attention_dim}"
            )
        self.vae.requires_grad_(False)
        self.scheduler_config = _clean_scheduler_config(scheduler_config)
        self.schedulers = _make_schedulers(self.scheduler_config)
        self.set_scheduler(sampler)

    # -------------------------------------------------------------------------------- basic facts
    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    @property
    def context(self) -> torch.Tensor:
        """The empty-prompt cross-attention context, 1×tokens×dim (pass it to a ControlNet too)."""
        return self.empty_prompt.context

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @property
    def shift_factor(self) -> float:
        return float(getattr(self.vae.config, "shift_factor", None) or 0.0)

    @property
    def downsample(self) -> int:
        """How many pixels one latent cell covers along each side (4 for tiny, 8 for SD)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.train_scheduler.config.num_train_timesteps)

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """ᾱ_t for t = 0 … T−1: the fraction of signal *power* left in z_t (on the CPU)."""
        return self.train_scheduler.alphas_cumprod

    @property
    def prediction_type(self) -> str:
        return str(self.train_scheduler.config.prediction_type)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(channels, h, w) of the latent of a height×width image."""
        f = self.downsample
        if height % f or width % f:
            raise ValueError(f"image size {height}×{width} must be a multiple of {f} for this prior's VAE")
        return (int(self.vae.config.latent_channels), height // f, width // f)

    def num_parameters(self) -> dict:
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"vae": count(self.vae), "unet": count(self.unet)}

    def fingerprint(self) -> str:
        """What these weights are, in 16 hex digits: SHA-256 of the VAE's, the UNet's and the empty prompt's tensors
        at fp16 (the precision priors are saved in) and of the noise schedule (ᾱ_t and what the UNet predicts). A codec saved on a tiny prior records
        it, and loading that codec on a prior with another fingerprint is an error: a name such as ``"tiny"`` comes
        to mean other weights when a new prior is shipped. Computed afresh each call (about 0.3 s for the tiny prior
        on one CPU core): weights changed through ``.data`` leave no trace a cache could check."""
        h = hashlib.sha256(self.prediction_type.encode())  # the schedule as it acts (its config gains default keys)
        h.update(self.alphas_cumprod.to(torch.float32).numpy().tobytes())
        for part in ("vae", "unet", "empty_prompt"):
            for name, v in sorted(getattr(self, part).state_dict().items()):
                h.update(f"{part}.{name}".encode())
                h.update(v.detach().to(torch.float16).cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    # --------------------------------------------------------------------------------- schedulers
    @property
    def train_scheduler(self):
        """The DDPM scheduler: ``add_noise`` for training, and the schedule ᾱ_t."""
        return self.schedulers["ddpm"]

    def set_scheduler(self, name: str) -> "DiffusionPrior":
        """Choose the sampler used by :meth:`sample`: ``"ddim"``, ``"dpm"`` (DPM-Solver++) or ``"ddpm"``."""
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
        self.sampler_name = name
        return self

    @property
    def scheduler(self):
        """The sampling scheduler in use (see :meth:`set_scheduler`)."""
        return self.schedulers[self.sampler_name]

    # ------------------------------------------------------------------------------ VAE: x ↔ z
    @torch.no_grad()
    def encode(self, x: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images N×3×H×W in [0, 1] → scaled latents N×C×H/f×W/f (posterior mean; a draw if ``sample``)."""
        _check_images(x)
        h = x.to(self.device, self.vae.dtype) * 2 - 1
        posterior = self.vae.encode(h).latent_dist
        z = posterior.sample(generator=generator) if sample else posterior.mean
        return ((z - self.shift_factor) * self.scaling_factor).to(self.dtype)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → images in [0, 1] (float32)."""
        return self.decode_with_grad(z)

    def decode_with_grad(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`decode` with gradients on (when the caller has them) into ``z``: the frozen VAE decoder as a fixed
        judge of a latent (``FaSDiffCodec.decoded_loss``'s gen terms with ``gen_frozen``)."""
        if z.ndim != 4 or z.shape[1] != self.vae.config.latent_channels:
            raise ValueError(f"expected latents N×{self.vae.config.latent_channels}×h×w, got {tuple(z.shape)}")
        z = z.to(self.device, self.vae.dtype) / self.scaling_factor + self.shift_factor
        return ((self.vae.decode(z).sample.float() + 1) / 2).clamp(0, 1)

    # ----------------------------------------------------------------------------- the denoiser
    def model_output(self, z_t: torch.Tensor, t, down_block_additional_residuals=None,
                     mid_block_additional_residual=None) -> torch.Tensor:
        """The UNet's raw output for noisy latents z_t at timestep(s) t (ε for ε-prediction models).

        Not wrapped in ``no_grad``: the prior trainer calls it with gradients on.
        """
        t = torch.as_tensor(t, device=z_t.device)
        if t.ndim == 0:
            t = t.expand(z_t.shape[0])
        context = self.empty_prompt(z_t.shape[0]).to(z_t.dtype)
        return self.unet(
            z_t.to(self.dtype), t, encoder_hidden_states=context.to(self.dtype),
            down_block_additional_residuals=down_block_additional_residuals,
            mid_block_additional_residual=mid_block_additional_residual,
        ).sample

    def predict_noise(self, z_t: torch.Tensor, t, down_block_additional_residuals=None,
                      mid_block_additional_residual=None) -> torch.Tensor:
        """ε̂(z_t, t): the noise the UNet sees in z_t. The two residual arguments are what a diffusers
        ``ControlNetModel`` returns (``down_block_res_samples``, ``mid_block_res_sample``)."""
        out = self.model_output(z_t, t, down_block_additional_residuals, mid_block_additional_residual)
        return self.noise_from_output(out, z_t, t)

    def noise_from_output(self, out: torch.Tensor, z_t: torch.Tensor, t) -> torch.Tensor:
        """ε̂ from the UNet's raw output: itself for ε-prediction, ε = √ᾱ·v + √(1−ᾱ)·z_t for v-prediction."""
        if self.prediction_type == "epsilon":
            return out
        if self.prediction_type == "v_prediction":
            a = self._alpha_bar(t, z_t)
            return a.sqrt() * out + (1 - a).sqrt() * z_t
        raise ValueError(f"predict_noise does not support prediction_type {self.prediction_type!r}")

    # ------------------------------------------------------------------- forward process helpers
    def _alpha_bar(self, t, like: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t).long().cpu().reshape(-1)
        a = self.alphas_cumprod[t].to(like.device, like.dtype)
        return a.reshape(-1, *([1] * (like.ndim - 1)))

    def add_noise(self, z0: torch.Tensor, t, noise: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward process in one jump: z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε. Returns (z_t, ε)."""
        if noise is None:
            noise = randn(z0.shape, generator, z0.device, z0.dtype)
        t = torch.as_tensor(t, device=z0.device).long()
        if t.ndim == 0:
            t = t.expand(z0.shape[0])
        return self.train_scheduler.add_noise(z0, noise, t), noise

    def predict_x0(self, z_t: torch.Tensor, t, eps: torch.Tensor) -> torch.Tensor:
        """The clean latent implied by a noise estimate: ẑ0 = (z_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t."""
        a = self._alpha_bar(t, z_t)
        return (z_t - (1 - a).sqrt() * eps) / a.sqrt()

    # ------------------------------------------------------------------------------- sampling
    def get_timesteps(self, steps: int, start_t: int | None = None, max_steps: int | None = None,
                      scheduler: str | None = None) -> torch.Tensor:
        """Set the sampler's grid of ``steps`` timesteps and return the part to run (diffusers img2img's
        ``get_timesteps``): all of it by default; with ``start_t``, only the grid steps at or below it
        (the first sets the starting noise level), and with ``max_steps`` at most that many of those, the
        last ones (nearest to t = 0), so a caller who scheduled a finer grid runs exactly the count it asked for."""
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        sched = self._sampler(scheduler)
        sched.set_timesteps(steps, device=self.device)
        timesteps = sched.timesteps
        if start_t is not None:
            timesteps = timesteps[timesteps <= int(start_t)]
        if max_steps is not None:
            timesteps = timesteps[-int(max_steps):]
        if len(timesteps) == 0:
            raise ValueError(f"no scheduled timestep is at or below start_t={start_t} with {steps} steps; "
                             "raise start_t or the number of steps")
        return timesteps

    def start_sampler(self, timesteps: torch.Tensor, scheduler: str | None = None):
        """The sampling scheduler, set to run exactly ``timesteps`` (a tail of its grid, as :meth:`get_timesteps`
        returns: a multistep solver counts its steps from there). Then, per timestep, ``sched.scale_model_input``,
        the model and :meth:`sampler_step`, as :meth:`denoise` and ``models/steering.sample`` do."""
        sched = self._sampler(scheduler)
        grid = sched.timesteps
        begin = len(grid) - len(timesteps)
        if begin < 0 or not torch.equal(grid[begin:].cpu(), torch.as_tensor(timesteps).cpu()):
            raise ValueError("timesteps must be the tail of the sampler's grid: get them from get_timesteps")
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(begin)
        return sched

    @staticmethod
    def sampler_step(sched, model_output: torch.Tensor, t, z: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """One step of ``sched`` from z at timestep t to the next timestep (differentiable: diffusers' arithmetic)."""
        kwargs = {"generator": generator} if "generator" in inspect.signature(sched.step).parameters else {}
        return sched.step(model_output, t, z, **kwargs).prev_sample

    def denoise(self, z: torch.Tensor, timesteps: torch.Tensor, generator: torch.Generator | None = None,
                scheduler: str | None = None, progress: bool = False) -> torch.Tensor:
        """Run the sampler over ``timesteps`` (a tail of its grid, as :meth:`get_timesteps` returns) from the
        latent ``z``, noised to ``timesteps[0]``, with the bare UNet; returns the denoised latent ẑ0. The codec's
        steered version is ``models/steering.sample``. Gradients flow when the caller has them on."""
        sched = self.start_sampler(timesteps, scheduler)
        for t in progress_bar(timesteps, progress, f"sampling ({sched.__class__.__name__[:-9]}, {len(timesteps)} steps)"):
            z = self.sampler_step(sched, self.model_output(sched.scale_model_input(z, t), t), t, z, generator)
        return z

    @torch.no_grad()
    def sample(self, n: int = 1, steps: int = 20, generator: torch.Generator | None = None, progress: bool = True,
               height: int | None = None, width: int | None = None, scheduler: str | None = None,
               output: str = "image") -> torch.Tensor:
        """Draw ``n`` images by denoising pure noise in ``steps`` steps: :meth:`get_timesteps`, then
        :meth:`denoise`. ``output``: ``"image"`` (N×3×H×W in [0, 1]) or ``"latent"``."""
        if output not in ("image", "latent"):
            raise ValueError(f"output must be 'image' or 'latent', not {output!r}")
        timesteps = self.get_timesteps(steps, scheduler=scheduler)
        shape = (n, *self.latent_shape(height or self.image_size, width or self.image_size))
        z = randn(shape, generator, self.device, self.dtype) * self._sampler(scheduler).init_noise_sigma
        z = self.denoise(z, timesteps, generator, scheduler, progress)
        return z if output == "latent" else self.decode(z)

    def _sampler(self, name: str | None):
        name = name or self.sampler_name
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
        return self.schedulers[name]

    @property
    def image_size(self) -> int:
        """The image side the UNet was trained for (its ``sample_size`` × the VAE's downsampling)."""
        s = self.unet.config.sample_size
        return int((s[0] if isinstance(s, (list, tuple)) else s) * self.downsample)

    # ------------------------------------------------------------------------------- saving
    def save_pretrained(self, folder: str | Path, dtype: torch.dtype | None = torch.float16, extra: dict | None = None) -> Path:
        """Write the diffusers-style folder that ``prior_loading.load_prior`` reads::

            folder/prior.json            kind and facts; folder/context.safetensors   the empty prompt
            folder/vae/  folder/unet/    config.json + diffusion_pytorch_model.safetensors
            folder/scheduler/            scheduler_config.json

        ``dtype`` is the storage precision of the weights (fp16 halves the files; loading casts back).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("vae", "unet"):
            model = getattr(self, name)
            with quiet_diffusers():
                if dtype is not None and model.dtype != dtype:
                    model = copy.deepcopy(model).to(dtype)  # a copy: the live model keeps its precision
                model.save_pretrained(folder / name)
        self.train_scheduler.save_pretrained(folder / "scheduler")
        save_file({"context": self.context.detach().float().cpu().contiguous()}, str(folder / CONTEXT_FILE))
        info = {"kind": self.kind, "image_size": self.image_size, "context_tokens": int(self.context.shape[1])}
        info.update(extra or {})
        (folder / PRIOR_FILE).write_text(json.dumps(info, indent=1) + "\n")
        return folder

    def extra_repr(self) -> str:
        p = self.num_parameters()
        return (f"kind={self.kind!r}, image_size={self.image_size}, latent={self.latent_shape(self.image_size, self.image_size)}, "
                f"vae={p['vae'] / 1e6:.2f}M, unet={p['unet'] / 1e6:.2f}M, sampler={self.sampler_name!r}")


# ------------------------------------------------------------------------------- the tiny prior
class TinyPrior(DiffusionPrior):
    """The small prior shipped with the suite (configs in ``fasdiff_lite/configs/tiny_prior``)."""

    kind = "tiny"

    @classmethod
    def from_config(cls, config_dir: str | Path | None = None, seed: int | None = None) -> "TinyPrior":
        """A fresh, untrained tiny prior (random weights) built from its JSON configs."""
        from diffusers import AutoencoderKL, UNet2DConditionModel

        cdir = Path(config_dir) if config_dir else CONFIG_DIR / "tiny_prior"
        spec = read_json(cdir / PRIOR_FILE)
        vae = AutoencoderKL.from_config(read_json(cdir / "vae.json"))
        unet = UNet2DConditionModel.from_config(read_json(cdir / "unet.json"))
        g = torch.Generator().manual_seed(spec.get("context_seed", 0) if seed is None else seed)
        context = torch.randn(1, spec["context_tokens"], unet.config.cross_attention_dim, generator=g)
        return cls(vae, unet, read_json(cdir / "scheduler.json"), context)

    @classmethod
    def from_pretrained(cls, folder: str | Path | None = None, device=None) -> "TinyPrior":
        """Load a folder written by :meth:`save_pretrained` (default: the shipped ``fasdiff_lite/assets/prior/tiny``)."""
        folder = Path(folder) if folder else settings.ASSETS_DIR / TINY_DIR_NAME
        vae, unet, sched, context = load_folder(folder, torch.float32)
        return cls(vae, unet, sched, context).to(settings.device(device))


# --------------------------------------------------------------------------------------- helpers
def randn(shape, generator: torch.Generator | None, device, dtype) -> torch.Tensor:
    """Gaussian noise drawn on the generator's device (so a CPU seed gives the same noise on any device)."""
    gen_device = generator.device if generator is not None else device
    return torch.randn(tuple(shape), generator=generator, device=gen_device, dtype=torch.float32).to(device, dtype)


def progress_bar(items, enabled: bool, desc: str):
    """``items`` with a tqdm progress bar when ``enabled``."""
    if not enabled:
        return items
    return tqdm(items, desc=desc, leave=False, dynamic_ncols=True)


def _check_images(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected images N×3×H×W in [0, 1] (see data.to_tensor), got {shape}")
    if x.is_floating_point() and x.numel() and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
        raise ValueError(f"image values must lie in [0, 1], got [{float(x.min()):.3g}, {float(x.max()):.3g}]")


def read_json(path: Path) -> dict:
    """A JSON file (a config, prior.json) as a dict."""
    return json.loads(Path(path).read_text())


def _clean_scheduler_config(cfg: dict) -> dict:
    """Keep the noise-schedule keys; sampling always uses trailing timestep spacing, which starts at
    t = T−1 (pure noise) and matters when sampling in few steps (Lin et al., 2024)."""
    keep = {"num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
            "steps_offset", "timestep_spacing", "rescale_betas_zero_snr", "clip_sample", "set_alpha_to_one"}
    out = {k: v for k, v in dict(cfg).items() if k in keep and v is not None}
    out["timestep_spacing"] = "trailing"
    out.setdefault("clip_sample", False)
    return out


def _make_schedulers(cfg: dict) -> dict:
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    return {
        "ddpm": DDPMScheduler.from_config(cfg),
        "ddim": DDIMScheduler.from_config(cfg),
        "dpm": DPMSolverMultistepScheduler.from_config(cfg, algorithm_type="dpmsolver++", solver_order=2),
    }


def load_folder(folder: Path, dtype: torch.dtype):
    """(vae, unet, scheduler config, context) from a folder written by save_pretrained."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    folder = Path(folder)
    missing = [p for p in (PRIOR_FILE, CONTEXT_FILE, "vae/config.json", "unet/config.json", "scheduler/scheduler_config.json")
               if not (folder / p).exists()]
    if missing:
        raise PriorUnavailable(f"{folder} is not a complete saved prior: missing {', '.join(missing)}")
    with quiet_diffusers():
        vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=dtype, low_cpu_mem_usage=False)
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=dtype, low_cpu_mem_usage=False)
    for model in (vae, unet):  # own, freshly allocated memory: weights read straight from the file keep its byte
        for t in (*model.parameters(), *model.buffers()):  # offsets, and misaligned weights take other SIMD paths
            t.data = t.data.clone()  # (last-bit differences from the same weights in memory)
    sched = read_json(folder / "scheduler" / "scheduler_config.json")
    context = load_file(str(folder / CONTEXT_FILE))["context"]
    return vae, unet, sched, context


@contextlib.contextmanager
def quiet_diffusers():
    """Silence diffusers' advice-level log lines (dtype casts, ``accelerate``) around small-model I/O."""
    from diffusers.utils import logging as dlog

    level = dlog.get_verbosity()
    dlog.set_verbosity_error()
    try:
        yield
    finally:
        dlog.set_verbosity(level)


__all__ = ["DiffusionPrior", "TinyPrior", "PriorUnavailable", "EmptyPrompt", "SAMPLERS", "randn", "progress_bar"]

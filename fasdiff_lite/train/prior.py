"""Train the tiny prior's denoiser: DDPM ε-prediction on the VAE latents of the shared faces.

This is Stable Diffusion's training objective (Ho et al., 2020; Rombach et al., 2022), at toy size::

    face x ──VAE encoder (frozen)──▶ z0 = (z − shift)·scale               once, before training
    t ~ U{0 … 999},  ε ~ N(0, I)
    z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε                                             the forward process, one jump
    loss = ‖ UNet(z_t, t, empty-prompt context) − ε ‖²                      "predict the noise"

The faces' latents (posterior mean and std of the mirrored and unmirrored train split) are computed once
with the frozen VAE; each step draws a fresh latent z ~ q(z|x) from them, so a step costs one UNet
forward and backward only. An exponential moving average (EMA) of the UNet's weights is kept beside
it and is what gets exported: with a few thousand steps it gives visibly cleaner samples.

Command line (CPU defaults; ``FASDIFF_FAST=1`` shrinks everything to a few steps)::

    fasdiff-lite train prior --vae runs/tiny_vae/export --steps 6000 --threads 1 \\
        --out runs/tiny_unet --export fasdiff_lite/assets/prior/tiny

``--vae`` is a folder with ``vae/`` (written by ``fasdiff-lite train autoencoder --export``, or a saved
prior such as ``fasdiff_lite/assets/prior/tiny``); ``--vae untrained`` uses a randomly initialised VAE (smoke tests
only). ``--export DIR`` writes the whole prior (``vae/``, ``unet/``, ``scheduler/``, ``context.safetensors``,
``prior.json``) that ``load_prior(DIR)`` reads, plus ``train_prior.json`` and a sample grid ``samples.png``.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from PIL import Image

from .. import data, settings
from ..models.prior import PRIOR_FILE, TinyPrior
from . import loop
from .autoencoder import load_vae


@dataclass
class Config(loop.TrainConfig):
    vae: str = str(settings.ASSETS_DIR / "prior" / "tiny")  # folder with vae/ inside, or 'untrained'
    config: str | None = None  # folder with unet.json, scheduler.json, prior.json (default: configs/tiny_prior)
    ema: float = 0.999  # decay of the exported weight average
    no_flip: bool = False  # do not add mirrored faces to the training latents

    FULL: ClassVar[dict] = {"steps": 6000, "batch_size": 32, "lr": 1e-3, "warmup": None, "min_lr": 0.1,
                            "out": "runs/tiny_unet"}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4, "limit": 32}
    WARMUP_CAP: ClassVar[int] = 200


class LatentSet(torch.utils.data.Dataset):
    """Posterior mean and std of each face's latent, stacked on the channel axis (N×2C×h×w)."""

    def __init__(self, moments: torch.Tensor):
        self.moments = moments

    def __len__(self) -> int:
        return len(self.moments)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.moments[i]


@torch.no_grad()
def latent_moments(vae, faces: np.ndarray, flip: bool = True, batch_size: int = 64) -> torch.Tensor:
    """Unscaled posterior (mean, std) of the faces (uint8 N×H×W×3) and, with ``flip``, of their mirror
    images: a tensor (N or 2N)×2C×h×w on the VAE's device."""
    dev = next(vae.parameters()).device
    out = []
    for i in range(0, len(faces), batch_size):
        x = data.to_tensor(faces[i : i + batch_size]).to(dev)
        views = [x, x.flip(-1)] if flip else [x]
        for v in views:
            d = vae.encode(v * 2 - 1).latent_dist
            out.append(torch.cat([d.mean, d.std], dim=1))
    return torch.cat(out).float()


def diffusion_loss(prior: TinyPrior, z0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The DDPM ε-prediction loss on a batch of scaled latents z0 (uniform t; mean squared error)."""
    n = z0.shape[0]
    t = torch.randint(0, prior.num_train_timesteps, (n,), generator=generator).to(z0.device)
    noise = torch.randn(z0.shape, generator=generator).to(z0.device, z0.dtype)
    z_t, _ = prior.add_noise(z0, t, noise)
    pred = prior.model_output(z_t, t)
    if prior.prediction_type == "epsilon":
        target = noise
    elif prior.prediction_type == "v_prediction":
        target = prior.train_scheduler.get_velocity(z0, noise, t)
    else:
        raise ValueError(f"unsupported prediction_type {prior.prediction_type!r}")
    return torch.nn.functional.mse_loss(pred.float(), target.float())


def build_prior(vae_source: str, config_dir: str | Path | None, device) -> TinyPrior:
    """A tiny prior with a fresh UNet and the frozen VAE from ``vae_source`` ('untrained': random)."""
    prior = TinyPrior.from_config(config_dir)
    if str(vae_source) != "untrained":
        vae = load_vae(vae_source)
        prior.vae = vae
    prior.vae.eval().requires_grad_(False)
    return prior.to(device)


def ema_decay(step: int, max_decay: float) -> float:
    """EMA warm-up (as diffusers' ``EMAModel`` with power 3/4): a short average early, when the weights
    still change fast, growing to ``max_decay``. 0 at step 0 (a plain copy), ~0.997 by step 2000."""
    return min(max_decay, 1 - (1 + step) ** -0.75)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1 - decay)


# ------------------------------------------------------------------------------------ train, export
def train(cfg: Config) -> tuple[TinyPrior, list, dict]:
    cfg = cfg.resolved()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev = settings.device(cfg.device)
    faces = loop.training_faces(cfg)
    prior = build_prior(cfg.vae, cfg.config, dev)
    moments = latent_moments(prior.vae, faces, flip=not cfg.no_flip)
    shift, scale = prior.shift_factor, prior.scaling_factor
    unet = prior.unet
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=0.0)
    c = prior.vae.config.latent_channels
    noise_gen = torch.Generator().manual_seed(cfg.seed + 1)

    def step_fn(batch: torch.Tensor, step: int) -> dict:
        mean, std = batch[:, :c], batch[:, c:]
        z = mean + std * torch.randn(mean.shape, generator=noise_gen).to(mean.device)  # z ~ q(z|x)
        return {"loss": diffusion_loss(prior, (z - shift) * scale, noise_gen)}

    cfg.extra = {"n_faces": len(faces)}
    t0 = time.time()
    history = loop.run(cfg, LatentSet(moments), {"unet": unet, "ema": ema}, opt, step_fn,
                       after_step=lambda step: update_ema(ema, unet, ema_decay(step, cfg.ema)), desc="prior")
    prior.vae.eval()
    facts = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "ema": cfg.ema,
             "faces": str(cfg.faces), "n_train_faces": len(faces), "n_latents": len(moments),
             "flip": not cfg.no_flip, "vae": str(cfg.vae), "seed": cfg.seed,
             "threads": torch.get_num_threads(), "device": str(dev),
             "wall_time_s_this_run": round(time.time() - t0, 1),
             "train_time_s_logged": loop.training_seconds(history) if history else None,
             "final_loss": history[-1]["loss"] if history else None}
    prior.unet = ema.eval()  # export the averaged weights
    return prior, history, facts


def image_grid(images: torch.Tensor, nrow: int = 8, pad: int = 2) -> np.ndarray:
    """Images N×3×H×W in [0, 1] → one uint8 H'×W'×3 grid (white gaps)."""
    n, _, h, w = images.shape
    ncol = min(nrow, n)
    rows = (n + ncol - 1) // ncol
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    arr = (images.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
    for i, im in enumerate(arr):
        r, col = divmod(i, ncol)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = im
    return grid


def save_samples(prior: TinyPrior, path: str | Path, n: int = 32, steps: int = 50, seed: int = 0,
                 scheduler: str = "ddim", scale: int = 2) -> Path:
    """Draw ``n`` faces with a seeded generator and save them as a PNG grid (upscaled ``scale``×)."""
    imgs = prior.sample(n, steps=steps, generator=torch.Generator().manual_seed(seed), scheduler=scheduler, progress=False)
    im = Image.fromarray(image_grid(imgs))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    im.save(path)
    return Path(path)


def export(prior: TinyPrior, export_dir: str | Path, facts: dict, history: list | None = None,
           sample_steps: int = 50) -> dict:
    """Save the prior (fp16 weights), ``train_prior.json`` (settings, time, loss history) and ``samples.png``."""
    export_dir = Path(export_dir)
    prior.save_pretrained(export_dir, dtype=torch.float16, extra={"trained_by": "fasdiff-lite train prior"})
    report = dict(facts, n_parameters=prior.num_parameters(), history=history or [])
    vae_report = export_dir / "train_autoencoder.json"
    vae_src = Path(str(facts.get("vae", "")))
    if not vae_report.exists() and (vae_src / "train_autoencoder.json").exists():  # keep the VAE's facts beside it
        vae_report.write_text((vae_src / "train_autoencoder.json").read_text())
    (export_dir / "train_prior.json").write_text(json.dumps(report, indent=1) + "\n")
    save_samples(prior, export_dir / "samples.png", n=settings.pick(32, 8), steps=settings.pick(sample_steps, 4))
    return report


# ------------------------------------------------------------------------------------------ the CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    loop.add_arguments(parser, Config)
    m = parser.add_argument_group("model")
    m.add_argument("--vae", default=Config.vae,
                   help="folder with the trained VAE (vae/ inside; default: the shipped tiny prior), or 'untrained'")
    m.add_argument("--config", default=None, help="folder with unet.json, scheduler.json, prior.json "
                   "(default: fasdiff_lite/configs/tiny_prior)")
    m.add_argument("--ema", type=float, default=Config.ema, help="decay of the exported weight average")
    m.add_argument("--no-flip", action="store_true", help="do not add mirrored faces to the training latents")


def main(args) -> int:
    if str(args.vae) != "untrained" and not (Path(args.vae) / "vae" / "config.json").exists() \
            and not (Path(args.vae) / "config.json").exists():
        raise SystemExit(
            f"no trained VAE in {args.vae}: train one first with\n"
            f"  fasdiff-lite train autoencoder --export runs/tiny_vae/export\n"
            f"and pass --vae runs/tiny_vae/export (or --vae untrained for a smoke test)"
        )
    prior, history, facts = train(Config.from_args(args))
    if history:
        last = history[-1]
        print(f"prior: step {last['step']}, loss {last['loss']:.4f}, {last['time_s']:.0f} s")
    if args.export:
        if Path(args.export).resolve() == Path(args.vae).resolve() and (Path(args.export) / PRIOR_FILE).exists():
            print(f"overwriting the prior in {args.export}")
        export(prior, args.export, facts, history)
        print(f"exported the prior to {args.export} (load it with fasdiff_lite.models.prior_loading.load_prior({str(args.export)!r}))")
    return 0


if __name__ == "__main__":  # python -m fasdiff_lite.train.prior ... (same as `fasdiff-lite train prior`)
    _p = argparse.ArgumentParser(prog="fasdiff-lite train prior", description=__doc__.splitlines()[0])
    add_arguments(_p)
    raise SystemExit(main(_p.parse_args()))

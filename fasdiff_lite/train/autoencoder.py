"""Train the tiny prior's autoencoder: a KL-regularised VAE (diffusers ``AutoencoderKL``), as in Stable Diffusion.

The diffusion model does not work on pixels but on the VAE's latents, 16×smaller here (64×64×3 → 16×16×4)::

    face x ∈ [0,1] ──(2x−1)──E──▶ posterior q(z|x) = N(μ, σ²) ──sample z──D──▶ x̂ ∈ [−1,1]

    loss = |x̂ − x|₁ + |x̂ − x|²                          pixel fidelity (L1 keeps edges, MSE is PSNR)
         + freq_weight · mean |FFT(x̂) − FFT(x)|         a cheap frequency term: penalises lost detail
         + kl_weight · KL(q(z|x) ‖ N(0, I)) per element   keeps the latent space smooth and bounded
         + adv_weight · L_G(D(x̂))                         from step adv_start: the adversarial term (0: off)

SD trains its VAE with a perceptual (LPIPS) and an adversarial loss as well. Without the adversarial term the
reconstructions are soft: pixel losses ask for the mean of every detail the latent cannot pin down. With
``--adv-weight`` a small patch discriminator (``models/adversarial.py``, hinge losses) takes its own step after each
VAE step and the VAE is pushed toward detail the discriminator cannot tell from real faces. LPIPS is left out (its
weights need a download). After training, ``export`` measures the spread of
the latents on the training faces and stores ``scaling_factor = 1/std`` and ``shift_factor = mean`` in the
VAE config (SD 2.1 stores 0.18215 the same way), so the diffusion model sees latents of unit variance.

Command line (CPU defaults; ``FASDIFF_FAST=1`` shrinks everything to a few steps)::

    fasdiff-lite train autoencoder --steps 1200 --threads 1 --out runs/tiny_vae --export fasdiff_lite/assets/prior/tiny

The export writes ``DIR/vae/`` (config.json + fp16 safetensors) and ``DIR/train_autoencoder.json`` (settings,
time, validation PSNR). ``fasdiff-lite train prior --vae DIR`` then trains the UNet on these latents.
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
from diffusers import AutoencoderKL

from .. import settings
from ..data import DataUnavailable, FaceDataset, load_faces, to_tensor
from ..models.adversarial import PatchDiscriminator, discriminator_loss, generator_loss
from ..models.prior import CONFIG_DIR, quiet_diffusers, read_json
from . import loop


@dataclass
class Config(loop.TrainConfig):
    config: str | None = None  # folder with vae.json (default: fasdiff_lite/configs/tiny_prior)
    kl_weight: float = 1e-4  # weight of the KL term (per latent element)
    freq_weight: float = 0.1  # weight of the FFT L1 term (0 turns it off)
    adv_weight: float = 0.0  # weight of the adversarial term on the reconstruction (0: off, the shipped VAE's recipe)
    adv_start: int = 0  # steps before the adversarial term switches on (the discriminator trains from step 0)

    FULL: ClassVar[dict] = {"steps": 1200, "batch_size": 16, "lr": 1e-3, "warmup": None, "min_lr": 0.1,
                            "out": "runs/tiny_vae"}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4, "limit": 32}
    WARMUP_CAP: ClassVar[int] = 100


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of images in [0, 1]."""
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(1).clamp(min=1e-10)
    return 10 * torch.log10(1 / mse)


# -------------------------------------------------------------------------------------- the model
def build_vae(config_dir: str | Path | None = None):
    cdir = Path(config_dir) if config_dir else CONFIG_DIR / "tiny_prior"
    return AutoencoderKL.from_config(read_json(cdir / "vae.json"))


def load_vae(folder: str | Path, device=None):
    """The VAE from ``folder/vae`` (an exported prior or autoencoder) or ``folder`` itself, in float32."""
    folder = Path(folder)
    sub = folder / "vae" if (folder / "vae" / "config.json").exists() else folder
    if not (sub / "config.json").exists():
        raise FileNotFoundError(
            f"no trained VAE in {folder} (expected {folder}/vae/config.json); "
            f"run `fasdiff-lite train autoencoder --export {folder}` first"
        )
    with quiet_diffusers():
        vae = AutoencoderKL.from_pretrained(sub, torch_dtype=torch.float32, low_cpu_mem_usage=False)
    return vae.to(settings.device(device)).eval().requires_grad_(False)


def vae_loss(vae, x: torch.Tensor, kl_weight: float, freq_weight: float, discriminator=None,
             adv_weight: float = 0.0) -> dict:
    """The training loss for a batch of faces in [0, 1] (see the module docstring): ``loss``, what is logged, and
    ``recon`` (the reconstruction in [0, 1], detached: the discriminator's fake batch). The adversarial term is added
    when ``adv_weight`` > 0 and a ``discriminator`` is given."""
    target = x * 2 - 1
    posterior = vae.encode(target).latent_dist
    z = posterior.sample()
    recon = vae.decode(z).sample
    l1 = (recon - target).abs().mean()
    mse = (recon - target).pow(2).mean()
    kl = posterior.kl().mean() / z[0].numel()  # per latent element
    freq = (torch.fft.fft2(recon, norm="ortho") - torch.fft.fft2(target, norm="ortho")).abs().mean()
    recon01 = (recon + 1) / 2
    adv = (generator_loss(discriminator(recon01)) if adv_weight > 0 and discriminator is not None
           else torch.zeros((), device=x.device))
    loss = l1 + mse + freq_weight * freq + kl_weight * kl + adv_weight * adv
    return {"loss": loss, "psnr": 10 * torch.log10(4 / mse.detach().clamp(min=1e-10)), "kl": kl.detach(),
            "latent_std": z.detach().std(), "adv": adv, "recon": recon01.detach()}


# ------------------------------------------------------------------------------------ train, export
def train(cfg: Config) -> tuple[object, list, dict]:
    """Train the VAE through ``train/loop.py``; return (vae, history, run facts)."""
    cfg = cfg.resolved()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    faces = loop.training_faces(cfg)
    vae = build_vae(cfg.config)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.lr, weight_decay=0.0)
    modules, aux, box = {"vae": vae}, None, {}
    disc = None
    if cfg.adv_weight > 0:
        disc = PatchDiscriminator().to(settings.device(cfg.device))
        d_opt = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
        modules["discriminator"] = disc
        aux = (d_opt, lambda: discriminator_loss(disc(box["real"]), disc(box["fake"])))

    def step_fn(batch: torch.Tensor, step: int) -> dict:
        out = vae_loss(vae, batch, cfg.kl_weight, cfg.freq_weight, disc, cfg.adv_weight if step >= cfg.adv_start else 0.0)
        box["real"], box["fake"] = batch, out.pop("recon")
        return out

    cfg.extra = {"n_faces": len(faces)}
    t0 = time.time()
    history = loop.run(cfg, FaceDataset(faces), modules, opt, step_fn, aux=aux, desc="autoencoder")
    facts = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "kl_weight": cfg.kl_weight,
             "freq_weight": cfg.freq_weight, "adv_weight": cfg.adv_weight, "adv_start": cfg.adv_start,
             "faces": str(cfg.faces), "n_train_faces": len(faces),
             "seed": cfg.seed, "threads": torch.get_num_threads(), "device": str(settings.device(cfg.device)),
             "wall_time_s_this_run": round(time.time() - t0, 1),
             "train_time_s_logged": loop.training_seconds(history) if history else None}
    return vae.eval(), history, facts


@torch.no_grad()
def latent_statistics(vae, faces: np.ndarray, batch_size: int = 64, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of posterior samples over ``faces`` (uint8 N×H×W×3): sets the latent scaling."""
    dev = next(vae.parameters()).device
    g = torch.Generator(device=dev).manual_seed(seed)
    zs = []
    for i in range(0, len(faces), batch_size):
        x = to_tensor(faces[i : i + batch_size]).to(dev)
        zs.append(vae.encode(x * 2 - 1).latent_dist.sample(generator=g).cpu())
    z = torch.cat(zs)
    return float(z.mean()), float(z.std())


@torch.no_grad()
def reconstruction_psnr(encode_decode, faces: np.ndarray, batch_size: int = 50) -> float:
    """Mean per-face PSNR (dB) of ``encode_decode(x)`` against ``x`` for uint8 faces N×H×W×3."""
    vals = []
    for i in range(0, len(faces), batch_size):
        x = to_tensor(faces[i : i + batch_size])
        vals.append(psnr(encode_decode(x).cpu(), x))
    return float(torch.cat(vals).mean())


def export(vae, export_dir: str | Path, train_faces: np.ndarray, facts: dict | None = None) -> dict:
    """Set the latent scaling from the training faces, save ``export_dir/vae`` (fp16), write a report."""
    export_dir = Path(export_dir)
    vae = vae.eval()
    mean, std = latent_statistics(vae, train_faces)
    vae.register_to_config(scaling_factor=round(1.0 / std, 5), shift_factor=round(mean, 5))
    report = dict(facts or {}, latent_mean=mean, latent_std=std, scaling_factor=vae.config.scaling_factor,
                  shift_factor=vae.config.shift_factor)
    try:
        val = load_faces("shared", size=64, split="val")
        dev = next(vae.parameters()).device
        report["val_psnr_db"] = round(reconstruction_psnr(
            lambda x: (vae.decode(vae.encode(x.to(dev) * 2 - 1).latent_dist.mean).sample + 1).div(2).clamp(0, 1), val), 3)
        report["n_val_faces"] = len(val)
    except DataUnavailable:
        report["val_psnr_db"] = None
    with quiet_diffusers():
        copy.deepcopy(vae).to(torch.float16).save_pretrained(export_dir / "vae")
    (export_dir / "train_autoencoder.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


# ------------------------------------------------------------------------------------------ the CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    loop.add_arguments(parser, Config)
    m = parser.add_argument_group("model and loss")
    m.add_argument("--config", default=None, help="folder with vae.json (default: fasdiff_lite/configs/tiny_prior)")
    m.add_argument("--kl-weight", type=float, default=1e-4, help="weight of the KL term (per latent element)")
    m.add_argument("--freq-weight", type=float, default=0.1, help="weight of the FFT L1 term (0 turns it off)")
    m.add_argument("--adv-weight", type=float, default=0.0, help="weight of the adversarial term on the "
                   "reconstruction (a patch discriminator, hinge losses; default 0: off)")
    m.add_argument("--adv-start", type=int, default=0, help="steps before the adversarial term switches on")


def main(args) -> int:
    cfg = Config.from_args(args)
    vae, history, facts = train(cfg)
    if history:
        last = history[-1]
        print(f"autoencoder: step {last['step']}, loss {last['loss']:.4f}, train PSNR {last['psnr']:.2f} dB")
    if cfg.export:
        report = export(vae, cfg.export, loop.training_faces(cfg.resolved()), facts)
        psnr_txt = f"{report['val_psnr_db']:.2f} dB on {report['n_val_faces']} validation faces" if report["val_psnr_db"] else "n/a"
        print(f"exported VAE to {Path(cfg.export) / 'vae'}: scaling_factor {report['scaling_factor']}, "
              f"shift_factor {report['shift_factor']}, reconstruction PSNR {psnr_txt}")
    return 0


if __name__ == "__main__":  # python -m fasdiff_lite.train.autoencoder ... (same as `fasdiff-lite train autoencoder`)
    _p = argparse.ArgumentParser(prog="fasdiff-lite train autoencoder", description=__doc__.splitlines()[0])
    add_arguments(_p)
    raise SystemExit(main(_p.parse_args()))

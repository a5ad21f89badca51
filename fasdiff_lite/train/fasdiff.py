"""``fasdiff-lite train fasdiff``: train the visual-prompt control (and the hybrid LFE) of a FaSDiff codec.

The prior is frozen, as in the paper; the compressor is frozen too (it was trained for rate and
distortion by ``train compressor``; its decoded latent is the visual prompt). One step::

    faces x, rate r ~ U[0, 1]
    ŷ, x_fid = compressor(x, r)                      (frozen, real rounding: what the decoder will see)
    z0 = VAE(x);  t ~ U{0 … T−1};  z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε
    ε̂ = UNet(z_t, t | ControlNet(z_t, t, ŷ) residuals [· (1+γ) + β from HybridLFE(x_fid)])

    loss = ‖ε̂ − ε‖²                                                   diffusion (noise prediction with control)
         + w_hf · ᾱ_t · ‖DWT_detail(x̂0) − DWT_detail(x)‖²            high-frequency term
         + w_lf · ᾱ_t · (‖LL(x̂0) − LL(x)‖² + ‖LP(x̂0) − LP(x)‖²)      low-frequency consistency (LFE variants)

where x̂0 = VAE⁻¹(ẑ0) is the clean image the step implies. The pixel terms are weighted by ᾱ_t: at
high noise x̂0 is a guess and should not be pushed around. The paper's identity term needs a
differentiable face recogniser; the offline one here (dlib) is not, so it is measured, not trained on.

    fasdiff-lite train fasdiff --variant fasdiff --steps 3000 --threads 1 --export assets/fasdiff/full
"""
from __future__ import annotations

import math
import time

import torch

from .. import data, settings
from ..codec import VARIANTS, FaSDiffCodec, training_inputs
from ..compressor import hf_loss, load_compressor
from ..lfe import lf_consistency_loss
from ..prior import load_prior
from . import loop


def add_arguments(p) -> None:
    p.add_argument("--variant", default="fasdiff", choices=list(VARIANTS),
                   help="fasdiff (full), fasdiff-nolfe (no low-frequency module), fasdiff-plain (hyperprior, no LFE)")
    p.add_argument("--prior", default="tiny", help="the frozen prior: tiny (shipped) or a folder")
    p.add_argument("--data", default="auto", help="faces: the shared train split (default), a folder or an .npz")
    p.add_argument("--steps", type=int, default=settings.pick(3000, 3))
    p.add_argument("--batch-size", type=int, default=settings.pick(16, 2))
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--hf-weight", type=float, default=0.5)
    p.add_argument("--lf-weight", type=float, default=1.0)
    p.add_argument("--out", default=None, help="run folder (default runs/<variant>)")
    p.add_argument("--export", default=None, help="write the trained codec here (codec.json + safetensors)")
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--no-resume", action="store_true")


def build(args) -> FaSDiffCodec:
    device = settings.device(args.device)
    prior = load_prior(args.prior, device=device)
    compressor = load_compressor(VARIANTS[args.variant][0], device=device)
    torch.manual_seed(args.seed)
    return FaSDiffCodec(compressor, prior, args.variant)


def step_losses(codec: FaSDiffCodec, x: torch.Tensor, rate: float, hf_weight: float, lf_weight: float) -> dict:
    """All loss terms for one batch (differentiable in the control and the LFE)."""
    prior = codec.prior
    inp = training_inputs(codec, x, rate)
    z0 = inp["z0"]
    n = z0.shape[0]
    t = torch.randint(0, prior.num_train_timesteps, (n,), device=z0.device)
    z_t, eps = prior.add_noise(z0, t)
    size = tuple(z0.shape[-2:])
    x_fid = inp["x_fid"][..., : x.shape[-2], : x.shape[-1]]
    modulate = None
    if codec.lfe is not None:
        feats = codec.lfe.features(x_fid, size)
        modulate = lambda r: codec.lfe.modulate(r, feats)  # noqa: E731
    residuals = codec.control(z_t, t, prior.context, inp["prompt"], modulate=modulate)
    eps_hat = prior.predict_noise(z_t, t, **residuals)
    diffusion = torch.nn.functional.mse_loss(eps_hat.float(), eps.float())
    a = prior.alphas_cumprod.to(z0.device)[t].view(-1, 1, 1, 1)
    z0_hat = prior.predict_x0(z_t, t, eps_hat)
    x0_hat = ((prior.vae.decode(z0_hat / prior.scaling_factor + prior.shift_factor).sample + 1) / 2).clamp(0, 1)
    w = a.mean()  # ᾱ_t: trust x̂0 only where the noise is low
    hf = hf_loss(x, x0_hat) if hf_weight > 0 else torch.zeros((), device=x.device)
    lf = lf_consistency_loss(x, x0_hat) if (lf_weight > 0 and codec.lfe is not None) else torch.zeros((), device=x.device)
    loss = diffusion + w * (hf_weight * hf + lf_weight * lf)
    return {"loss": loss, "diffusion": diffusion, "hf": hf, "lf": lf}


def train(args) -> tuple[FaSDiffCodec, list[dict]]:
    if args.threads:
        torch.set_num_threads(args.threads)
    split = "train" if args.data in ("auto", "shared") and settings.shared_dir() else "all"
    faces = data.load_faces(args.data, size=64, split=split)
    codec = build(args)
    trainable = [p for m in (codec.control, codec.lfe) if m is not None for p in m.parameters()]
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    modules = {"control": codec.control, **({"lfe": codec.lfe} if codec.lfe is not None else {})}

    def step_fn(x: torch.Tensor, step: int) -> dict:
        for g in opt.param_groups:  # short warm-up, then cosine decay to 10%
            warm = min(1.0, (step + 1) / 100)
            g["lr"] = args.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(1, args.steps))))
        codec.compressor.eval()
        codec.prior.eval()
        losses = step_losses(codec, x, float(torch.rand(())), args.hf_weight, args.lf_weight)
        opt.zero_grad()
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        return {k: float(v) for k, v in losses.items()}

    cfg = loop.LoopConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                          out_dir=args.out or f"runs/{args.variant}", checkpoint_every=args.checkpoint_every,
                          resume=not args.no_resume, device=str(codec.prior.device),
                          extra={"variant": args.variant, "data": str(args.data), "n_faces": len(faces)})
    t0 = time.time()
    history = loop.run(cfg, data.FaceDataset(faces), modules, {"opt": opt}, step_fn, desc=f"train {args.variant}")
    codec.training_info = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "hf_weight": args.hf_weight,
                           "lf_weight": args.lf_weight, "seed": args.seed, "data": str(args.data), "split": split,
                           "n_faces": len(faces), "wall_time_s_this_run": round(time.time() - t0, 1),
                           "threads": torch.get_num_threads()}
    return codec.eval(), history


def main(args) -> int:
    codec, history = train(args)
    if args.export:
        folder = codec.save_pretrained(args.export, extra={"training": codec.training_info, "history_tail": history[-5:]})
        print(f"exported to {folder}")
    return 0

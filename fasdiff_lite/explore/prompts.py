"""Notebook 05 (visual prompts): how the compressor's decoded latent ŷ steers the diffusion prior.

Pure functions (plain arguments in, dicts out; tests call them directly):

- :func:`prompt_views` (ŷ, its shape and strongest channels) and :func:`plot_prompt_channels`;
- :func:`dense_prompt_views` / :func:`plot_dense_prompt`: what the control is conditioned on, ŷ beside the dense
  prompt z_fid = VAE(x_fid) on the latent grid, and what ``control.condition`` makes of them;
- :func:`control_residuals` (what the ControlNet hands the UNet at one step), :func:`with_and_without_control`
  (same seed, control off and on), :func:`conditioning`;
- :func:`parameter_counts`, :func:`step_times`, :func:`sd_architecture_unet` (SD 2.1's block layout at a small
  width, to show the same control class fits it).

The model logic lives in :mod:`fasdiff_lite.models.codec`, :mod:`~fasdiff_lite.models.control` and
:mod:`~fasdiff_lite.models.steering`.
"""
from __future__ import annotations

import json
import time
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel

from .. import data
from ..evaluation import metrics
from ..models import steering
from ..models.codec import FaSDiffCodec
from ..models.prior import CONFIG_DIR, randn
from .common import as_face, check_codec, check_rate, check_steps


# --------------------------------------------------------------------------------- 05: the prompt
@torch.no_grad()
def prompt_views(codec: FaSDiffCodec, face, rate: float = 0.3, max_channels: int = 8) -> dict:
    """Compress ``face`` and look at what the decoder gets back: the visual prompt ŷ and x_fid.

    Returns ``blob``, ``bytes``, ``bpp``, ``prompt`` (the tensor ŷ, 1×M×h×w), ``shape``,
    ``fidelity`` (uint8: the compressor's own reconstruction), ``psnr_fidelity``, ``energy``
    (mean square per channel, numpy M), ``channels`` (the ``max_channels`` strongest channels, k×h×w
    float numpy, strongest first), ``channel_ids`` and ``top_share`` (their share of the energy).
    """
    codec = check_codec(codec)
    rate = check_rate(rate)
    if int(max_channels) < 1:
        raise ValueError(f"max_channels must be ≥ 1, got {max_channels}")
    img = as_face(face)
    blob = codec.compress(data.to_tensor(img), rate)
    x_fid, prompt, p = codec.fidelity(blob)
    fid = data.to_image(x_fid[..., : p.height, : p.width])
    energy = prompt[0].float().pow(2).mean(dim=(-2, -1)).cpu()
    order = energy.argsort(descending=True)[: int(max_channels)]
    return {
        "blob": blob, "bytes": len(blob), "bpp": metrics.bpp(len(blob), p.height, p.width), "rate": rate,
        "prompt": prompt, "shape": tuple(prompt.shape), "fidelity": fid, "psnr_fidelity": metrics.psnr(img, fid),
        "energy": energy.numpy(), "channels": prompt[0, order].float().cpu().numpy(),
        "channel_ids": [int(i) for i in order], "top_share": float(energy[order].sum() / energy.sum().clamp_min(1e-12)),
        "x_fid": x_fid,
    }


def plot_prompt_channels(views: dict, axes=None):
    """The strongest channels of ŷ as small heat maps (shared colour scale), beside the fidelity image."""
    ch = views["channels"]
    k = len(ch)
    if axes is None:
        fig, axes = plt.subplots(1, k + 1, figsize=(1.6 * (k + 1), 2.0))
    fig = axes[0].figure
    axes[0].imshow(views["fidelity"])
    axes[0].set_title(f"x_fid ({views['bytes']} B)", fontsize=8)
    lim = float(np.abs(ch).max()) or 1.0
    for ax, c, i in zip(axes[1:], ch, views["channel_ids"]):
        ax.imshow(c, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"ŷ channel {i}", fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(f"visual prompt ŷ {views['shape']}: the {k} strongest channels hold "
                 f"{100 * views['top_share']:.0f}% of its energy", fontsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def dense_prompt_views(codec: FaSDiffCodec, views: dict) -> dict:
    """What the control is conditioned on for the face of ``views`` (a :func:`prompt_views` result), built step by
    step as :meth:`~fasdiff_lite.models.control.VisualPromptControl.condition` builds it.

    Returns ``prompt`` (ŷ, 1×M×h×w at 1/16 of the image), ``z_fid`` (the dense prompt VAE(x_fid), on the prior's
    latent grid), ``z_fid_image`` (uint8: the prior's VAE decoding z_fid, to see what it holds), ``resized`` (ŷ
    resized bilinearly to the latent grid), ``stacked`` (the adapter's input: resized ŷ, then z_fid), ``cond``
    (the adapter's output c, the ControlNet's conditioning input), ``shapes`` (name → shape), ``dense_channels``
    and ``channel_ids`` (ŷ's strongest channels, from ``views``). A control without a dense prompt stacks ŷ alone.
    """
    codec = check_codec(codec)
    control, prior = codec.control, codec.prior
    dtype = next(control.parameters()).dtype
    prompt = views["prompt"].to(prior.device, dtype)
    z_fid = prior.encode(views["x_fid"].to(prior.device))
    size = tuple(z_fid.shape[-2:])
    dense = z_fid.to(dtype) if control.dense_channels else None
    resized = F.interpolate(prompt, size=size, mode="bilinear", align_corners=False)
    out = {"prompt": prompt, "z_fid": z_fid, "resized": resized,
           "stacked": resized if dense is None else torch.cat([resized, dense], dim=1),
           "cond": control.condition(prompt, size, dense), "dense_channels": control.dense_channels,
           "z_fid_image": data.to_image(prior.decode(z_fid)), "channel_ids": list(views["channel_ids"])}
    out["shapes"] = {k: tuple(out[k].shape) for k in ("prompt", "z_fid", "resized", "stacked", "cond")}
    return out


def plot_dense_prompt(dense: dict, fidelity=None, k: int = 4):
    """Four rows of heat maps: ŷ's ``k`` strongest channels at their own 4×4 size and resized to the latent grid,
    z_fid's channels, and the adapter's output c (each row on its own symmetric colour scale). The first column
    shows ``fidelity`` (x_fid) and the prior's VAE decoding of z_fid."""
    ids = dense["channel_ids"][:k]
    rows = [(dense["prompt"][0, ids], [f"ŷ ch {i}" for i in ids], fidelity, "x_fid"),
            (dense["resized"][0, ids], [f"ŷ ch {i} resized" for i in ids], None, ""),
            (dense["z_fid"][0, :k], [f"z_fid ch {c}" for c in range(min(k, dense["z_fid"].shape[1]))],
             dense["z_fid_image"], "VAE decoder(z_fid)"),
            (dense["cond"][0, :k], [f"c ch {c}" for c in range(min(k, dense["cond"].shape[1]))], None, "")]
    fig, axes = plt.subplots(len(rows), k + 1, figsize=(1.7 * (k + 1), 1.8 * len(rows)), squeeze=False)
    for r, (maps, titles, image, label) in enumerate(rows):
        maps = maps.float().cpu().numpy()
        lim = float(np.abs(maps).max()) or 1.0
        if image is not None:
            axes[r, 0].imshow(image)
            axes[r, 0].set_title(label, fontsize=8)
        for ax, m, t in zip(axes[r, 1:], maps, titles):
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"{t} ({m.shape[0]}×{m.shape[1]})", fontsize=7.5)
        for ax in axes[r]:
            ax.axis("off")
    s = dense["shapes"]
    fig.suptitle(f"ŷ {s['prompt'][1:]} → resized {s['resized'][1:]}, stacked with z_fid {s['z_fid'][1:]} "
                 f"→ {s['stacked'][1:]} → adapter → c {s['cond'][1:]}", fontsize=8.5)
    fig.tight_layout()
    return fig


def conditioning(codec: FaSDiffCodec, prompt, x_fid) -> steering.Conditioning:
    """What steers the codec's denoiser, as :meth:`FaSDiffCodec.decompress` builds it: ŷ, z_fid = VAE(x_fid) as the
    dense prompt, and the LFE's features of x_fid (LFE variants)."""
    dev = codec.prior.device
    x_fid = x_fid.to(dev)
    return codec.conditioning(prompt.to(dev), x_fid, codec.prior.encode(x_fid))


@torch.no_grad()
def control_residuals(codec: FaSDiffCodec, prompt, x_fid, t: int = 500, seed: int = 0) -> dict:
    """One denoising step at timestep ``t`` on a random latent, with and without the control.

    Returns ``residual_max`` (largest |value| of each residual, down blocks then mid), ``residual_shapes``,
    ``eps_change`` (max |ε̂_with − ε̂_without|) and ``eps_scale`` (max |ε̂_without|, for comparison).
    An untrained (zero-initialised) control gives zeros everywhere.
    """
    codec = check_codec(codec)
    prior = codec.prior
    g = torch.Generator().manual_seed(seed)
    shape = (prompt.shape[0], *prior.latent_shape(*x_fid.shape[-2:]))
    z = torch.randn(shape, generator=g).to(prior.device, prior.dtype)
    cond = conditioning(codec, prompt, x_fid)
    parts = codec.control(z, t, prior.context, cond.visual, dense=cond.dense)
    if codec.lfe is not None:
        parts = codec.lfe.modulate(parts, cond.lf_features)
    eps0 = prior.predict_noise(z, t)
    eps1 = prior.noise_from_output(steering.steered_output(prior, codec.control, codec.lfe, z, t, cond), z, t)
    return {"residual_max": [float(r.abs().max()) for r in parts], "residual_shapes": [tuple(r.shape) for r in parts],
            "eps_change": float((eps1 - eps0).abs().max()), "eps_scale": float(eps0.abs().max())}


@torch.no_grad()
def with_and_without_control(codec: FaSDiffCodec, face, rate: float = 0.3, steps: int = 10, seed: int = 0,
                             scales=(0.0, 1.0)) -> dict:
    """Draw from pure noise with the **same seed**, the control's residuals scaled by each of ``scales``
    (0 = the bare prior, 1 = the codec's control). Returns ``original``, ``fidelity``, ``bytes``,
    ``samples`` {scale: uint8 image}, ``psnr`` {scale: dB vs the original}, ``identical`` (True when every
    sample equals the scale-0 one: an untrained control)."""
    codec = check_codec(codec)
    steps = check_steps(steps)
    img = as_face(face)
    pv = prompt_views(codec, img, rate)
    prior = codec.prior
    h, w = pv["x_fid"].shape[-2:]
    out = OrderedDict()
    cond = conditioning(codec, pv["prompt"], pv["x_fid"])
    for s in scales:
        g = torch.Generator().manual_seed(seed)
        timesteps = prior.get_timesteps(steps, scheduler="ddim")
        z = randn((1, *prior.latent_shape(h, w)), g, prior.device, prior.dtype)  # as prior.sample draws it
        z = steering.sample(prior, codec.control, codec.lfe, z, timesteps, cond, "ddim", g, scale=float(s))
        out[float(s)] = data.to_image(prior.decode(z)[..., : img.shape[0], : img.shape[1]])
    first = next(iter(out.values()))
    return {"original": img, "fidelity": pv["fidelity"], "bytes": pv["bytes"], "samples": out,
            "psnr": {s: metrics.psnr(img, v) for s, v in out.items()},
            "identical": all(np.array_equal(first, v) for v in out.values())}


def parameter_counts(codec: FaSDiffCodec) -> dict:
    """Parameters (in millions) of the frozen UNet and VAE, the ControlNet, its prompt adapter, the LFE, the codec's
    own copy of the VAE decoder (trainable; the shipped codecs keep it equal to the prior's) and the fidelity fusion."""
    codec = check_codec(codec)
    n = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    out = {"prior UNet (frozen)": n(codec.prior.unet), "prior VAE (frozen)": n(codec.prior.vae),
           "compressor (frozen)": n(codec.compressor),
           "ControlNet (trained)": n(codec.control.controlnet), "prompt adapter (trained)": n(codec.control.adapter)}
    if codec.lfe is not None:
        out["HybridLFE (trained)"] = n(codec.lfe)
    if codec.decoder is not None:
        out["latent decoder (trainable copy)"] = n(codec.decoder)
    if codec.fusion is not None:
        out["fidelity fusion (trained)"] = n(codec.fusion)
    return out


@torch.no_grad()
def step_times(codec: FaSDiffCodec, reps: int = 5, t: int = 500) -> dict:
    """Seconds per denoising step at batch 1: the bare UNet, and UNet + ControlNet (+ LFE FiLM)."""
    codec = check_codec(codec)
    prior = codec.prior
    side = prior.image_size
    z = torch.randn(1, *prior.latent_shape(side, side)).to(prior.device, prior.dtype)
    prompt = torch.zeros(1, codec.compressor.config.M, side // 16, side // 16, device=prior.device)
    cond = conditioning(codec, prompt, torch.full((1, 3, side, side), 0.5, device=prior.device))

    def bare():
        prior.model_output(z, t)

    def steered():
        steering.steered_output(prior, codec.control, codec.lfe, z, t, cond)

    out = {}
    for name, f in (("unet", bare), ("unet+control", steered)):
        f()  # warm-up
        t0 = time.perf_counter()
        for _ in range(int(reps)):
            f()
        out[name] = (time.perf_counter() - t0) / int(reps)
    out["overhead_pct"] = 100 * (out["unet+control"] / out["unet"] - 1)
    return out


def sd_architecture_unet(width: int = 32, cross_attention_dim: int = 64, seed: int = 0):
    """Stable Diffusion 2.1's UNet *layout* (4 levels, its block types, attention placement, linear
    projections) from the config shipped in ``fasdiff_lite/configs/sd21_base``, at a small width so it
    builds in a second on a CPU. Random weights: for checking that code written for the tiny prior
    also fits SD's shapes (``VisualPromptControl(unet, M)``), not for drawing."""
    cfg = json.loads((CONFIG_DIR / "sd21_base" / "unet.json").read_text())
    mult = [c // cfg["block_out_channels"][0] for c in cfg["block_out_channels"]]  # 1, 2, 4, 4
    cfg.update(block_out_channels=[width * m for m in mult], cross_attention_dim=cross_attention_dim,
               attention_head_dim=[max(1, width * m // 32) for m in mult], norm_num_groups=min(32, width),
               sample_size=8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet2DConditionModel.from_config(cfg)

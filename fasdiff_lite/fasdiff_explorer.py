"""Explorers and small helpers for notebooks 05–07: the FaSDiff codec, taken apart and put back together.

Like :mod:`fasdiff_lite.rd_explorer`, everything a notebook shows is computed by a **pure function**
(plain arguments in, a dict of arrays and numbers out; tests call them directly), and the two ipywidgets
explorers only wire sliders to those functions::

    sliders (rate, steps, realism) ──▶ decode_views(codec, face, ...) ──dict──▶ images + captions
    sliders (LL level, Fourier cut) ──▶ lowpass_views(face, ...)      ──dict──▶ images + captions

What is here, by notebook:

- setup (all three): :func:`load_setup` loads the shipped prior and codecs, or falls back, with a printed
  note, to a randomly initialised tiny prior and untrained control (the plumbing runs; the pictures are
  noise); :func:`default_faces`.
- 05 visual prompts: :func:`prompt_views` (ŷ, its shape and channels), :func:`control_residuals` (what the
  ControlNet hands the UNet at one step), :func:`with_and_without_control` (same seed, control on/off),
  :func:`parameter_counts`, :func:`step_times`, :func:`sd_architecture_unet` (SD 2.1's block layout at
  a small width, to show the same control class fits it).
- 06 low-frequency enhancement: :func:`lowpass_views` / :func:`lowpass_explorer`, :func:`lf_errors`,
  :func:`film_stats`, :func:`lf_correct`.
- 07 end to end: :func:`header_fields`, :func:`decode_views` / :func:`decode_explorer`,
  :func:`compare_ablations` (every codec at equal bytes), :func:`realism_sweep`, :func:`detail_ratio`,
  :func:`plot_ablations`, :func:`plot_perception_distortion`.

The model logic lives in :mod:`fasdiff_lite.codec`, :mod:`~fasdiff_lite.control` and
:mod:`~fasdiff_lite.lfe`; nothing here changes how a face is coded or decoded.
"""
from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from . import baselines, bitstream, data, frequency, metrics, settings
from .codec import MAX_STEPS  # the decode slider's range: the most the codec accepts
from .codec import SHIPPED as SHIPPED_CODECS
from .codec import VARIANTS, FaSDiffCodec, available_codecs
from .compressor import CompressorConfig, HFCompressor, load_compressor
from .lfe import LFEConfig, hybrid_lowpass, lf_consistency_loss
from .lfe import lf_correct as _smooth_lf_correct
from .rd_explorer import _check_rate, _check_unit, _face, _png, fit_rate

CUTOFF_MAX = math.sqrt(2)  # Fourier radius as a fraction of Nyquist: √2 reaches the corner
CODEC_COLORS = {"fasdiff": "C0", "fasdiff-nolfe": "C9", "fasdiff-plain": "C4", "hyperprior": "C1",
                "jpeg": "C2", "webp": "C3", "avif": "C5"}


# ------------------------------------------------------------------------------------------ setup
@dataclass
class Setup:
    """What :func:`load_setup` found: the prior, one codec per variant, and what is trained."""

    prior: object
    codecs: "OrderedDict[str, FaSDiffCodec]"
    prior_trained: bool
    trained: list = field(default_factory=list)  # variants whose control (and LFE) weights were loaded
    notes: list = field(default_factory=list)

    @property
    def weights(self) -> str:
        """One line for figure titles: which weights these numbers come from."""
        if not self.prior_trained:
            return "random tiny prior, untrained control (plumbing only)"
        if len(self.trained) == len(self.codecs):
            return "shipped prior and codecs"
        if self.trained:
            return f"shipped prior; trained codecs: {', '.join(self.trained)}; others untrained"
        return "shipped prior, untrained control"

    def describe(self) -> str:
        lines = [f"weights: {self.weights}"]
        for name, c in self.codecs.items():
            state = "trained" if name in self.trained else "UNTRAINED (zero-initialised control: decodes as the bare prior)"
            lines.append(f"  {name:14s} compressor {c.compressor.config.model_id} (M={c.compressor.config.M}), "
                         f"LFE {'yes' if c.lfe is not None else 'no '}, control {state}")
        return "\n".join(lines + self.notes)


def _small_compressor(name: str, seed: int = 0) -> HFCompressor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        m = HFCompressor(CompressorConfig(N=16, M=16, frequency_branch=name == "hf-compressor", model_id=name)).eval()
    m.update(force=True)
    return m


def load_setup(variants=tuple(VARIANTS), device=None, seed: int = 0, verbose: bool = True) -> Setup:
    """The shipped tiny prior and FaSDiff codecs when they are in ``assets/``, else a clearly announced fallback.

    - prior: ``load_prior("tiny")``; missing → ``TinyPrior.from_config()`` (random weights).
    - compressor of each variant: the shipped one; missing → a small untrained one (N = M = 16).
    - control (+ LFE): the shipped codec folder when it exists *and* the prior is the trained one;
      otherwise freshly initialised: its zero convolutions make it an exact no-op (notebook 05).

    Prints :meth:`Setup.describe` (with a note on every fallback) when ``verbose``.
    """
    from .prior import PriorUnavailable, TinyPrior, load_prior

    variants = list(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    notes = []
    try:
        prior = load_prior("tiny", device=device)
        prior_trained = True
    except PriorUnavailable:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            prior = TinyPrior.from_config().to(settings.device(device))
        prior_trained = False
        notes.append(
            "NOTE: the trained tiny prior is not in assets/prior/tiny, so this notebook uses a RANDOMLY "
            "INITIALISED tiny prior (TinyPrior.from_config()) with untrained control. Every cell runs and shows "
            "the plumbing (shapes, bytes, the zero-initialised control), but the decoded images are noise, not "
            "faces. Re-run once the weights are there (git pull, or see assets/prior/tiny/MODEL_CARD.md)."
        )
    prior = prior.eval()
    shipped = set(available_codecs()) if prior_trained else set()
    codecs, trained, compressors = OrderedDict(), [], {}
    for v in variants:
        if v in shipped:
            codecs[v] = FaSDiffCodec.from_pretrained(settings.ASSETS_DIR / SHIPPED_CODECS[v], prior=prior)
            trained.append(v)
            continue
        cname = VARIANTS[v][0]
        if cname not in compressors:
            try:
                compressors[cname] = load_compressor(cname, device=prior.device)
            except FileNotFoundError:
                compressors[cname] = _small_compressor(cname, seed).to(prior.device)
                notes.append(f"NOTE: the shipped {cname} compressor is missing; using a small untrained one.")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            codecs[v] = FaSDiffCodec(compressors[cname], prior, v).eval()
    if prior_trained and len(trained) < len(variants):
        missing = [v for v in variants if v not in trained]
        notes.append(
            f"NOTE: no trained control for {', '.join(missing)} in assets/fasdiff/ yet, so "
            f"{'it decodes' if len(missing) == 1 else 'they decode'} with freshly initialised (zero) control: "
            "the bare prior re-drawing the fidelity image, not steered by the visual prompt. Re-run once the "
            "codecs are trained (fasdiff-lite train fasdiff --variant ... --export assets/fasdiff/...)."
        )
    setup = Setup(prior, codecs, prior_trained, trained, notes)
    if verbose:
        print(setup.describe())
    return setup


def default_faces(n: int | None = None, size: int = 64) -> tuple[np.ndarray, list[str]]:
    """Validation faces of the shared set (never trained on) when present, else the shipped samples."""
    from .rd_explorer import default_faces as _df

    return _df(n or settings.pick(8, 3), size)


def _check_codec(codec) -> FaSDiffCodec:
    if not isinstance(codec, FaSDiffCodec):
        raise ValueError(f"expected a FaSDiff codec (fasdiff_lite.codec.FaSDiffCodec), got {type(codec).__name__}")
    return codec


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number in 1…{MAX_STEPS}, got {steps!r}")
    return int(steps)


def _check_realism(realism) -> float:
    return _check_unit(realism, "realism")


def _faces(faces) -> np.ndarray:
    a = np.asarray(faces)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3 or len(a) == 0:
        raise ValueError(f"faces must be a non-empty uint8 array N×H×W×3, got shape {a.shape}")
    return a.astype(np.uint8)


# --------------------------------------------------------------------------------- 05: the prompt
@torch.no_grad()
def prompt_views(codec: FaSDiffCodec, face, rate: float = 0.3, max_channels: int = 8) -> dict:
    """Compress ``face`` and look at what the decoder gets back: the visual prompt ŷ and x_fid.

    Returns ``blob``, ``bytes``, ``bpp``, ``prompt`` (the tensor ŷ, 1×M×h×w), ``shape``,
    ``fidelity`` (uint8: the compressor's own reconstruction), ``psnr_fidelity``, ``energy``
    (mean square per channel, numpy M), ``channels`` (the ``max_channels`` strongest channels, k×h×w
    float numpy, strongest first), ``channel_ids`` and ``top_share`` (their share of the energy).
    """
    codec = _check_codec(codec)
    rate = _check_rate(rate)
    if int(max_channels) < 1:
        raise ValueError(f"max_channels must be ≥ 1, got {max_channels}")
    img = _face(face)
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
    import matplotlib.pyplot as plt

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


def _control_fn(codec: FaSDiffCodec, prompt, x_fid, scale: float = 1.0):
    """The codec's control function with every residual multiplied by ``scale`` (0 = control off)."""
    size = tuple(codec.prior.latent_shape(*x_fid.shape[-2:])[1:])
    fn = codec.control_fn(prompt.to(codec.prior.device), x_fid.to(codec.prior.device), size)
    if scale == 1.0:
        return fn

    def scaled(z_t, t):
        r = fn(z_t, t)
        return {"down_block_additional_residuals": [scale * a for a in r["down_block_additional_residuals"]],
                "mid_block_additional_residual": scale * r["mid_block_additional_residual"]}
    return scaled


@torch.no_grad()
def control_residuals(codec: FaSDiffCodec, prompt, x_fid, t: int = 500, seed: int = 0) -> dict:
    """One denoising step at timestep ``t`` on a random latent, with and without the control.

    Returns ``residual_max`` (largest |value| of each residual, down blocks then mid), ``residual_shapes``,
    ``eps_change`` (max |ε̂_with − ε̂_without|) and ``eps_scale`` (max |ε̂_without|, for comparison).
    An untrained (zero-initialised) control gives zeros everywhere.
    """
    codec = _check_codec(codec)
    prior = codec.prior
    g = torch.Generator().manual_seed(seed)
    shape = (prompt.shape[0], *prior.latent_shape(*x_fid.shape[-2:]))
    z = torch.randn(shape, generator=g).to(prior.device, prior.dtype)
    res = _control_fn(codec, prompt, x_fid)(z, t)
    parts = list(res["down_block_additional_residuals"]) + [res["mid_block_additional_residual"]]
    eps0 = prior.predict_noise(z, t)
    eps1 = prior.predict_noise(z, t, **res)
    return {"residual_max": [float(r.abs().max()) for r in parts], "residual_shapes": [tuple(r.shape) for r in parts],
            "eps_change": float((eps1 - eps0).abs().max()), "eps_scale": float(eps0.abs().max())}


@torch.no_grad()
def with_and_without_control(codec: FaSDiffCodec, face, rate: float = 0.3, steps: int = 10, seed: int = 0,
                             scales=(0.0, 1.0)) -> dict:
    """Draw from pure noise with the **same seed**, the control's residuals scaled by each of ``scales``
    (0 = the bare prior, 1 = the codec's control). Returns ``original``, ``fidelity``, ``bytes``,
    ``samples`` {scale: uint8 image}, ``psnr`` {scale: dB vs the original}, ``identical`` (True when every
    sample equals the scale-0 one: an untrained control)."""
    codec = _check_codec(codec)
    steps = _check_steps(steps)
    img = _face(face)
    pv = prompt_views(codec, img, rate)
    prior = codec.prior
    h, w = pv["x_fid"].shape[-2:]
    out = OrderedDict()
    for s in scales:
        g = torch.Generator().manual_seed(seed)
        x = prior.sample(1, steps=steps, generator=g, height=h, width=w, progress=False, scheduler="ddim",
                         control=None if s == 0 else _control_fn(codec, pv["prompt"], pv["x_fid"], float(s)))
        out[float(s)] = data.to_image(x[..., : img.shape[0], : img.shape[1]])
    first = next(iter(out.values()))
    return {"original": img, "fidelity": pv["fidelity"], "bytes": pv["bytes"], "samples": out,
            "psnr": {s: metrics.psnr(img, v) for s, v in out.items()},
            "identical": all(np.array_equal(first, v) for v in out.values())}


def parameter_counts(codec: FaSDiffCodec) -> dict:
    """Parameters (in millions) of the frozen UNet and VAE, the ControlNet, its prompt adapter, and the LFE."""
    codec = _check_codec(codec)
    n = lambda m: sum(p.numel() for p in m.parameters()) / 1e6  # noqa: E731
    out = {"prior UNet (frozen)": n(codec.prior.unet), "prior VAE (frozen)": n(codec.prior.vae),
           "compressor (frozen)": n(codec.compressor),
           "ControlNet (trained)": n(codec.control.controlnet), "prompt adapter (trained)": n(codec.control.adapter)}
    if codec.lfe is not None:
        out["HybridLFE (trained)"] = n(codec.lfe)
    return out


@torch.no_grad()
def step_times(codec: FaSDiffCodec, reps: int = 5, t: int = 500) -> dict:
    """Seconds per denoising step at batch 1: the bare UNet, and UNet + ControlNet (+ LFE FiLM)."""
    codec = _check_codec(codec)
    prior = codec.prior
    side = prior.image_size
    z = torch.randn(1, *prior.latent_shape(side, side)).to(prior.device, prior.dtype)
    prompt = torch.zeros(1, codec.compressor.config.M, side // 16, side // 16, device=prior.device)
    fn = _control_fn(codec, prompt, torch.full((1, 3, side, side), 0.5, device=prior.device))

    def bare():
        prior.predict_noise(z, t)

    def steered():
        prior.predict_noise(z, t, **fn(z, t))

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
    from diffusers import UNet2DConditionModel

    from .prior import CONFIG_DIR

    cfg = json.loads((CONFIG_DIR / "sd21_base" / "unet.json").read_text())
    mult = [c // cfg["block_out_channels"][0] for c in cfg["block_out_channels"]]  # 1, 2, 4, 4
    cfg.update(block_out_channels=[width * m for m in mult], cross_attention_dim=cross_attention_dim,
               attention_head_dim=[max(1, width * m // 32) for m in mult], norm_num_groups=min(32, width),
               sample_size=8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet2DConditionModel.from_config(cfg)


# ---------------------------------------------------------------------------- 06: low frequencies
def _check_levels(levels, side: int, wavelet: str = "haar") -> int:
    from .widgets import max_levels

    deepest = max_levels(side, wavelet)
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 1 <= int(levels) <= deepest:
        raise ValueError(f"levels must be a whole number in 1…{deepest} for a {side}-px face, got {levels!r}")
    return int(levels)


def _check_cutoff(cutoff) -> float:
    if isinstance(cutoff, bool):
        raise ValueError(f"cutoff must be a number in (0, √2], got {cutoff!r}")
    try:
        c = float(cutoff)
    except (TypeError, ValueError):
        raise ValueError(f"cutoff must be a number in (0, √2], got {cutoff!r}") from None
    if not 0.0 < c <= CUTOFF_MAX + 1e-9:
        raise ValueError(f"cutoff must be in (0, √2 ≈ 1.414] (a fraction of Nyquist), got {cutoff}")
    return c


@torch.no_grad()
def lowpass_views(face, levels: int = 2, cutoff: float = 0.25, wavelet: str = "haar") -> dict:
    """The two low-frequency views of the hybrid LFE, for one square face.

    ``ll``: the wavelet LL band after ``levels`` levels, shown at full size (detail bands zeroed);
    ``fourier``: the Gaussian Fourier low-pass with radius ``cutoff`` (fraction of Nyquist);
    ``hybrid``: their mean (:meth:`HybridLFE.start_image`); ``difference``: |LL − Fourier| per pixel
    (float H×W, mean over colour); ``psnr`` {"ll", "fourier", "hybrid"}: dB vs the original;
    ``ll_side``: the LL band's side in coefficients (what the wavelet view really keeps).
    """
    img = _face(face)
    if img.shape[0] != img.shape[1]:
        raise ValueError(f"expected a square face, got {img.shape[1]}×{img.shape[0]}")
    levels = _check_levels(levels, img.shape[0], wavelet)
    cutoff = _check_cutoff(cutoff)
    x = data.to_tensor(img)
    ll, lp = hybrid_lowpass(x, wavelet, levels, cutoff)
    ll, lp = ll.clamp(0, 1), lp.clamp(0, 1)
    hy = ((ll + lp) / 2).clamp(0, 1)
    views = {"original": img, "ll": data.to_image(ll), "fourier": data.to_image(lp), "hybrid": data.to_image(hy),
             "difference": (ll - lp).abs().mean(1)[0].numpy(), "levels": levels, "cutoff": cutoff,
             "ll_side": img.shape[0] // 2 ** levels}
    views["psnr"] = {k: metrics.psnr(img, views[k]) for k in ("ll", "fourier", "hybrid")}
    return views


def _colorize(a: np.ndarray, vmax: float | None = None, cmap: str = "magma") -> np.ndarray:
    import matplotlib

    vmax = vmax or max(float(a.max()), 1e-6)
    return (matplotlib.colormaps[cmap](np.clip(a / vmax, 0, 1))[..., :3] * 255).round().astype(np.uint8)


def plot_lowpass_views(views: dict, axes=None):
    """original · LL · Fourier low-pass · |difference| · hybrid, with PSNR in the titles."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 5, figsize=(10.5, 2.5))
    fig = axes[0].figure
    p = views["psnr"]
    panels = [(views["original"], "original"),
              (views["ll"], f"wavelet LL, {views['levels']} levels ({views['ll_side']}²): {p['ll']:.1f} dB"),
              (views["fourier"], f"Fourier low-pass ≤ {views['cutoff']:.2f}: {p['fourier']:.1f} dB"),
              (_colorize(views["difference"]), f"|LL − Fourier| (max {views['difference'].max():.2f})"),
              (views["hybrid"], f"hybrid (mean): {p['hybrid']:.1f} dB")]
    for ax, (im, t) in zip(axes, panels):
        ax.imshow(im)
        ax.set_title(t, fontsize=7.5)
        ax.axis("off")
    fig.tight_layout()
    return fig


def lf_errors(original, decoded, config: LFEConfig | None = None) -> dict:
    """How far ``decoded`` is from ``original`` *in the low frequencies only*.

    ``ll_psnr`` and ``lp_psnr``: PSNR between the two images' LL views and Fourier low-pass views;
    ``lf_loss``: :func:`fasdiff_lite.lfe.lf_consistency_loss` (the training term); ``psnr``: full PSNR.
    """
    c = config or LFEConfig()
    a, b = data.to_tensor(_face(original)), data.to_tensor(_face(decoded))
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    with torch.no_grad():
        a_ll, a_lp = hybrid_lowpass(a, c.wavelet, c.levels, c.cutoff)
        b_ll, b_lp = hybrid_lowpass(b, c.wavelet, c.levels, c.cutoff)
        loss = float(lf_consistency_loss(a, b, c.wavelet, c.levels, c.cutoff))
    return {"ll_psnr": metrics.psnr(a_ll.clamp(0, 1), b_ll.clamp(0, 1)),
            "lp_psnr": metrics.psnr(a_lp.clamp(0, 1), b_lp.clamp(0, 1)), "lf_loss": loss, "psnr": metrics.psnr(a, b)}


@torch.no_grad()
def film_stats(codec: FaSDiffCodec, face, rate: float = 0.3) -> list[dict]:
    """The LFE's FiLM parameters for one face: per modulated residual, its channels and the mean |γ| and
    |β| (0 and 0 for an untrained LFE: the modulation starts as the identity)."""
    codec = _check_codec(codec)
    if codec.lfe is None:
        raise ValueError(f"the {codec.variant!r} codec has no low-frequency module (use the 'fasdiff' variant)")
    img = _face(face)
    blob = codec.compress(data.to_tensor(img), rate)
    x_fid, _, _ = codec.fidelity(blob)
    x_fid = x_fid.to(codec.prior.device)
    size = tuple(codec.prior.latent_shape(*x_fid.shape[-2:])[1:])
    feats = codec.lfe.features(x_fid, size)
    rows = []
    for i, (conv, ch) in enumerate(zip(codec.lfe.film, codec.lfe.config.residual_channels)):
        gamma, beta = conv(feats).chunk(2, dim=1)
        rows.append({"residual": i, "channels": int(ch), "gamma_abs": float(gamma.abs().mean()),
                     "beta_abs": float(beta.abs().mean())})
    return rows


def lf_correct(x_gen: torch.Tensor, x_fid: torch.Tensor, config: LFEConfig | None = None,
               kind: str = "hybrid") -> torch.Tensor:
    """The codec's low-frequency correction on its own: ``x_gen − LF(x_gen) + LF(x_fid)``. Keeps x_gen's detail
    and x_fid's coarse structure. ``kind="hybrid"``: LF = the mean of the smooth (bilinear) LL band and the
    Fourier low-pass (what ``FaSDiffCodec.decompress`` does, :meth:`HybridLFE.correct`); ``"hybrid-blocks"``: the
    same with the LL band as the inverse transform's blocks; ``"fourier"``: the Fourier low-pass alone;
    ``"ll"``: the (block) LL view alone."""
    c = config or LFEConfig()
    kinds = ("hybrid", "hybrid-blocks", "fourier", "ll")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(map(repr, kinds))}, not {kind!r}")
    with torch.no_grad():
        if kind == "hybrid":
            return _smooth_lf_correct(x_gen, x_fid, c.wavelet, c.levels, c.cutoff)

        def lf(x):
            ll, lp = hybrid_lowpass(x, c.wavelet, c.levels, c.cutoff)
            return {"hybrid-blocks": (ll + lp) / 2, "fourier": lp, "ll": ll}[kind]

        return (x_gen - lf(x_gen) + lf(x_fid)).clamp(0, 1)


def block_edge_ratio(image, block: int = 4) -> float:
    """How much stronger the jumps between neighbouring pixels are across the borders of a ``block``-pixel grid
    than inside the blocks (horizontal and vertical, mean over colour). About 1 for a natural image; well
    above 1 for a blocky one (JPEG's 8-px grid, or a Haar LL band after log2(block) levels)."""
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 2:
        raise ValueError(f"block must be a whole number ≥ 2, got {block!r}")
    x = data.to_tensor(_face(image))
    if min(x.shape[-2:]) < 2 * block:
        raise ValueError(f"the image is too small for {block}-px blocks")
    ratios = []
    for dim in (-1, -2):
        d = x.diff(dim=dim).abs().mean(dim=(0, 1, 2) if dim == -1 else (0, 1, 3))  # one value per boundary position
        at = (torch.arange(d.numel()) % block) == block - 1
        ratios.append(float(d[at].mean() / d[~at].mean().clamp_min(1e-12)))
    return float(np.mean(ratios))


class LowpassExplorer:
    """Controller behind :func:`lowpass_explorer`: widgets in ``.widget``, latest views in ``.views``."""

    def __init__(self, faces, labels=None, levels: int = 2, cutoff: float = 0.25, wavelet: str = "haar",
                 scale: int = 3):
        import ipywidgets as W

        self.faces = _faces(faces)
        side = self.faces.shape[1]
        if self.faces.shape[1] != self.faces.shape[2]:
            raise ValueError(f"faces must be square, got {self.faces.shape[2]}×{self.faces.shape[1]}")
        self.labels = list(labels) if labels is not None else [f"face {i}" for i in range(len(self.faces))]
        if len(self.labels) != len(self.faces):
            raise ValueError(f"{len(self.labels)} labels for {len(self.faces)} faces")
        from .widgets import max_levels

        self.wavelet, self.scale = wavelet, scale
        deepest = min(max_levels(side, wavelet), 5)
        levels, cutoff = _check_levels(levels, side, wavelet), _check_cutoff(cutoff)
        if levels > deepest or cutoff > 1:
            raise ValueError(f"start values out of the sliders' ranges: levels 1…{deepest}, cutoff (0, 1]")
        self.views: dict = {}
        self.renders = 0
        self.face_picker = W.Dropdown(options=[(l, i) for i, l in enumerate(self.labels)], value=0, description="face")
        self.levels = W.IntSlider(value=levels, min=1, max=deepest, description="LL level", continuous_update=False)
        self.cutoff = W.FloatSlider(value=cutoff, min=0.02, max=1.0, step=0.01, description="Fourier cut",
                                    continuous_update=False, readout_format=".2f")
        names = ("original", "ll", "fourier", "difference", "hybrid")
        self.images = {n: W.Image(format="png") for n in names}
        self.captions = {n: W.HTML() for n in names}
        tiles = [W.VBox([self.images[n], self.captions[n]], layout=W.Layout(align_items="center", margin="0 6px"))
                 for n in names]
        self.widget = W.VBox([W.HBox([self.face_picker, self.levels, self.cutoff]), W.HBox(tiles)])
        self.widget.explorer = self
        for w in (self.face_picker, self.levels, self.cutoff):
            w.observe(lambda _change: self.update(), names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def update(self) -> dict:
        v = lowpass_views(self.faces[int(self.face_picker.value)], int(self.levels.value), float(self.cutoff.value),
                          self.wavelet)
        self.views = v
        p = v["psnr"]
        pics = {"original": v["original"], "ll": v["ll"], "fourier": v["fourier"],
                "difference": _colorize(v["difference"], vmax=0.25), "hybrid": v["hybrid"]}
        text = {"original": "<b>original</b>",
                "ll": f"<b>wavelet LL</b><br>{v['ll_side']}×{v['ll_side']} coefficients<br>{p['ll']:.2f} dB",
                "fourier": f"<b>Fourier low-pass</b><br>radius {v['cutoff']:.2f}·Nyquist<br>{p['fourier']:.2f} dB",
                "difference": f"<b>|LL − Fourier|</b><br>mean {v['difference'].mean():.3f}<br>(scale 0…0.25)",
                "hybrid": f"<b>hybrid (mean)</b><br>the LFE's LF view<br>{p['hybrid']:.2f} dB"}
        for n in pics:
            self.images[n].value = _png(pics[n], self.scale)
            self.captions[n].value = text[n]
        self.renders += 1
        return v


def lowpass_explorer(faces, labels=None, **kwargs):
    """LL level slider + Fourier cutoff slider: both low-frequency views of a face, their difference, the
    hybrid, and PSNR vs the original. Returns the ipywidgets box (controller: ``box.explorer``)."""
    return LowpassExplorer(faces, labels, **kwargs).widget


# ----------------------------------------------------------------------------- 07: end to end
def header_fields(blob: bytes) -> list[tuple[str, str, int]]:
    """Every field of a ``.fsd`` file as ``(field, value, bytes)``; the byte counts sum to ``len(blob)``."""
    from .rd_explorer import bitstream_anatomy

    p = bitstream.unpack(blob)
    values = ["FA 5D", str(blob[2]), f"{p.model} ({bitstream.MODEL_IDS[p.model]})", str(p.height), str(p.width),
              f"{p.rate:.4f} (u16 {bitstream.quantize_rate(p.rate)})", str(len(p.streams))]
    values += [str(len(s)) for s in p.streams[:-1]]
    values += ["range-coded" for _ in p.streams]
    values.append(f"0x{blob[-2:].hex()}")
    rows = bitstream_anatomy(blob)
    return [(name, val, n) for (name, n), val in zip(rows, values)]


def detail_ratio(original, decoded, levels: int = 2, wavelet: str = "haar") -> float:
    """Energy of the decoded face's wavelet detail bands (levels 1…``levels``) over the original's.

    A crude stand-in for perceptual realism on one face: 1 means as much fine texture as the original,
    below 1 blurrier (the fidelity reconstruction), above 1 extra (possibly invented) texture. It says
    nothing about *which* detail: pair it with PSNR (which punishes detail in the wrong place)."""
    a, b = data.to_tensor(_face(original)), data.to_tensor(_face(decoded))

    def detail(x):
        return sum(float(d.pow(2).sum()) for lvl in frequency.dwt2(x, wavelet, levels)[1:] for d in lvl)

    return detail(b) / max(detail(a), 1e-12)


@torch.no_grad()
def decode_views(codec: FaSDiffCodec, face, rate: float = 0.3, steps: int = 4, realism: float = 1.0,
                 blob: bytes | None = None) -> dict:
    """Compress ``face`` at ``rate`` (or take ``blob``), decode it with ``steps`` and ``realism``, measure.

    Returns ``image`` (uint8), ``fidelity`` (the realism-0 decode), ``blob``, ``bytes``, ``bpp``,
    ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf`` (:func:`lf_errors`), ``decode_s`` and the settings.
    """
    codec = _check_codec(codec)
    rate, steps, realism = _check_rate(rate), _check_steps(steps), _check_realism(realism)
    img = _face(face)
    if blob is None:
        blob = codec.compress(data.to_tensor(img), rate)
    t0 = time.perf_counter()
    x = codec.decompress(blob, steps=steps, realism=realism)
    took = time.perf_counter() - t0
    out = data.to_image(x)
    fid = out if realism == 0 else data.to_image(codec.decompress(blob, realism=0))
    h, w = img.shape[:2]
    return {"codec": codec.variant, "rate": rate, "steps": steps, "realism": realism, "image": out, "fidelity": fid,
            "blob": blob, "bytes": len(blob), "bpp": metrics.bpp(len(blob), h, w),
            "psnr": metrics.psnr(img, out), "ms_ssim": metrics.ms_ssim(img, out),
            "detail_ratio": detail_ratio(img, out), "lf": lf_errors(img, out), "decode_s": took}


def _fit_codec_rate(codec: FaSDiffCodec, img: np.ndarray, budget: int) -> tuple[float, bool]:
    """The highest rate whose file fits ``budget`` bytes (the .fsd size depends only on the compressor's
    streams, so the compressor's own bisection answers it for the codec)."""
    return fit_rate(codec.compressor, img, budget)


def compare_ablations(codecs, face, rate: float = 0.3, steps: int = 4, realism: float = 1.0,
                      compressors=None, classical=("jpeg", "webp"), identity: bool | None = None) -> "OrderedDict[str, dict]":
    """Every codec for one face **at equal bytes**, measured alike.

    ``codecs``: name → FaSDiffCodec; the first one is encoded at ``rate`` and its file size is the budget.
    A FaSDiff codec that writes the very same streams at ``rate`` (the same compressor, e.g. ``fasdiff-nolfe``
    next to ``fasdiff``) keeps that rate, so only the decoders differ (``same_streams``). Every other FaSDiff
    codec and every compressor in ``compressors`` (name → HFCompressor, e.g. the plain
    ``hyperprior``) gets the highest rate whose file fits; each ``classical`` codec the best quality that
    fits. Each entry: ``image``, ``bytes``, ``bpp``, ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf``,
    ``fits``, and ``identity`` (cosine, dlib distance) when ``identity`` is True (default: when
    :func:`fasdiff_lite.face_metrics.is_available`).
    """
    from . import face_metrics
    from .rd_explorer import baseline_view, rate_views

    if isinstance(codecs, FaSDiffCodec):
        codecs = {codecs.variant: codecs}
    if not isinstance(codecs, dict):
        raise ValueError(f"codecs must be a FaSDiffCodec or a dict name → FaSDiffCodec, got {type(codecs).__name__}")
    codecs = OrderedDict(codecs)
    if not codecs:
        raise ValueError("need at least one FaSDiff codec")
    for c in codecs.values():
        _check_codec(c)
    rate = _check_rate(rate)
    img = _face(face)
    names = list(codecs)
    first = decode_views(codecs[names[0]], img, rate, steps, realism)
    first["fits"] = True
    views = OrderedDict([(names[0], first)])
    budget = first["bytes"]
    first_streams = bitstream.unpack(first["blob"]).streams
    for name in names[1:]:
        blob = codecs[name].compress(data.to_tensor(img), rate)
        if bitstream.unpack(blob).streams == first_streams:  # the same compressor: keep the very same streams
            r, fits = rate, True
        else:
            r, fits = _fit_codec_rate(codecs[name], img, budget)
            blob = None
        v = decode_views(codecs[name], img, r, steps, realism, blob=blob)
        v.update(fitted_rate=r, fits=fits and v["bytes"] <= budget, same_streams=blob is not None)
        views[name] = v
    for name, m in (compressors or {}).items():
        r, fits = fit_rate(m, img, budget)
        v = rate_views(m, img, r)
        v.update(fitted_rate=r, fits=fits and v["bytes"] <= budget, detail_ratio=detail_ratio(img, v["image"]),
                 lf=lf_errors(img, v["image"]))
        views[name] = v
    for codec in classical:
        if codec not in baselines.CODECS:
            raise ValueError(f"unknown codec {codec!r}; known: {', '.join(baselines.CODECS)}")
        if codec in baselines.available_codecs():
            v = baseline_view(img, codec, budget)
            v.update(detail_ratio=detail_ratio(img, v["image"]), lf=lf_errors(img, v["image"]))
            views[codec] = v
    if identity is None:
        identity = face_metrics.is_available()
    if identity:
        for v in views.values():
            s = face_metrics.identity_similarity(img, v["image"])
            v["identity"] = {"cosine": s.cosine, "distance": s.distance, "same_person": s.same_person}
    return views


def summarize_ablations(per_face: list) -> "OrderedDict[str, dict]":
    """Mean of each number over faces: ``per_face`` is a list of :func:`compare_ablations` results."""
    if not per_face:
        raise ValueError("no results to summarise")
    out = OrderedDict()
    for name in per_face[0]:
        rows = [r[name] for r in per_face if name in r]
        s = {k: float(np.mean([r[k] for r in rows])) for k in ("bytes", "bpp", "psnr", "ms_ssim", "detail_ratio")}
        s["lf_psnr"] = float(np.mean([(r["lf"]["ll_psnr"] + r["lf"]["lp_psnr"]) / 2 for r in rows]))
        s["fits_pct"] = 100.0 * float(np.mean([bool(r.get("fits", True)) for r in rows]))
        if all("identity" in r for r in rows):
            s["identity_cosine"] = float(np.mean([r["identity"]["cosine"] for r in rows]))
            s["identity_distance"] = float(np.mean([r["identity"]["distance"] for r in rows]))
            s["same_person_pct"] = 100.0 * float(np.mean([r["identity"]["same_person"] for r in rows]))
        s["n"] = len(rows)
        out[name] = s
    return out


def format_ablations(summary: dict) -> str:
    """A plain-text table of :func:`summarize_ablations` (identity columns when measured)."""
    ident = all("identity_cosine" in s for s in summary.values())
    head = f"{'codec':14s} {'bytes':>6s} {'bpp':>6s} {'PSNR':>6s} {'MS-SSIM':>7s} {'LF dB':>6s} {'detail':>6s}"
    head += f" {'id cos':>6s} {'id dist':>7s} {'same%':>5s}" if ident else ""
    head += f" {'fits%':>5s}"
    lines = [head]
    for n, s in summary.items():
        line = (f"{n:14s} {s['bytes']:6.0f} {s['bpp']:6.3f} {s['psnr']:6.2f} {s['ms_ssim']:7.3f} "
                f"{s['lf_psnr']:6.2f} {s['detail_ratio']:6.2f}")
        if ident:
            line += f" {s['identity_cosine']:6.3f} {s['identity_distance']:7.3f} {s['same_person_pct']:5.0f}"
        lines.append(line + f" {s['fits_pct']:5.0f}")
    return "\n".join(lines)


def plot_ablations(views: dict, original=None, size: float = 1.9, title: str | None = None):
    """One row: the original, then every codec's decode with its bytes, PSNR (and identity cosine)."""
    import matplotlib.pyplot as plt

    items = ([("original", original, "")] if original is not None else [])
    for n, v in views.items():
        cap = f"{v['bytes']} B · {v['psnr']:.1f} dB"
        if "identity" in v:
            cap += f"\nid cos {v['identity']['cosine']:.3f}"
        if not v.get("fits", True):
            cap += " (over!)"
        items.append((n, v["image"], cap))
    fig, axes = plt.subplots(1, len(items), figsize=(size * len(items), size + 0.7), squeeze=False)
    for ax, (n, im, cap) in zip(axes[0], items):
        ax.imshow(im)
        ax.set_title(f"{n}\n{cap}" if cap else n, fontsize=7.5)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.88))
    else:
        fig.tight_layout()
    return fig


@torch.no_grad()
def realism_sweep(codec: FaSDiffCodec, faces, rate: float = 0.3, realisms=(0.0, 0.25, 0.5, 0.75, 1.0),
                  steps: int = 4, identity: bool = False) -> list[dict]:
    """Decode the same bytes at each realism and average over ``faces``: the perception–distortion trade-off.

    Returns one dict per realism: ``realism``, ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf_psnr`` (mean of the
    LL and Fourier PSNRs), ``images`` (the first face's decode), and ``identity_cosine`` when ``identity``.
    """
    from . import face_metrics

    codec = _check_codec(codec)
    faces = _faces(faces)
    blobs = [codec.compress(data.to_tensor(f), _check_rate(rate)) for f in faces]
    out = []
    for r in realisms:
        vs = [decode_views(codec, f, rate, steps, r, blob=b) for f, b in zip(faces, blobs)]
        row = {"realism": float(r), "psnr": float(np.mean([v["psnr"] for v in vs])),
               "ms_ssim": float(np.mean([v["ms_ssim"] for v in vs])),
               "detail_ratio": float(np.mean([v["detail_ratio"] for v in vs])),
               "lf_psnr": float(np.mean([(v["lf"]["ll_psnr"] + v["lf"]["lp_psnr"]) / 2 for v in vs])),
               "image": vs[0]["image"], "bytes": float(np.mean([v["bytes"] for v in vs]))}
        if identity:
            row["identity_cosine"] = float(np.mean([face_metrics.identity_similarity(f, v["image"]).cosine
                                                    for f, v in zip(faces, vs)]))
        out.append(row)
    return out


def plot_perception_distortion(sweeps: dict, ax=None):
    """Distortion (PSNR, x) against the detail ratio (y, 1 = as much texture as the original), one line per
    codec, one point per realism; ``sweeps``: name → :func:`realism_sweep` result."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, rows in sweeps.items():
        xs, ys = [r["psnr"] for r in rows], [r["detail_ratio"] for r in rows]
        ax.plot(xs, ys, "o-", color=CODEC_COLORS.get(name), label=name)
        for r, x, y in zip(rows, xs, ys):
            ax.annotate(f"{r['realism']:.2g}", (x, y), fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("PSNR (dB) → less distortion")
    ax.set_ylabel("detail ratio (1 = original's texture)")
    ax.set_title("perception–distortion: labels are the realism", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


class DecodeExplorer:
    """Controller behind :func:`decode_explorer`: widgets in ``.widget``; the latest views in ``.views``.

    Controls: ``face_picker``, ``codec_picker`` (only with several codecs), ``rate``, ``steps``, ``realism``
    (all ``continuous_update=False``). The file is re-encoded only when the face, codec or rate changes;
    steps and realism only re-decode the same bytes (as a real decoder would).
    """

    def __init__(self, codec, faces, labels=None, rate: float = 0.3, steps: int = 4, realism: float = 1.0,
                 scale: int = 3):
        import ipywidgets as W

        if isinstance(codec, FaSDiffCodec):
            codecs = OrderedDict({codec.variant: codec})
        elif isinstance(codec, dict):
            codecs = OrderedDict(codec)
        else:
            raise ValueError(f"expected a FaSDiff codec (fasdiff_lite.codec.FaSDiffCodec) or a dict name → codec, "
                             f"got {type(codec).__name__}")
        if not codecs:
            raise ValueError("need a FaSDiff codec (or a dict name → codec)")
        for c in codecs.values():
            _check_codec(c)
        self.codecs = codecs
        self.faces = _faces(faces)
        self.labels = list(labels) if labels is not None else [f"face {i}" for i in range(len(self.faces))]
        if len(self.labels) != len(self.faces):
            raise ValueError(f"{len(self.labels)} labels for {len(self.faces)} faces")
        rate, steps, realism = _check_rate(rate), _check_steps(steps), _check_realism(realism)
        self.scale = scale
        self._blobs: dict = {}
        self.views: dict = {}
        self.renders = 0
        self.face_picker = W.Dropdown(options=[(l, i) for i, l in enumerate(self.labels)], value=0, description="face")
        self.codec_picker = W.Dropdown(options=list(codecs), value=next(iter(codecs)), description="codec")
        slider = dict(continuous_update=False, layout=W.Layout(width="330px"))
        self.rate = W.FloatSlider(value=rate, min=0.0, max=1.0, step=0.01, description="rate", readout_format=".2f", **slider)
        self.steps = W.IntSlider(value=steps, min=1, max=MAX_STEPS, description="steps", **slider)
        self.realism = W.FloatSlider(value=realism, min=0.0, max=1.0, step=0.05, description="realism",
                                     readout_format=".2f", **slider)
        names = ("original", "fidelity", "decoded")
        self.images = {n: W.Image(format="png") for n in names}
        self.captions = {n: W.HTML() for n in names}
        tiles = [W.VBox([self.images[n], self.captions[n]], layout=W.Layout(align_items="center", margin="0 6px"))
                 for n in names]
        self.header = W.HTML()
        top = [self.face_picker] + ([self.codec_picker] if len(codecs) > 1 else [])
        self.widget = W.VBox([W.HBox(top), W.HBox([self.rate, self.steps, self.realism]),
                              W.HBox(tiles + [self.header])])
        self.widget.explorer = self
        for w in (self.face_picker, self.codec_picker, self.rate, self.steps, self.realism):
            w.observe(lambda _change: self.update(), names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def update(self) -> dict:
        i, name = int(self.face_picker.value), self.codec_picker.value
        rate = _check_rate(round(float(self.rate.value), 4))
        codec, face = self.codecs[name], self.faces[i]
        key = (i, name, rate)
        if key not in self._blobs:
            self._blobs[key] = codec.compress(data.to_tensor(face), rate)
        v = decode_views(codec, face, rate, int(self.steps.value), float(self.realism.value), blob=self._blobs[key])
        self.views = v
        h, w = face.shape[:2]
        self.images["original"].value = _png(face, self.scale)
        self.captions["original"].value = f"<b>original</b><br>{w}×{h}, {3 * h * w} raw bytes"
        self.images["fidelity"].value = _png(v["fidelity"], self.scale)
        self.captions["fidelity"].value = (f"<b>fidelity (realism 0)</b><br>{metrics.psnr(face, v['fidelity']):.2f} dB"
                                           f" · detail {detail_ratio(face, v['fidelity']):.2f}")
        self.images["decoded"].value = _png(v["image"], self.scale)
        self.captions["decoded"].value = (
            f"<b>{name}: {v['steps']} steps, realism {v['realism']:.2f}</b><br>{v['bytes']} B · {v['bpp']:.3f} bpp<br>"
            f"{v['psnr']:.2f} dB · MS-SSIM {v['ms_ssim']:.3f}<br>LF {v['lf']['ll_psnr']:.1f}/{v['lf']['lp_psnr']:.1f} dB"
            f" · detail {v['detail_ratio']:.2f}<br>decoded in {1000 * v['decode_s']:.0f} ms")
        rows = "".join(f"<tr><td>{f}</td><td>{val}</td><td>{n}</td></tr>" for f, val, n in header_fields(v["blob"]))
        self.header.value = ("<div style='margin-left:12px;font-size:85%'><b>the .fsd file</b><table>"
                             f"<tr><th>field</th><th>value</th><th>bytes</th></tr>{rows}</table></div>")
        self.renders += 1
        return v


def decode_explorer(codec, faces, labels=None, **kwargs):
    """Compress → bytes → decode, with rate, steps and realism sliders (released to update). ``codec``: one
    FaSDiffCodec or a dict name → codec (adds a codec picker). Returns the ipywidgets box; its controller
    is ``box.explorer`` (set ``box.explorer.realism.value`` from Python to drive it)."""
    return DecodeExplorer(codec, faces, labels, **kwargs).widget


__all__ = [
    "Setup", "load_setup", "default_faces", "prompt_views", "plot_prompt_channels", "control_residuals",
    "with_and_without_control", "parameter_counts", "step_times", "sd_architecture_unet", "lowpass_views",
    "plot_lowpass_views", "lf_errors", "film_stats", "lf_correct", "block_edge_ratio", "LowpassExplorer", "lowpass_explorer",
    "header_fields", "detail_ratio", "decode_views", "compare_ablations", "summarize_ablations",
    "format_ablations", "plot_ablations", "realism_sweep", "plot_perception_distortion", "DecodeExplorer",
    "decode_explorer",
]

"""Notebook 06 (low-frequency enhancement): what the wavelet LL band and the Fourier low-pass keep, and how the
codec's correction uses them.

    sliders (LL level, Fourier cut) ──▶ lowpass_views(face, ...) ──dict──▶ images + captions

- :func:`lowpass_views` / :func:`plot_lowpass_views` / :func:`lowpass_explorer`: the two low-frequency views;
- :func:`lf_errors` (how far two faces differ in the low frequencies only), :func:`film_stats` (the LFE's FiLM);
- :func:`correct_with`: the codec's correction (:func:`fasdiff_lite.models.lfe.lf_correct`) or, for comparison,
  one built on another low-pass; :func:`block_edge_ratio` measures the block grid the Haar LL would leave.

The model logic lives in :mod:`fasdiff_lite.models.lfe`; nothing here changes how a face is decoded.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import data
from ..evaluation import metrics
from ..models.codec import FaSDiffCodec
from ..models.lfe import LFEConfig, hybrid_lowpass, lf_consistency_loss, lf_correct
from .bands import max_levels
from .common import as_face, as_faces, check_codec, colorize, png

# ipywidgets and IPython (the [notebooks] extra) are imported by the widget only: the pure functions work without them.

CUTOFF_MAX = math.sqrt(2)  # Fourier radius as a fraction of Nyquist: √2 reaches the corner


def _check_levels(levels, side: int, wavelet: str = "haar") -> int:
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
    ``hybrid``: their mean; ``difference``: |LL − Fourier| per pixel
    (float H×W, mean over colour); ``psnr`` {"ll", "fourier", "hybrid"}: dB vs the original;
    ``ll_side``: the LL band's side in coefficients (what the wavelet view really keeps).
    """
    img = as_face(face)
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


def plot_lowpass_views(views: dict, axes=None):
    """original · LL · Fourier low-pass · |difference| · hybrid, with PSNR in the titles."""
    if axes is None:
        fig, axes = plt.subplots(1, 5, figsize=(10.5, 2.5))
    fig = axes[0].figure
    p = views["psnr"]
    panels = [(views["original"], "original"),
              (views["ll"], f"wavelet LL, {views['levels']} levels ({views['ll_side']}²): {p['ll']:.1f} dB"),
              (views["fourier"], f"Fourier low-pass ≤ {views['cutoff']:.2f}: {p['fourier']:.1f} dB"),
              (colorize(views["difference"]), f"|LL − Fourier| (max {views['difference'].max():.2f})"),
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
    ``lf_loss``: :func:`fasdiff_lite.models.lfe.lf_consistency_loss` (the training term); ``psnr``: full PSNR.
    """
    c = config or LFEConfig()
    a, b = data.to_tensor(as_face(original)), data.to_tensor(as_face(decoded))
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
    codec = check_codec(codec)
    if codec.lfe is None:
        raise ValueError(f"the {codec.variant!r} codec has no low-frequency module (use the 'fasdiff' variant)")
    img = as_face(face)
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


def correct_with(x_gen: torch.Tensor, x_fid: torch.Tensor, config: LFEConfig | None = None,
                 kind: str = "hybrid") -> torch.Tensor:
    """A low-frequency correction ``x_gen − LF(x_gen) + LF(x_fid)``: x_gen's detail on x_fid's coarse structure.
    ``kind="hybrid"``: the codec's own, :func:`fasdiff_lite.models.lfe.lf_correct` (LF = the mean of the smooth,
    bilinear LL band and the Fourier low-pass); for comparison, ``"hybrid-blocks"``: the same with the LL band as
    the inverse transform's blocks; ``"fourier"``: the Fourier low-pass alone; ``"ll"``: the (block) LL view alone."""
    c = config or LFEConfig()
    kinds = ("hybrid", "hybrid-blocks", "fourier", "ll")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(map(repr, kinds))}, not {kind!r}")
    with torch.no_grad():
        if kind == "hybrid":
            return lf_correct(x_gen, x_fid, c.wavelet, c.levels, c.cutoff)

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
    x = data.to_tensor(as_face(image))
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

        self.faces = as_faces(faces)
        side = self.faces.shape[1]
        if self.faces.shape[1] != self.faces.shape[2]:
            raise ValueError(f"faces must be square, got {self.faces.shape[2]}×{self.faces.shape[1]}")
        self.labels = list(labels) if labels is not None else [f"face {i}" for i in range(len(self.faces))]
        if len(self.labels) != len(self.faces):
            raise ValueError(f"{len(self.labels)} labels for {len(self.faces)} faces")
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
                "difference": colorize(v["difference"], vmax=0.25), "hybrid": v["hybrid"]}
        text = {"original": "<b>original</b>",
                "ll": f"<b>wavelet LL</b><br>{v['ll_side']}×{v['ll_side']} coefficients<br>{p['ll']:.2f} dB",
                "fourier": f"<b>Fourier low-pass</b><br>radius {v['cutoff']:.2f}·Nyquist<br>{p['fourier']:.2f} dB",
                "difference": f"<b>|LL − Fourier|</b><br>mean {v['difference'].mean():.3f}<br>(scale 0…0.25)",
                "hybrid": f"<b>hybrid (mean)</b><br>the LFE's LF view<br>{p['hybrid']:.2f} dB"}
        for n in pics:
            self.images[n].value = png(pics[n], self.scale)
            self.captions[n].value = text[n]
        self.renders += 1
        return v


def lowpass_explorer(faces, labels=None, **kwargs):
    """LL level slider + Fourier cutoff slider: both low-frequency views of a face, their difference, the
    hybrid, and PSNR vs the original. Returns the ipywidgets box (controller: ``box.explorer``)."""
    return LowpassExplorer(faces, labels, **kwargs).widget

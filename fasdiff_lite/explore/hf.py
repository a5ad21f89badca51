"""Helpers for notebook 03 (the high-frequency-sensitive compressor): where, band by band, each codec's error lives.

- :func:`subband_errors`: error energy per wavelet band (they add up to the pixel MSE);
- :func:`plot_band_errors`: grouped bars, one colour per codec; :func:`plot_side_by_side`: decodes with a zoom.

The equal-bytes comparison itself is :func:`fasdiff_lite.explore.rate.compare_at_rate`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import data, frequency
from .common import CODEC_COLORS, as_face


def subband_errors(originals, decoded, wavelet: str = "haar", levels: int = 2) -> dict[str, float]:
    """Error energy per wavelet band: Σ (band(x) − band(x̂))² / (number of pixel values), averaged over faces.

    The DWT is orthogonal, so the bands' errors add up to the pixel MSE (on [0, 1]) exactly: each number
    says how much of the MSE lives in that band.
    """
    x, y = data.to_tensor(originals), data.to_tensor(decoded)
    if x.shape != y.shape:
        raise ValueError(f"originals and decoded differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    bx = frequency.split_bands(frequency.dwt2(x, wavelet, levels))
    by = frequency.split_bands(frequency.dwt2(y, wavelet, levels))
    n = x[0].numel()
    return {k: float((bx[k] - by[k]).pow(2).flatten(1).sum(1).mean() / n) for k in bx}


def plot_band_errors(errors: dict[str, dict[str, float]], ax=None, db: bool = False):
    """Grouped bars: one group per band, one bar per codec (``errors[codec][band]`` from :func:`subband_errors`)."""
    if not errors:
        raise ValueError("no errors to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    codecs = list(errors)
    bands = list(next(iter(errors.values())))
    width = 0.8 / len(codecs)
    for i, c in enumerate(codecs):
        vals = np.array([errors[c][b] for b in bands]) * 255**2  # in (0–255 scale)² per pixel value
        ax.bar(np.arange(len(bands)) + (i - (len(codecs) - 1) / 2) * width, vals, width,
               label=c, color=CODEC_COLORS.get(c))
    ax.set_xticks(np.arange(len(bands)), bands)
    ax.set_ylabel("error energy (0–255 scale)²")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_side_by_side(original, images: dict, box: tuple[int, int, int] | None = None, titles: dict | None = None):
    """Original and decoded images in a row, with a zoomed crop of ``box = (top, left, size)`` below."""
    original = as_face(original)
    items = [("original", original)] + [(k, as_face(v)) for k, v in images.items()]
    rows = 2 if box else 1
    fig, axes = plt.subplots(rows, len(items), figsize=(2.2 * len(items), 2.3 * rows), squeeze=False)
    for j, (name, img) in enumerate(items):
        axes[0, j].imshow(img)
        axes[0, j].set_title((titles or {}).get(name, name), fontsize=8)
        if box:
            t, l, s = box
            axes[0, j].add_patch(plt.Rectangle((l - 0.5, t - 0.5), s, s, fill=False, ec="yellow", lw=1))
            axes[1, j].imshow(img[t:t + s, l:l + s], interpolation="nearest")
        for a in axes[:, j]:
            a.axis("off")
    fig.tight_layout()
    return fig

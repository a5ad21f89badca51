"""Frequency tools for faces: a differentiable wavelet transform, a Fourier low/high split, band energy, plots.

FaSDiff uses frequency in two places, and both start here:

- the *high-frequency-sensitive compressor* looks at the wavelet detail bands (edges, hair, wrinkles);
- the *hybrid low-frequency enhancement* takes the wavelet low band (LL) and a Fourier low-pass together.

Wavelets (2-D DWT, one level)::

    image x ──rows: low/high──▶ ──cols: low/high──▶  LL  (coarse image, half size)
                                                      H   (horizontal detail: high across rows)
                                                      V   (vertical detail:   high across columns)
                                                      D   (diagonal detail)

Repeating on LL gives more levels. ``dwt2`` returns the list pywavelets' ``wavedec2`` returns, coarsest first:
``[LL_n, (H_n, V_n, D_n), ..., (H_1, V_1, D_1)]``, as torch tensors N×C×h×w. We use the orthogonal wavelets
of pywavelets (Haar, Daubechies ``dbN``, Symlets ``symN``, Coiflets ``coifN``) with periodic extension
(pywavelets' ``mode="periodization"``): every level halves the side exactly, the transform is orthogonal
(energy is preserved band by band, Parseval) and ``idwt2`` inverts it exactly. The filters come from
pywavelets; the transform is written with ``conv2d`` so it is batched, differentiable and runs on the GPU.
Tests check it against ``pywt.wavedec2`` to 1e-5.

Fourier: ``radial_power(x)`` is the power spectrum per radial band (notebooks 01 and 04); ``fourier_split(x, cutoff)``
keeps radial frequencies up to ``cutoff`` (a fraction of Nyquist) in
the low part and the rest in the high part; low + high = x exactly.

Noise: ``spectral_snr`` and ``wavelet_band_snr`` say how much of each band survives the diffusion prior's forward
noising x_t = √ᾱ·x0 + √(1−ᾱ)·ε: the fine bands drown first (notebook 04).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pywt
import torch
import torch.nn.functional as F

# matplotlib (0.4 s to import) only inside the plot functions: every command of the CLI imports this module.

WAVELETS = ("haar", "db2", "db4", "sym4", "coif1")  # offered in the widgets; any orthogonal pywt wavelet works
BAND_KINDS = ("H", "V", "D")


# ------------------------------------------------------------------------------------------ wavelets
@lru_cache(maxsize=None)
def _filters(wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        w = pywt.Wavelet(wavelet)
    except ValueError:
        raise ValueError(f"unknown wavelet {wavelet!r}; try one of {', '.join(WAVELETS)}") from None
    if not w.orthogonal:
        raise ValueError(f"wavelet {wavelet!r} is not orthogonal; use haar, dbN, symN or coifN")
    return np.asarray(w.dec_lo, dtype=np.float64), np.asarray(w.dec_hi, dtype=np.float64)


def _kernels(wavelet: str, like: torch.Tensor) -> torch.Tensor:
    """The four separable 2-D analysis kernels (LL, H, V, D) as a 4×1×L×L conv weight (cross-correlation)."""
    lo, hi = _filters(wavelet)
    lo, hi = lo[::-1].copy(), hi[::-1].copy()  # conv2d correlates; flip to convolve
    k = np.stack([np.outer(lo, lo), np.outer(hi, lo), np.outer(lo, hi), np.outer(hi, hi)])
    return torch.as_tensor(k, dtype=like.dtype, device=like.device)[:, None]


def _check(x: torch.Tensor, levels: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"expected a tensor N×C×H×W, got {getattr(x, 'shape', type(x))}")
    if levels < 1:
        raise ValueError("levels must be ≥ 1")
    h, w = x.shape[-2:]
    f = 2**levels
    if h % f or w % f:
        raise ValueError(f"a {levels}-level transform needs sides divisible by {f}; got {h}×{w}")


def dwt2_level(x: torch.Tensor, wavelet: str = "haar") -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """One level: N×C×H×W → (LL, (H, V, D)), each N×C×H/2×W/2."""
    _check(x, 1)
    n, c, h, w = x.shape
    k = _kernels(wavelet, x)
    # periodic extension: y[k] = Σ_i f[i] · x[(2k + L/2 − i) mod N]  (pywavelets' "periodization"),
    # i.e. wrap L/2 − 1 samples onto each side, correlate with the flipped filter, keep every 2nd.
    pad = k.shape[-1] // 2 - 1
    if pad > min(h, w):
        raise ValueError(f"{wavelet} needs images of at least {pad}×{pad} at this level; got {h}×{w}")
    xp = x.reshape(n * c, 1, h, w)
    if pad:
        xp = F.pad(xp, (pad, pad, pad, pad), mode="circular")
    y = F.conv2d(xp, k, stride=2).reshape(n, c, 4, h // 2, w // 2)
    return y[:, :, 0], (y[:, :, 1], y[:, :, 2], y[:, :, 3])


def idwt2_level(ll: torch.Tensor, details: tuple[torch.Tensor, ...], wavelet: str = "haar") -> torch.Tensor:
    """Inverse of :func:`dwt2_level`. The transform is orthogonal, so its inverse is its transpose:
    a transposed convolution, then the wrapped-around borders are folded back onto the image."""
    n, c, h, w = ll.shape
    k = _kernels(wavelet, ll)
    pad = k.shape[-1] // 2 - 1
    y = torch.stack([ll, *details], dim=2).reshape(n * c, 4, h, w)
    full = F.conv_transpose2d(y, k, stride=2)  # (2h + 2·pad) per side
    out = _fold_periodic(full, pad, 2 * h, 2 * w) if pad else full
    return out.reshape(n, c, 2 * h, 2 * w)


def _fold_periodic(padded: torch.Tensor, left: int, h: int, w: int) -> torch.Tensor:
    """Sum a periodically padded signal back onto its h×w period (adjoint of circular padding)."""
    ph, pw = padded.shape[-2:]
    rows = torch.arange(ph, device=padded.device).sub(left).remainder(h)
    cols = torch.arange(pw, device=padded.device).sub(left).remainder(w)
    tmp = torch.zeros(*padded.shape[:-2], h, pw, dtype=padded.dtype, device=padded.device)
    tmp.index_add_(-2, rows, padded)
    out = torch.zeros(*padded.shape[:-2], h, w, dtype=padded.dtype, device=padded.device)
    return out.index_add_(-1, cols, tmp)


def dwt2(x: torch.Tensor, wavelet: str = "haar", levels: int = 1) -> list:
    """Multi-level 2-D DWT: ``[LL_n, (H_n, V_n, D_n), ..., (H_1, V_1, D_1)]`` (coarsest first, like pywt)."""
    _check(x, levels)
    coeffs, ll = [], x
    for _ in range(levels):
        ll, det = dwt2_level(ll, wavelet)
        coeffs.insert(0, det)
    return [ll, *coeffs]


def idwt2(coeffs: list, wavelet: str = "haar") -> torch.Tensor:
    """Inverse of :func:`dwt2`."""
    ll = coeffs[0]
    for det in coeffs[1:]:
        ll = idwt2_level(ll, tuple(det), wavelet)
    return ll


def band_names(levels: int) -> list[str]:
    """Names in :func:`dwt2` order: ``['LL', 'H2', 'V2', 'D2', 'H1', 'V1', 'D1']`` for 2 levels (1 = finest)."""
    names = ["LL"]
    for lev in range(levels, 0, -1):
        names += [f"{k}{lev}" for k in BAND_KINDS]
    return names


def split_bands(coeffs: list) -> dict[str, torch.Tensor]:
    """The coefficient list as a name → tensor dict (names from :func:`band_names`)."""
    levels = len(coeffs) - 1
    out = {"LL": coeffs[0]}
    for lev, det in zip(range(levels, 0, -1), coeffs[1:]):
        out.update({f"{k}{lev}": d for k, d in zip(BAND_KINDS, det)})
    return out


def keep_bands(x: torch.Tensor, keep, wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """Reconstruct ``x`` from the named bands in ``keep`` only (the others set to zero)."""
    keep = set(keep)
    unknown = keep - set(band_names(levels))
    if unknown:
        raise ValueError(f"unknown band(s) {sorted(unknown)}; bands are {band_names(levels)}")
    coeffs = dwt2(x, wavelet, levels)
    ll = coeffs[0] if "LL" in keep else torch.zeros_like(coeffs[0])
    out = [ll]
    for lev, det in zip(range(levels, 0, -1), coeffs[1:]):
        out.append(tuple(d if f"{k}{lev}" in keep else torch.zeros_like(d) for k, d in zip(BAND_KINDS, det)))
    return idwt2(out, wavelet)


def high_bands(x: torch.Tensor, wavelet: str = "haar") -> torch.Tensor:
    """One-level detail bands stacked as channels: N×C×H×W → N×3C×H/2×W/2 (the compressor's frequency input)."""
    _, (h, v, d) = dwt2_level(x, wavelet)
    return torch.cat([h, v, d], dim=1)


def low_band(x: torch.Tensor, wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """The LL band after ``levels`` levels, scaled back to image range (orthonormal LL grows by 2 per level)."""
    return dwt2(x, wavelet, levels)[0] / (2**levels)


def band_energy(x: torch.Tensor, wavelet: str = "haar", levels: int = 3, remove_mean: bool = True) -> dict[str, float]:
    """Fraction of the image's energy in each band, averaged over the batch (fractions sum to 1).

    The transform is orthogonal, so the energies of the bands add up to the image's energy. With
    ``remove_mean`` (default) each image's per-channel mean is subtracted first, so the constant
    brightness (which would put nearly everything in LL) does not hide how the *structure* is spread.
    """
    if remove_mean:
        x = x - x.mean(dim=(-2, -1), keepdim=True)
    bands = split_bands(dwt2(x.float(), wavelet, levels))
    e = {k: float(v.pow(2).sum()) for k, v in bands.items()}
    total = sum(e.values()) or 1.0
    return {k: v / total for k, v in e.items()}


def detail_energy(x: torch.Tensor, wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """Per image: mean square of the wavelet detail bands (H, V, D) of the finest ``levels`` levels, i.e. how
    much fine detail an image holds (``evaluation.realism.detail_ratio`` divides two of these). Differentiable."""
    coeffs = dwt2(x, wavelet, levels)
    return sum(band.pow(2).flatten(1).sum(1) for level in coeffs[1:] for band in level) / x[0].numel()


def luminance(x: torch.Tensor) -> torch.Tensor:
    """N×1×H×W: the mean of x's colour channels (what is left of an image's detail when its colour is taken away)."""
    return x.mean(dim=1, keepdim=True)


DETAIL_SPACES = ("rgb", "luma", "apart")  # what detail_log_energy measures: the image, its luminance, both apart
COLOUR_FLOOR = 2e-5  # colour detail energy below this counts as this (a tenth of a typical face's; grey faces have 0)


def detail_log_energy(x: torch.Tensor, space: str = "rgb") -> torch.Tensor:
    """log :func:`detail_energy` per image, of the image (``rgb``), of its :func:`luminance` (``luma``), or of the
    luminance and the colour (x minus its luminance) apart (``apart``: N×2, the colour's floored at
    :data:`COLOUR_FLOOR`), so that a term on it cannot pay luminance detail with colour halos."""
    if space == "rgb":
        return detail_energy(x).clamp_min(1e-8).log()
    luma = detail_energy(luminance(x)).clamp_min(1e-8).log()
    if space == "luma":
        return luma
    if space == "apart":
        return torch.stack([luma, detail_energy(x - luminance(x)).clamp_min(COLOUR_FLOOR).log()], dim=1)
    raise ValueError(f"detail space: choose from {', '.join(DETAIL_SPACES)}, not {space!r}")


def band_psnr_drop(x: torch.Tensor, wavelet: str = "haar", levels: int = 3) -> dict[str, float]:
    """PSNR (dB, images in [0,1]) after removing the finest 1, 2, … detail levels: what losing high bands costs."""
    out = {}
    for drop in range(1, levels + 1):
        keep = ["LL"] + [f"{k}{lev}" for lev in range(drop + 1, levels + 1) for k in BAND_KINDS]
        y = keep_bands(x, keep, wavelet, levels).clamp(0, 1)
        mse = (y - x).pow(2).mean(dim=(1, 2, 3)).clamp_min(1e-12)
        out[f"without level 1..{drop}"] = float((10 * torch.log10(1 / mse)).mean())
    return out


# ------------------------------------------------------------------------------------------- Fourier
def radial_frequency(h: int, w: int, device=None) -> torch.Tensor:
    """|f| of every FFT bin as a fraction of Nyquist (0 = DC, 1 = Nyquist along an axis, √2 in the corner)."""
    fy = torch.fft.fftfreq(h, device=device) * 2
    fx = torch.fft.fftfreq(w, device=device) * 2
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def radial_mask(h: int, w: int, cutoff: float, kind: str = "ideal", device=None) -> torch.Tensor:
    """Low-pass mask on the FFT grid: ``ideal`` (1 inside the radius, 0 outside) or ``gaussian`` (σ = cutoff)."""
    if not 0 <= cutoff:
        raise ValueError("cutoff must be ≥ 0 (a fraction of Nyquist)")
    r = radial_frequency(h, w, device)
    if kind == "ideal":
        return (r <= cutoff).float()
    if kind == "gaussian":
        return torch.exp(-0.5 * (r / max(cutoff, 1e-6)) ** 2)
    raise ValueError(f"kind must be 'ideal' or 'gaussian', not {kind!r}")


def fourier_split(x: torch.Tensor, cutoff: float = 0.25, kind: str = "ideal") -> tuple[torch.Tensor, torch.Tensor]:
    """Split N×C×H×W images into (low, high) by radial frequency; ``low + high == x``."""
    if x.ndim < 2:
        raise ValueError("expected images with at least 2 dimensions")
    mask = radial_mask(x.shape[-2], x.shape[-1], cutoff, kind, x.device).to(x.dtype)
    low = torch.fft.ifft2(torch.fft.fft2(x) * mask).real
    return low, x - low


def radial_power(x: torch.Tensor, n_bins: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean power |FFT|² per radial frequency band of images N×C×H×W (orthonormal FFT, mean removed).

    Returns (frequency in cycles per pixel, 0 … 0.5; power per band averaged over N and C). White noise
    of variance σ² has power σ² in every band, so signal-to-noise per band is power(signal)/σ² (notebook 04);
    natural images have power falling roughly as 1/f² (notebook 01).
    """
    x = x.detach().float().cpu()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    h, w = x.shape[-2:]
    p = torch.fft.fft2(x, norm="ortho").abs().pow(2).mean(dim=tuple(range(x.ndim - 2)))
    fy, fx = torch.fft.fftfreq(h).abs(), torch.fft.fftfreq(w).abs()
    r = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    n_bins = n_bins or min(h, w) // 2
    # bin k holds radii in (k, k+1]·0.5/n_bins; the DC term (r = 0, removed above) is left out, and the
    # corners beyond 0.5 cycles/pixel go to a last bin that is dropped
    idx = (torch.ceil(r / 0.5 * n_bins - 1e-6).long() - 1).clamp(max=n_bins)
    keep = idx >= 0
    idx, p = idx[keep], p[keep]
    power = torch.zeros(n_bins + 1).index_add_(0, idx, p)
    count = torch.zeros(n_bins + 1).index_add_(0, idx, torch.ones(idx.numel()))
    freqs = (torch.arange(n_bins) + 0.5) / n_bins * 0.5
    return freqs, (power / count.clamp(min=1))[:n_bins]


# ------------------------------------------------------------------------- noise and frequency bands
def spectral_snr(x0: torch.Tensor, alpha_bar: float, n_bins: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal-to-noise ratio per radial frequency band of x_t = √ᾱ·x0 + √(1−ᾱ)·ε (x0 scaled to [−1, 1]
    for images): SNR(f) = ᾱ·P_x0(f) / (1 − ᾱ). Natural images have P(f) ∝ 1/f², so the highest
    frequencies drop below SNR = 1 first: diffusion erases fine detail first and coarse layout last (notebook 04)."""
    freqs, p = radial_power(x0, n_bins)
    return freqs, alpha_bar * p / max(1 - alpha_bar, 1e-12)


def wavelet_band_snr(x0: torch.Tensor, alpha_bar: float, wavelet: str = "haar", levels: int = 3) -> dict[str, float]:
    """Signal-to-noise ratio per wavelet band (names as in :func:`band_names`) of
    x_t = √ᾱ·x0 + √(1−ᾱ)·ε. The wavelet transform is orthogonal, so white noise of variance 1−ᾱ puts
    exactly that variance on every coefficient of every band; the signal's power per coefficient is
    mean(c²) of the band. The fine detail bands (level 1) hold the least power and drown first."""
    x0 = x0.detach().float().cpu()
    x0 = x0 - x0.mean(dim=(-2, -1), keepdim=True)  # the constant brightness is not structure
    bands = split_bands(dwt2(x0, wavelet, levels))
    return {k: float(alpha_bar * v.pow(2).mean() / max(1 - alpha_bar, 1e-12)) for k, v in bands.items()}


# ------------------------------------------------------------------------------------------ pictures
def mosaic(coeffs: list, normalize: bool = True) -> np.ndarray:
    """The classic wavelet pyramid picture (one image, H×W×3 float in [0,1]) from :func:`dwt2` output.

    LL sits top-left; each level's H, V, D fill the other three quadrants. Detail bands are shown as
    |coefficient| scaled per band, so faint fine detail stays visible.
    """
    def img(t, detail):
        a = t[0].detach().float().cpu().permute(1, 2, 0).numpy()
        if detail:
            a = np.abs(a)
            return np.clip(a / (np.percentile(a, 99.5) + 1e-8), 0, 1) if normalize else np.clip(a, 0, 1)
        lo, hi = a.min(), a.max()
        return (a - lo) / (hi - lo + 1e-8)

    canvas = img(coeffs[0], False)
    for h, v, d in coeffs[1:]:
        top = np.concatenate([canvas, img(v, True)], axis=1)
        bottom = np.concatenate([img(h, True), img(d, True)], axis=1)
        canvas = np.concatenate([top, bottom], axis=0)
    return canvas


def plot_subbands(x: torch.Tensor, wavelet: str = "haar", levels: int = 2, ax=None):
    """Draw the wavelet pyramid of the first image in ``x`` with band labels; returns the axes."""
    import matplotlib.pyplot as plt

    coeffs = dwt2(x[:1], wavelet, levels)
    m = mosaic(coeffs)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(m.squeeze() if m.shape[-1] == 1 else m, cmap="gray")
    side = m.shape[0]
    for lev in range(1, levels + 1):
        s = side // 2**lev
        for name, (r, c) in zip(BAND_KINDS, [(1, 0), (0, 1), (1, 1)]):
            ax.text(c * s + 2, r * s + 2, f"{name}{lev}", color="yellow", fontsize=9, va="top")
    ax.text(2, 2, "LL", color="yellow", fontsize=9, va="top")
    ax.set_title(f"{wavelet}, {levels} level(s)")
    ax.axis("off")
    return ax


def plot_band_energy(energies: dict[str, float], ax=None, title: str = "energy per band"):
    """Bar chart of :func:`band_energy` output (log scale: the fine bands hold little energy)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    names = list(energies)
    ax.bar(names, [energies[n] * 100 for n in names], color=["tab:blue"] + ["tab:orange"] * (len(names) - 1))
    ax.set_yscale("log")
    ax.set_ylabel("% of energy")
    ax.set_title(title)
    return ax

"""Human-vision metrics: bpp from real bytes, PSNR, SSIM, MS-SSIM; for sets of faces, :func:`frechet_distance`
between two sets of feature vectors (FID's formula; ``realism`` applies it to face descriptors).

All functions take images as H×W×3 uint8 arrays (or anything :func:`fasdiff_lite.data.load_image`
reads), or float tensors N×3×H×W in [0, 1].

**MS-SSIM on 64-px faces.** The standard MS-SSIM (Wang et al. 2003) uses 5 scales with an 11-tap
Gaussian window, so the image must be larger than 160 px (after 4 halvings the window must still fit;
``pytorch_msssim`` asserts this). Our faces are 64 px. We keep the standard window and weights and
use only as many scales as fit: the largest ``k`` with ``side / 2**(k-1) > 10``, i.e. 3 scales at 64 px,
4 at 128, the full 5 from 256 px up, taking the first ``k`` standard weights renormalised to sum to 1.
At 256 px and above the result therefore equals the standard MS-SSIM (tested against pytorch_msssim).
The number of scales is part of the metric: only compare MS-SSIM values computed at the same size.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .. import data

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, WIN_SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03


def bpp(num_bytes: int, height: int, width: int) -> float:
    """Bits per pixel of a whole file (headers included) for an image of height × width pixels."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}×{width}")
    return 8.0 * num_bytes / (height * width)


def _pair(a, b) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = data.to_tensor(a), data.to_tensor(b)
    if x.shape != y.shape:
        raise ValueError(f"images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    return x, y.to(x.device)


def mse(a, b) -> float:
    x, y = _pair(a, b)
    return float(F.mse_loss(x, y))


def psnr(a, b, max_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB on the 0–255 scale (identical images: ``inf``)."""
    m = mse(a, b)
    return math.inf if m == 0 else 10 * math.log10(max_value**2 / m)


def _window(device) -> torch.Tensor:
    r = torch.arange(WIN_SIZE, dtype=torch.float32, device=device) - WIN_SIZE // 2
    g = torch.exp(-(r**2) / (2 * WIN_SIGMA**2))
    return (g / g.sum()).view(1, 1, 1, -1)


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # separable Gaussian, valid padding
    c = x.shape[1]
    x = F.conv2d(x, g.expand(c, 1, 1, WIN_SIZE), groups=c)
    return F.conv2d(x, g.transpose(-1, -2).expand(c, 1, WIN_SIZE, 1), groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image SSIM and contrast-structure term (averaged over channels and positions)."""
    g = _window(x.device)
    c1, c2 = K1**2, K2**2
    mx, my = _blur(x, g), _blur(y, g)
    sxx = _blur(x * x, g) - mx**2
    syy = _blur(y * y, g) - my**2
    sxy = _blur(x * y, g) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
    return (lum * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim(a, b) -> float:
    """SSIM (Gaussian window 11, σ 1.5, as in Wang et al. 2004), averaged over RGB channels."""
    x, y = _pair(a, b)
    if min(x.shape[-2:]) < WIN_SIZE:
        raise ValueError(f"SSIM needs images of at least {WIN_SIZE}×{WIN_SIZE} pixels, got {tuple(x.shape[-2:])}")
    return float(_ssim_cs(x, y)[0].mean())


def ms_ssim_scales(side: int) -> int:
    """How many MS-SSIM scales fit an image whose smaller side is ``side`` (see the module docstring)."""
    if side < WIN_SIZE:
        raise ValueError(f"MS-SSIM needs images of at least {WIN_SIZE} pixels, got {side}")
    return max(1, min(len(MS_SSIM_WEIGHTS), 1 + int(math.floor(math.log2(side / (WIN_SIZE - 1)) - 1e-9))))


def ms_ssim(a, b, scales: int | None = None) -> float:
    """Multi-scale SSIM with as many scales as the image size allows (3 at 64 px; 5 from 256 px)."""
    x, y = _pair(a, b)
    k = scales or ms_ssim_scales(min(x.shape[-2:]))
    w = torch.tensor(MS_SSIM_WEIGHTS[:k], device=x.device)
    w = w / w.sum()
    values = []
    for i in range(k):
        s, cs = _ssim_cs(x, y)
        if i < k - 1:
            values.append(torch.relu(cs))
            pad = [0, x.shape[-1] % 2, 0, x.shape[-2] % 2]
            x = F.avg_pool2d(F.pad(x, pad, mode="replicate"), 2)
            y = F.avg_pool2d(F.pad(y, pad, mode="replicate"), 2)
    values.append(torch.relu(s))
    v = torch.stack(values, dim=0)  # k × N
    return float(torch.prod(v ** w.view(-1, 1), dim=0).mean())


def summary(original, decoded, num_bytes: int | None = None) -> dict:
    """PSNR, SSIM, MS-SSIM (and bytes/bpp when ``num_bytes`` is given) for one decoded image."""
    x, y = _pair(original, decoded)
    out = {"psnr": psnr(x, y), "ssim": ssim(x, y), "ms_ssim": ms_ssim(x, y)}
    if num_bytes is not None:
        out.update(bytes=int(num_bytes), bpp=bpp(num_bytes, *x.shape[-2:]))
    return out


# ------------------------------------------------------------------------------------- sets of faces
def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors (rows), as FID computes it::

        FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½)

    ``realism`` and ``face_metrics`` use it on dlib's face descriptors (the descriptor FD)."""
    from scipy import linalg  # here: scipy is slow to import, and only this function needs it

    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two N×D feature arrays with the same D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each set needs at least 2 faces")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s_a @ s_b, disp=False)
    if not np.isfinite(covmean).all():  # singular product: nudge both covariances (as in pytorch-fid)
        eps = np.eye(a.shape[1]) * 1e-6
        covmean = linalg.sqrtm((s_a + eps) @ (s_b + eps))
    covmean = covmean.real
    fd = ((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean)
    return max(0.0, float(fd))  # ≥ 0; rounding can give −1e-8 for identical sets

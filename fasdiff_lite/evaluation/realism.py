"""Offline realism: does a decoded face carry as much detail as a real one, and does a *set* of decoded
faces look like a set of real ones? Two measures that need no download (LPIPS/DISTS/FID need pretrained
backbones; they stay optional, see ``perceptual``):

- **detail ratio** (per face): energy in the wavelet detail bands of the decoded face divided by the same
  energy in the original, over the finest ``levels`` levels::

        ratio = Σ_bands ‖D(x̂)‖² / Σ_bands ‖D(x)‖²       D: the H, V, D bands of levels 1…L (Haar)

  1.0 = as much fine detail as the real face; below 1 = blur (a fidelity codec at low rate sits near
  0.5–0.7); above 1 = more high-frequency energy than the original (noise, ringing, over-sharpening).
  It says *how much* detail there is, not whether it is the right detail: PSNR and identity say that.

  For two unpaired sets (a prior's samples against real faces), :func:`set_detail_ratio` divides the sets' mean
  energies.

- **descriptor Fréchet distance** (per set): the Fréchet distance between Gaussians fitted to the dlib
  face descriptors (128-d) of the decoded set and of the originals, as FID does with Inception features::

        FD = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)

  Lower is better; 0 for identical statistics. With 150 faces in 128 dimensions the covariance estimates
  are noisy, so compare codecs on the *same* faces, never against a number measured elsewhere.

And one experiment that explains what the two measure together, the **detail transplant**: keep a decoded face's
coarse structure (the LL band) and give it the detail bands of another face (:func:`transplant_detail`), the
original's own (what no decoder knows without more bits) or a look-alike's (:func:`nearest_by_coarse`: plausible
detail, about what a prior can guess). The detail ratio says only how much detail each result has; the recogniser
says whose it is (``benchmarks/detail_transplant.py``, notebook 08).
"""
from __future__ import annotations

import numpy as np
import torch

from .. import data, frequency
from . import face_metrics
from .metrics import frechet_distance


def _batch(images) -> torch.Tensor:
    """Faces (one H×W×3 image, a list/array of them, or an N×3×H×W tensor) → N×3×H×W float in [0, 1]."""
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return images.float()
    if isinstance(images, np.ndarray) and images.ndim == 3 or not isinstance(images, (list, tuple, np.ndarray)):
        images = [images]
    return torch.cat([data.to_tensor(data.load_image(im)) for im in images])


def detail_ratio(original, decoded, wavelet: str = "haar", levels: int = 2):
    """Detail-band energy of the decoded face ÷ that of the original (1.0 = as detailed; < 1 blur; > 1 extra,
    possibly invented, texture). It says nothing about *which* detail: pair it with PSNR and identity.

    One face each (any image ``data`` reads) → a float; batches (lists, N×H×W×3 arrays, N×3×H×W tensors) →
    an array, one ratio per pair."""
    single = not (isinstance(original, (list, tuple)) or getattr(original, "ndim", 3) == 4)
    a, b = _batch(original), _batch(decoded)
    if a.shape != b.shape:
        raise ValueError(f"original and decoded faces differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    e = frequency.detail_energy
    ratio = (e(b, wavelet, levels) / e(a, wavelet, levels).clamp_min(1e-12)).numpy()
    return float(ratio[0]) if single else ratio


def set_detail_ratio(images, reference, wavelet: str = "haar", levels: int = 2) -> float:
    """The detail ratio of two *unpaired* sets (a prior's unconditional samples against real faces): the mean
    detail-band energy of ``images`` ÷ that of ``reference`` (1.0 = as detailed as the real set, below 1 = smoother).
    Any number of images on each side; the same sizes within a set."""
    a, b = _batch(images), _batch(reference)
    e = frequency.detail_energy
    return float(e(a, wavelet, levels).mean() / e(b, wavelet, levels).mean().clamp_min(1e-12))


def descriptor_frechet(decoded, original=None, *, original_descriptors: np.ndarray | None = None) -> float:
    """Fréchet distance between the dlib descriptors of the decoded faces and of the originals.

    Pass ``original_descriptors`` (from ``face_metrics.descriptors``) to reuse them across codecs."""
    ref = original_descriptors if original_descriptors is not None else face_metrics.descriptors(original)
    return frechet_distance(face_metrics.descriptors(decoded), ref)


def transplant_detail(coarse: torch.Tensor, donor: torch.Tensor, *, gain: float = 1.0, keep_own: bool = False,
                      wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """``coarse``'s LL band (after ``levels`` levels) with ``donor``'s detail bands, the very bands
    :func:`detail_ratio` measures: in place of its own (``keep_own=False``) or added to them, times ``gain``.

    Both N×3×H×W in [0, 1], the same shape (H and W divisible by 2**levels); the result is clamped to [0, 1].
    ``transplant_detail(x_fid, original)`` is x_fid with the original's fine detail: an oracle no decoder can match
    without more bits."""
    if coarse.shape != donor.shape:
        raise ValueError(f"coarse and donor faces differ in shape: {tuple(coarse.shape)} vs {tuple(donor.shape)}")
    own, theirs = frequency.dwt2(coarse, wavelet, levels), frequency.dwt2(donor.to(coarse.dtype), wavelet, levels)
    details = [tuple((a if keep_own else 0) + gain * d for a, d in zip(mine, yours))
               for mine, yours in zip(own[1:], theirs[1:])]
    return frequency.idwt2([own[0], *details], wavelet).clamp(0, 1)


def nearest_by_coarse(query: torch.Tensor, pool: torch.Tensor, *, exclude=None, wavelet: str = "haar",
                      levels: int = 2) -> torch.Tensor:
    """For each face of ``query`` (N×3×H×W), the index in ``pool`` (M×3×H×W) of the face whose LL band is nearest
    (squared error): a look-alike at 1/2**levels of the size, the face a non-parametric prior would lend its detail.
    ``exclude``: one pool index per query face to skip (e.g. the face itself when the pool holds it), or None."""
    if query.shape[1:] != pool.shape[1:]:
        raise ValueError(f"query and pool faces differ in shape: {tuple(query.shape[1:])} vs {tuple(pool.shape[1:])}")
    q = frequency.dwt2(query.float(), wavelet, levels)[0].flatten(1)
    p = frequency.dwt2(pool.float(), wavelet, levels)[0].flatten(1)
    dist = torch.cdist(q, p)
    if exclude is not None:
        skip = torch.as_tensor(exclude, dtype=torch.long).reshape(-1)
        if len(skip) != len(q):
            raise ValueError(f"exclude needs one index per query face ({len(q)}), got {len(skip)}")
        if len(p) < 2:
            raise ValueError("a pool of one face has nothing left once it is excluded")
        dist[torch.arange(len(q)), skip] = float("inf")
    return dist.argmin(1)

"""Hybrid low-frequency enhancement (FaSDiff's second idea): keep the face's coarse structure, and so
its identity, stable while the diffusion prior invents detail.

A diffusion decoder is free to redraw a face. What makes a face *that person's* face lives mostly in
its low frequencies: head shape, the placement of eyes, nose and mouth, skin tone, hair mass (see
notebook 01: most of a face's energy sits in the coarse bands). The compressor's fidelity output
``x_fid`` gets those right even at low rates (it is blurry, not wrong). This module takes them from
there, two ways together, and hands them to the diffusion model::

    x_fid ──┬─ wavelet: LL band after L levels (a box-filtered, downsampled face)        ─┐
            └─ Fourier: radial low-pass (a smooth, ringing-free-at-low-cutoff blur)       ─┤  concat
                                                                                          ▼
                               resize both to the latent grid ─▶ small conv encoder ─▶ features F
                                                                                          │
      (1) modulation:  for each ControlNet residual r_i:  r_i · (1 + γ_i(F)) + β_i(F)     │ zero-init:
                                                                                          │ starts as identity
      (2) low-frequency correction of the output (:meth:`HybridLFE.correct`):
              x_out = x_gen − LF(x_gen) + LF(x_fid),  LF = (smooth LL + Fourier low-pass) / 2
          the diffusion's detail stays, its coarse structure is replaced by x_fid's. "Smooth LL": the LL
          coefficients upsampled *bilinearly*, not as the inverse transform's 4×4 blocks, which would
          paste a block grid into the output wherever x_gen and x_fid disagree (notebook 06 measures it).
          Not in the paper (its LFE is the modulation); ``LFEConfig.correct_output=False`` leaves it out.
      (3) the low-frequency consistency loss: ‖LL(x̂) − LL(x)‖² + ‖LP(x̂) − LP(x)‖²  (training)

(Every variant, with or without this module, starts its denoising from x_fid's latent noised to the
step the realism setting picks: see ``FaSDiffCodec.decompress``.)

Why two views of "low frequency"? The wavelet LL band is local (each coefficient is a small pixel
block), so it pins *where* things are; the Fourier low-pass is global and isotropic, so it carries
smooth shading without the blockiness of Haar. Notebook 06 shows what each keeps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import frequency


@dataclass
class LFEConfig:
    wavelet: str = "haar"
    levels: int = 2  # LL after 2 levels: a 64-px face → 16×16
    cutoff: float = 0.25  # Fourier low-pass radius, as a fraction of Nyquist
    channels: int = 32  # feature channels of the encoder
    residual_channels: tuple = ()  # channels of each ControlNet residual to modulate (filled by the codec)
    correct_levels: int | None = None  # the output correction's band (LL level, Fourier cut-off); None: levels
    correct_cutoff: float | None = None  # and cutoff above, the features' band (a wider one keeps more of x_fid)
    correct_output: bool = True  # False: no output correction, the FiLM alone steers (the paper's LFE)

    def correct_band(self) -> tuple[int, float]:
        """(levels, cutoff) of the output correction :func:`lf_correct`."""
        return (self.levels if self.correct_levels is None else self.correct_levels,
                self.cutoff if self.correct_cutoff is None else self.correct_cutoff)


def parse_band(text: str) -> tuple[int, float] | None:
    """``LEVELS:CUTOFF`` (a correction band, e.g. ``1:0.35``) → (levels 1–3, cut-off in (0, 1]); ``none`` → None
    (no output correction)."""
    if text.strip().lower() == "none":
        return None
    try:
        levels, cutoff = text.split(":")
        band = (int(levels), float(cutoff))
    except ValueError:
        raise ValueError(f"a band is LEVELS:CUTOFF such as 1:0.35 (or none), got {text!r}") from None
    if not (1 <= band[0] <= 3 and 0 < band[1] <= 1):
        raise ValueError(f"band {text}: levels must be 1–3 and the cut-off in (0, 1]")
    return band


def hybrid_lowpass(x: torch.Tensor, wavelet: str = "haar", levels: int = 2, cutoff: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """(wavelet LL image, Fourier low-pass image), both N×3×H×W in image range.

    The LL band is shown at full size (its coefficients upsampled by the inverse transform with all
    detail bands zeroed), so both views can be compared pixel for pixel.
    """
    ll = frequency.keep_bands(x, ["LL"], wavelet, levels)
    lp, _ = frequency.fourier_split(x, cutoff, kind="gaussian")
    return ll, lp


def smooth_ll(x: torch.Tensor, wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """The LL band in image range, upsampled bilinearly to x's size: the wavelet's low band without the
    block edges of the inverse transform (for Haar, a block average smoothly interpolated)."""
    low = frequency.low_band(x, wavelet, levels)
    return F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)


def smooth_lowpass(x: torch.Tensor, wavelet: str = "haar", levels: int = 2, cutoff: float = 0.25) -> torch.Tensor:
    """LF(x) of the output correction: the mean of the smooth LL band and the Fourier (Gaussian) low-pass."""
    lp, _ = frequency.fourier_split(x, cutoff, kind="gaussian")
    return (smooth_ll(x, wavelet, levels) + lp) / 2


def lf_correct(x_gen: torch.Tensor, x_fid: torch.Tensor, wavelet: str = "haar", levels: int = 2,
               cutoff: float = 0.25) -> torch.Tensor:
    """x_gen − LF(x_gen) + LF(x_fid), clamped to [0, 1]: x_gen's detail on x_fid's coarse structure."""
    lf = lambda x: smooth_lowpass(x, wavelet, levels, cutoff)  # noqa: E731
    return (x_gen - lf(x_gen) + lf(x_fid)).clamp(0, 1)


def lf_consistency_loss(x: torch.Tensor, x_hat: torch.Tensor, wavelet: str = "haar", levels: int = 2,
                        cutoff: float = 0.25) -> torch.Tensor:
    """‖LL(x̂) − LL(x)‖² + ‖LP(x̂) − LP(x)‖²: the decoded face must keep the original's coarse structure."""
    a_ll, a_lp = hybrid_lowpass(x, wavelet, levels, cutoff)
    b_ll, b_lp = hybrid_lowpass(x_hat, wavelet, levels, cutoff)
    return F.mse_loss(b_ll, a_ll) + F.mse_loss(b_lp, a_lp)


class HybridLFE(nn.Module):
    """Hybrid low-frequency enhancement module: features from (LL, Fourier low-pass) → FiLM on control."""

    def __init__(self, config: LFEConfig | None = None):
        super().__init__()
        self.config = c = config or LFEConfig()
        self.encoder = nn.Sequential(
            nn.Conv2d(6, c.channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(c.channels, c.channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(c.channels, c.channels, 3, padding=1),
        )
        # one zero-initialised 1×1 conv per modulated residual: γ and β start at 0 (identity modulation)
        self.film = nn.ModuleList(nn.Conv2d(c.channels, 2 * ch, 1) for ch in c.residual_channels)
        for conv in self.film:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def lowpass(self, x_fid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        return hybrid_lowpass(x_fid, c.wavelet, c.levels, c.cutoff)

    def lf_image(self, x: torch.Tensor) -> torch.Tensor:
        """LF(x) of the correction (:func:`smooth_lowpass` in the correction's band)."""
        return smooth_lowpass(x, self.config.wavelet, *self.config.correct_band())

    def correct(self, x_gen: torch.Tensor, x_fid: torch.Tensor) -> torch.Tensor:
        """x_gen's detail on x_fid's coarse structure (:func:`lf_correct` in the correction's band); x_gen as it is
        when the config has no output correction."""
        if not self.config.correct_output:
            return x_gen
        return lf_correct(x_gen, x_fid, self.config.wavelet, *self.config.correct_band())

    def features(self, x_fid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Encoder features on the latent grid ``size`` (h, w)."""
        ll, lp = self.lowpass(x_fid)
        inp = torch.cat([ll, lp], dim=1) * 2 - 1
        inp = F.interpolate(inp, size=size, mode="area")
        return self.encoder(inp)

    def modulate(self, residuals: list[torch.Tensor], features: torch.Tensor) -> list[torch.Tensor]:
        """r_i · (1 + γ_i) + β_i for each residual (down blocks then mid block, as ControlNet returns them)."""
        if len(residuals) != len(self.film):
            raise ValueError(f"this LFE modulates {len(self.film)} residuals, got {len(residuals)}")
        out = []
        for r, conv in zip(residuals, self.film):
            f = F.interpolate(features, size=r.shape[-2:], mode="bilinear", align_corners=False)
            gamma, beta = conv(f).to(r.dtype).chunk(2, dim=1)
            out.append(r * (1 + gamma) + beta)
        return out

    def extra_config(self) -> dict:
        return asdict(self.config)

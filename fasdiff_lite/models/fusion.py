"""Fidelity fusion: the decoded face meets the compressor's own pixels before it leaves the decoder.

Every FaSDiff decode comes out of the prior's latent space: 4×16×16 numbers for a 64-px face, through a VAE
decoder. That VAE decoding the *original's own* latent is the best any such decoder can do, and for the tiny prior
it is worse than the compressor alone at mid and high rates (``benchmarks/vae_ceiling.py``: 27.3 dB and re-id 0.89
on the 150 held-out faces, where x_fid reaches 30–33 dB and 0.97). The low-frequency correction of the LFE
(``lfe.correct``) pastes x_fid's coarsest structure back, a fixed split that cannot tell which of x_fid's
mid frequencies (eyes, mouth, glasses: identity) to keep and which of the diffusion's details to trust.

``FidelityFusion`` learns that merge. A small convolutional net sees the decoded face and x_fid side by side and
adds a residual to the decoded face::

    x_out = x_gen + f([x_gen, x_fid])        f: 3×3 convolutions (dilated, so it sees ~17 px), last layer zero

Its last layer starts at zero, so a codec that gains a fusion decodes exactly as before until it is trained. It is
trained with the codec's own loss (``FaSDiffCodec.training_loss``: L1, wavelet detail, detail energy, adversarial),
so it takes from x_fid what makes the face right and keeps from the diffusion what makes it sharp. This module is
this project's answer to the tiny VAE's ceiling, not a part of the FaSDiff paper (whose SD VAE at 512 px has a far
higher one); a codec folder records whether it has one.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class FidelityFusion(nn.Module):
    """``forward(x_gen, x_fid) -> x_gen + residual``; images N×3×H×W in [0, 1] (the result is not clamped)."""

    def __init__(self, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 1)):
        super().__init__()
        self.channels, self.dilations = int(channels), tuple(int(d) for d in dilations)
        layers: list[nn.Module] = []
        c_in = 6
        for d in self.dilations:
            layers += [nn.Conv2d(c_in, self.channels, 3, padding=d, dilation=d, padding_mode="replicate"), nn.SiLU()]
            c_in = self.channels
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(self.channels, 3, 3, padding=1, padding_mode="replicate")
        nn.init.zeros_(self.out.weight)  # starts as the identity: x_out = x_gen
        nn.init.zeros_(self.out.bias)

    def forward(self, x_gen: torch.Tensor, x_fid: torch.Tensor) -> torch.Tensor:
        if x_gen.shape != x_fid.shape:
            raise ValueError(f"x_gen {tuple(x_gen.shape)} and x_fid {tuple(x_fid.shape)} must have the same shape")
        h = torch.cat([x_gen, x_fid.to(x_gen.dtype)], dim=1) * 2 - 1
        return x_gen + self.out(self.body(h))

    def config(self) -> dict:
        return {"channels": self.channels, "dilations": list(self.dilations)}

"""Fidelity fusion: the decoded face meets the compressor's own pixels before it leaves the decoder.

Every FaSDiff decode comes out of the prior's latent space: 4×16×16 numbers for a 64-px face, through a VAE
decoder. That VAE decoding the *original's own* latent is the best any such decoder can do, and for the tiny prior
it is worse than the compressor alone at mid and high rates (``benchmarks/vae_ceiling.py``: 27.3 dB and re-id 0.89
on the 150 held-out faces, where x_fid reaches 30–33 dB and 0.97). The low-frequency correction of the LFE
(``lfe.correct``) pastes x_fid's coarsest structure back, a fixed split that cannot tell which of x_fid's
mid frequencies (eyes, mouth, glasses: identity) to keep and which of the diffusion's details to trust.

``FidelityFusion`` learns that merge. A small convolutional net sees the decoded face and x_fid side by side and
adds a residual to the decoded face::

    x_out = x_gen + f([x_gen, x_fid, r])     f: 3×3 convolutions (dilated, so it sees ~17 px), last layer zero
                                             r: the file's rate as a constant plane (``rate_input``)

With ``rate_input`` the merge knows the file's rate (the header carries it): at a high rate x_fid holds the face's
real detail and the merge can take it; at rate 0 x_fid is a blur and the merge must keep the decoder's drawn detail.
Without it the net has to guess the rate from how blurry x_fid looks, and one compromise serves every rate.
:meth:`FidelityFusion.add_rate_input` turns a trained fusion into a rate-aware one that starts out the same.

**Which image the residual is added to** (``anchor``): ``"gen"`` (the decoded face, as above) or ``"fid"``::

    x_out = x_fid + f([x_gen, x_fid, r])     anchor "fid": the compressor's own reconstruction, plus what the
                                             diffusion's face says it lacks

The two are the same family of functions (f sees both images); they differ in where training starts. A
gen-anchored fusion starts at the diffusion's face and must learn to undo its errors where the bits are good
(at rate 1 the tiny VAE's face is 2–3 dB below x_fid); a fid-anchored one starts at x_fid (never below the
compressor's fidelity) and must learn to take the diffusion's drawn detail where the bits are few.

Its last layer starts at zero, so a codec that gains a fusion decodes exactly as before until it is trained
(with ``anchor="fid"``: as the compressor alone, before the LFE's correction). It is
trained with the codec's own loss (``FaSDiffCodec.training_loss``: L1, wavelet detail, detail energy, adversarial),
so it takes from x_fid what makes the face right and keeps from the diffusion what makes it sharp. This module is
this project's answer to the tiny VAE's ceiling, not a part of the FaSDiff paper (whose SD VAE at 512 px has a far
higher one); a codec folder records whether it has one.
"""
from __future__ import annotations

import torch
import torch.nn as nn


ANCHORS = ("gen", "fid")  # the image the residual is added to: the decoded face, or x_fid


class FidelityFusion(nn.Module):
    """``forward(x_gen, x_fid, rate=None) -> x_gen (or x_fid, with anchor="fid") + residual``; images N×3×H×W in [0, 1] (the result is not
    clamped); ``rate`` (a number in [0, 1] or one per image) is needed when built with ``rate_input``."""

    def __init__(self, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 1), rate_input: bool = False,
                 anchor: str = "gen"):
        super().__init__()
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {', '.join(ANCHORS)}, got {anchor!r}")
        self.anchor = anchor
        self.channels, self.dilations = int(channels), tuple(int(d) for d in dilations)
        self.rate_input = bool(rate_input)
        layers: list[nn.Module] = []
        c_in = 6 + self.rate_input
        for d in self.dilations:
            layers += [nn.Conv2d(c_in, self.channels, 3, padding=d, dilation=d, padding_mode="replicate"), nn.SiLU()]
            c_in = self.channels
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(self.channels, 3, 3, padding=1, padding_mode="replicate")
        nn.init.zeros_(self.out.weight)  # starts as the identity: x_out = x_gen
        nn.init.zeros_(self.out.bias)

    def forward(self, x_gen: torch.Tensor, x_fid: torch.Tensor, rate=None) -> torch.Tensor:
        if x_gen.shape != x_fid.shape:
            raise ValueError(f"x_gen {tuple(x_gen.shape)} and x_fid {tuple(x_fid.shape)} must have the same shape")
        planes = [x_gen, x_fid.to(x_gen.dtype)]
        if self.rate_input:
            if rate is None:
                raise ValueError("this fusion takes the file's rate: pass rate=")
            r = torch.as_tensor(rate, dtype=x_gen.dtype, device=x_gen.device).reshape(-1, 1, 1, 1)
            if not ((r >= 0) & (r <= 1)).all():
                raise ValueError(f"rate must be in [0, 1], got {rate}")
            n, _, hh, ww = x_gen.shape
            planes.append(r.expand(n, 1, hh, ww))
        h = torch.cat(planes, dim=1) * 2 - 1
        base = x_gen if self.anchor == "gen" else planes[1]
        return base + self.out(self.body(h))

    @torch.no_grad()
    def add_rate_input(self) -> "FidelityFusion":
        """Give a trained fusion the rate as a seventh input plane, with zero weights: it decodes exactly as before
        until it is trained further."""
        if self.rate_input:
            return self
        first = self.body[0]
        wider = nn.Conv2d(7, first.out_channels, 3, padding=first.padding, dilation=first.dilation,
                          padding_mode="replicate").to(first.weight.device, first.weight.dtype)
        wider.weight.zero_()
        wider.weight[:, :6] = first.weight
        wider.bias.copy_(first.bias)
        self.body[0] = wider
        self.rate_input = True
        return self

    def config(self) -> dict:
        return {"channels": self.channels, "dilations": list(self.dilations),
                **({"rate_input": True} if self.rate_input else {}),
                **({"anchor": self.anchor} if self.anchor != "gen" else {})}

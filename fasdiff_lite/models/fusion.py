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

**Which realism the reader asked for** (``realism_input``): the decoder's realism slider (0 = the compressor's
own faithful reconstruction, 1 = the diffusion's full redrawing) modulates every hidden layer (FiLM, Perez et al.,
AAAI 2018) and sets how much of the fusion's answer replaces x_fid::

    h_i ← SiLU(conv_i(h) · (1 + γ_i(β)) + δ_i(β))      (γ_i, δ_i) = MLP(β), one scale and shift per channel
    x_out = x_fid + β · (answer − x_fid)                answer: x_gen (or x_fid) + f(...), as above

Trained with ``--multi-realism`` (``train/fasdiff.py``), the realism terms of the loss are weighted by the realism
drawn for each step and the fidelity terms by the rest, so one decoder learns every point between fidelity and
realism and the slider picks one at decode time — the "multi-realism" decoder of Agustsson et al., *Multi-Realism
Image Compression with a Conditional Generator* (CVPR 2023), whose generator reads β the same way (a scale and
shift of its layers). Without a realism input the slider only moves the diffusion's starting noise, and a fusion
that has learnt to keep x_fid's pixels undoes most of what that changes (the shipped decoder: the same face from
realism 0.1 to 1). :meth:`FidelityFusion.add_realism_input` turns a trained fusion into a realism-aware one that
decodes as before at realism 1 (the MLP's last layer is zero: γ = δ = 0).

Why both lines (probes on the tiny prior, fusion alone, 129 held-out faces at rate 0.1): β given as one more
constant input plane was ignored (its first-layer weights 0.003 against 0.07 for the image planes: an additive
constant is easy to ignore, a scale of every layer is not); FiLM alone read β, but the wrong way round (with x_gen
held fixed, the detail ratio fell from 0.96 at β 0.1 to 0.91 at β 1), because x_gen's detail is partly right (the
diffusion saw the visual prompt) and the pixel fidelity asked most at low β takes it. The blend of the second line
makes the slider continuous where it starts: realism 0 decodes to x_fid without running the diffusion
(``FaSDiffCodec.decode_stages``), and a realism near 0 now decodes near it.

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
FILM_HIDDEN = 32  # the width of the MLP that turns the realism into each hidden layer's scale and shift


class FidelityFusion(nn.Module):
    """``forward(x_gen, x_fid, rate=None, realism=None) -> x_gen (or x_fid, with anchor="fid") + residual`` (a
    realism-aware fusion blends that answer with x_fid: ``x_fid + realism·(answer − x_fid)``); images N×3×H×W in
    [0, 1] (the result is not clamped); ``rate`` and ``realism`` (a number in [0, 1] or one per image) are
    needed when built with ``rate_input`` / ``realism_input``. Input planes, in this order: x_gen, x_fid, the rate;
    the realism scales and shifts the hidden layers (:data:`FILM_HIDDEN` units in its MLP)."""

    def __init__(self, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 1), rate_input: bool = False,
                 anchor: str = "gen", realism_input: bool = False):
        super().__init__()
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {', '.join(ANCHORS)}, got {anchor!r}")
        self.anchor = anchor
        self.channels, self.dilations = int(channels), tuple(int(d) for d in dilations)
        self.rate_input, self.realism_input = bool(rate_input), bool(realism_input)
        layers: list[nn.Module] = []
        c_in = 6 + self.rate_input
        for d in self.dilations:
            layers += [nn.Conv2d(c_in, self.channels, 3, padding=d, dilation=d, padding_mode="replicate"), nn.SiLU()]
            c_in = self.channels
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(self.channels, 3, 3, padding=1, padding_mode="replicate")
        nn.init.zeros_(self.out.weight)  # starts as the identity: x_out = x_gen
        nn.init.zeros_(self.out.bias)
        self.film = self._film() if self.realism_input else None

    def _film(self) -> nn.Sequential:
        """The MLP realism → (γ, δ) of every hidden layer, its last layer zero (γ = δ = 0: no change)."""
        p = next(self.parameters())
        film = nn.Sequential(nn.Linear(1, FILM_HIDDEN), nn.SiLU(),
                             nn.Linear(FILM_HIDDEN, 2 * self.channels * len(self.dilations))).to(p.device, p.dtype)
        nn.init.zeros_(film[-1].weight)
        nn.init.zeros_(film[-1].bias)
        return film

    def forward(self, x_gen: torch.Tensor, x_fid: torch.Tensor, rate=None, realism=None) -> torch.Tensor:
        if x_gen.shape != x_fid.shape:
            raise ValueError(f"x_gen {tuple(x_gen.shape)} and x_fid {tuple(x_fid.shape)} must have the same shape")
        x_gen = x_gen.to(self.out.weight.dtype)  # the fusion's own precision (float64 too: evaluation/portability)
        planes = [x_gen, x_fid.to(x_gen.dtype)]
        if self.rate_input:
            planes.append(self._plane("rate", rate, x_gen))
        h = torch.cat(planes, dim=1) * 2 - 1
        if self.film is not None:  # (N, layers, 2, channels, 1, 1): each hidden layer's scale and shift
            beta = self._plane("realism", realism, x_gen)
            film = self.film(beta[:, :, 0, 0] * 2 - 1).view(len(beta), len(self.dilations), 2, self.channels, 1, 1)
        for i in range(len(self.dilations)):
            conv, act = self.body[2 * i], self.body[2 * i + 1]
            h = conv(h)
            if self.film is not None:
                h = h * (1 + film[:, i, 0]) + film[:, i, 1]
            h = act(h)
        base = x_gen if self.anchor == "gen" else planes[1]
        answer = base + self.out(h)
        if self.film is None:
            return answer
        return planes[1] + beta * (answer - planes[1])  # realism 0: x_fid itself; 1: the fusion's whole answer

    def _plane(self, name: str, value, like: torch.Tensor) -> torch.Tensor:
        """A number in [0, 1] (or one per image) as a constant N×1×H×W plane."""
        if value is None:
            raise ValueError(f"this fusion takes the {'file' if name == 'rate' else 'decode'}'s {name}: pass {name}=")
        v = torch.as_tensor(value, dtype=like.dtype, device=like.device).reshape(-1, 1, 1, 1)
        if not ((v >= 0) & (v <= 1)).all():
            raise ValueError(f"{name} must be in [0, 1], got {value}")
        n, _, hh, ww = like.shape
        return v.expand(n, 1, hh, ww)

    @torch.no_grad()
    def _add_plane(self, at: int) -> None:
        """One more input plane at position ``at`` of the first layer, with zero weights (the output is unchanged)."""
        first = self.body[0]
        wider = nn.Conv2d(first.in_channels + 1, first.out_channels, 3, padding=first.padding, dilation=first.dilation,
                          padding_mode="replicate").to(first.weight.device, first.weight.dtype)
        wider.weight.zero_()
        wider.weight[:, :at] = first.weight[:, :at]
        wider.weight[:, at + 1:] = first.weight[:, at:]
        wider.bias.copy_(first.bias)
        self.body[0] = wider

    def add_rate_input(self) -> "FidelityFusion":
        """Give a trained fusion the rate as an input plane, with zero weights: it decodes exactly as before until it
        is trained further."""
        if not self.rate_input:
            self._add_plane(6)
            self.rate_input = True
        return self

    def add_realism_input(self) -> "FidelityFusion":
        """Give a trained fusion the decode's realism, as a scale and shift of its hidden layers that start at zero
        and as the share of its answer that replaces x_fid: at realism 1 (the default) it decodes exactly as before
        until it is trained further (``train fasdiff --multi-realism``); below 1 it blends toward x_fid."""
        if not self.realism_input:
            self.film = self._film()
            self.realism_input = True
        return self

    def config(self) -> dict:
        return {"channels": self.channels, "dilations": list(self.dilations),
                **({"rate_input": True} if self.rate_input else {}),
                **({"realism_input": True} if self.realism_input else {}),
                **({"anchor": self.anchor} if self.anchor != "gen" else {})}

"""The codec's own VAE decoder: a trainable copy of the prior's, fine-tuned with an adversarial term.

The prior stays frozen and shared by every codec built on it; its VAE decoder, trained with pixel losses only, draws
smooth faces (the conditional mean of the detail the latent does not pin down is blur; notebook 04). So a FaSDiff codec
decodes its denoised latent ẑ0 with a copy of that decoder that it trains itself (step 5 of
``FaSDiffCodec.decompress``), with the patch discriminator and hinge losses of ``models/adversarial.py``::

    ẑ0 (scaled latent) ──÷ scale + shift──▶ post_quant_conv ──▶ decoder ──▶ (· + 1) / 2 ──▶ image ∈ [0, 1]

For Stable Diffusion the copy is the SD VAE decoder (about 50 M parameters).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .prior import DiffusionPrior


class LatentDecoder(nn.Module):
    """A trainable copy of a prior's VAE decoder: scaled latents → images in [0, 1], with gradients.

    The prior stays frozen and shared; a FaSDiff codec fine-tunes its own copy of the decoder (with an
    adversarial term, see ``models/adversarial.py``), because the tiny VAE's decoder, trained with pixel
    losses only, draws smooth faces. For Stable Diffusion the copy is the SD VAE decoder (about 50 M parameters).
    """

    def __init__(self, prior: DiffusionPrior):
        super().__init__()
        vae = prior.vae
        self.post_quant_conv = copy.deepcopy(vae.post_quant_conv) if vae.post_quant_conv is not None else nn.Identity()
        self.decoder = copy.deepcopy(vae.decoder)
        self.scaling_factor, self.shift_factor = float(prior.scaling_factor), float(prior.shift_factor)
        self.requires_grad_(True)  # the prior is frozen, and a deep copy would inherit that: this copy trains

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z / self.scaling_factor + self.shift_factor
        return ((self.decoder(self.post_quant_conv(z)).float() + 1) / 2).clamp(0, 1)

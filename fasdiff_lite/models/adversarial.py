"""Why a diffusion decoder needs an adversarial term, and the small discriminator that supplies it.

A decoder trained only with pixel losses (L1, MSE, even a wavelet loss) learns the *conditional mean* of
the detail it cannot know: where a hair strand or a pore could be in one of many places, the mean of
those places is a smooth patch. That is blur, and the tiny prior's VAE (trained with L1/MSE/FFT only)
and a few-step diffusion decoder trained for noise prediction both show it. Stable Diffusion's VAE is
sharp because it was trained with a perceptual and an **adversarial** loss; one- and few-step diffusion
codecs (StableCodec, OSCAR, and similar) add the same term to the decoded image. A discriminator D looks
at small patches and learns to tell real faces from decoded ones; the decoder is pushed to produce patches
D cannot tell apart, i.e. *some* plausible detail instead of the average of all of them::

    real face x ───────────┐
                           ├─▶ D (patch logits, 16×16 for a 64-px face) ─▶ hinge losses
    decoded face x̂ ────────┘
        L_D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(x̂))]          (the discriminator's step)
        L_G = −E[D(x̂)]                                           (added to the decoder's loss, small weight)

Spectral normalisation on D's convolutions keeps the game stable on a small data set. The pixel and
low-frequency terms still decide *what* face is drawn (identity); the adversarial term only decides how
sharp it looks. ``FaSDiffCodec.training_loss`` uses :func:`generator_loss`; ``train/fasdiff.py`` runs
the discriminator's step.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """A small spectral-normalised patch discriminator for faces in [0, 1]: N×3×H×W → N×1×H/4×W/4 logits."""

    def __init__(self, channels: int = 64):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            spectral_norm(nn.Conv2d(3, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * c, 4 * c, 3, padding=1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(4 * c, 1, 3, padding=1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the discriminator: real patches above +1, decoded ones below −1."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the decoder: make D score the decoded patches as real."""
    return -fake_logits.mean()

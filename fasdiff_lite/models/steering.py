"""How FaSDiff steers the diffusion prior: the visual prompt and the hybrid low-frequency module, in one equation.

At each denoising step the frozen prior's UNet predicts the noise in ``z_t``, steered by what the bitstream says::

    1. control residuals   r_1 … r_n, r_mid = ControlNet(z_t, t, context, c(ŷ, z_fid))          models/control.py
    2. FiLM modulation     r_i ← r_i · (1 + γ_i(F)) + β_i(F),  F = HybridLFE features of x_fid    models/lfe.py
                           (LFE variants only; without the LFE the residuals pass unchanged)
    3. the prior's UNet    out = UNet(z_t, t, context, down residuals r_1 … r_n, mid residual r_mid)  models/prior.py

:func:`steered_output` is those three lines. :func:`sample` runs the sampler (DDIM for the codec) over a tail of
timesteps with it: the decoder's few steps. The training loss calls both (``FaSDiffCodec.few_step_latent``) and the
decoder calls :func:`sample` (``FaSDiffCodec.decompress``): one code path, so what trains is what decodes.

Gradients: neither function switches them on or off. Under ``torch.no_grad()`` (decoding) no graph is built; with
gradients on (training) they flow through every sampler step into the control and the LFE. ``checkpoint=True``
recomputes each step's activations in the backward pass instead of keeping them (less memory, about one more forward).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint as _checkpoint

from .control import VisualPromptControl
from .lfe import HybridLFE
from .prior import DiffusionPrior, progress_bar


@dataclass
class Conditioning:
    """What the bitstream gives the denoiser, computed once per batch of faces.

    visual: ŷ, the compressor's decoded latent (the visual prompt), N×M×H/16×W/16;
    dense: z_fid = VAE(x_fid) on the latent grid, for a control built with a dense prompt (else None);
    lf_features: F = HybridLFE.features(x_fid) on the latent grid, for the LFE variants (else None)."""

    visual: torch.Tensor
    dense: torch.Tensor | None = None
    lf_features: torch.Tensor | None = None


def steered_output(prior: DiffusionPrior, control: VisualPromptControl, lfe: HybridLFE | None, z_t: torch.Tensor, t,
                   cond: Conditioning, scale: float = 1.0) -> torch.Tensor:
    """The steered UNet's output (ε̂ for an ε-prediction prior) for noisy latents ``z_t`` at timestep(s) ``t``.
    ``scale`` multiplies the (modulated) residuals: 1 is the codec, 0 the bare prior."""
    # 1. control residuals from the visual prompt (and the dense prompt z_fid)
    residuals = control(z_t, t, prior.context, cond.visual, dense=cond.dense)
    # 2. FiLM modulation of every residual by the low-frequency features of x_fid
    if lfe is not None:
        residuals = lfe.modulate(residuals, cond.lf_features)
    if scale != 1.0:
        residuals = [scale * r for r in residuals]
    # 3. the frozen prior's UNet with the residuals added to its skip connections
    return prior.model_output(z_t, t, down_block_additional_residuals=residuals[:-1],
                              mid_block_additional_residual=residuals[-1])


def sample(prior: DiffusionPrior, control: VisualPromptControl, lfe: HybridLFE | None, z: torch.Tensor,
           timesteps: torch.Tensor, cond: Conditioning, scheduler: str = "ddim", generator: torch.Generator | None = None,
           scale: float = 1.0, checkpoint: bool = False, progress: bool = False) -> torch.Tensor:
    """Run the sampler over ``timesteps`` (a tail of its grid: :meth:`DiffusionPrior.get_timesteps`) from ``z``, noised
    to ``timesteps[0]``, each step's noise estimate from :func:`steered_output`; returns ẑ0. ``checkpoint``: gradient
    checkpointing of each step (only matters with gradients on)."""
    sched = prior.start_sampler(timesteps, scheduler)
    for t in progress_bar(timesteps, progress, f"sampling ({scheduler}, {len(timesteps)} steps)"):
        z_in = sched.scale_model_input(z, t)
        if checkpoint and torch.is_grad_enabled():
            out = _checkpoint(steered_output, prior, control, lfe, z_in, t, cond, scale, use_reentrant=False)
        else:
            out = steered_output(prior, control, lfe, z_in, t, cond, scale)
        z = prior.sampler_step(sched, out, t, z, generator)
    return z

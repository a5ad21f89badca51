"""Visual-prompt control: the compressor's decoded latent steers the diffusion prior's UNet.

The compressor decodes a latent ``ŷ`` (M channels at 1/16 of the image size) from the bitstream: the
**visual prompt**. It knows the face's detail that the bytes paid for. A diffusion prior, left alone,
draws *a* face; steered by the prompt, it draws *this* face. We steer it the way ControlNet does
(Zhang et al. 2023), with diffusers' ``ControlNetModel``::

    ŷ (M × H/16 × W/16) ─resize to the latent grid─▶ adapter (conv, SiLU, conv) ─▶ c (4 × h × w)
                                                                                    │
    z_t, t, empty-prompt context ─▶ ControlNet (a trainable copy of the UNet's encoder, built with
                                    ControlNetModel.from_unet; c enters through its conditioning
                                    embedding; every output passes a zero-initialised 1×1 conv)
                                    │
                                    ▼  residuals r_1 … r_n (down blocks) and r_mid
    frozen prior UNet(z_t, t, context, down_block_additional_residuals=r, mid_block_additional_residual=r_mid) ─▶ ε̂

Why ControlNet rather than a lighter adapter? It reuses the UNet's own encoder, so the control signal
arrives in the features the UNet already understands, at every resolution; the zero convolutions make
the untrained control an exact no-op, so training starts from the unmodified prior and cannot wreck it.
The same class works for the tiny prior and for Stable Diffusion: ``from_unet`` copies whatever UNet it
is given. The cost is a second encoder pass per step (about +40% time for the tiny prior).
``conditioning_embedding_out_channels=(32,)`` keeps the control input at latent size (diffusers' default
embedding expects a full-resolution image and downsamples it 8×).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class VisualPromptControl(nn.Module):
    """ControlNet steered by the visual prompt. Call it as ``control(z_t, t, context, prompt)``."""

    def __init__(self, unet, prompt_channels: int, adapter_channels: int = 64):
        super().__init__()
        from diffusers import ControlNetModel

        latent_channels = int(unet.config.in_channels)
        self.prompt_channels, self.adapter_channels = int(prompt_channels), int(adapter_channels)
        self.adapter = nn.Sequential(
            nn.Conv2d(prompt_channels, adapter_channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(adapter_channels, latent_channels, 3, padding=1),
        )
        self.controlnet = ControlNetModel.from_unet(
            unet, conditioning_channels=latent_channels, conditioning_embedding_out_channels=(32,)
        )

    def config(self) -> dict:
        """The arguments that rebuild this control on the same UNet (saved in a codec folder's ``codec.json``)."""
        return {"prompt_channels": self.prompt_channels, "adapter_channels": self.adapter_channels}

    @property
    def residual_channels(self) -> tuple[int, ...]:
        """Channels of each residual the ControlNet returns (down blocks, then the mid block)."""
        cn = self.controlnet
        return tuple(int(m.out_channels) for m in cn.controlnet_down_blocks) + (int(cn.controlnet_mid_block.out_channels),)

    def condition(self, prompt: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The visual prompt resized to the latent grid and mapped to the ControlNet's input channels."""
        if prompt.ndim != 4 or prompt.shape[1] != self.prompt_channels:
            raise ValueError(f"expected a visual prompt N×{self.prompt_channels}×h×w, got {tuple(prompt.shape)}")
        return self.adapter(F.interpolate(prompt, size=size, mode="bilinear", align_corners=False))

    def forward(self, z_t: torch.Tensor, t, context: torch.Tensor, prompt: torch.Tensor,
                modulate=None, scale: float = 1.0) -> dict:
        """Residuals for the prior's UNet, as the keyword arguments ``predict_noise`` takes.

        ``modulate``: optional ``fn(list of residuals) -> list`` (the low-frequency module's FiLM).
        ``scale``: multiplies every residual (0 turns the control off).
        """
        dtype = next(self.controlnet.parameters()).dtype
        cond = self.condition(prompt.to(dtype), tuple(z_t.shape[-2:]))
        t = torch.as_tensor(t, device=z_t.device)
        if t.ndim == 0:
            t = t.expand(z_t.shape[0])
        down, mid = self.controlnet(
            z_t.to(dtype), t, encoder_hidden_states=context.to(dtype).expand(z_t.shape[0], -1, -1),
            controlnet_cond=cond, conditioning_scale=scale, return_dict=False,
        )
        residuals = list(down) + [mid]
        if modulate is not None:
            residuals = modulate(residuals)
        return {"down_block_additional_residuals": residuals[:-1], "mid_block_additional_residual": residuals[-1]}

"""Visual-prompt control: the compressor's decoded latent steers the diffusion prior's UNet.

The compressor decodes a latent ``ŷ`` (M channels at 1/16 of the image size) from the bitstream: the
**visual prompt**. It knows the face's detail that the bytes paid for. A diffusion prior, left alone,
draws *a* face; steered by the prompt, it draws *this* face. We steer it the way ControlNet does
(Zhang et al. 2023), with diffusers' ``ControlNetModel``::

    ŷ (M × H/16 × W/16) ─resize to the latent grid─┐
                                                    ├─ concat ─▶ adapter (conv, SiLU, …, conv) ─▶ c (4 × h × w)
    dense prompt: VAE(x_fid) (4 × h × w) ───────────┘   (on the latent grid itself)                 │
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
    """ControlNet steered by the visual prompt: ``control(z_t, t, context, prompt[, dense])`` → residuals."""

    def __init__(self, unet, prompt_channels: int, adapter_channels: int = 64, dense_channels: int = 0):
        super().__init__()
        from diffusers import ControlNetModel  # lazy (2 s): the explorers of 01–03 import the codec without it

        latent_channels = int(unet.config.in_channels)
        self.prompt_channels, self.adapter_channels = int(prompt_channels), int(adapter_channels)
        self.dense_channels = int(dense_channels)
        self.adapter = nn.Sequential(
            nn.Conv2d(prompt_channels + self.dense_channels, adapter_channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(adapter_channels, adapter_channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(adapter_channels, latent_channels, 3, padding=1),
        ) if self.dense_channels else nn.Sequential(
            nn.Conv2d(prompt_channels, adapter_channels, 3, padding=1), nn.SiLU(),
            nn.Conv2d(adapter_channels, latent_channels, 3, padding=1),
        )
        self.controlnet = ControlNetModel.from_unet(
            unet, conditioning_channels=latent_channels, conditioning_embedding_out_channels=(32,)
        )

    def config(self) -> dict:
        """The arguments that rebuild this control on the same UNet (saved in a codec folder's ``codec.json``)."""
        return {"prompt_channels": self.prompt_channels, "adapter_channels": self.adapter_channels,
                "dense_channels": self.dense_channels}

    @property
    def residual_channels(self) -> tuple[int, ...]:
        """Channels of each residual the ControlNet returns (down blocks, then the mid block)."""
        cn = self.controlnet
        return tuple(int(m.out_channels) for m in cn.controlnet_down_blocks) + (int(cn.controlnet_mid_block.out_channels),)

    def condition(self, prompt: torch.Tensor, size: tuple[int, int], dense: torch.Tensor | None = None) -> torch.Tensor:
        """The visual prompt on the latent grid, mapped to the ControlNet's input channels.

        ŷ (1/16 of the image) is resized to the latent grid ``size``; a dense prompt (``dense_channels`` > 0:
        the VAE latent of the fidelity reconstruction, already on that grid) is stacked beside it, so the
        control knows *where* eyes and mouth are at the latent's own resolution (as DiffEIC's visual prompt)."""
        if prompt.ndim != 4 or prompt.shape[1] != self.prompt_channels:
            raise ValueError(f"expected a visual prompt N×{self.prompt_channels}×h×w, got {tuple(prompt.shape)}")
        parts = [F.interpolate(prompt, size=size, mode="bilinear", align_corners=False)]
        if self.dense_channels:
            if dense is None or dense.shape[1] != self.dense_channels or tuple(dense.shape[-2:]) != tuple(size):
                got = None if dense is None else tuple(dense.shape)
                raise ValueError(f"this control needs a dense prompt N×{self.dense_channels}×{size[0]}×{size[1]}, got {got}")
            parts.append(dense.to(prompt.dtype))
        return self.adapter(torch.cat(parts, dim=1))

    def forward(self, z_t: torch.Tensor, t, context: torch.Tensor, prompt: torch.Tensor,
                dense: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The ControlNet's residuals for the prior's UNet: one per down-block skip connection, then the mid block's
        (``models/steering.py`` modulates them with the LFE and hands them to the UNet).

        ``dense``: the dense prompt on the latent grid (for a control built with ``dense_channels``).
        """
        dtype = next(self.controlnet.parameters()).dtype
        cond = self.condition(prompt.to(dtype), tuple(z_t.shape[-2:]), dense)
        t = torch.as_tensor(t, device=z_t.device)
        if t.ndim == 0:
            t = t.expand(z_t.shape[0])
        down, mid = self.controlnet(
            z_t.to(dtype), t, encoder_hidden_states=context.to(dtype).expand(z_t.shape[0], -1, -1),
            controlnet_cond=cond, return_dict=False,
        )
        return [*down, mid]

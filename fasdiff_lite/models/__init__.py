"""The learned pieces of FaSDiff, one paper idea per file (each file imports only from floors below it)::

    floor 2  compressor   HFCompressor: the high-frequency-sensitive compressor (its ŷ is the visual prompt)
             prior        DiffusionPrior: the tiny latent diffusion prior, or Stable Diffusion through diffusers
             adversarial  PatchDiscriminator and the hinge losses: the adversarial term
             fusion       FidelityFusion: a learned merge of the decoded face with x_fid (this project's, not the paper's)
             identity     IdentityNet: a differentiable identity proxy distilled from dlib (the identity loss)
    floor 3  control      VisualPromptControl: the visual prompt steers the prior's UNet (ControlNet)
             lfe          HybridLFE: the hybrid low-frequency enhancement (wavelet LL + Fourier low-pass)
    floor 4  codec        FaSDiffCodec: bytes in, face out; its training loss beside it
             zoo          the shipped models by name, and one cached loader

Import the file you need (``from fasdiff_lite.models import zoo``); this package imports nothing itself.
"""

"""The learned pieces of FaSDiff, one paper idea per file (each file imports only from floors below it)::

    floor 2  compressor        HFCompressor: the high-frequency-sensitive compressor (its ŷ is the visual prompt)
             prior             DiffusionPrior: the stable diffusion prior's interface, and TinyPrior, the shipped one
             stable_diffusion  StableDiffusionPrior: a real SD checkpoint through diffusers (hub ids, clear errors)
             prior_loading     load_prior: a prior by name ("tiny", "stable-diffusion", ...) or folder
             latent_decoder    LatentDecoder: the codec's own trainable copy of the prior's VAE decoder
             adversarial       PatchDiscriminator and the hinge losses: the adversarial term
             fusion            FidelityFusion: a learned merge of the decoded face with x_fid (this project's, not the paper's)
             identity          IdentityNet: a differentiable identity proxy distilled from dlib (the identity loss)
    floor 3  control           VisualPromptControl: the visual prompt steers the prior's UNet (ControlNet)
             lfe               HybridLFE: the hybrid low-frequency enhancement (wavelet LL + Fourier low-pass)
             steering          steered_output / sample: control residuals + FiLM + the prior's UNet, one function
    floor 4  codec             FaSDiffCodec: bytes in, face out; its training loss beside it
             zoo               the shipped models by name, and one cached loader

Import the file you need (``from fasdiff_lite.models import zoo``); this package imports nothing itself.
"""

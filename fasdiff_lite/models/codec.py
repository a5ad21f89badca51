"""The FaSDiff codec: bytes in, face out, with a diffusion decoder steered by the visual prompt.

::

    compress:    image ─▶ HFCompressor (pads, codes) ─range coder─▶ .fsd bytes   (the compressor's streams, in a
                                                                                 container whose model id names
                                                                                 the codec)
    decompress:  1. unpack         bytes ─▶ packet (checked by the compressor: this codec's id, one stream)
                 2. fidelity       ─▶ x_fid (fidelity reconstruction) and ŷ (the visual prompt)
                                      realism = 0 stops here: the answer is x_fid
                 3. timesteps      (steps, realism) ─▶ the last `steps` DDIM timesteps at or below t₀ = realism·(T−1)
                 4. denoise        z_fid = VAE(x_fid): the dense visual prompt on the latent grid, and the start:
                                   z_fid noised to t₀ (noise seeded by the file's own bytes), then
                                   ε̂ = prior UNet(z_t, t | ControlNet(z_t, t, [ŷ, z_fid]) residuals, FiLM-modulated
                                   by HybridLFE(x_fid)) at each timestep: models/steering.py, one function
                                   that the training loss calls too
                 5. decode         x_gen = D(ẑ₀), D the codec's own fine-tuned copy of the VAE decoder
                                   (``LatentDecoder``, models/latent_decoder.py; trained with an adversarial
                                   term: models/adversarial.py);
                                   with a fidelity fusion (models/fusion.py): x_gen (or x_fid) + f([x_gen, x_fid(, rate)]),
                                   its layers scaled and shifted by the realism in a realism-aware one
                 6. LF correction  x_out = x_gen − LF(x_gen) + LF(x_fid)   (LFE variants; HybridLFE.correct)
                 7. crop           back to the original size

Three variants share this file (their names are the model ids in the bitstream):

- ``fasdiff``: HF-sensitive compressor + control + hybrid LFE (the full method);
- ``fasdiff-nolfe``: the same without the LFE (no FiLM, no low-frequency correction);
- ``fasdiff-plain``: plain hyperprior compressor + control, no LFE: a plain diffusion codec.

The prior and the compressor are frozen; the control, the LFE and the codec's own decoder are what
``train/fasdiff.py`` trains, with :meth:`FaSDiffCodec.training_loss`. Decoding is deterministic: the same bytes, steps and realism give the same
pixels. A saved codec folder describes itself (``codec.json``): its compressor (a shipped one by name, any
other as the subfolder ``compressor/``), where its prior came from, and the control's and the LFE's config, so
``FaSDiffCodec.from_pretrained(folder)`` alone rebuilds it.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from .. import bitstream, frequency, registry
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, VARIANTS, check_realism, check_steps
from . import steering
from .compressor import HFCompressor, hf_loss, pad
from .control import VisualPromptControl
from .fusion import FidelityFusion
from .identity import identity_loss
from .lfe import HybridLFE, LFEConfig, lf_consistency_loss, smooth_lowpass
from .adversarial import generator_loss
from .latent_decoder import LatentDecoder
from .prior import DiffusionPrior, randn
from .prior_loading import load_prior

CODEC_FILE = "codec.json"
WEIGHTS_FILE = "control_lfe.safetensors"
FORMAT = 2  # codec.json schema: 2 records the compressor, the prior's source and the control's config
SAMPLER = "ddim"
LOSS_WEIGHTS = {"l1": 1.0, "hf": 0.5, "lf": 1.0, "detail": 0.1, "adv": 0.05, "id": 0.0, "gen": 0.0, "gen_detail": 0.0,
                "gen_id": 0.0, "gen_pixel": 0.0, "latent": 0.0, "x0": 0.0, "split": 0.0, "multi_realism": 0.0,
                "gen_frozen": 0.0, "detail_space": 0.0, "lf_fused": 0.0}  # training_loss's defaults (multi_realism: 0 off, 1 on;
#   see realism_shares; gen_pixel: the share of the fused face's pixel fidelity asked of x_gen; gen_frozen: 1 decodes x_gen for the
#   gen terms with the prior's frozen VAE; detail_space: frequency.DETAIL_SPACES[it]; lf_fused: 1 asks lf of the face before the correction)
LOSS_SETTINGS = ("split", "multi_realism", "gen_pixel", "gen_frozen", "detail_space", "lf_fused")  # LOSS_WEIGHTS keys that are not weights
DECODED_TERMS = ("l1", "hf", "lf", "detail", "adv", "id", "gen", "gen_detail", "gen_id", "latent")  # terms that need
#   the few-step decode (part (b) of training_loss); with none weighted, a step trains the steering's denoising only
SPLIT_LEVELS = 2  # the split's low-pass: 2 = LL of 2 Haar levels with a ¼-Nyquist Fourier low-pass; 1 = level 1 and ½
SPLIT_BELOW = 1.0  # the split acts below this rate only (1: at every rate but 1)
TRAINABLE_PARTS = ("control", "lfe", "decoder", "fusion")  # what training changes (trainable_modules: those it has)


class FaSDiffCodec(nn.Module):
    """Compressor + diffusion prior + visual-prompt control (+ hybrid low-frequency enhancement)."""

    def __init__(self, compressor: HFCompressor, prior: DiffusionPrior, variant: str = "fasdiff",
                 control: VisualPromptControl | None = None, lfe: HybridLFE | None = None,
                 decoder: LatentDecoder | bool = True, fusion: FidelityFusion | bool = False):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.compressor = compressor.eval().requires_grad_(False)
        self.prior = prior.eval().requires_grad_(False)
        latent_channels = int(prior.unet.config.in_channels)
        self.control = control or VisualPromptControl(prior.unet, compressor.config.M,
                                                      dense_channels=latent_channels).to(prior.device)
        # the codec's own decoder: a fine-tunable copy of the prior's VAE decoder (False: use the prior's)
        self.decoder = LatentDecoder(prior).to(prior.device) if decoder is True else (decoder or None)
        use_lfe = VARIANTS[variant][1]
        if use_lfe and lfe is None:
            lfe = HybridLFE(LFEConfig(residual_channels=self.control.residual_channels)).to(prior.device)
        self.lfe = lfe if use_lfe else None
        # an optional learned merge of the decoded face with x_fid's pixels (models/fusion.py); False: none
        self.fusion = (FidelityFusion().to(prior.device) if fusion is True else (fusion or None))
        # training: recompute each sampler step's activations in the backward pass (less memory, more time)
        self.checkpoint_steps = False

    # ------------------------------------------------------------------------------ the bytes
    def compress(self, image, rate: float = 0.5) -> bytes:
        """Any image → ``.fsd`` bytes (the compressor's streams; the header names this codec)."""
        return self.compressor.compress(image, rate, model_id=self.variant)

    # ------------------------------------------------------------------------------ decoding
    @torch.no_grad()
    def decompress(self, blob: bytes, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                   progress: bool = False) -> torch.Tensor:
        """``.fsd`` bytes → 1×3×H×W image in [0, 1].

        steps: denoising steps actually run (1–50). realism: 0 gives the compressor's fidelity
        reconstruction; 1 starts the denoising from (almost) pure noise; in between, from x_fid's
        latent noised to ``realism·(T−1)`` (image-to-image style).
        """
        return self.decode_stages(blob, steps, realism, progress)["out"]

    @torch.no_grad()
    def decode_stages(self, blob: bytes, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                      progress: bool = False) -> dict[str, torch.Tensor]:
        """:meth:`decompress`, keeping each stage's image, all cropped to the file's size: ``x_fid`` (step 2),
        ``x_gen`` (the diffusion's own face, step 5 before the fusion), ``fused`` (after the fusion; x_gen without
        one), ``out`` (the answer), and the latent the sampler ended on, ``z`` (what x_gen decodes). At realism 0
        only ``x_fid`` and ``out`` (the same image)."""
        steps, realism = check_steps(steps), check_realism(realism)
        # 1–2. unpack (the compressor checks the header: this codec's id, its stream), then the fidelity
        #      reconstruction x_fid (at the padded size) and the visual prompt ŷ
        x_fid, prompt, p = self.fidelity(blob)
        return self._decode_from(x_fid, prompt, p, [bitstream.seed_of(blob)], steps, realism, progress)

    @torch.no_grad()
    def decompress_many(self, blobs, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                        batch_size: int = 16) -> list[torch.Tensor]:
        """:meth:`decompress` of many files, those of one size and rate denoised together, ``batch_size`` at a time
        (on a CPU about twice as fast a face as one by one). Each file keeps its own starting noise, seeded by its
        own bytes, so each face is :meth:`decompress`'s to float rounding (the batched arithmetic sums in another
        order). Returns the faces in the order of ``blobs``."""
        steps, realism = check_steps(steps), check_realism(realism)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        out: list[torch.Tensor | None] = [None] * len(blobs)
        pending: dict[tuple, list] = {}  # (x_fid and ŷ shapes, rate, size) → [(index, x_fid, ŷ, packet, seed)]

        def flush(key):
            group = pending.pop(key)
            x_fid, prompt = torch.cat([g[1] for g in group]), torch.cat([g[2] for g in group])
            faces = self._decode_from(x_fid, prompt, group[0][3], [g[4] for g in group], steps, realism)["out"]
            for g, face in zip(group, faces):
                out[g[0]] = face[None]

        for i, blob in enumerate(blobs):
            x_fid, prompt, p = self.fidelity(blob)
            key = (tuple(x_fid.shape), tuple(prompt.shape), p.rate, p.height, p.width)
            pending.setdefault(key, []).append((i, x_fid, prompt, p, bitstream.seed_of(blob)))
            if len(pending[key]) == batch_size:
                flush(key)
        for key in list(pending):
            flush(key)
        return out

    def _decode_from(self, x_fid: torch.Tensor, prompt: torch.Tensor, p: bitstream.Packet, seeds: list[int],
                     steps: int, realism: float, progress: bool = False) -> dict[str, torch.Tensor]:
        """Steps 3–7 of :meth:`decode_stages` for a batch of files of one size and rate (x_fid, ŷ stacked; ``p``
        one file's packet, for the size and the rate; ``seeds`` each file's noise seed)."""
        crop = lambda im: im[..., : p.height, : p.width].float()  # noqa: E731  (7. back to the original size)
        if realism == 0.0:
            return {"x_fid": crop(x_fid), "out": crop(x_fid)}
        x_fid, prompt = x_fid.to(self.prior.device), prompt.to(self.prior.device)
        # 3. timesteps for (steps, realism)
        timesteps = self.timesteps(steps, realism)
        # 4. denoise: x_fid's latent noised to timesteps[0], with noise seeded by each file's own bytes
        gens = [torch.Generator(device="cpu").manual_seed(seed) for seed in seeds]
        z_fid = self.prior.encode(x_fid)
        noise = torch.cat([randn(z_fid[:1].shape, g, z_fid.device, z_fid.dtype) for g in gens])
        z, _ = self.prior.add_noise(z_fid, timesteps[0], noise)
        cond = self.conditioning(prompt, x_fid, z_fid)
        if len(gens) > 1 and SAMPLER != "ddim":  # DDIM (eta 0) draws no noise after the start; another sampler might
            raise NotImplementedError(f"batched decoding assumes a sampler that draws no noise, not {SAMPLER!r}")
        z = steering.sample(self.prior, self.control, self.lfe, z, timesteps, cond, SAMPLER,
                            gens[0] if len(gens) == 1 else None, progress=progress)
        # 5. decode the latent (and merge it with x_fid's pixels, with a fusion)
        x_gen = self.decode_latent(z)
        fused = x = self.fuse(x_gen, x_fid, p.rate, realism)
        # 6. low-frequency correction: x's detail on x_fid's coarse structure (LFE variants)
        if self.lfe is not None:
            x = self.lfe.correct(x, x_fid)
        if not torch.isfinite(x).all():  # never hand out an image with NaN in it (it would be written as black)
            raise RuntimeError("the decoder produced non-finite pixels; please report this file")
        return {"x_fid": crop(x_fid), "x_gen": crop(x_gen), "fused": crop(fused), "out": crop(x), "z": z}

    @torch.no_grad()
    def fidelity(self, blob: bytes) -> tuple[torch.Tensor, torch.Tensor, bitstream.Packet]:
        """Steps 1–2 of :meth:`decompress`: (x_fid at the padded size, the visual prompt ŷ, the packet)."""
        p = self.compressor.unpack(blob, self.variant)
        x_fid, prompt = self.compressor.decode_packet(p, crop=False)
        return x_fid, prompt, p

    def timesteps(self, steps: int, realism: float) -> torch.Tensor:
        """The ``steps`` DDIM timesteps to run: those of the coarsest grid that has at least ``steps`` of them at
        or below ``start_t = realism·(T−1)``, the last ``steps`` of those (the first sets the starting noise
        level). Fewer than ``steps`` only when there are not that many timesteps below start_t (realism < 0.05)."""
        T = self.prior.num_train_timesteps
        start_t = max(1, round(realism * (T - 1)))
        sched = self.prior.schedulers[SAMPLER]
        for total in range(int(steps), T + 1):
            sched.set_timesteps(total)
            if int((sched.timesteps <= start_t).sum()) >= steps:
                break
        return self.prior.get_timesteps(total, start_t, max_steps=steps, scheduler=SAMPLER)

    def conditioning(self, prompt: torch.Tensor, x_fid: torch.Tensor, z_fid: torch.Tensor) -> steering.Conditioning:
        """What steers the denoiser (``models/steering.py``): the visual prompt ŷ, x_fid's latent ``z_fid`` when the
        control takes a dense prompt, and the LFE's features of x_fid (LFE variants; differentiable in the LFE)."""
        feats = self.lfe.features(x_fid, tuple(z_fid.shape[-2:])) if self.lfe is not None else None
        return steering.Conditioning(prompt, z_fid if self.control.dense_channels else None, feats)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Latents → images in [0, 1], with the codec's own decoder (or the prior's when it has none)."""
        return self.decoder(z) if self.decoder is not None else self.prior.decode(z)

    def fuse(self, x: torch.Tensor, x_fid: torch.Tensor, rate: float, realism: float = DEFAULT_REALISM) -> torch.Tensor:
        """Step 5's second half: the decoded face merged with x_fid by the fidelity fusion, when the codec has one
        (a rate-aware fusion also sees the file's rate, a realism-aware one the decode's realism)."""
        return x if self.fusion is None else self.fusion(x, x_fid, rate, realism).clamp(0, 1)

    # ------------------------------------------------------------------------------ training
    def training_loss(self, x: torch.Tensor, rate: float, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                      weights: dict | None = None, discriminator: nn.Module | None = None,
                      identity: nn.Module | None = None) -> dict:
        """The FaSDiff objective for one batch of faces x at ``rate`` (differentiable in the control, the LFE and
        the codec's decoder), in two parts::

            ŷ, x_fid = compressor(x, r);  z_fid = VAE(x_fid);  z0 = VAE(x)        frozen, real rounding
          (a) the paper's diffusion loss: t ~ U{0 … T−1}, z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε
                diffusion = ‖ε̂(z_t, t | control(ŷ, z_fid), FiLM) − ε‖²
              and the same denoising asked at the decode's own timesteps, of the clean latent it implies:
                x0 = ‖ẑ0(z_t, t) − z0‖₁,  t one of the `steps` timesteps the decode runs at this realism,
                ẑ0 = (z_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t                   the steering only (the control and the LFE)
                (the ε-loss weighs an error of ẑ0 by ᾱ_t/(1−ᾱ_t), 0.005 at the first timestep of realism 1, where
                ẑ0 is ε̂'s error times 15: session 24 found f25-latent's first step predicting ẑ0 1.55 from z0,
                mean |z0| 0.79, with z_fid 0.13 from it at rate 0.5; every later step starts from that)
          (b) the decoder as it runs: `steps` DDIM steps from z_fid noised to realism·(T−1) (steps 3–4 of
              decompress, with gradients through every step), then the codec's decoder and the LF correction:
                x̂ = LFcorrect(D(ẑ0), x_fid)
                l1 = a·‖x̂ − x‖₁ + (1 − a)·‖LF(x̂) − LF(x)‖₁     fidelity: the right face
                hf = a·‖DWT_detail(x̂) − DWT_detail(x)‖²         high-frequency term
                lf = ‖LL(x̂) − LL(x)‖² + ‖LP(x̂) − LP(x)‖²         low-frequency consistency (LFE variants)
                detail = |log E_detail(x̂) − log E_detail(x)|   as much fine detail as a real face (not less: blur)
                adv = −Disc(x̂)                                  adversarial (hinge): sharp, plausible detail
                id = 1 − cos(Id(x̂), Id(x))                        identity (the paper's term), with a frozen proxy
                                                                 distilled from dlib (models/identity.py)
                gen = ‖LF(D(ẑ0)) − LF(x)‖₁                        the diffusion's own face before the fusion and the
                                                                 LF correction, which hide an x_gen whose coarse
                                                                 structure drifts (the shipped decoder's: 42 grey
                                                                 levels darker); low-pass only, so it asks for no
                                                                 detail; trains the decoder and the steering, never
                                                                 the fusion
                  (with gen_pixel g > 0: ‖·‖ at pixel share g·a, as l1: the person's mid and fine detail asked of
                                                                 x_gen itself, not only its coarse structure)
                gen_id = 1 − cos(Id(D(ẑ0)), Id(x))                the identity term asked of x_gen: the steered prior
                                                                 must draw the person, not only the fusion after it
                                                                 (session 23: x_gen of the every-part recipe
                                                                 re-identified 0.19 at rate 0.1, x_fid 0.52); the
                                                                 decoder and the steering, never the fusion
                latent = ‖ẑ0 − z0‖₁                              the sampler's latent against the original's own
                                                                 (the VAE decodes z0 at 31 dB, re-id 1.00): the
                                                                 steering asked for the person directly, at every
                                                                 rate; the control and the LFE only
                gen_detail = |log E_detail(D(ẑ0)) − log E_target|  the detail asked of the fused face (below), asked of
                                                                 the diffusion's own face: the prior must draw it, not
                                                                 only the fusion after it (session 16: without it x_gen
                                                                 stayed blurrier than x_fid, detail 0.53 against 0.58,
                                                                 and the fusion drew the detail); the decoder and the
                                                                 steering, never the fusion
            loss = diffusion + w_x0·x0 + w_l1·l1 + w_hf·hf + w_lf·lf + w_detail·detail + w_adv·(1 − split·rate)·adv
                   + w_id·id + w_gen·gen + w_gen_detail·gen_detail + w_gen_id·gen_id + w_latent·latent

        With ``gen_frozen`` (1) the gen terms (gen, gen_id, gen_detail) judge ẑ0 decoded by the prior's own frozen VAE
        decoder instead of the codec's: they then train the steering alone, which must draw the sharp latent of the
        person itself (session 24: without it the codec's decoder met them, drawing detail at a cost in identity).

        With no weight on any of part (b)'s terms (:data:`DECODED_TERMS`) a step skips the decode: part (a) alone,
        the steering's denoising (four times faster a step); ``x_hat`` is then None.

        With ``multi_realism`` in ``weights`` the step's realism β also scales the split and the adversarial term
        and sets the detail energy asked (:func:`realism_shares`), and a realism-aware fusion sees β: one decoder
        for the slider.

        ``a = pixel_share(rate, split)``: how much of the fidelity is asked pixel by pixel. With ``split = 0`` it is
        1 at every rate (plain L1 and wavelet MSE) and the adversarial term has the same weight at every rate. With
        ``split = 1`` it is the rate itself: at rate 0 (a 45-byte file, where the bits do not say where each hair
        is) only the low-pass LF(x̂) must match the original and the fine detail is left to the detail and
        adversarial terms (realistic, not the blurry mean of every possible detail); at rate 1 the decoder must
        reproduce the detail the bits carry, pixel by pixel, and the adversarial term is off. Fidelity where the
        bits are, realism where they are not.

        Few-step diffusion decoders are sharp only when trained for the step counts they run (StableCodec, OSCAR):
        trained for noise prediction alone, 1–4 steps give the conditional mean, i.e. blur. ``weights``
        overrides :data:`LOSS_WEIGHTS`; ``discriminator`` is needed when ``adv`` has a weight, ``identity`` (a frozen
        ``IdentityNet``) when ``id`` has one. Returns the terms,
        ``loss``, and ``x_hat`` (detached, for the discriminator's own step).
        """
        w = {**LOSS_WEIGHTS, "split_levels": SPLIT_LEVELS, "split_below": SPLIT_BELOW, **(weights or {})}
        if (w["id"] > 0 or w["gen_id"] > 0) and identity is None:
            raise ValueError("an identity weight needs the identity proxy (identity=IdentityNet...)")
        decode = decodes(w)
        z, x_fid, terms = self._few_step(x, rate, steps, realism, diffusion_loss=self.steers(), x0_loss=w["x0"] > 0,
                                         sample=decode)
        z0 = terms.pop("z0")
        steer = terms["diffusion"] + (w["x0"] * terms["x0"] if "x0" in terms else 0.0)
        if not decode:
            return {"loss": steer, "x_hat": None, **terms}
        losses = self.decoded_loss(x, z, x_fid, rate, w, discriminator, identity, realism)
        losses["loss"] = losses["loss"] + steer
        if w["latent"] > 0:  # the sampler's ẑ0 against the original's own latent: the steering alone
            losses["latent"] = F.l1_loss(z, z0)
            losses["loss"] = losses["loss"] + w["latent"] * losses["latent"]
        return {**losses, **terms}

    def steers(self) -> bool:
        """Whether the control or the LFE is being trained (else the diffusion can run without gradients)."""
        return any(p.requires_grad for k, m in self.trainable_modules().items() if k in ("control", "lfe")
                   for p in m.parameters())

    def few_step_latent(self, x: torch.Tensor, rate: float, steps: int = DEFAULT_STEPS,
                        realism: float = DEFAULT_REALISM, diffusion_loss: bool = False,
                        generator: torch.Generator | None = None):
        """Part (a) of :meth:`training_loss` and the first half of (b): the frozen compressor's x_fid at ``rate``,
        the ``steps`` DDIM steps from z_fid noised as at decode time (with gradients when ``diffusion_loss``, i.e.
        the control or the LFE trains) and, with ``diffusion_loss``, the paper's diffusion loss. Returns
        ``(ẑ0, x_fid, diffusion)``, x_fid at the padded size. With the control and the LFE frozen, ẑ0 depends on
        nothing being trained, so it can be computed once and kept (``train/latent_cache.py``)."""
        z, x_fid, terms = self._few_step(x, rate, steps, realism, diffusion_loss, generator=generator)
        return z, x_fid, terms["diffusion"]

    def _few_step(self, x: torch.Tensor, rate: float, steps: int, realism: float, diffusion_loss: bool,
                  x0_loss: bool = False, sample: bool = True, generator: torch.Generator | None = None):
        """:meth:`few_step_latent`, with the terms as a dict: ``diffusion``, ``z0`` (the original's latent) and,
        with ``x0_loss`` (and ``diffusion_loss``), ``x0``; without ``sample`` the decode's steps are skipped (ẑ0 None)."""
        prior = self.prior
        with torch.no_grad():  # the compressor and the VAE encoder are frozen
            out = self.compressor.forward_rate(pad(x), rate)  # eval mode: real rounding, as at decode time
            prompt, x_fid = out["y_hat"], out["x_hat"].clamp(0, 1)
            z_fid, z0 = prior.encode(x_fid), prior.encode(pad(x))
        terms = {"diffusion": torch.zeros((), device=x.device), "z0": z0}
        timesteps = self.timesteps(steps, realism)
        z = None
        with torch.set_grad_enabled(diffusion_loss and torch.is_grad_enabled()):
            cond = self.conditioning(prompt, x_fid, z_fid)
            def denoised(t):  # z0 noised to t, the noise drawn, and the steered denoiser's estimate of it
                z_t, eps = prior.add_noise(z0, t, generator=generator)
                out = steering.steered_output(prior, self.control, self.lfe, z_t, t, cond)
                return z_t, eps, prior.noise_from_output(out, z_t, t)

            # (a) diffusion loss at a random timestep
            if diffusion_loss:
                t = torch.randint(0, prior.num_train_timesteps, (z0.shape[0],), device=z0.device, generator=generator)
                _, eps, eps_hat = denoised(t)
                terms["diffusion"] = F.mse_loss(eps_hat.float(), eps.float())
            # (a') the clean latent the steered denoiser implies, at the decode's own timesteps
            if diffusion_loss and x0_loss:
                pick = torch.randint(0, len(timesteps), (z0.shape[0],), generator=generator).to(timesteps.device)
                t = timesteps[pick].to(z0.device)
                z_t, _, eps_hat = denoised(t)
                terms["x0"] = F.l1_loss(prior.predict_x0(z_t, t, eps_hat).float(), z0.float())
            # (b) the few-step decode, as at decode time: with gradients through every step into the control and
            #     the LFE when they train
            if sample:
                z, _ = prior.add_noise(z_fid, timesteps[0], generator=generator)
                z = steering.sample(prior, self.control, self.lfe, z, timesteps, cond, SAMPLER, generator,
                                    checkpoint=self.checkpoint_steps)
        return z, x_fid, terms

    def decoded_loss(self, x: torch.Tensor, z: torch.Tensor, x_fid: torch.Tensor, rate: float, weights: dict,
                     discriminator: nn.Module | None = None, identity: nn.Module | None = None,
                     realism: float = DEFAULT_REALISM) -> dict:
        """Part (b) of :meth:`training_loss` after the latent: ẑ0 → the codec's decoder → the fusion → the LF
        correction → every term on the decoded face (``weights`` complete, as :meth:`training_loss` fills them).
        Differentiable in the decoder and the fusion. Returns the terms, ``loss`` (without the diffusion loss)
        and ``x_hat`` (detached)."""
        w = weights
        zero = torch.zeros((), device=x.device)
        crop = lambda im: im[..., : x.shape[-2], : x.shape[-1]]  # noqa: E731
        a, realism_share, detail_at = realism_shares(rate, realism, w)
        x_gen = self.decode_latent(z)
        judged = x_gen  # what the gen terms see: x_gen, or ẑ0 through the prior's frozen VAE (the steering alone)
        if w.get("gen_frozen", 0.0) and (w["gen"] > 0 or w["gen_id"] > 0 or w["gen_detail"] > 0):
            judged = self.prior.decode_with_grad(z)
        gen = fidelity_l1(crop(judged), x, a * w["gen_pixel"], int(w["split_levels"])) if w["gen"] > 0 else zero
        gen_id = identity_loss(identity, crop(judged), x) if w["gen_id"] > 0 else zero
        fused = x_hat = self.fuse(x_gen, x_fid, rate, realism)
        if self.lfe is not None:
            x_hat = self.lfe.correct(x_hat, x_fid)
        x_hat = crop(x_hat)
        l1 = fidelity_l1(x_hat, x, a, int(w["split_levels"]))
        hf = a * hf_loss(x, x_hat) if w["hf"] > 0 and a > 0 else zero
        lf = lf_consistency_loss(x, crop(fused) if w["lf_fused"] else x_hat) if (w["lf"] > 0 and self.lfe is not None) else zero
        e = lambda im: frequency.detail_log_energy(im, frequency.DETAIL_SPACES[int(w["detail_space"])])  # noqa: E731
        detail = gen_detail = zero
        if w["detail"] > 0 or w["gen_detail"] > 0:  # the detail energy asked: the original's, or (multi-realism)
            target = e(x) if detail_at == 1 else (1 - detail_at) * e(crop(x_fid)) + detail_at * e(x)  # part way from x_fid's
            detail = (e(x_hat) - target).abs().mean() if w["detail"] > 0 else zero
            gen_detail = (e(crop(judged)) - target).abs().mean() if w["gen_detail"] > 0 else zero
        adv = generator_loss(discriminator(x_hat)) if (w["adv"] > 0 and discriminator is not None) else zero
        ident = identity_loss(identity, x_hat, x) if w["id"] > 0 else zero
        loss = (w["l1"] * l1 + w["hf"] * hf + w["lf"] * lf + w["detail"] * detail
                + w["adv"] * realism_share * adv + w["id"] * ident + w["gen"] * gen + w["gen_detail"] * gen_detail
                + w["gen_id"] * gen_id)
        return {"loss": loss, "l1": l1, "hf": hf, "lf": lf, "detail": detail, "adv": adv,
                **({"id": ident} if w["id"] > 0 else {}), **({"gen": gen} if w["gen"] > 0 else {}),
                **({"gen_detail": gen_detail} if w["gen_detail"] > 0 else {}),
                **({"gen_id": gen_id} if w["gen_id"] > 0 else {}),
                "x_hat": x_hat.detach()}

    def trainable_modules(self) -> dict[str, nn.Module]:
        """What training changes: the control, the LFE when this variant has one, the codec's own decoder and the
        fidelity fusion when it has them."""
        return {k: getattr(self, k) for k in TRAINABLE_PARTS if getattr(self, k) is not None}

    # ------------------------------------------------------------------------------ saving
    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {f"{k}.{n}": v.detach().cpu().contiguous()
                for k, m in self.trainable_modules().items() for n, v in m.state_dict().items()}

    def save_pretrained(self, folder: str | Path, extra: dict | None = None, dtype: torch.dtype | None = torch.float16) -> Path:
        """A folder that describes itself, like a diffusers pipeline folder::

            codec.json                 variant; compressor: a shipped name, or "compressor/" below;
                                       prior: load_prior's arguments, or "prior/" below; control and LFE config
            control_lfe.safetensors    the trained control (+ LFE, + decoder), floating-point tensors stored as ``dtype``
                                       (fp16 by default: half the size; loading casts back; None keeps them)
            compressor/, prior/        only for a compressor / prior that is not shipped (saved in full precision)
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.to(dtype) if dtype is not None and v.is_floating_point() else v for k, v in self.trainable_state().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        shipped = getattr(self.compressor, "zoo_name", None)
        if shipped in registry.names("compressor"):
            compressor = {"shipped": shipped}
        else:
            self.compressor.save_pretrained(folder / "compressor", dtype=None)  # full precision: the same coder tables
            compressor = {"folder": "compressor"}
        if self.prior.source is not None:
            prior = {"load_prior": dict(self.prior.source)}
        else:
            self.prior.save_pretrained(folder / "prior", dtype=None)
            prior = {"folder": "prior"}
        if self.prior.kind == "tiny":  # the weights a name may stop meaning (from_pretrained checks them)
            prior["fingerprint"] = self.prior.fingerprint()
        meta = {"format": FORMAT, "variant": self.variant, "compressor": compressor, "prior": prior,
                "control": self.control.config(), "lfe": self.lfe.extra_config() if self.lfe is not None else None,
                "decoder": self.decoder is not None,
                **({"fusion": self.fusion.config()} if self.fusion is not None else {}),
                **(extra or {})}
        (folder / CODEC_FILE).write_text(json.dumps(meta, indent=1))
        return folder

    @staticmethod
    def read_config(folder: str | Path) -> dict:
        """``codec.json`` of a codec folder in the current schema (a format-1 file, which named the compressor by
        its shipped name and the prior as "tiny", is read as such)."""
        folder = Path(folder)
        if not (folder / CODEC_FILE).exists():
            raise FileNotFoundError(f"no FaSDiff codec in {folder}; train one with `fasdiff-lite train fasdiff`")
        meta = json.loads((folder / CODEC_FILE).read_text())
        if isinstance(meta.get("compressor"), str):
            meta["compressor"] = {"shipped": meta["compressor"]}
        if isinstance(meta.get("prior", "tiny"), str):
            meta["prior"] = {"load_prior": {"name": meta.get("prior", "tiny")}}
        return meta

    @classmethod
    def from_pretrained(cls, folder: str | Path, prior: DiffusionPrior | None = None, device=None,
                        compressor: HFCompressor | None = None) -> "FaSDiffCodec":
        """Rebuild the codec saved in ``folder`` from that folder alone. ``prior`` / ``compressor``: already-loaded
        ones to use instead of loading them again (the zoo's cached loader shares one prior between variants)."""
        folder = Path(folder)
        meta = cls.read_config(folder)
        if prior is None:
            prior = named_prior(folder, meta, device)
        check_prior(folder, meta, prior)
        if compressor is None:
            src = meta["compressor"]
            compressor = (HFCompressor.from_pretrained(folder / src["folder"], prior.device) if "folder" in src
                          else HFCompressor.shipped(src["shipped"], device=prior.device))
        control_cfg = meta.get("control") or {"prompt_channels": compressor.config.M}
        control = VisualPromptControl(prior.unet, **control_cfg).to(prior.device)
        lfe = None
        if meta.get("lfe"):
            cfg = dict(meta["lfe"])
            cfg["residual_channels"] = tuple(cfg["residual_channels"])
            lfe = HybridLFE(LFEConfig(**cfg))
        fusion = FidelityFusion(**meta["fusion"]) if meta.get("fusion") else False
        codec = cls(compressor, prior, meta["variant"], control=control, lfe=lfe, decoder=bool(meta.get("decoder", False)),
                    fusion=fusion)
        return codec.load_trainable(folder).to(prior.device).eval()

    def load_trainable(self, folder: str | Path, missing_ok: tuple[str, ...] = (),
                       skip: tuple[str, ...] = ()) -> "FaSDiffCodec":
        """Load the trained parts (control, LFE, decoder, fusion) saved in a codec folder into this codec.
        ``missing_ok``: parts the folder may lack (e.g. ``("fusion",)`` to add a fresh fusion to a trained codec);
        ``skip``: parts to leave as they are even if the folder has them (a fresh fusion of another kind)."""
        state = load_file(str(Path(folder) / WEIGHTS_FILE))
        for name, module in self.trainable_modules().items():
            if name in skip:
                continue
            part = {k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")}
            if not part and name in missing_ok:
                continue
            if not part:
                raise ValueError(f"{folder} holds no weights for this codec's {name}")
            module.load_state_dict(part)
        return self


class PriorMismatch(ValueError):
    """A codec folder loaded on another prior than the one it was trained on (the message says how to point it
    at the right one)."""


def named_prior(folder: str | Path, meta: dict, device=None):
    """The prior a codec folder's ``codec.json`` (``meta``, from :meth:`FaSDiffCodec.read_config`) names: its own
    ``prior/`` inside the folder, or ``load_prior``'s arguments."""
    src = meta["prior"]
    return load_prior(Path(folder) / src["folder"], device) if "folder" in src else load_prior(**src["load_prior"], device=device)


def check_prior(folder: Path, meta: dict, prior) -> None:
    """Raise :class:`PriorMismatch` when ``codec.json`` records the fingerprint of the prior the codec was trained
    on and ``prior`` has another one (a folder saved before fingerprints were recorded is not checked)."""
    want = meta["prior"].get("fingerprint")
    if want is None or prior.kind != "tiny":
        return
    have = prior.fingerprint()
    if have != want:
        named = meta["prior"].get("load_prior", {}).get("name", meta["prior"].get("folder"))
        raise PriorMismatch(
            f"{folder} was trained on the prior with fingerprint {want}, but the prior it names ({named!r}) has "
            f"{have} now: the shipped tiny prior was probably replaced since. Load it on the prior it was trained "
            "on: point its codec.json at that prior's folder with\n"
            f"  python tools/ship.py pin {folder} --prior /path/to/that/prior\n"
            "(a prior replaced by `tools/ship.py prior` is kept where that command said), or pass prior=... yourself.")


def decodes(weights: dict) -> bool:
    """Whether a training step with these weights runs the few-step decode: a term of :data:`DECODED_TERMS` has one."""
    return any(weights.get(k, 0.0) > 0 for k in DECODED_TERMS)


def realism_shares(rate: float, realism: float, weights: dict) -> tuple[float, float, float]:
    """(pixel share, adversarial share, detail target) of :meth:`FaSDiffCodec.decoded_loss` for one step at ``rate``
    and ``realism``, from ``weights``' ``split``, ``split_below`` and ``multi_realism``.

    Without ``multi_realism`` (0): the pixel share is :func:`pixel_share` (the rate split), the adversarial term's
    share is all of it at rate 0 and ``1 − split`` from ``split_below`` up, and the detail term asks for the
    original's detail energy (target 1); the realism the step was drawn at changes only the diffusion's starting noise.

    With ``multi_realism`` (1), the realism β of the step moves the loss from fidelity to realism (Agustsson et al.,
    CVPR 2023: loss = distortion + β·realism): β scales the split and the adversarial term, and the detail term asks
    for a detail energy β of the way (in log) from x_fid's to the original's: ``log E = (1 − β)·log E(x_fid) +
    β·log E(x)``. So at β → 0 the decoder is asked for the original pixel by pixel with as little fine detail as the
    compressor's own face, at β = 1 for the same as without it, and in between for a face whose detail grows with β.
    (Scaling the detail term by β instead, as first tried, did not make a slider: the term is an order of magnitude
    above the L1 one, so even a quarter of it asked for full detail, and the slider's detail ratio was flat from
    β 0.25 up; session 15.) A realism-aware fusion sees β, so one decoder learns the whole trade-off and the slider
    picks a point on it."""
    beta = check_realism(realism) if weights.get("multi_realism", 0.0) else 1.0
    split, below = weights["split"], weights["split_below"]
    a = pixel_share(rate, beta * split, below)
    adv = beta * (1.0 - split * min(1.0, float(rate) / below))
    return a, adv, beta


def pixel_share(rate: float, split: float, below: float = SPLIT_BELOW) -> float:
    """The share of :meth:`FaSDiffCodec.training_loss`'s fidelity asked pixel by pixel at ``rate`` (the rest is
    asked of the low-pass LF only): ``1 − split·(1 − rate/below)`` below ``below``, all of it from there up. split 0:
    all of it at every rate; split 1, below 1: the rate itself (none at rate 0, all at rate 1); below 0.5: none at
    rate 0, all from rate 0.5 up (the split only where the bits cannot carry the detail)."""
    if not 0.0 <= split <= 1.0:
        raise ValueError(f"split must be in [0, 1], got {split}")
    if not 0.0 < below <= 1.0:
        raise ValueError(f"the split's upper rate must be in (0, 1], got {below}")
    return 1.0 - split * (1.0 - min(1.0, float(rate) / below))


def fidelity_l1(x_hat: torch.Tensor, x: torch.Tensor, share: float = 1.0, levels: int = SPLIT_LEVELS) -> torch.Tensor:
    """The fidelity term of :meth:`FaSDiffCodec.training_loss`: ``share·‖x̂ − x‖₁ + (1 − share)·‖LF(x̂) − LF(x)‖₁``,
    LF the low-pass of the LFE's correction (:func:`lfe.smooth_lowpass`) over ``levels`` Haar levels with a Fourier
    cutoff of 2^−levels of Nyquist: 2 (the LFE's own band), or 1 (twice as wide: it also pins the mid frequencies
    that identity lives in)."""
    if levels not in (1, 2, 3):
        raise ValueError(f"levels must be 1, 2 or 3, got {levels}")
    l1 = share * F.l1_loss(x_hat, x) if share > 0 else x_hat.new_zeros(())
    if share < 1:
        lf = lambda im: smooth_lowpass(im, levels=levels, cutoff=0.5 ** levels)  # noqa: E731
        l1 = l1 + (1 - share) * F.l1_loss(lf(x_hat), lf(x))
    return l1

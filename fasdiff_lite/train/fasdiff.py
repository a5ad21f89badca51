"""``fasdiff-lite train fasdiff``: train a FaSDiff codec's decoder side: the visual-prompt control, the hybrid LFE
(LFE variants) and the codec's own copy of the VAE decoder, against a small patch discriminator.

The prior's UNet and VAE encoder are frozen, as in the paper; the compressor is frozen too (it was trained for
rate and distortion by ``train compressor``; its decoded latent is the visual prompt). Each step draws a rate
r = u^p, u ~ U[0, 1] (p = ``--rate-power``, 1 by default) and a decode setting (steps, realism) — half the time the CLI's default (4 steps, realism 1), else
1–4 steps at realism U[0.3, 1], so the sliders keep working (U[0.05, 1] with ``--multi-realism``, which also weights
the realism terms by the step's realism and shows it to the fusion: one decoder for the whole slider) — and minimises
:meth:`FaSDiffCodec.training_loss <fasdiff_lite.models.codec.FaSDiffCodec.training_loss>` (the paper's diffusion
loss, plus the few-step decode's fidelity, high- and low-frequency, detail and adversarial terms; written out
there, beside the model). Then the discriminator takes its own step (hinge loss, ``models/adversarial.py``).
The paper's identity term needs a differentiable face recogniser; the offline one here (dlib) is not, so the term
trains against a small proxy distilled from dlib (``--identity DIR --id-weight W``; ``models/identity.py``), and dlib
judges the result. A decoder trained against a frozen proxy learns to please it where dlib disagrees (FaSDiff card,
sessions 21–22); ``--id-refresh N`` re-distils the proxy on dlib's view of the step's decodes every N steps
(``train/identity.py`` ``refresh_step``) and exports it beside the codec. Faces: the shared train split at 128 px, a random view each time (``data.augment_batch``).

    fasdiff-lite train fasdiff --variant fasdiff --minutes 480 --export fasdiff_lite/assets/fasdiff/full
    # add a fidelity fusion (models/fusion.py) to a trained codec and train it alone: the diffusion then runs
    # without gradients, about 2 s a step of 12 faces on one CPU thread
    fasdiff-lite train fasdiff --variant fasdiff --init fasdiff_lite/assets/fasdiff/full --fusion --train-parts fusion --lr 5e-4

From a notebook: ``codec, history = train(Config(variant="fasdiff-nolfe", faces="samples", steps=10))``.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from .. import data, settings
from ..frequency import DETAIL_SPACES
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, VARIANTS
from ..models import zoo
from ..models.adversarial import PatchDiscriminator, discriminator_loss
from ..models.codec import LOSS_SETTINGS, LOSS_WEIGHTS, SPLIT_BELOW, SPLIT_LEVELS, TRAINABLE_PARTS, FaSDiffCodec, decodes
from ..models.fusion import ANCHORS, FidelityFusion
from ..models.identity import IdentityNet
from ..models.lfe import parse_band
from ..models.prior_loading import load_prior
from ..evaluation import face_metrics
from . import identity as identity_train
from . import latent_cache, loop


REFRESHED_IDENTITY = "identity"  # with --id-refresh: the proxy as training left it (run folder and export)


def run_folder(cfg: "Config") -> Path:
    """Where a run keeps its checkpoints (and, with --id-refresh, its proxy): --out, else runs/<variant>."""
    return Path(cfg.out or f"runs/{cfg.variant}")


@dataclass
class Config(loop.TrainConfig):
    variant: str = "fasdiff"  # fasdiff (full), fasdiff-nolfe (no low-frequency module), fasdiff-plain
    prior: str = "tiny"  # the frozen prior: tiny (shipped) or a folder
    compressor: str | None = None  # the frozen compressor: a shipped name or a folder (default: the variant's)
    hf_weight: float = LOSS_WEIGHTS["hf"]
    lf_weight: float = LOSS_WEIGHTS["lf"]
    l1_weight: float = LOSS_WEIGHTS["l1"]
    detail_weight: float = LOSS_WEIGHTS["detail"]
    adv_weight: float = LOSS_WEIGHTS["adv"]
    id_weight: float = LOSS_WEIGHTS["id"]
    gen_weight: float = LOSS_WEIGHTS["gen"]  # L1 of the diffusion's own face x_gen (before the fusion and LF correction)
    gen_detail_weight: float = LOSS_WEIGHTS["gen_detail"]  # the detail term asked of x_gen too (the prior draws it)
    gen_id_weight: float = LOSS_WEIGHTS["gen_id"]  # the identity term asked of x_gen too (the prior keeps the person)
    gen_pixel: float = LOSS_WEIGHTS["gen_pixel"]  # the share of the pixel fidelity asked of x_gen (0: its low-pass only)
    latent_weight: float = LOSS_WEIGHTS["latent"]  # L1 of the sampler's ẑ0 against the original's latent (the steering)
    gen_frozen: bool = False  # the gen terms judge ẑ0 through the prior's frozen VAE decoder: they train the steering alone
    detail_space: str = "rgb"  # where the detail terms measure detail energy (frequency.DETAIL_SPACES)
    lf_fused: bool = False  # the lf term asks the fused face before the LFE's correction (which overwrites its low band)
    x0_weight: float = LOSS_WEIGHTS["x0"]  # L1 of the clean latent the steered denoiser implies at the decode's timesteps
    identity: str | None = None  # the identity proxy's folder (fasdiff-lite train identity --export DIR)
    id_refresh: int = 0  # > 0: every N steps the proxy takes a distillation step on the batch's decodes (dlib's targets)
    id_refresh_lr: float = 1e-4  # the proxy's learning rate in those steps
    split: float = LOSS_WEIGHTS["split"]  # 0: pixel fidelity at every rate; 1: at rate r, a share r of it (the rest low-pass)
    split_levels: int = SPLIT_LEVELS  # the split's low-pass band: 2 (¼ Nyquist) or 1 (½ Nyquist, wider)
    split_below: float = SPLIT_BELOW  # the split acts below this rate only
    rate_power: float = 1.0  # each step's rate is u**rate_power, u ~ U[0, 1]: above 1 favours the low rates
    adv_start: int = 500  # steps before the adversarial term switches on (the discriminator trains from step 0)
    init: str | None = None  # start the control, LFE and decoder from this codec folder (e.g. a shipped codec)
    init_parts: str = "all"  # which of --init's parts to take (comma-separated); the rest start fresh
    fusion: bool = False  # add a fidelity fusion (models/fusion.py); starts as the identity
    fusion_rate: bool = False  # give the fusion the file's rate as an input (a trained one starts out the same)
    fusion_anchor: str | None = None  # gen / fid: the image the fusion's residual is added to (another than --init's: a fresh fusion)
    fusion_channels: int | None = None  # a fresh fusion's width (default: models/fusion.py's 32)
    fusion_dilations: str | None = None  # a fresh fusion's dilations, comma-separated (default 1,2,4,1)
    train_parts: str = "all"  # comma-separated parts to train (control, lfe, decoder, fusion) or "all"
    lfe_band: str | None = None  # LEVELS:CUTOFF of the LFE's output correction (default: its features' band, 2:0.25), or none
    latent_cache: int = 0  # > 0: train the decoder/fusion on this many cached batches of few-step latents (latent_cache.py)
    checkpoint_steps: bool = False  # gradient checkpointing of the sampler steps (less memory, about 25 % more time)
    multi_realism: bool = False  # weight the realism terms by each step's realism; the fusion sees the realism

    FULL: ClassVar[dict] = {"steps": 20000, "batch_size": 32, "lr": 1e-4, "warmup": 200, "min_lr": 0.1, "out": None}
    FAST: ClassVar[dict] = {"steps": 2, "batch_size": 2, "warmup": 1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    loop.add_arguments(p, Config)
    m = p.add_argument_group("model")
    m.add_argument("--variant", default="fasdiff", choices=list(VARIANTS),
                   help="fasdiff (full), fasdiff-nolfe (no low-frequency module), fasdiff-plain (hyperprior, no LFE)")
    m.add_argument("--prior", default="tiny", help="the frozen prior: tiny (shipped) or a folder")
    m.add_argument("--compressor", default=None, help="the frozen compressor: a shipped name or a folder "
                   "(default: hf-compressor, or hyperprior for fasdiff-plain)")
    for k, v in LOSS_WEIGHTS.items():
        if k not in LOSS_SETTINGS:  # settings with their own flags (--split, --multi-realism, --gen-pixel), not terms
            m.add_argument(f"--{k.replace('_', '-')}-weight", type=float, default=v, help=f"weight of the {k} term (default {v})")
    m.add_argument("--split", type=float, default=LOSS_WEIGHTS["split"], help="fidelity split by rate, in [0, 1]: 0 asks "
                   "every pixel of the original at every rate; 1 asks at rate r a share r pixel by pixel and the rest "
                   "of the low-pass only, leaving fine detail at low rates to the detail and adversarial terms "
                   f"(default {LOSS_WEIGHTS['split']}; see FaSDiffCodec.training_loss)")
    m.add_argument("--gen-pixel", type=float, default=LOSS_WEIGHTS["gen_pixel"], help="the gen term (on x_gen, the "
                   "diffusion's own face) asks this share of the pixel fidelity the fused face is asked (the rest of "
                   "its low-pass only): 0 (default) asks x_gen for the coarse structure only, 1 for the person's mid "
                   "and fine detail as much as the fused face (with --split 1: a share r at rate r)")
    m.add_argument("--gen-frozen", action="store_true", help="the gen terms (--gen-weight, --gen-id-weight, "
                   "--gen-detail-weight) judge the sampler's latent decoded by the prior's frozen VAE decoder, not the "
                   "codec's: they train the steering alone (the prior must draw the sharp face of the person itself)")
    m.add_argument("--detail-space", choices=DETAIL_SPACES, default="rgb", help="where the detail terms "
                   "(--detail-weight, --gen-detail-weight) measure detail energy: rgb (default), luma (the channels' "
                   "mean alone: colour detail earns nothing) or apart (luminance and colour each asked to match the "
                   "original's: colour halos cost; frequency.detail_log_energy)")
    m.add_argument("--lf-fused", action="store_true", help="the low-frequency term (--lf-weight) asks the fused "
                   "face before the LFE's output correction: the correction overwrites that face's low band with "
                   "x_fid's, so asked after it the term leaves the fusion free to paint anything there (colour halos "
                   "leak through the correction's soft band edge)")
    m.add_argument("--split-levels", type=int, default=SPLIT_LEVELS, choices=(1, 2, 3), help="the band --split keeps "
                   "asking at low rates: the low-pass of this many Haar levels with a Fourier cutoff of 2^-levels of "
                   f"Nyquist (default {SPLIT_LEVELS}; 1 is twice as wide and also pins the mid frequencies)")
    m.add_argument("--split-below", type=float, default=SPLIT_BELOW, help="the split acts below this rate only: "
                   "from it up, every pixel is asked as with --split 0 (default 1: at every rate below 1)")
    m.add_argument("--rate-power", type=float, default=1.0, help="each step's rate is u**P with u uniform in [0, 1] "
                   "(default 1: uniform; 2 spends about a third of the steps below rate 0.1, where realism is hardest)")
    m.add_argument("--adv-start", type=int, default=500, help="steps before the adversarial term switches on")
    m.add_argument("--lfe-band", default=None, help="LEVELS:CUTOFF: the band the LFE's output correction takes from "
                   "x_fid (wavelet LL level, Fourier cut-off as a share of Nyquist; models/lfe.py); default: the "
                   "band its features see, 2:0.25 (1:0.35 keeps x_fid up to about twice the frequency); none: no output "
                   "correction, the LFE's FiLM alone")
    m.add_argument("--fusion", action="store_true", help="add a fidelity fusion (models/fusion.py): a learned merge "
                   "of the decoded face with x_fid's pixels, starting as the identity")
    m.add_argument("--fusion-rate", action="store_true", help="make the fusion rate-aware: the file's rate becomes "
                   "one more input (zero weights at first, so a trained fusion starts out decoding as before); implies "
                   "--fusion")
    m.add_argument("--fusion-anchor", choices=ANCHORS, default=None, help="the image the fusion's residual is "
                   "added to: gen (the decoded face; the default) or fid (x_fid: it starts as the compressor alone and "
                   "learns to take the diffusion's detail); another anchor than --init's fusion starts a fresh fusion; "
                   "implies --fusion")
    m.add_argument("--fusion-channels", type=int, default=None, help="a fresh fusion's width (default 32; "
                   "models/fusion.py); only for a fusion this run starts")
    m.add_argument("--fusion-dilations", default=None, help="a fresh fusion's dilations, one 3×3 layer each, "
                   "comma-separated (default 1,2,4,1: it sees about 17 px; 1,2,4,8,1 sees about 33); only for a fusion "
                   "this run starts")
    m.add_argument("--train-parts", default="all", help="comma-separated parts to train: control, lfe, decoder, "
                   "fusion (default all); the rest stay frozen, and with only the fusion the diffusion runs without "
                   "gradients (much faster)")
    m.add_argument("--latent-cache", type=int, default=0, metavar="G", help="with the control and the LFE frozen "
                   "(--train-parts decoder,fusion or less): compute the diffusion's few-step latents for G batches of "
                   "views once (train/latent_cache.py; kept in the run folder) and train on them (measured here: a "
                   "step about 3× faster for the fusion alone, 2× with the decoder); 0 (default) runs the diffusion "
                   "every step")
    m.add_argument("--multi-realism", action="store_true", help="one decoder for the whole realism slider (Agustsson "
                   "et al., CVPR 2023): each step's realism β (drawn in [0.05, 1]) weights the adversarial term and "
                   "the split and sets the detail asked (from x_fid's toward the original's), and the fusion (if any) "
                   "reads β as a scale and shift of its layers and blends its answer with x_fid (a trained one decodes "
                   "as before at realism 1)")
    m.add_argument("--checkpoint-steps", action="store_true", help="gradient checkpointing of the few sampler steps "
                   "the decoded-face terms train the control and the LFE through: each step's activations are "
                   "recomputed in the backward pass (measured: batch 12, 4 steps, one CPU thread: 2.1 s and +625 MiB a "
                   "step instead of 1.7 s and +898 MiB; benchmarks/train_step.py)")
    m.add_argument("--identity", default=None, help="folder of the identity proxy (models/identity.py, from "
                   "`fasdiff-lite train identity --export DIR`); needed with --id-weight")
    m.add_argument("--id-refresh", type=int, default=0, metavar="N", help="every N steps, dlib describes the step's "
                   "originals and decoded faces and the identity proxy takes one distillation step on them "
                   "(train/identity.py refresh_step), so the decoder cannot keep pleasing the proxy where dlib "
                   "disagrees; the refreshed proxy is exported beside the codec (DIR/identity). 0 (default): frozen")
    m.add_argument("--id-refresh-lr", type=float, default=1e-4, help="the proxy's learning rate in --id-refresh steps")
    m.add_argument("--init", default=None, help="start from the trained parts of this codec folder (e.g. "
                   "fasdiff_lite/assets/fasdiff/full) instead of a fresh control: continue a training on another machine")
    m.add_argument("--init-parts", default="all", help="which of --init's parts to take, comma-separated: control, "
                   "lfe, decoder, fusion (default all). On another prior, the control (a copy of the UNet's encoder) "
                   "and the decoder (a copy of the VAE's) belong to the old one: take lfe,fusion and start those two "
                   "fresh from the new prior")


def build(cfg: Config, fusion_config: dict | None = None) -> FaSDiffCodec:
    """A fresh codec for ``cfg`` (a fusion built like ``fusion_config`` when given: the one ``--init`` holds)."""
    device = settings.device(cfg.device)
    prior = load_prior(cfg.prior, device=device)
    compressor = zoo.load(cfg.compressor or VARIANTS[cfg.variant][0], device=device)
    torch.manual_seed(cfg.seed)
    fusion = FidelityFusion(**fusion_config) if (cfg.fusion and fusion_config) else cfg.fusion
    return FaSDiffCodec(compressor, prior, cfg.variant, fusion=fusion)


def start_codec(cfg: Config) -> FaSDiffCodec:
    """The codec a run starts from: fresh, or ``--init``'s trained parts, with the fusion the flags ask for (kept from
    ``--init``; a fresh one for ``--fusion`` or for another ``--fusion-anchor`` than ``--init``'s; made rate-aware by
    ``--fusion-rate``). Sets ``cfg.fusion`` to whether the codec has one. ``benchmarks/decoder_probe.py`` rebuilds a
    run's codec with it from the config saved in the run's checkpoint."""
    taken = init_parts(cfg)
    init_fusion = FaSDiffCodec.read_config(cfg.init).get("fusion") if cfg.init and "fusion" in taken else None
    if init_fusion:
        cfg.fusion = True  # a codec that has a fusion keeps it: without this its weights would be dropped
    fresh = bool(cfg.fusion_anchor and cfg.fusion_anchor != (init_fusion or {}).get("anchor", "gen"))
    if cfg.fusion_anchor:
        init_fusion = {**(init_fusion or {}), "anchor": cfg.fusion_anchor}
        if fresh:  # another anchor: the init's fusion weights mean something else; start a fresh one
            init_fusion.pop("rate_input", None)
    cfg.fusion = cfg.fusion or cfg.fusion_rate or bool(cfg.fusion_anchor)
    shape = fusion_shape(cfg)
    if shape:
        if init_fusion and not fresh and any(init_fusion.get(k, v) != v for k, v in shape.items()):
            raise ValueError(f"--fusion-channels/--fusion-dilations shape a fresh fusion only; {cfg.init}'s fusion "
                             f"({init_fusion}) is kept and trained further (another --fusion-anchor starts a fresh one)")
        cfg.fusion = True
        init_fusion = {**(init_fusion or {}), **shape}
    codec = build(cfg, fusion_config=init_fusion)
    if cfg.init:
        skip = tuple(k for k in codec.trainable_modules() if k not in taken or (k == "fusion" and fresh))
        codec.load_trainable(cfg.init, missing_ok=("fusion",), skip=skip)
    if cfg.fusion_rate:
        codec.fusion.add_rate_input()
    if cfg.multi_realism and codec.fusion is not None:
        codec.fusion.add_realism_input()
    if cfg.lfe_band:
        if codec.lfe is None:
            raise ValueError(f"--lfe-band: {cfg.variant} has no LFE, so no output correction")
        band = parse_band(cfg.lfe_band)
        codec.lfe.config.correct_output = band is not None
        if band is not None:
            codec.lfe.config.correct_levels, codec.lfe.config.correct_cutoff = band
    elif cfg.init and "lfe" in taken and codec.lfe is not None:  # an LFE taken from --init keeps its band
        init_lfe = FaSDiffCodec.read_config(cfg.init).get("lfe") or {}
        codec.lfe.config.correct_levels = init_lfe.get("correct_levels")
        codec.lfe.config.correct_cutoff = init_lfe.get("correct_cutoff")
        codec.lfe.config.correct_output = init_lfe.get("correct_output", True)
    return codec


def init_parts(cfg: Config) -> set[str]:
    """The parts ``--init-parts`` takes from ``--init``: all the codec's trainable parts by default (a fusion only
    when it is one of them: ``--init-parts lfe`` on a codec with a fusion gives a codec without one)."""
    return parts_flag("--init-parts", cfg.init_parts, TRAINABLE_PARTS)


def parts_flag(flag: str, value: str, choices: tuple[str, ...]) -> set[str]:
    """The parts a comma-separated ``--train-parts`` / ``--init-parts`` names ("all": every one of ``choices``)."""
    if value == "all":
        return set(choices)
    asked = {p.strip() for p in value.split(",") if p.strip()}
    if not asked or asked - set(choices):
        raise ValueError(f"{flag}: choose from {', '.join(choices)} (got {value!r})")
    return asked


def fusion_shape(cfg: Config) -> dict:
    """The fusion's width and dilations ``--fusion-channels`` / ``--fusion-dilations`` ask for ({} for none)."""
    shape = {}
    if cfg.fusion_channels is not None:
        if cfg.fusion_channels < 1:
            raise ValueError(f"--fusion-channels must be at least 1, got {cfg.fusion_channels}")
        shape["channels"] = int(cfg.fusion_channels)
    if cfg.fusion_dilations:
        try:
            dil = [int(d) for d in str(cfg.fusion_dilations).split(",")]
        except ValueError:
            raise ValueError(f"--fusion-dilations takes comma-separated integers, got {cfg.fusion_dilations!r}") from None
        if not dil or min(dil) < 1:
            raise ValueError(f"--fusion-dilations must be integers ≥ 1, got {cfg.fusion_dilations!r}")
        shape["dilations"] = dil
    return shape


def decode_setting(gen: torch.Generator | None = None, low: float = 0.3) -> tuple[int, float]:
    """A (steps, realism) to train one step at: the CLI's default (4 steps, realism 1) half the time, else 1 to 4 steps
    at realism U[low, 1]."""
    u = torch.rand(3, generator=gen)
    if u[0] < 0.5:
        return DEFAULT_STEPS, DEFAULT_REALISM
    return min(DEFAULT_STEPS, 1 + int(u[1] * DEFAULT_STEPS)), float(low + (1 - low) * u[2])


def realism_low(cfg: Config) -> float:
    """The lowest realism a step is drawn at: 0.3, or 0.05 with ``--multi-realism`` (its decoder learns the whole
    slider; below 0.05 the decode runs fewer steps than asked)."""
    return 0.05 if cfg.multi_realism else 0.3


def train(cfg: Config) -> tuple[FaSDiffCodec, list[dict]]:
    if not cfg.rate_power > 0:
        raise ValueError(f"--rate-power must be above 0, got {cfg.rate_power}")
    if (cfg.id_weight > 0 or cfg.gen_id_weight > 0) and not cfg.identity:
        raise ValueError("--id-weight and --gen-id-weight need --identity DIR (an identity proxy from "
                         "`fasdiff-lite train identity`)")
    for flag, on in (("--latent-weight", cfg.latent_weight > 0), ("--x0-weight", cfg.x0_weight > 0),
                     ("--gen-frozen", cfg.gen_frozen)):
        if cfg.latent_cache and on:
            raise ValueError(f"{flag} trains the steering (the control and the LFE), which --latent-cache freezes")
    if not 0 <= cfg.gen_pixel <= 1:
        raise ValueError(f"--gen-pixel must be in [0, 1], got {cfg.gen_pixel}")
    cfg, faces, _ = loop.setup(cfg, str(run_folder(cfg)))
    codec = start_codec(cfg)
    codec.checkpoint_steps = cfg.checkpoint_steps
    cfg.device = str(codec.prior.device)
    modules = codec.trainable_modules()
    if cfg.train_parts != "all":
        keep = parts_flag("--train-parts", cfg.train_parts, tuple(modules))
        for name, m in modules.items():
            m.requires_grad_(name in keep)
        modules = {k: v for k, v in modules.items() if k in keep}
    identity, id_opt = None, None
    if cfg.identity:
        identity = IdentityNet.from_pretrained(cfg.identity).to(codec.prior.device).eval().requires_grad_(False)
    if cfg.id_refresh:
        if identity is None or cfg.id_weight <= 0:
            raise ValueError("--id-refresh needs the identity term: --id-weight above 0 and --identity DIR")
        face_metrics.get_backend().check()  # dlib describes the decodes
        id_opt = torch.optim.AdamW(identity.parameters(), lr=cfg.id_refresh_lr, weight_decay=1e-4)
    opt = torch.optim.AdamW([p for m in modules.values() for p in m.parameters()], lr=cfg.lr, weight_decay=0.0)
    disc = PatchDiscriminator().to(codec.prior.device)
    d_opt = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
    weights = {"l1": cfg.l1_weight, "hf": cfg.hf_weight, "lf": cfg.lf_weight, "detail": cfg.detail_weight,
               "adv": cfg.adv_weight, "id": cfg.id_weight, "gen": cfg.gen_weight, "gen_detail": cfg.gen_detail_weight,
               "gen_id": cfg.gen_id_weight, "gen_pixel": cfg.gen_pixel, "latent": cfg.latent_weight, "x0": cfg.x0_weight,
               "gen_frozen": float(cfg.gen_frozen), "detail_space": float(DETAIL_SPACES.index(cfg.detail_space)), "lf_fused": float(cfg.lf_fused), "split": cfg.split,
               "split_levels": cfg.split_levels, "split_below": cfg.split_below, "multi_realism": float(cfg.multi_realism)}
    if cfg.gen_frozen and not codec.steers():
        raise ValueError("--gen-frozen sends the gen terms to the steering alone: train the control or the LFE "
                         f"(--train-parts {cfg.train_parts} trains neither)")
    decoding = decodes(weights)  # else the steering's denoising alone: no decode, no critic
    if not decoding and (cfg.latent_cache or not codec.steers()):
        raise ValueError("with no weight on a term of the decoded face (--l1-weight, --gen-weight, ...) a step trains "
                         "the steering's denoising only: train the control or the LFE (--train-parts), without --latent-cache")
    box = {}
    groups, dataset, run_cfg = None, data.FaceDataset(faces, augment=False), cfg
    if cfg.latent_cache:
        groups = latent_cache.Groups(cached_latents(cfg, codec, faces))
        dataset, run_cfg = groups, dataclasses.replace(cfg, batch_size=1)  # one cached group (a whole batch) a step

    def step_fn(x: torch.Tensor, step: int) -> dict:
        codec.compressor.eval()
        codec.prior.eval()
        if identity is not None:
            identity.eval()  # a loss: its batch norms keep their statistics (loop.run sets its modules to train)
        w = dict(weights, adv=weights["adv"] if step >= cfg.adv_start else 0.0)
        if groups is not None:  # a cached latent: only the decoder, the fusion and the losses run
            x, z, x_fid, rate, realism = groups.group(int(x[0]), codec.prior.device)
            losses = codec.decoded_loss(x, z, x_fid, rate, w, disc, identity, realism)
        else:
            x = data.augment_batch(x, cfg.size)
            steps, realism = decode_setting(low=realism_low(cfg))
            losses = codec.training_loss(x, float(torch.rand(())) ** cfg.rate_power, steps, realism, w, disc, identity)
        box["real"], box["fake"] = x, losses.pop("x_hat")  # fake is None when the step does not decode
        return losses | box.pop("refresh", {})  # the last proxy refresh's numbers, logged with this step

    def refresh(step: int) -> None:  # after the decoder's (and the discriminator's) step: the proxy's own
        if id_opt is not None and (step + 1) % cfg.id_refresh == 0:
            box["refresh"] = identity_train.refresh_step(identity, id_opt, box["real"], box["fake"])

    def disc_loss() -> torch.Tensor:  # the discriminator's step, after the decoder's (loop.run's aux hook)
        return discriminator_loss(disc(box["real"]), disc(box["fake"]))

    cfg.extra = {"variant": cfg.variant, "n_faces": len(faces), "weights": weights}
    t0 = time.time()
    kept = {**modules, **({"discriminator": disc} if decoding else {}),
            **({"identity": identity} if id_opt is not None else {})}  # checkpointed
    history = loop.run(run_cfg, dataset, kept, opt, step_fn, aux=(d_opt, disc_loss) if decoding else None,
                       after_step=refresh, desc=f"train {cfg.variant}")
    codec.training_info = loop.training_facts(cfg, history, len(faces), t0, weights=weights, adv_start=cfg.adv_start,
                                              init=cfg.init, init_parts=cfg.init_parts, fusion=cfg.fusion, train_parts=cfg.train_parts,
                                              identity=cfg.identity, id_refresh=cfg.id_refresh,
                                              id_refresh_lr=cfg.id_refresh_lr if cfg.id_refresh else None,
                                              latent_cache=cfg.latent_cache,
                                              rate_power=cfg.rate_power, fusion_rate=bool(codec.fusion and codec.fusion.rate_input),
                                              fusion_anchor=codec.fusion.anchor if codec.fusion else None,
                                              multi_realism=cfg.multi_realism)
    if id_opt is not None:  # the proxy as the refreshes left it, in the run folder (main() copies it to the export)
        identity.eval().requires_grad_(False).to("cpu").save_pretrained(
            Path(cfg.out) / REFRESHED_IDENTITY, extra={"training": {"refreshed_from": cfg.identity, "id_refresh": cfg.id_refresh,
                                                                    "id_refresh_lr": cfg.id_refresh_lr, "steps": history[-1]["step"] if history else 0}})
    return codec.eval(), history


def cached_latents(cfg: Config, codec: FaSDiffCodec, faces) -> dict[str, torch.Tensor]:
    """The run's latent cache (``<out>/latent_cache.safetensors``): loaded when it was made from the same frozen parts
    and settings, else built (``cfg.latent_cache`` batches of ``cfg.batch_size`` views, rates and decode settings
    drawn as an uncached step draws them)."""
    if codec.steers():
        raise ValueError("--latent-cache needs the control and the LFE frozen: add --train-parts decoder,fusion "
                         "(or one of them)")
    made_from = {"variant": cfg.variant, "compressor": cfg.compressor or VARIANTS[cfg.variant][0], "prior": cfg.prior,
                 "frozen": latent_cache.frozen_fingerprint(codec), "groups": cfg.latent_cache,
                 "batch_size": cfg.batch_size, "size": cfg.size, "rate_power": cfg.rate_power, "seed": cfg.seed,
                 "realism_low": realism_low(cfg),
                 "faces": str(cfg.faces), "limit": cfg.limit}

    def draw(gen: torch.Generator) -> tuple[float, int, float]:
        rate = float(torch.rand((), generator=gen)) ** cfg.rate_power
        return (rate, *decode_setting(gen, low=realism_low(cfg)))

    return latent_cache.load_or_build(
        Path(cfg.out) / latent_cache.FILE, made_from,
        lambda: latent_cache.build(codec.eval(), faces, cfg.latent_cache, cfg.batch_size, draw, cfg.size, cfg.seed))


def main(args) -> int:
    cfg = Config.from_args(args)
    codec, history = train(cfg)
    folder = loop.export(codec.eval(), cfg, history)
    refreshed = run_folder(cfg.resolved()) / REFRESHED_IDENTITY
    if folder is not None and cfg.id_refresh and refreshed.exists():
        shutil.copytree(refreshed, Path(folder) / REFRESHED_IDENTITY, dirs_exist_ok=True)
    return 0

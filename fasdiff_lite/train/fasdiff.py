"""``fasdiff-lite train fasdiff``: train the visual-prompt control (and the hybrid LFE) of a FaSDiff codec.

The prior is frozen, as in the paper; the compressor is frozen too (it was trained for rate and distortion by
``train compressor``; its decoded latent is the visual prompt). One step draws a rate r ~ U[0, 1] and minimises
:meth:`FaSDiffCodec.training_loss <fasdiff_lite.models.codec.FaSDiffCodec.training_loss>` (noise prediction with
control, plus the high- and low-frequency terms; the objective is written out there, beside the model). The
paper's identity term needs a differentiable face recogniser; the offline one here (dlib) is not, so it is
measured, not trained on.

    fasdiff-lite train fasdiff --variant fasdiff --steps 3000 --threads 1 --export assets/fasdiff/full

From a notebook: ``codec, history = train(Config(variant="fasdiff-nolfe", faces="samples", steps=10))``.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import ClassVar

import torch

from .. import data, settings
from ..models import zoo
from ..models.codec import VARIANTS, FaSDiffCodec
from ..models.prior import load_prior
from . import loop


@dataclass
class Config(loop.TrainConfig):
    variant: str = "fasdiff"  # fasdiff (full), fasdiff-nolfe (no low-frequency module), fasdiff-plain
    prior: str = "tiny"  # the frozen prior: tiny (shipped) or a folder
    compressor: str | None = None  # the frozen compressor: a shipped name or a folder (default: the variant's)
    hf_weight: float = 0.5
    lf_weight: float = 1.0

    FULL: ClassVar[dict] = {"steps": 3000, "batch_size": 16, "lr": 2e-4, "warmup": 100, "min_lr": 0.1, "out": None}
    FAST: ClassVar[dict] = {"steps": 3, "batch_size": 2}


def add_arguments(p: argparse.ArgumentParser) -> None:
    loop.add_arguments(p, Config)
    m = p.add_argument_group("model")
    m.add_argument("--variant", default="fasdiff", choices=list(VARIANTS),
                   help="fasdiff (full), fasdiff-nolfe (no low-frequency module), fasdiff-plain (hyperprior, no LFE)")
    m.add_argument("--prior", default="tiny", help="the frozen prior: tiny (shipped) or a folder")
    m.add_argument("--compressor", default=None, help="the frozen compressor: a shipped name or a folder "
                   "(default: hf-compressor, or hyperprior for fasdiff-plain)")
    m.add_argument("--hf-weight", type=float, default=0.5)
    m.add_argument("--lf-weight", type=float, default=1.0)


def build(cfg: Config) -> FaSDiffCodec:
    device = settings.device(cfg.device)
    prior = load_prior(cfg.prior, device=device)
    compressor = zoo.load(cfg.compressor or VARIANTS[cfg.variant][0], device=device)
    torch.manual_seed(cfg.seed)
    return FaSDiffCodec(compressor, prior, cfg.variant)


def train(cfg: Config) -> tuple[FaSDiffCodec, list[dict]]:
    cfg = cfg.resolved()
    if cfg.out is None:
        cfg.out = f"runs/{cfg.variant}"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    faces = loop.training_faces(cfg)
    codec = build(cfg)
    cfg.device = str(codec.prior.device)
    modules = codec.trainable_modules()
    opt = torch.optim.AdamW([p for m in modules.values() for p in m.parameters()], lr=cfg.lr, weight_decay=0.0)

    def step_fn(x: torch.Tensor, step: int) -> dict:
        codec.compressor.eval()
        codec.prior.eval()
        return codec.training_loss(x, float(torch.rand(())), cfg.hf_weight, cfg.lf_weight)

    cfg.extra = {"variant": cfg.variant, "n_faces": len(faces)}
    t0 = time.time()
    history = loop.run(cfg, data.FaceDataset(faces), modules, opt, step_fn, desc=f"train {cfg.variant}")
    codec.training_info = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "hf_weight": cfg.hf_weight,
                           "lf_weight": cfg.lf_weight, "seed": cfg.seed, "faces": str(cfg.faces),
                           "n_faces": len(faces), "wall_time_s_this_run": round(time.time() - t0, 1),
                           "threads": torch.get_num_threads()}
    return codec.eval(), history


def main(args) -> int:
    cfg = Config.from_args(args)
    codec, history = train(cfg)
    if cfg.export:
        folder = codec.save_pretrained(cfg.export, extra={"training": codec.training_info, "history_tail": history[-5:]})
        print(f"exported to {folder}")
    return 0

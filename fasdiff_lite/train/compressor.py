"""``fasdiff-lite train compressor``: train the high-frequency-sensitive compressor (or the plain hyperprior).

Every step draws a random rate r ∈ [0, 1], so one set of weights learns the whole rate range:

    loss = bpp(r) + λ(r)·255²·(MSE + w_hf·MSE_detail-bands)     (models.compressor.rd_loss)
    aux  = CompressAI's auxiliary loss that fits the EntropyBottleneck's quantiles (own optimizer, loop.run's aux)

Faces come from ``--faces`` (default: the shared faces' *train* split; the 150 validation faces are never
seen). Checkpoints go to ``--out`` every ``--checkpoint-every`` steps and training resumes from there;
``--export DIR`` writes the shippable folder (config.json + model.safetensors + CDF tables). From a notebook::

    model, history = train(Config(faces="samples", steps=20, N=16, M=16))
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch

from .. import data
from ..models.compressor import CompressorConfig, HFCompressor, rd_loss
from . import loop


@dataclass
class Config(loop.TrainConfig):
    plain: bool = False  # no frequency branch: the plain mean-scale hyperprior baseline
    N: int = 48  # channels inside the transforms
    M: int = 64  # channels of the latent (visual prompt)
    hf_weight: float = 1.0  # weight of the high-frequency term (0 turns it off)

    FULL: ClassVar[dict] = {"steps": 6000, "batch_size": 16, "lr": 3e-4, "warmup": 0, "min_lr": 0.05, "out": None}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4}


def add_arguments(p: argparse.ArgumentParser) -> None:
    loop.add_arguments(p, Config)
    m = p.add_argument_group("model")
    m.add_argument("--plain", action="store_true", help="no frequency branch: the plain mean-scale hyperprior baseline")
    m.add_argument("--N", type=int, default=48, help="channels inside the transforms")
    m.add_argument("--M", type=int, default=64, help="channels of the latent (visual prompt)")
    m.add_argument("--hf-weight", type=float, default=1.0, help="weight of the high-frequency term (0 turns it off)")


def train(cfg: Config) -> tuple[HFCompressor, list[dict]]:
    cfg = cfg.resolved()
    kind = "plain" if cfg.plain else "hf"
    if cfg.out is None:
        cfg.out = f"runs/compressor-{kind}"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    faces = loop.training_faces(cfg)
    mcfg = CompressorConfig(N=cfg.N, M=cfg.M, frequency_branch=not cfg.plain,
                            model_id="hyperprior" if cfg.plain else "hf-compressor")
    torch.manual_seed(cfg.seed)
    model = HFCompressor(mcfg)
    aux_params = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    main_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n not in aux_params], lr=cfg.lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n in aux_params], lr=1e-3)
    hf_weight = 0.0 if cfg.plain else cfg.hf_weight

    def step_fn(x: torch.Tensor, step: int) -> dict:
        rate = float(torch.rand(()))
        losses = rd_loss(x, model.forward_rate(x, rate), rate, hf_weight)
        losses["psnr"] = -10 * torch.log10(losses.pop("mse").detach().clamp_min(1e-10))
        return losses

    cfg.extra = {"model": asdict(mcfg), "hf_weight": hf_weight, "n_faces": len(faces)}
    t0 = time.time()
    history = loop.run(cfg, data.FaceDataset(faces), {"model": model}, main_opt, step_fn,
                       aux=(aux_opt, model.aux_loss), desc=f"compressor ({kind})")
    model.to("cpu").eval()
    model.training_info = {"steps": cfg.steps, "batch_size": cfg.batch_size, "lr": cfg.lr, "hf_weight": hf_weight,
                           "seed": cfg.seed, "faces": str(cfg.faces), "n_faces": len(faces),
                           "wall_time_s_this_run": round(time.time() - t0, 1), "device": str(cfg.device or "auto"),
                           "threads": torch.get_num_threads()}
    return model, history


def main(args) -> int:
    cfg = Config.from_args(args)
    model, history = train(cfg)
    if cfg.export:
        folder = model.save_pretrained(cfg.export, extra={"training": model.training_info, "history_tail": history[-5:]})
        (folder / "history.json").write_text(json.dumps(history))
        print(f"exported to {folder}")
    return 0

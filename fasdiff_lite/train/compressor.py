"""``fasdiff-lite train compressor``: train the high-frequency-sensitive compressor (or the plain hyperprior).

Every step draws a random rate r ∈ [0, 1], so one set of weights learns the whole rate range:

    loss = bpp(r) + λ(r)·255²·(MSE + w_hf·MSE_detail-bands)     (models.compressor.rd_loss)
    aux  = CompressAI's auxiliary loss that fits the EntropyBottleneck's quantiles (own optimizer, loop.run's aux)

Faces: the shared faces' *train* split at 128 px (the 150 validation faces are never seen), each batch a
fresh random view (crop 80–100 %, shift, flip, colour ±8 %: ``data.augment_batch``, run on the training
device) resized to 64 px, so 680 faces go further; other sources (``--faces``) are augmented at 64 px.
Every ``--eval-every`` steps the model is measured on the 150 held-out faces at rates 0, 0.5 and 1
(entropy-model bpp and PSNR, real rounding): the history holds train and held-out curves side by side.
Checkpoints go to ``--out`` and training resumes from there; ``--minutes`` trains for a wall-clock budget;
``--export DIR`` writes the shippable folder (config.json + fp16 model.safetensors + CDF tables)::

    fasdiff-lite train compressor --minutes 480 --batch-size 64 --export fasdiff_lite/assets/compressor/hf

From a notebook::

    model, history = train(Config(faces="samples", steps=20, N=16, M=16))
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch

from .. import data
from ..models.compressor import CompressorConfig, HFCompressor, likelihood_bits, rd_loss
from . import loop

EVAL_RATES = (0.0, 0.5, 1.0)
_DEFAULT = CompressorConfig()


@dataclass
class Config(loop.TrainConfig):
    plain: bool = False  # no frequency branch: the plain mean-scale hyperprior baseline
    N: int = _DEFAULT.N  # channels inside the transforms
    M: int = _DEFAULT.M  # channels of the latent (visual prompt)
    lambda_min: float | None = None  # λ at rate 0 (default: the init folder's, else CompressorConfig's)
    lambda_max: float | None = None  # λ at rate 1 (given with --init: a new rate range to train the weights on)
    hf_weight: float = 0.5  # weight of the high-frequency term (0 turns it off)
    eval_every: int = 1000  # held-out measurement every N steps (0: never)
    init: str | None = None  # start from these weights (an exported folder; its config wins over N and M)

    FULL: ClassVar[dict] = {"steps": 200000, "batch_size": 64, "lr": 2e-4, "warmup": 500, "min_lr": 0.02, "out": None}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4, "warmup": 1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    loop.add_arguments(p, Config)
    m = p.add_argument_group("model")
    m.add_argument("--plain", action="store_true", help="no frequency branch: the plain mean-scale hyperprior baseline")
    m.add_argument("--N", type=int, default=_DEFAULT.N, help="channels inside the transforms")
    m.add_argument("--M", type=int, default=_DEFAULT.M, help="channels of the latent (visual prompt)")
    m.add_argument("--lambda-min", type=float, default=None, help=f"λ at rate 0 (default {_DEFAULT.lambda_min}, "
                   "or the --init folder's)")
    m.add_argument("--lambda-max", type=float, default=None, help=f"λ at rate 1 (default {_DEFAULT.lambda_max}, "
                   "or the --init folder's; given with --init, the weights continue training on the new range)")
    m.add_argument("--hf-weight", type=float, default=0.5, help="weight of the high-frequency term (0 turns it off)")
    m.add_argument("--eval-every", type=int, default=1000, help="held-out measurement every N steps (0: never)")
    m.add_argument("--init", default=None, help="start from the weights of an exported folder (fresh optimizer); "
                   "its config replaces --N/--M, and its rate range unless --lambda-min/--lambda-max are given")


@torch.no_grad()
def heldout(model: HFCompressor, faces: torch.Tensor, rates=EVAL_RATES, batch: int = 50) -> dict:
    """Entropy-model bpp and mean PSNR on held-out faces (N×3×64×64 in [0, 1]) at each rate, real rounding."""
    was_training = model.training
    model.eval()
    out = {}
    for r in rates:
        bits, psnr = 0.0, []
        for i in range(0, len(faces), batch):
            x = faces[i : i + batch]
            o = model.forward_rate(x, r)
            bits += float(likelihood_bits(o["likelihoods"]))
            psnr.append(-10 * torch.log10(((o["x_hat"].clamp(0, 1) - x) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)))
        out[f"val_bpp_r{r:g}"] = bits / (len(faces) * faces.shape[-1] * faces.shape[-2])
        out[f"val_psnr_r{r:g}"] = float(torch.cat(psnr).mean())
    model.train(was_training)
    return out


def build(cfg: Config) -> HFCompressor:
    """A fresh compressor from the config, or the ``init`` folder's weights on its own rate range, or on
    ``lambda_min``/``lambda_max`` where they are given (the quantisation gains follow the new λ table)."""
    new = {k: v for k, v in (("lambda_min", cfg.lambda_min), ("lambda_max", cfg.lambda_max)) if v is not None}
    if not cfg.init:
        return HFCompressor(CompressorConfig(N=cfg.N, M=cfg.M, frequency_branch=not cfg.plain,
                                             model_id="hyperprior" if cfg.plain else "hf-compressor", **new))
    model = HFCompressor.from_pretrained(cfg.init)
    if not new or all(getattr(model.config, k) == v for k, v in new.items()):
        return model
    if not 0 < new.get("lambda_min", model.config.lambda_min) < new.get("lambda_max", model.config.lambda_max):
        raise ValueError("need 0 < lambda_min < lambda_max")
    state = {k: v for k, v in model.state_dict().items() if k != "Gain"}
    moved = HFCompressor(dataclasses.replace(model.config, **new))
    got = moved.load_state_dict(state, strict=False)
    if got.unexpected_keys or got.missing_keys != ["Gain"]:
        raise RuntimeError(f"{cfg.init} does not match its own config: {got}")
    return moved


def train(cfg: Config) -> tuple[HFCompressor, list[dict]]:
    kind = "plain" if cfg.plain else "hf"
    cfg, faces, shared = loop.setup(cfg, f"runs/compressor-{kind}")
    val = data.load_faces("shared", size=cfg.size, split="val") if shared and cfg.eval_every else None
    torch.manual_seed(cfg.seed)
    model = build(cfg)
    aux_params = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    main_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n not in aux_params and p.requires_grad], lr=cfg.lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n in aux_params], lr=1e-3)
    hf_weight = 0.0 if cfg.plain else cfg.hf_weight
    val_t = None

    def step_fn(x: torch.Tensor, step: int) -> dict:
        nonlocal val_t
        x = data.augment_batch(x, cfg.size)
        rate = float(torch.rand(()))
        losses = rd_loss(x, model.forward_rate(x, rate), model.lmbda_at(rate), hf_weight)
        losses["psnr"] = -10 * torch.log10(losses.pop("mse").detach().clamp_min(1e-10))
        if val is not None and (step + 1) % cfg.eval_every == 0:
            if val_t is None:
                val_t = data.to_tensor(val).to(x.device)
            losses.update(heldout(model, val_t))
        return losses

    cfg.extra = {"model": asdict(model.config), "hf_weight": hf_weight, "n_faces": len(faces)}
    t0 = time.time()
    history = loop.run(cfg, data.FaceDataset(faces, augment=False), {"model": model}, main_opt, step_fn,
                       aux=(aux_opt, model.aux_loss), desc=f"compressor ({kind})")
    model.to("cpu").eval()
    model.training_info = loop.training_facts(
        cfg, history, len(faces), t0, hf_weight=hf_weight,
        augmentation=f"data.augment_batch: 128-px crops 80-100 %, shift, flip, colour ±8 %, → {cfg.size} px" if shared
        else f"data.augment_batch at {cfg.size} px")
    return model, history


def main(args) -> int:
    cfg = Config.from_args(args)
    model, history = train(cfg)
    loop.export(model, cfg, history)
    return 0

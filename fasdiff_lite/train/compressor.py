"""``fasdiff-lite train compressor``: train the high-frequency-sensitive compressor (or the plain hyperprior).

Every step draws a random rate r ∈ [0, 1], so one set of weights learns the whole rate range:

    loss = bpp(r) + λ(r)·255²·(MSE + w_hf·MSE_detail-bands)     (compressor.rd_loss)
    aux  = CompressAI's auxiliary loss that fits the EntropyBottleneck's quantiles (own optimizer)

Faces: the shared faces' *train* split at 128 px (the 150 validation faces are never seen), each batch
a fresh random view (crop, scale, flip, colour: ``data.augment_batch``, run on the training device)
resized to 64 px; or ``--data`` (a folder, an .npz, 'samples'). Every ``--eval-every`` steps the model is
measured on the held-out faces at rates 0, 0.5 and 1 (entropy-model bpp and PSNR, real rounding), so the
history holds train and held-out curves side by side.

Length: ``--steps``, or ``--minutes`` (train for a wall-clock budget: the learning-rate schedule then
runs on the elapsed fraction of the budget). Checkpoints go to ``--out`` every ``--checkpoint-every``
steps and training resumes from there; ``--export DIR`` writes the shippable folder.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict

import numpy as np
import torch

from .. import data, settings
from ..compressor import CompressorConfig, HFCompressor, rd_loss
from . import loop

EVAL_RATES = (0.0, 0.5, 1.0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = CompressorConfig()
    p.add_argument("--plain", action="store_true", help="no frequency branch: the plain mean-scale hyperprior baseline")
    p.add_argument("--data", default="auto", help="faces: 'shared' (train split), a folder, an .npz, 'samples' (default: auto)")
    p.add_argument("--N", type=int, default=d.N, help="channels inside the transforms")
    p.add_argument("--M", type=int, default=d.M, help="channels of the latent (visual prompt)")
    p.add_argument("--lambda-min", type=float, default=d.lambda_min, help="λ at rate 0")
    p.add_argument("--lambda-max", type=float, default=d.lambda_max, help="λ at rate 1")
    p.add_argument("--steps", type=int, default=settings.pick(200000, 4))
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes (the LR schedule follows the clock)")
    p.add_argument("--batch-size", type=int, default=settings.pick(16, 4))
    p.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (warm-up, then cosine decay to 2%%)")
    p.add_argument("--warmup", type=int, default=settings.pick(500, 1), help="linear warm-up steps")
    p.add_argument("--hf-weight", type=float, default=0.5, help="weight of the high-frequency term (0 turns it off)")
    p.add_argument("--out", default=None, help="run folder for checkpoints (default runs/compressor-<hf|plain>)")
    p.add_argument("--export", default=None, help="write the final model here (config.json + model.safetensors)")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=settings.pick(1000, 2), help="held-out measurement every N steps (0: never)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a checkpoint")


class RawFaces(torch.utils.data.Dataset):
    """uint8 faces as 3×S×S tensors, untouched: augmentation runs batched on the device (``augment_batch``)."""

    def __init__(self, faces: np.ndarray):
        self.faces = torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).contiguous()

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.faces[i]


@torch.no_grad()
def heldout(model: HFCompressor, faces: torch.Tensor, rates=EVAL_RATES, batch: int = 50) -> dict:
    """Entropy-model bpp and PSNR on held-out faces (N×3×64×64 in [0, 1]) at each rate, real rounding."""
    was_training = model.training
    model.eval()
    out = {}
    for r in rates:
        bits, mse = 0.0, []
        for i in range(0, len(faces), batch):
            x = faces[i : i + batch]
            o = model.forward_rate(x, r)
            bits += float(sum(torch.log2(l).sum() for l in o["likelihoods"].values()).neg())
            mse.append(((o["x_hat"].clamp(0, 1) - x) ** 2).mean(dim=(1, 2, 3)))
        mse = torch.cat(mse)
        out[f"val_bpp_r{r:g}"] = bits / (len(faces) * faces.shape[-1] * faces.shape[-2])
        out[f"val_psnr_r{r:g}"] = float((-10 * torch.log10(mse.clamp_min(1e-10))).mean())
    model.train(was_training)
    return out


def train(args) -> tuple[HFCompressor, list[dict]]:
    if args.threads:
        torch.set_num_threads(args.threads)
    kind = "plain" if args.plain else "hf"
    shared = args.data in ("auto", "shared") and settings.shared_dir() is not None
    split = "train" if shared else "all"
    faces = data.load_faces(args.data, size=128 if shared else 64, split=split)
    val = data.load_faces("shared", size=64, split="val") if shared else None
    cfg = CompressorConfig(N=args.N, M=args.M, frequency_branch=not args.plain, lambda_min=args.lambda_min,
                           lambda_max=args.lambda_max, model_id="hyperprior" if args.plain else "hf-compressor")
    torch.manual_seed(args.seed)
    model = HFCompressor(cfg)
    aux_params = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    main_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n not in aux_params and p.requires_grad], lr=args.lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n in aux_params], lr=1e-3)
    hf_weight = 0.0 if args.plain else args.hf_weight
    budget = args.minutes * 60 if args.minutes else None
    t_start = time.time()
    val_t = None

    def progress(step: int) -> float:
        by_steps = step / max(1, args.steps)
        return max(by_steps, (time.time() - t_start) / budget) if budget else by_steps

    def step_fn(x: torch.Tensor, step: int) -> dict:
        nonlocal val_t
        p = min(1.0, progress(step))
        warm = min(1.0, (step + 1) / max(1, args.warmup))
        for g in main_opt.param_groups:  # linear warm-up, then cosine decay to 2% of the peak
            g["lr"] = args.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))
        x = data.augment_batch(x, 64) if x.shape[-1] != 64 or x.dtype == torch.uint8 else x
        rate = float(torch.rand(()))
        out = model.forward_rate(x, rate)
        losses = rd_loss(x, out, model.lmbda_at(rate), hf_weight)
        main_opt.zero_grad()
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        main_opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        logs = {"loss": losses["loss"].item(), "bpp": losses["bpp"].item(), "rate": rate,
                "psnr": float(-10 * torch.log10(losses["mse"].detach().clamp_min(1e-10))), "aux": aux.item(),
                "lr": main_opt.param_groups[0]["lr"]}
        if val is not None and args.eval_every and (step + 1) % args.eval_every == 0:
            if val_t is None:
                val_t = torch.from_numpy(val).permute(0, 3, 1, 2).float().div(255).to(x.device)
            logs.update(heldout(model, val_t))
        if budget and time.time() - t_start > budget:
            raise loop.StopTraining
        return logs

    lcfg = loop.LoopConfig(
        steps=args.steps, batch_size=args.batch_size, seed=args.seed,
        out_dir=args.out or f"runs/compressor-{kind}", checkpoint_every=args.checkpoint_every,
        resume=not args.no_resume, device=args.device,
        extra={"model": asdict(cfg), "hf_weight": hf_weight, "data": str(args.data), "n_faces": len(faces)},
    )
    history = loop.run(lcfg, RawFaces(faces), {"model": model}, {"main": main_opt, "aux": aux_opt},
                       step_fn, desc=f"compressor ({kind})")
    model.to("cpu").eval()
    done = history[-1]["step"] if history else 0
    model.training_info = {"steps": done, "batch_size": args.batch_size, "lr": args.lr, "hf_weight": hf_weight,
                           "seed": args.seed, "data": str(args.data), "split": split, "n_faces": len(faces),
                           "augmentation": "data.augment_batch (128-px crops 80-100 %, shift, flip, colour ±8 %) → 64 px"
                           if shared else "data.augment_batch on 64-px faces",
                           "wall_time_s_this_run": round(time.time() - t_start, 1), "device": str(lcfg.device or "auto"),
                           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                           "threads": torch.get_num_threads()}
    return model, history


def main(args) -> int:
    model, history = train(args)
    if args.export:
        folder = model.save_pretrained(args.export, extra={"training": model.training_info, "history_tail": history[-5:]})
        (folder / "history.json").write_text(json.dumps(history))
        print(f"exported to {folder}")
    return 0

"""``fasdiff-lite train compressor``: train the high-frequency-sensitive compressor (or the plain hyperprior).

Every step draws a random rate r ∈ [0, 1], so one set of weights learns the whole rate range:

    loss = bpp(r) + λ(r)·255²·(MSE + w_hf·MSE_detail-bands)     (compressor.rd_loss)
    aux  = CompressAI's auxiliary loss that fits the EntropyBottleneck's quantiles (own optimizer)

Faces come from ``--data`` (default: the shared faces' *train* split; the 150 validation faces are
never seen). Checkpoints go to ``--out`` every ``--checkpoint-every`` steps and training resumes from
there; ``--export DIR`` writes the shippable folder (config.json + model.safetensors + CDF tables).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict

import torch

from .. import data, settings
from ..compressor import CompressorConfig, HFCompressor, rd_loss
from . import loop


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plain", action="store_true", help="no frequency branch: the plain mean-scale hyperprior baseline")
    p.add_argument("--data", default="auto", help="faces: 'shared' (train split), a folder, an .npz, 'samples' (default: auto)")
    p.add_argument("--N", type=int, default=48, help="channels inside the transforms")
    p.add_argument("--M", type=int, default=64, help="channels of the latent (visual prompt)")
    p.add_argument("--steps", type=int, default=settings.pick(6000, 4))
    p.add_argument("--batch-size", type=int, default=settings.pick(16, 4))
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (cosine decay to 5%%)")
    p.add_argument("--hf-weight", type=float, default=1.0, help="weight of the high-frequency term (0 turns it off)")
    p.add_argument("--out", default=None, help="run folder for checkpoints (default runs/compressor-<hf|plain>)")
    p.add_argument("--export", default=None, help="write the final model here (config.json + model.safetensors)")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out holds a checkpoint")


def train(args) -> tuple[HFCompressor, list[dict]]:
    if args.threads:
        torch.set_num_threads(args.threads)
    kind = "plain" if args.plain else "hf"
    split = "train" if args.data in ("auto", "shared") and settings.shared_dir() else "all"
    faces = data.load_faces(args.data, size=64, split=split)
    cfg = CompressorConfig(N=args.N, M=args.M, frequency_branch=not args.plain,
                           model_id="hyperprior" if args.plain else "hf-compressor")
    torch.manual_seed(args.seed)
    model = HFCompressor(cfg)
    aux_params = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    main_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n not in aux_params], lr=args.lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n in aux_params], lr=1e-3)
    hf_weight = 0.0 if args.plain else args.hf_weight

    def step_fn(x: torch.Tensor, step: int) -> dict:
        for g in main_opt.param_groups:  # cosine decay to 5% of the peak
            g["lr"] = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, args.steps))))
        rate = float(torch.rand(()))
        out = model.forward_rate(x, rate)
        losses = rd_loss(x, out, rate, hf_weight)
        main_opt.zero_grad()
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        main_opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        return {"loss": losses["loss"].item(), "bpp": losses["bpp"].item(),
                "psnr": float(-10 * torch.log10(losses["mse"].detach().clamp_min(1e-10))), "aux": aux.item()}

    lcfg = loop.LoopConfig(
        steps=args.steps, batch_size=args.batch_size, seed=args.seed,
        out_dir=args.out or f"runs/compressor-{kind}", checkpoint_every=args.checkpoint_every,
        resume=not args.no_resume, device=args.device,
        extra={"model": asdict(cfg), "hf_weight": hf_weight, "data": str(args.data), "n_faces": len(faces)},
    )
    t0 = time.time()
    history = loop.run(lcfg, data.FaceDataset(faces), {"model": model}, {"main": main_opt, "aux": aux_opt},
                       step_fn, desc=f"compressor ({kind})")
    model.to("cpu").eval()
    model.training_info = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "hf_weight": hf_weight,
                           "seed": args.seed, "data": str(args.data), "split": split, "n_faces": len(faces),
                           "wall_time_s_this_run": round(time.time() - t0, 1), "device": str(lcfg.device or "auto"),
                           "threads": torch.get_num_threads()}
    return model, history


def main(args) -> int:
    model, history = train(args)
    if args.export:
        folder = model.save_pretrained(args.export, extra={"training": model.training_info, "history_tail": history[-5:]})
        (folder / "history.json").write_text(json.dumps(history))
        print(f"exported to {folder}")
    return 0

"""One training loop for every model in the suite (minGPT-style: the loop knows nothing about the model).

A model's training file (``train/compressor.py``, ``train/prior.py``, ...) supplies

- ``modules``: the ``nn.Module``s to checkpoint, by name;
- ``optimizers``: the optimizers to checkpoint, by name;
- ``step_fn(batch, step) -> dict``: one optimisation step (forward, backward, optimizer.step) that
  returns the numbers to log (floats);

and this loop does the rest: seeding, batching with shuffling, a tqdm progress bar, periodic
checkpoints (weights as safetensors, optimizer and RNG state through ``torch.load(weights_only=True)``,
a JSON history), and resuming from the last checkpoint in ``out_dir``.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm


class StopTraining(Exception):
    """Raised by a step function to end training early (a time budget): the loop checkpoints and returns."""


@dataclass
class LoopConfig:
    steps: int = 1000
    batch_size: int = 16
    seed: int = 0
    out_dir: str = "runs/model"
    checkpoint_every: int = 500  # steps; a checkpoint is also written at the end
    log_every: int = 25
    resume: bool = True
    device: str | None = None  # None: CUDA when present, else CPU
    extra: dict = field(default_factory=dict)  # model-specific settings, saved with the checkpoint


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(dataset, batch_size: int, generator: torch.Generator):
    """Endless shuffled batches; a new permutation each epoch, drop the ragged last batch."""
    n = len(dataset)
    if n == 0:
        raise ValueError("the training set is empty")
    batch_size = min(batch_size, n)
    while True:
        perm = torch.randperm(n, generator=generator)
        for i in range(0, n - batch_size + 1, batch_size):
            yield torch.stack([dataset[int(j)] for j in perm[i : i + batch_size]])


def save_checkpoint(out_dir: Path, modules: dict, optimizers: dict, step: int, cfg: LoopConfig, history: list) -> Path:
    ck = Path(out_dir) / "checkpoint"
    ck.mkdir(parents=True, exist_ok=True)
    for name, m in modules.items():
        state = {k: v.detach().contiguous().cpu() for k, v in m.state_dict().items()}
        save_file(state, str(ck / f"{name}.safetensors"))
    torch.save(
        {"optimizers": {k: o.state_dict() for k, o in optimizers.items()}, "torch_rng": torch.get_rng_state()},
        ck / "state.pt",
    )
    (ck / "progress.json").write_text(json.dumps({"step": step, "config": asdict(cfg), "history": history}, indent=1))
    return ck


def load_checkpoint(out_dir: Path, modules: dict, optimizers: dict) -> tuple[int, list]:
    """Restore modules and optimizers from ``out_dir/checkpoint``; return (step, history)."""
    ck = Path(out_dir) / "checkpoint"
    for name, m in modules.items():
        m.load_state_dict(load_file(str(ck / f"{name}.safetensors")), strict=True)
    state = torch.load(ck / "state.pt", weights_only=True, map_location="cpu")
    for k, o in optimizers.items():
        o.load_state_dict(state["optimizers"][k])
    torch.set_rng_state(state["torch_rng"])
    progress = json.loads((ck / "progress.json").read_text())
    return int(progress["step"]), list(progress["history"])


def run(
    cfg: LoopConfig,
    dataset,
    modules: dict,
    optimizers: dict,
    step_fn: Callable[[torch.Tensor, int], dict],
    desc: str = "train",
) -> list[dict]:
    """Train for ``cfg.steps`` steps; return the logged history (one dict every ``log_every`` steps)."""
    out = Path(cfg.out_dir)
    dev = torch.device(cfg.device) if cfg.device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    seed_everything(cfg.seed)
    for m in modules.values():
        m.to(dev).train()
    start, history = 0, []
    if cfg.resume and (out / "checkpoint" / "progress.json").exists():
        start, history = load_checkpoint(out, modules, optimizers)
        for m in modules.values():
            m.to(dev)
        tqdm.write(f"resumed {desc} from {out / 'checkpoint'} at step {start}")
    gen = torch.Generator().manual_seed(cfg.seed + start)
    batches = _batches(dataset, cfg.batch_size, gen)
    t0, running = time.time(), {}
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc=desc, dynamic_ncols=True)
    for step in bar:
        try:
            logs = step_fn(next(batches).to(dev), step)
        except StopTraining:
            save_checkpoint(out, modules, optimizers, step, cfg, history)
            tqdm.write(f"{desc}: stopped at step {step} (budget reached)")
            break
        for k, v in logs.items():
            running.setdefault(k, []).append(float(v))
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            row = {"step": step + 1, "time_s": round(time.time() - t0, 2)}
            row.update({k: float(np.mean(v)) for k, v in running.items()})
            history.append(row)
            running = {}
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k not in ("step", "time_s")})
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(out, modules, optimizers, step + 1, cfg, history)
    for m in modules.values():
        m.eval()
    return history

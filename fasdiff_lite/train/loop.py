"""One training loop for every model in the suite (minGPT-style: the loop owns the boilerplate, not the model).

A model's training file (``train/compressor.py``, ``train/prior.py``, ...) supplies

- a config: a :class:`TrainConfig` subclass with its own fields and defaults (``FULL`` and ``FAST``);
- ``modules``: the ``nn.Module``s to train and checkpoint, by name, and one ``optimizer``;
- ``step_fn(batch, step) -> dict``: the forward pass, returning its losses (``"loss"`` is minimised; every
  other entry is logged);
- optionally ``aux=(optimizer, loss_fn)``: a second objective with its own optimizer, stepped after the main
  one (CompressAI's auxiliary loss that fits the entropy bottleneck's quantiles), and ``after_step(step)``
  (an EMA update, say);

and :func:`run` does the rest: seeding, shuffled batches, the learning rate (linear warm-up, then cosine decay
to ``min_lr``·peak, a function of the step so it resumes exactly), zero_grad / backward / gradient clipping /
step, a tqdm progress bar, periodic checkpoints (weights as safetensors; optimizer and RNG state through
``torch.load(weights_only=True)``; a JSON history) and resuming from the last checkpoint in ``out``.

Every trainer takes the same command-line flags (:func:`add_arguments`) and is callable from a notebook::

    from fasdiff_lite.train import compressor
    model, history = compressor.train(compressor.Config(faces="samples", steps=20))
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from .. import data, face_sets, settings


@dataclass
class TrainConfig:
    """What every trainer takes. ``None`` means the trainer's default (``FULL``, or ``FAST`` in FAST mode)."""

    faces: str = "auto"  # 'auto' / 'shared' (the train split only), 'samples', a folder or an .npz
    limit: int | None = None  # use only the first N faces
    size: int = 64  # the face side trained at, in pixels (data.augment_batch's output); 64 for the shipped models
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None  # peak learning rate
    warmup: int | None = None  # linear warm-up steps (then cosine decay)
    min_lr: float | None = None  # the cosine ends at min_lr·lr
    grad_clip: float = 1.0  # max gradient norm (0: no clipping)
    seed: int = 0
    out: str | None = None  # run folder: checkpoints and history (resumed if present)
    export: str | None = None  # after training, write the shippable folder here
    checkpoint_every: int = 250
    log_every: int = 25
    resume: bool = True
    threads: int | None = None
    device: str | None = None  # None: CUDA when present
    minutes: float | None = None  # a wall-clock budget: the LR schedule follows the clock, training stops at it
    extra: dict = field(default_factory=dict)  # anything else to keep with the checkpoint

    FULL: ClassVar[dict] = {"steps": 1000, "batch_size": 16, "lr": 1e-3, "warmup": 0, "min_lr": 0.1, "out": "runs/model"}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4, "limit": 32}
    WARMUP_CAP: ClassVar[int] = 0  # with no warm-up given anywhere: min(WARMUP_CAP, steps/10 + 1) steps

    def resolved(self) -> "TrainConfig":
        """A copy with every ``None`` filled from ``FULL`` (or ``FAST`` first, in FAST mode)."""
        fill = {**self.FULL, **(self.FAST if settings.is_fast() else {})}
        cfg = dataclasses.replace(self, **{k: v for k, v in fill.items() if getattr(self, k, None) is None})
        if cfg.warmup is None:
            cfg.warmup = min(self.WARMUP_CAP, cfg.steps // 10 + 1)
        return cfg

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in vars(args).items() if k in names})


def add_arguments(parser: argparse.ArgumentParser, config: type[TrainConfig]) -> None:
    """The flags every trainer shares (``--faces``, ``--steps``, ``--resume/--no-resume``, ...), with the
    defaults of ``config``; a trainer adds its model's own flags after these."""
    full, fast = config.FULL, config.FAST

    def default(k):
        return f"default {full.get(k)}" + (f"; FAST: {fast[k]}" if k in fast else "")

    g = parser.add_argument_group("training (the same in every trainer)")
    g.add_argument("--faces", default="auto", help="'auto' or 'shared' (the shared faces' train split; the "
                   "validation faces are never trained on), 'utkface' (UTKFace's train split, 22,311 faces), "
                   "'utkface+shared' (both), 'samples', a folder or an .npz")
    g.add_argument("--limit", type=int, default=None, help="use only the first N faces (of UTKFace: N drawn at "
                   "random with --seed, since its files sort by age)")
    g.add_argument("--size", type=int, default=64, help="face side to train at, in pixels (default 64: the shipped "
                   "models; 256 or 512 for a real Stable Diffusion prior on a GPU)")
    g.add_argument("--steps", type=int, default=None, help=f"optimisation steps ({default('steps')})")
    g.add_argument("--batch-size", type=int, default=None, help=f"faces per step ({default('batch_size')})")
    g.add_argument("--lr", type=float, default=None, help=f"peak learning rate ({default('lr')}): warm-up, then cosine decay")
    g.add_argument("--warmup", type=int, default=None, help=f"warm-up steps ({default('warmup')})")
    g.add_argument("--seed", type=int, default=0, help="random seed (weights, batches, noise)")
    g.add_argument("--out", default=None, help="run folder for checkpoints and history (default "
                   f"{full.get('out') or 'runs/<model>'})")
    g.add_argument("--export", metavar="DIR", default=None, help="after training, write the shippable folder here")
    g.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from the checkpoint in --out (--no-resume: start afresh)")
    g.add_argument("--threads", type=int, default=None, help="CPU threads for torch (use 1 beside other jobs)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: CUDA when present)")
    g.add_argument("--minutes", type=float, default=None, help="wall-clock budget: stop (and checkpoint) after this "
                   "many minutes; the LR schedule follows the clock")


UTKFACE_SOURCES = ("utkface", "utkface+shared")


def uses_shared(cfg: TrainConfig) -> bool:
    """True when ``cfg.faces`` means the shared faces (their train split)."""
    return str(cfg.faces) == "shared" or (str(cfg.faces) == "auto" and settings.shared_dir() is not None)


def training_faces(cfg: TrainConfig, size: int = 64) -> np.ndarray:
    """The faces to train on: the shared set's *train* split for 'auto'/'shared' (never the 150 validation
    faces), or another source. ``size=128`` gives the shared set's 128-px copies (for crop augmentation)."""
    shared = uses_shared(cfg)
    try:
        if str(cfg.faces) in UTKFACE_SOURCES:  # UTKFace's train split (+ the shared train split), never a val face
            faces = [face_sets.load_utkface(size, "train")[0]]
            if str(cfg.faces).endswith("+shared"):
                faces.append(data.load_faces("shared", size=size, split="train"))
            faces = np.concatenate(faces)
            if cfg.limit and cfg.limit < len(faces):  # a seeded random subset: UTKFace's names (its order) sort by age
                keep = np.random.default_rng(cfg.seed).choice(len(faces), size=cfg.limit, replace=False)
                faces = faces[np.sort(keep)]
            return faces
        return data.load_faces(cfg.faces, size=size, split="train" if shared else "all", limit=cfg.limit)
    except data.DataUnavailable as e:
        raise data.DataUnavailable(f"{e}\n(pass --faces samples to try the trainer on the two shipped sample faces)") from None


def setup(cfg: TrainConfig, default_out: str) -> tuple[TrainConfig, np.ndarray, bool]:
    """The start every trainer shares: resolve the config (run folder ``default_out`` unless ``--out``), set the
    thread count, and load the faces: the shared train split's 128-px copies (for ``data.augment_batch``'s crops)
    when the shared faces are used, else faces at ``cfg.size``. Returns (config, faces, whether they are the shared ones)."""
    cfg = cfg.resolved()
    if cfg.out is None:
        cfg.out = default_out
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    shared = uses_shared(cfg)
    return cfg, training_faces(cfg, size=max(128, cfg.size) if shared else cfg.size), shared


def lr_at(step: int, total: int, peak: float, warmup: int = 0, floor: float = 0.1) -> float:
    """Linear warm-up to ``peak``, then cosine decay to ``floor·peak``. A function of the step, so it resumes."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


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


def save_checkpoint(out_dir: Path, modules: dict, optimizers: dict, step: int, cfg: TrainConfig, history: list) -> Path:
    ck = Path(out_dir) / "checkpoint"
    ck.mkdir(parents=True, exist_ok=True)
    for name, m in modules.items():
        state = {k: v.detach().contiguous().cpu() for k, v in m.state_dict().items()}
        save_file(state, str(ck / f"{name}.safetensors"))
    torch.save({"optimizers": {k: o.state_dict() for k, o in optimizers.items()}, "torch_rng": torch.get_rng_state()},
               ck / "state.pt")
    (ck / "progress.json").write_text(json.dumps({"step": step, "config": asdict(cfg), "history": history}, indent=1))
    return ck


def load_checkpoint(out_dir: Path, modules: dict, optimizers: dict) -> tuple[int, list]:
    """Restore modules and optimizers from ``out_dir/checkpoint``; return (step, history).

    A portable checkpoint (:func:`portable_checkpoint`: fp16 weights and progress, no ``state.pt``, small enough to
    commit) resumes with fresh optimizer moments: the weights, the step and the schedule go on where they were."""
    ck = Path(out_dir) / "checkpoint"
    for name, m in modules.items():
        m.load_state_dict(load_file(str(ck / f"{name}.safetensors")), strict=True)  # fp16 files are cast on copy
    if (ck / "state.pt").exists():
        state = torch.load(ck / "state.pt", weights_only=True, map_location="cpu")
        for k, o in optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        torch.set_rng_state(state["torch_rng"])
    else:
        tqdm.write(f"{ck} holds no optimizer state (a portable checkpoint): the optimizer starts afresh")
    progress = json.loads((ck / "progress.json").read_text())
    return int(progress["step"]), list(progress["history"])


def portable_checkpoint(out_dir: str | Path, dest: str | Path) -> Path:
    """Copy a run's checkpoint to ``dest/checkpoint`` as a few-MB portable one: every module's weights in fp16 and
    ``progress.json``, without the optimizer state, so it can be committed and resumed on another machine
    (``--out dest`` resumes it, :func:`load_checkpoint`)."""
    src, dst = Path(out_dir) / "checkpoint", Path(dest) / "checkpoint"
    if not (src / "progress.json").exists():
        raise FileNotFoundError(f"no checkpoint in {src}")
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.safetensors")):
        state = load_file(str(f))
        save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, str(dst / f.name))
    (dst / "progress.json").write_text((src / "progress.json").read_text())
    return dst


def run(cfg: TrainConfig, dataset, modules: dict, optimizer: torch.optim.Optimizer,
        step_fn: Callable[[torch.Tensor, int], dict], aux: tuple | None = None,
        after_step: Callable[[int], None] | None = None, desc: str = "train") -> list[dict]:
    """Train for ``cfg.steps`` steps (``cfg`` resolved); return the logged history (one row every ``log_every``)."""
    out = Path(cfg.out)
    dev = settings.device(cfg.device)
    if dev.type == "cuda":  # small convolutions: let cuDNN pick its kernels, and allow TF32 matrix products
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    seed_everything(cfg.seed)
    for m in modules.values():
        m.to(dev).train()
    optimizers = {"main": optimizer, **({"aux": aux[0]} if aux else {})}
    params = [p for g in optimizer.param_groups for p in g["params"]]
    start, history = 0, []
    if cfg.resume and (out / "checkpoint" / "progress.json").exists():
        start, history = load_checkpoint(out, modules, optimizers)
        for m in modules.values():
            m.to(dev)
        tqdm.write(f"resumed {desc} from {out / 'checkpoint'} at step {start}")
    batches = _batches(dataset, cfg.batch_size, torch.Generator().manual_seed(cfg.seed + start))
    t0, running = time.time(), {}
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc=desc, dynamic_ncols=True)
    budget = cfg.minutes * 60 if cfg.minutes else None
    for step in bar:
        # with a budget, the schedule runs on the larger of the step and the clock fraction
        at = max(step, int(cfg.steps * (time.time() - t0) / budget)) if budget else step
        for g in optimizer.param_groups:
            g["lr"] = lr_at(at, cfg.steps, cfg.lr, cfg.warmup, cfg.min_lr)
        losses = step_fn(next(batches).to(dev), step)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        if aux:
            aux_opt, aux_loss_fn = aux
            aux_loss = aux_loss_fn()
            aux_opt.zero_grad(set_to_none=True)
            aux_loss.backward()
            aux_opt.step()
            losses["aux"] = aux_loss.detach()
        if after_step:
            after_step(step)
        for k, v in losses.items():
            running.setdefault(k, []).append(float(v.detach() if isinstance(v, torch.Tensor) else v))
        out_of_time = bool(budget) and time.time() - t0 > budget
        last = step + 1 == cfg.steps or out_of_time  # the last row and checkpoint count every step done
        if (step + 1) % cfg.log_every == 0 or last:
            row = {"step": step + 1, "time_s": round(time.time() - t0, 2)}
            row.update({k: float(np.mean(v)) for k, v in running.items()})
            history.append(row)
            running = {}
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k not in ("step", "time_s")})
        if (step + 1) % cfg.checkpoint_every == 0 or last:
            save_checkpoint(out, modules, optimizers, step + 1, cfg, history)
        if out_of_time:
            tqdm.write(f"{desc}: {cfg.minutes} min budget reached after step {step + 1}")
            break
    for m in modules.values():
        m.eval()
    return history


def training_seconds(history: list[dict]) -> float:
    """The training time behind a history, across resumes: each process's clock (``time_s``) starts at 0, so the
    time is the sum of each stretch's last reading (a process killed before its last row loses its stretch's tail)."""
    total, prev = 0.0, 0.0
    for row in history:
        t = float(row.get("time_s", 0.0))
        if t < prev:  # a resumed process: a new clock
            total += prev
        prev = t
    return round(total + prev, 1)


def training_facts(cfg: TrainConfig, history: list[dict], n_faces: int, t0: float, **extra) -> dict:
    """What a model card needs about one training run (saved with the exported model as ``training``)."""
    return {"steps": history[-1]["step"] if history else 0, "batch_size": cfg.batch_size, "lr": cfg.lr,
            "seed": cfg.seed, "faces": str(cfg.faces), "n_faces": n_faces, **extra,
            "wall_time_s": training_seconds(history),  # across resumes; this process's own time beside it
            "wall_time_s_this_run": round(time.time() - t0, 1), "device": str(cfg.device or "auto"),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "threads": torch.get_num_threads()}


def export(model, cfg: TrainConfig, history: list[dict]):
    """``model.save_pretrained(cfg.export)`` with its ``training_info`` and the last rows of the history, and the
    whole history beside it (``history.json``). Nothing when ``cfg.export`` is unset."""
    if not cfg.export:
        return None
    folder = model.save_pretrained(cfg.export, extra={"training": model.training_info, "history_tail": history[-5:]})
    (folder / "history.json").write_text(json.dumps(history))
    print(f"exported to {folder}")
    return folder


def plot_history(history: list[dict], keys, ax=None, smooth: int = 1, label_prefix: str = ""):
    """Training curves from a history (``loop.run``'s rows, or an exported ``history.json``): each key against
    the step, rows without the key skipped (held-out ``val_*`` numbers are logged every ``eval_every`` steps
    only), a running mean over ``smooth`` points."""
    import matplotlib.pyplot as plt  # here: every `fasdiff-lite train` command imports this module when it starts

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for k in [keys] if isinstance(keys, str) else keys:
        pts = [(r["step"], r[k]) for r in history if k in r and np.isfinite(r[k])]
        if not pts:
            continue
        steps, vals = map(np.asarray, zip(*pts))
        if smooth > 1 and len(vals) > smooth:
            vals = np.convolve(vals, np.ones(smooth) / smooth, mode="valid")
            steps = steps[smooth - 1:]
        ax.plot(steps, vals, label=label_prefix + k, marker="o" if len(steps) < 40 else None, ms=3)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return ax

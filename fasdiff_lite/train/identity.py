"""``fasdiff-lite train identity``: distil dlib's face descriptor into the small differentiable ``IdentityNet``.

The teacher is dlib (``evaluation.face_metrics``), the student ``models.identity.IdentityNet``. dlib is slow
(about 0.1 s a face on one CPU core) and not a torch module, so its answers are computed **once**, before
training, into a cache of (image, descriptor) pairs; training then only reads the cache::

    shared faces, train split (the 150 validation faces are never seen)
      ├─ view 0: the plain 64-px face
      ├─ view 1: the plain face through the shipped hf-compressor at a random rate r ~ U[0, 1]
      └─ views 2…V−1: random views (data.augment_batch: crop 80–100 %, shift, flip, colour ±8 %, → 64 px),
                      every other one through the compressor at a random rate
    each view, as the uint8 image dlib sees ──▶ dlib descriptor d (dlib's upsampling, detection, alignment)
    cache: images, descriptors (non-finite ones dropped), whether dlib's detector found the face, the rate

    target t = (d − center)/|d − center|        center: the mean descriptor of the cached views (saved in the net)
    e = IdentityNet(image)
    loss = mean(1 − cos(e, t))                                         point by point: each face's direction
         + pair_weight · mean over i ≠ j of (e_i·e_j − t_i·t_j)²     the batch's geometry: who is near whom

The compressed views teach the proxy what dlib thinks of blurred and blocky faces, the inputs an identity loss
on a decoder will see. The cache is written to ``--out``/cache.npz and reused when the same settings ask for it,
so a resumed run does not call dlib again. Every ``--eval-every`` steps the proxy is measured against dlib on the
150 held-out faces (``val_cos``: mean cosine between the proxy's embedding and dlib's target; monitoring only).
``benchmarks/identity_proxy.py`` measures the exported proxy on held-out faces and their decodes::

    fasdiff-lite train identity --threads 1 --minutes 20 --export runs/identity/export

From a notebook::

    net, history = train(Config(faces="samples", steps=20, views=4))
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data, settings
from ..evaluation import face_metrics as fm
from ..models import zoo
from ..models.identity import IdentityNet
from . import loop

CACHE_FILE = "cache.npz"


@dataclass
class Config(loop.TrainConfig):
    views: int | None = None  # views per training face in the cache (≥ 2: the plain face and its compressed copy)
    pair_weight: float = 1.0  # weight of the within-batch pairwise-cosine term (0 turns it off)
    compressor: str = "hf-compressor"  # the codec whose decodes the proxy also learns from (a zoo name or folder)
    eval_every: int | None = None  # held-out measurement every N steps (0: never)

    FULL: ClassVar[dict] = {"steps": 2400, "batch_size": 64, "lr": 2e-3, "warmup": 100, "min_lr": 0.02,
                            "out": "runs/identity", "views": 12, "eval_every": 500}
    FAST: ClassVar[dict] = {"steps": 4, "batch_size": 4, "limit": 6, "warmup": 1, "views": 2, "eval_every": 0}


def add_arguments(p: argparse.ArgumentParser) -> None:
    loop.add_arguments(p, Config)
    m = p.add_argument_group("identity proxy")
    m.add_argument("--views", type=int, default=None, help="views per training face in the descriptor cache "
                   f"(default {Config.FULL['views']}; FAST: {Config.FAST['views']}): the plain face, its compressed "
                   "copy, then augmented views, every other one compressed")
    m.add_argument("--pair-weight", type=float, default=1.0, help="weight of the term matching the batch's pairwise "
                   "cosines to dlib's (0 turns it off)")
    m.add_argument("--compressor", default="hf-compressor", help="codec whose decodes go into the cache (zoo name "
                   "or a compressor folder)")
    m.add_argument("--eval-every", type=int, default=None, help="held-out measurement every N steps (default "
                   f"{Config.FULL['eval_every']}; 0: never)")


# ------------------------------------------------------------------------------------------ the cache
def make_views(faces64: np.ndarray, faces_big: np.ndarray, views: int, compressor, seed: int = 0,
               chunk: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 images V·N×64×64×3, the face each came from, the rate it was compressed at or −1): see the module
    docstring. ``faces_big``: the same faces at 128 px (the shared set's copies) or at 64, for the crops."""
    if views < 2:
        raise ValueError(f"views must be at least 2 (the plain face and its compressed copy), got {views}")
    gen = torch.Generator().manual_seed(seed)
    images, face_ids, rates = [], [], []
    n = len(faces64)
    with tqdm(total=views * n, desc="views", dynamic_ncols=True, leave=False) as bar:
        for v in range(views):
            for i in range(0, n, chunk):
                idx = np.arange(i, min(i + chunk, n))
                x = data.to_tensor(faces64[idx]) if v < 2 else data.augment_batch(
                    data.to_tensor(faces_big[idx]), 64, generator=gen)
                rate = -1.0
                if v == 1 or (v >= 2 and v % 2 == 1):
                    rate = float(torch.rand((), generator=gen))
                    with torch.no_grad():
                        x = compressor.forward_rate(x.to(compressor.Gain.device), rate)["x_hat"].cpu()
                images.append(data.to_image(x.clamp(0, 1)).reshape(len(idx), 64, 64, 3))
                face_ids.append(idx)
                rates.append(np.full(len(idx), rate, dtype=np.float32))
                bar.update(len(idx))
    return np.concatenate(images), np.concatenate(face_ids), np.concatenate(rates)


def describe(images: np.ndarray, desc: str = "dlib descriptors") -> tuple[np.ndarray, np.ndarray]:
    """dlib's descriptor (N×128 float32) of each uint8 image and whether its detector found the face (else
    face_metrics' fallback box was used: the same descriptor the evaluation computes)."""
    be = fm.get_backend()
    out, detected = np.full((len(images), fm.DESCRIPTOR_DIM), np.nan, np.float32), np.zeros(len(images), bool)
    for i, img in enumerate(tqdm(images, desc=desc, dynamic_ncols=True)):
        a = be.analyse(img)
        if a.descriptor is not None and len(a.descriptor) == fm.DESCRIPTOR_DIM:
            out[i], detected[i] = a.descriptor, a.detected
    return out, detected


def build_cache(cfg: Config, faces64: np.ndarray, faces_big: np.ndarray) -> dict:
    """The (image, descriptor) pairs, read from ``cfg.out``/cache.npz when it was made with the same settings,
    else computed (with progress bars) and written there. Views whose descriptor is not finite are dropped."""
    key = {"faces": str(cfg.faces), "limit": cfg.limit, "n_faces": len(faces64), "views": cfg.views,
           "compressor": str(cfg.compressor), "seed": cfg.seed}
    path = Path(cfg.out) / CACHE_FILE
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["key"])) == key:
                tqdm.write(f"descriptor cache: {path} ({len(z['images'])} views)")
                return {k: z[k] for k in ("images", "descriptors", "detected", "face", "rate")} | {"seconds": 0.0}
    t0 = time.time()
    images, face, rate = make_views(faces64, faces_big, cfg.views, zoo.load(cfg.compressor).eval(), seed=cfg.seed)
    descriptors, detected = describe(images)
    keep = np.isfinite(descriptors).all(axis=1)
    if not keep.all():
        tqdm.write(f"dropped {int((~keep).sum())} views dlib could not describe")
    cache = {"images": images[keep], "descriptors": descriptors[keep], "detected": detected[keep],
             "face": face[keep], "rate": rate[keep]}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=json.dumps(key), **cache)
    return cache | {"seconds": round(time.time() - t0, 1)}


# ------------------------------------------------------------------------------------------ training
def distillation_loss(e: torch.Tensor, t: torch.Tensor, pair_weight: float) -> dict:
    """``1 − cos(e, t)`` averaged, plus ``pair_weight`` × the mean squared gap between the batch's pairwise cosines
    (off the diagonal) and the targets' (see the module docstring)."""
    cos = (e * t).sum(dim=1)
    losses = {"cos_loss": (1 - cos).mean()}
    if pair_weight and len(e) > 1:
        off = ~torch.eye(len(e), dtype=torch.bool, device=e.device)
        losses["pair_loss"] = ((e @ e.T - t @ t.T)[off] ** 2).mean()
    losses["loss"] = losses["cos_loss"] + pair_weight * losses.get("pair_loss", 0.0)
    losses["cos"] = cos.detach().mean()
    return losses


@torch.no_grad()
def heldout(net: IdentityNet, faces: torch.Tensor, targets: torch.Tensor, batch: int = 50) -> dict:
    """Mean cosine between the proxy's embeddings of held-out faces and dlib's targets for them."""
    was_training = net.training
    net.eval()
    e = torch.cat([net(faces[i : i + batch]) for i in range(0, len(faces), batch)])
    net.train(was_training)
    return {"val_cos": float((e * targets).sum(dim=1).mean())}


def train(cfg: Config) -> tuple[IdentityNet, list[dict]]:
    fm.get_backend().check()  # dlib and its model files, or a message naming the packages to install
    cfg, faces_big, shared = loop.setup(cfg, "runs/identity")
    faces64 = loop.training_faces(cfg, size=64)  # the plain views (the shared set's own 64-px faces)
    t0 = time.time()
    cache = build_cache(cfg, faces64, faces_big)
    torch.manual_seed(cfg.seed)
    net = IdentityNet()
    net.center.copy_(torch.from_numpy(cache["descriptors"]).mean(dim=0))
    dev = settings.device(cfg.device)
    images = torch.from_numpy(cache["images"]).permute(0, 3, 1, 2).contiguous().to(dev)
    targets = net.target(cache["descriptors"]).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    val = None
    if shared and cfg.eval_every:
        val_faces = data.load_faces("shared", size=64, split="val")
        val_desc, _ = describe(val_faces, desc="dlib descriptors (held-out)")
        val = (data.to_tensor(val_faces).to(dev), val_desc)

    def step_fn(idx: torch.Tensor, step: int) -> dict:
        losses = distillation_loss(net(images[idx].float() / 255.0), targets[idx], cfg.pair_weight)
        if val is not None and (step + 1) % cfg.eval_every == 0:
            losses.update(heldout(net, val[0], net.target(val[1])))
        return losses

    cfg.extra = {"n_views": len(images), "views": cfg.views, "pair_weight": cfg.pair_weight}
    history = loop.run(cfg, torch.arange(len(images)), {"net": net}, opt, step_fn, desc="identity proxy")
    net.to("cpu").eval()
    net.training_info = loop.training_facts(
        cfg, history, len(faces64), t0, teacher="dlib_face_recognition_resnet_model_v1 (evaluation.face_metrics)",
        n_views=len(images), views_per_face=cfg.views, compressor=str(cfg.compressor),
        compressed_fraction=round(float((cache["rate"] >= 0).mean()), 3),
        detected_fraction=round(float(cache["detected"].mean()), 3), cache_seconds=cache["seconds"],
        pair_weight=cfg.pair_weight, augmentation="data.augment_batch: 128-px crops 80-100 %, shift, flip, "
        "colour ±8 %, → 64 px" if shared else "data.augment_batch at 64 px")
    return net, history


def main(args) -> int:
    cfg = Config.from_args(args)
    net, history = train(cfg)
    loop.export(net, cfg, history)
    return 0

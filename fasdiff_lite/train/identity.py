"""``fasdiff-lite train identity``: distil dlib's face descriptor into the small differentiable ``IdentityNet``.

The teacher is dlib (``evaluation.face_metrics``), the student ``models.identity.IdentityNet``. dlib is slow
(about 0.1 s a face on one CPU core) and not a torch module, so its answers are computed **once**, before
training, into a cache of (image, descriptor) pairs; training then only reads the cache::

    shared faces, train split (the 150 validation faces are never seen)
      ├─ view 0: the plain 64-px face
      ├─ view 1: the plain face through the shipped hf-compressor at a random rate r ~ U[0, 1]
      ├─ views 2…: with --decoders, the plain face through each FaSDiff codec named (real bytes, decoded with 4 steps
      │            at realism 1) at a random rate r ~ U[0, --decoder-max-rate], one view per decoder
      └─ the rest: random views (data.augment_batch: crop 80–100 %, shift, flip, colour ±8 %, → 64 px),
                   every other one through the compressor at a random rate                    (view_plan)
    each view, as the uint8 image dlib sees ──▶ dlib descriptor d (dlib's upsampling, detection, alignment;
                                                --workers processes describe in parallel)
    cache: images, descriptors (non-finite ones dropped), whether dlib's detector found the face, the face each
           view came from, the rate, the source (plain, compressor or decoder k)

    target t = (d − center)/|d − center|        center: the mean descriptor of the cached views (saved in the net)
    e = IdentityNet(image)
    loss = mean(1 − cos(e, t))                                         point by point: each face's direction
         + pair_weight · mean over i ≠ j of (e_i·e_j − t_i·t_j)²     the batch's geometry: who is near whom

The compressed views teach the proxy what dlib thinks of blurred and blocky faces, the inputs an identity loss
on a decoder will see; the decoders' views, what dlib thinks of the very faces a FaSDiff decoder draws (a proxy
that never saw them ranked an identity-trained decoder's faces above x_fid's where dlib ranks them below: the
FaSDiff card's "Session 21"). With ``--by-face`` each batch holds whole faces (all cached views of
batch_size / views faces), so the pairwise term also sees how close dlib finds each view to the others of its own
face — the quantity the identity loss uses — and ``--same-weight`` weighs that part on its own (in random batches
nearly every pair is two different people). The cache is written to ``--out``/cache.npz and reused when the same settings ask for it,
so a resumed run does not call dlib again. Every ``--eval-every`` steps the proxy is measured against dlib on the
150 held-out faces (``val_cos``: mean cosine between the proxy's embedding and dlib's target; monitoring only).
``benchmarks/identity_proxy.py`` measures the exported proxy on held-out faces and their decodes::

    fasdiff-lite train identity --threads 1 --minutes 20 --export runs/identity/export

From a notebook::

    net, history = train(Config(faces="samples", steps=20, views=4))
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data, settings
from ..evaluation import face_metrics as fm
from ..models import zoo
from ..models.identity import IdentityConfig, IdentityNet
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS
from . import loop

CACHE_FILE = "cache.npz"


@dataclass
class Config(loop.TrainConfig):
    views: int | None = None  # views per training face in the cache (≥ 2: the plain face and its compressed copy)
    pair_weight: float = 1.0  # weight of the within-batch pairwise-cosine term (0 turns it off)
    compressor: str = "hf-compressor"  # the codec whose decodes the proxy also learns from (a zoo name or folder)
    eval_every: int | None = None  # held-out measurement every N steps (0: never)
    decoders: tuple[str, ...] = ()  # FaSDiff codecs (zoo names or folders) whose decodes also go into the cache
    decoder_max_rate: float = 0.5  # the decoders' views are at rates U[0, decoder_max_rate]
    decoder_steps: int = DEFAULT_STEPS  # their sampler steps (realism DEFAULT_REALISM)
    workers: int = 1  # processes describing the views with dlib
    by_face: bool = False  # batches of whole faces (batch_size // views faces, every view of each)
    same_weight: float = 0.0  # weight of the pairwise term over pairs of views of the same face (needs by_face)
    widths: tuple[int, ...] | None = None  # the proxy's widths (IdentityConfig; None: its default)

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
    m.add_argument("--decoders", nargs="+", default=(), help="FaSDiff codecs (zoo names or folders) whose decodes of "
                   "each face (one view per decoder, real bytes) go into the cache too")
    m.add_argument("--decoder-max-rate", type=float, default=0.5, help="the decoders' views are at rates U[0, this]")
    m.add_argument("--decoder-steps", type=int, default=DEFAULT_STEPS, help="the decoders' sampler steps")
    m.add_argument("--workers", type=int, default=1, help="processes describing the views with dlib (one core each)")
    m.add_argument("--by-face", action="store_true", help="batches of whole faces: every cached view of "
                   "batch_size // views faces, so the pairwise term sees each face's views against each other")
    m.add_argument("--same-weight", type=float, default=0.0, help="weight of the pairwise term over pairs of views "
                   "of one face (with --by-face)")
    m.add_argument("--widths", type=int, nargs=5, default=None, help="the proxy's five widths (default "
                   f"{IdentityConfig().widths})")


# ------------------------------------------------------------------------------------------ the cache
PLAIN, COMPRESSOR = -1, 0  # a view's source; decoder k's views are k + 1


def view_plan(views: int, n_decoders: int = 0) -> list[tuple[bool, int]]:
    """What each of a face's ``views`` is: (augmented?, source) with source PLAIN, COMPRESSOR or k + 1 for decoder
    k. View 0 is the plain face, view 1 its compressed copy, the next ``n_decoders`` its decodes by each decoder,
    the rest alternate an augmented face and an augmented face through the compressor."""
    if views < 2:
        raise ValueError(f"views must be at least 2 (the plain face and its compressed copy), got {views}")
    plan = [(False, PLAIN), (False, COMPRESSOR)] + [(False, k + 1) for k in range(n_decoders)]
    if views < len(plan):
        raise ValueError(f"views must be at least {len(plan)} with {n_decoders} decoders (plain, compressed, one "
                         f"per decoder), got {views}")
    return plan + [(True, (PLAIN, COMPRESSOR)[j % 2]) for j in range(views - len(plan))]


def make_views(faces64: np.ndarray, faces_big: np.ndarray, views: int, compressor, seed: int = 0,
               chunk: int = 8, decoders=(), decoder_max_rate: float = 0.5,
               decoder_steps: int = DEFAULT_STEPS) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 images V·N×64×64×3, the face each came from, the rate it was compressed at or −1, its source: see
    :func:`view_plan`). ``faces_big``: the same faces at 128 px (the shared set's copies) or at 64, for the crops.
    ``decoders``: FaSDiff codecs; each view of theirs is real bytes decoded as the evaluation does (the faces of
    one chunk share a rate, so they are denoised together)."""
    plan = view_plan(views, len(decoders))
    gen = torch.Generator().manual_seed(seed)
    images, face_ids, rates, sources = [], [], [], []
    n = len(faces64)
    with tqdm(total=views * n, desc="views", dynamic_ncols=True, leave=False) as bar:
        for augmented, source in plan:
            for i in range(0, n, chunk):
                idx = np.arange(i, min(i + chunk, n))
                x = data.augment_batch(data.to_tensor(faces_big[idx]), 64, generator=gen) if augmented \
                    else data.to_tensor(faces64[idx])
                rate = -1.0
                if source == COMPRESSOR:
                    rate = float(torch.rand((), generator=gen))
                    with torch.no_grad():
                        x = compressor.forward_rate(x.to(compressor.Gain.device), rate)["x_hat"].cpu()
                elif source > COMPRESSOR:
                    codec = decoders[source - 1]
                    rate = float(torch.rand((), generator=gen)) * decoder_max_rate
                    blobs = [codec.compress(x[j : j + 1], rate) for j in range(len(x))]
                    x = torch.cat(codec.decompress_many(blobs, decoder_steps, DEFAULT_REALISM, batch_size=chunk)).cpu()
                images.append(data.to_image(x.clamp(0, 1)).reshape(len(idx), 64, 64, 3))
                face_ids.append(idx)
                rates.append(np.full(len(idx), rate, dtype=np.float32))
                sources.append(np.full(len(idx), source, dtype=np.int8))
                bar.update(len(idx))
    return np.concatenate(images), np.concatenate(face_ids), np.concatenate(rates), np.concatenate(sources)


def _describe(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    be = fm.get_backend()
    out, detected = np.full((len(images), fm.DESCRIPTOR_DIM), np.nan, np.float32), np.zeros(len(images), bool)
    for i, img in enumerate(images):
        a = be.analyse(img)
        if a.descriptor is not None and len(a.descriptor) == fm.DESCRIPTOR_DIM:
            out[i], detected[i] = a.descriptor, a.detected
    return out, detected


def describe(images: np.ndarray, desc: str = "dlib descriptors", workers: int = 1,
             chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """dlib's descriptor (N×128 float32) of each uint8 image and whether its detector found the face (else
    face_metrics' fallback box was used: the same descriptor the evaluation computes). ``workers`` > 1: that many
    processes (dlib holds one core each), ``chunk`` images at a time; the answers are the same."""
    parts = [images[i : i + chunk] for i in range(0, len(images), chunk)]
    # spawned, not forked: the parent has run torch (OpenMP) and forked children can hang on it
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 else nullcontext()
    done = []
    with tqdm(total=len(images), desc=desc, dynamic_ncols=True) as bar, pool:
        for part, result in zip(parts, (pool.map if workers > 1 else map)(_describe, parts)):
            done.append(result)
            bar.update(len(part))
    if not done:
        return np.zeros((0, fm.DESCRIPTOR_DIM), np.float32), np.zeros(0, bool)
    return np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done])


def build_cache(cfg: Config, faces64: np.ndarray, faces_big: np.ndarray) -> dict:
    """The (image, descriptor) pairs, read from ``cfg.out``/cache.npz when it was made with the same settings,
    else computed (with progress bars) and written there. Views whose descriptor is not finite are dropped."""
    key = {"faces": str(cfg.faces), "limit": cfg.limit, "n_faces": len(faces64), "views": cfg.views,
           "compressor": str(cfg.compressor), "seed": cfg.seed}
    if cfg.decoders:  # (absent without decoders: caches made before the option keep their key)
        key |= {"decoders": [str(d) for d in cfg.decoders], "decoder_max_rate": cfg.decoder_max_rate,
                "decoder_steps": cfg.decoder_steps}
    path = Path(cfg.out) / CACHE_FILE
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["key"])) == key:
                tqdm.write(f"descriptor cache: {path} ({len(z['images'])} views)")
                cache = {k: z[k] for k in ("images", "descriptors", "detected", "face", "rate")}
                cache["source"] = z["source"] if "source" in z else np.where(cache["rate"] >= 0, COMPRESSOR, PLAIN)
                return cache | {"seconds": 0.0}
    t0 = time.time()
    if any(zoo.kind_of(d) != "codec" for d in cfg.decoders):
        raise ValueError(f"--decoders takes FaSDiff codecs (with a diffusion prior), got {list(cfg.decoders)}")
    decoders = [zoo.load(d).eval() for d in cfg.decoders]
    images, face, rate, source = make_views(faces64, faces_big, cfg.views, zoo.load(cfg.compressor).eval(),
                                            seed=cfg.seed, chunk=16 if decoders else 8, decoders=decoders,
                                            decoder_max_rate=cfg.decoder_max_rate, decoder_steps=cfg.decoder_steps)
    descriptors, detected = describe(images, workers=cfg.workers)
    keep = np.isfinite(descriptors).all(axis=1)
    if not keep.all():
        tqdm.write(f"dropped {int((~keep).sum())} views dlib could not describe")
    cache = {"images": images[keep], "descriptors": descriptors[keep], "detected": detected[keep],
             "face": face[keep], "rate": rate[keep], "source": source[keep]}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=json.dumps(key), **cache)
    return cache | {"seconds": round(time.time() - t0, 1)}


def face_groups(face: np.ndarray, views: int, seed: int = 0) -> torch.Tensor:
    """F×views indices of the cached views, a row per face (faces with fewer than 2 views left out; a face that
    lost a view to dlib repeats one of its others, a pair the pairwise terms count as exactly matched)."""
    rng = np.random.default_rng(seed)
    order = np.argsort(face, kind="stable")
    starts = np.flatnonzero(np.r_[True, face[order][1:] != face[order][:-1]])
    rows = []
    for idx in np.split(order, starts[1:]):
        if len(idx) >= 2:
            rows.append(idx[:views] if len(idx) >= views else np.r_[idx, rng.choice(idx, views - len(idx))])
    return torch.as_tensor(np.stack(rows) if rows else np.zeros((0, views), np.int64), dtype=torch.long)


# ------------------------------------------------------------------------------------------ training
def distillation_loss(e: torch.Tensor, t: torch.Tensor, pair_weight: float, groups: torch.Tensor | None = None,
                      same_weight: float = 0.0) -> dict:
    """``1 − cos(e, t)`` averaged, plus ``pair_weight`` × the mean squared gap between the batch's pairwise cosines
    (off the diagonal) and the targets' (see the module docstring), plus, with ``groups`` (the face each row came
    from), ``same_weight`` × that gap over the pairs of one face only."""
    cos = (e * t).sum(dim=1)
    losses = {"cos_loss": (1 - cos).mean()}
    loss = losses["cos_loss"]
    if (pair_weight or same_weight) and len(e) > 1:
        off = ~torch.eye(len(e), dtype=torch.bool, device=e.device)
        gap = (e @ e.T - t @ t.T) ** 2
        if pair_weight:
            losses["pair_loss"] = gap[off].mean()
            loss = loss + pair_weight * losses["pair_loss"]
        if same_weight and groups is not None:
            same = off & (groups[:, None] == groups[None, :])
            if same.any():
                losses["same_loss"] = gap[same].mean()
                loss = loss + same_weight * losses["same_loss"]
    losses["loss"] = loss
    losses["cos"] = cos.detach().mean()
    return losses


# ------------------------------------------------------------------------------------------ refreshed while a decoder trains
REFRESH_SAME_WEIGHT = 2.0  # the same-face term of a refresh step (a batch is each original beside its decode)


def refresh_step(net: IdentityNet, opt: torch.optim.Optimizer, x: torch.Tensor, x_hat: torch.Tensor,
                 describe_fn=None, pair_weight: float = 1.0, same_weight: float = REFRESH_SAME_WEIGHT) -> dict:
    """One distillation step of the proxy on a decoder's training batch (``train fasdiff --id-refresh``): the
    originals ``x`` and their decodes ``x_hat`` (N×3×H×W in [0, 1]), each as the uint8 image dlib sees, with dlib's
    descriptors as targets and each original grouped with its decode (:func:`distillation_loss`). A decoder trained
    against a frozen proxy learns to please the proxy where dlib disagrees (the FaSDiff card, "Session 22"); this
    corrects the proxy exactly on the faces the decoder draws now. The proxy's batch norms keep their statistics
    (eval mode), and its weights take a gradient only here, never from the decoder's identity term.

    ``describe_fn``: uint8 N×H×W×3 → N×128 descriptors (default dlib's, :func:`describe`'s). Returns, measured before
    the step: ``proxy_cos`` (mean cosine of the proxy's embedding of each decode with dlib's target for it) and
    ``proxy_pair_gap`` (mean |proxy's cosine of original and decode − dlib's centred one|), and ``proxy_loss``; {}
    when dlib described no pair."""
    describe_fn = describe_fn or (lambda imgs: _describe(imgs)[0])
    n = len(x)
    images = data.to_image(torch.cat([x.detach(), x_hat.detach()]).float().clamp(0, 1)).reshape(2 * n, *x.shape[-2:], 3)
    d = np.asarray(describe_fn(images), dtype=np.float32)
    ok = np.isfinite(d).all(axis=1)
    ok = ok[:n] & ok[n:]
    if not ok.any():
        return {}
    dev = next(net.parameters()).device
    both = np.r_[ok, ok]  # an original and its decode are kept or dropped together
    rows = torch.as_tensor(np.flatnonzero(both), device=dev)
    inputs = torch.from_numpy(images).to(dev).permute(0, 3, 1, 2).float().div(255)[rows]
    targets = net.target(d[both])
    groups = torch.cat([torch.arange(n), torch.arange(n)]).to(dev)[rows]
    was_training, grads = net.training, [p.requires_grad for p in net.parameters()]
    net.eval().requires_grad_(True)
    try:
        e = net(inputs)
        m = int(ok.sum())
        with torch.no_grad():
            stats = {"proxy_cos": float((e[m:] * targets[m:]).sum(dim=1).mean()),
                     "proxy_pair_gap": float(((e[:m] * e[m:]).sum(dim=1) - (targets[:m] * targets[m:]).sum(dim=1))
                                             .abs().mean())}
        losses = distillation_loss(e, targets, pair_weight, groups, same_weight)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    finally:
        net.train(was_training)
        for p, g in zip(net.parameters(), grads):
            p.requires_grad_(g)
    return stats | {"proxy_loss": float(losses["loss"].detach())}


VAL_RATES = (0.1, 0.2)  # the held-out pairs' rates (where the identity line is hardest)


def heldout_pairs(faces: np.ndarray, codec, decode: dict) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The held-out faces decoded by ``codec`` (real bytes; ``decode``: a FaSDiff codec's steps and realism) at each
    of VAL_RATES: (decoded faces, dlib's descriptors of them, the index of each one's original)."""
    decoded, index = [], []
    for rate in VAL_RATES:
        decoded += [data.to_image(codec.decompress(codec.compress(data.to_tensor(f), rate), **decode)) for f in faces]
        index.append(np.arange(len(faces)))
    decoded = np.stack(decoded)
    return data.to_tensor(decoded), describe(decoded, desc="dlib descriptors (held-out decodes)")[0], np.concatenate(index)


@torch.no_grad()
def heldout(net: IdentityNet, faces: torch.Tensor, targets: torch.Tensor, batch: int = 50, pairs=None) -> dict:
    """Mean cosine between the proxy's embeddings of held-out faces and dlib's targets for them (``val_cos``) and,
    with ``pairs`` (:func:`heldout_pairs`' decodes, their targets and originals), the Pearson correlation between the
    proxy's cosine of each (original, decode) pair and dlib's centred one (``val_pair_r``: what an identity loss
    needs the proxy to get right)."""
    was_training = net.training
    net.eval()
    embed = lambda x: torch.cat([net(x[i : i + batch]) for i in range(0, len(x), batch)])  # noqa: E731
    e = embed(faces)
    out = {"val_cos": float((e * targets).sum(dim=1).mean())}
    if pairs is not None:
        decoded, t_dec, index = pairs
        proxy = (embed(decoded) * e[index]).sum(dim=1)
        teacher = (t_dec * targets[index]).sum(dim=1)
        out["val_pair_r"] = float(torch.corrcoef(torch.stack([proxy, teacher]))[0, 1])
    net.train(was_training)
    return out


def train(cfg: Config) -> tuple[IdentityNet, list[dict]]:
    fm.get_backend().check()  # dlib and its model files, or a message naming the packages to install
    cfg, faces_big, shared = loop.setup(cfg, "runs/identity")
    faces64 = loop.training_faces(cfg, size=64)  # the plain views (the shared set's own 64-px faces)
    t0 = time.time()
    cache = build_cache(cfg, faces64, faces_big)
    torch.manual_seed(cfg.seed)
    net = IdentityNet(IdentityConfig(widths=tuple(cfg.widths)) if cfg.widths else None)
    net.center.copy_(torch.from_numpy(cache["descriptors"]).mean(dim=0))
    dev = settings.device(cfg.device)
    images = torch.from_numpy(cache["images"]).permute(0, 3, 1, 2).contiguous().to(dev)
    targets = net.target(cache["descriptors"]).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    val = None
    if settings.shared_dir() is not None and cfg.eval_every:  # the shared validation split: never trained on
        val_faces = data.load_faces("shared", size=64, split="val")
        val_desc, _ = describe(val_faces, desc="dlib descriptors (held-out)")
        name = cfg.decoders[0] if cfg.decoders else cfg.compressor
        decoded, dec_desc, index = heldout_pairs(val_faces, zoo.load(name).eval(),
                                                 zoo.decode_settings(name, cfg.decoder_steps, DEFAULT_REALISM))
        keep = np.isfinite(dec_desc).all(axis=1)
        val = (data.to_tensor(val_faces).to(dev), net.target(val_desc).to(dev),  # the net moves to dev in loop.run
               (decoded[keep].to(dev), net.target(dec_desc[keep]).to(dev), torch.as_tensor(index[keep], device=dev)))
    if cfg.by_face:  # a batch: whole faces, every view of each (the pairwise terms see a face's views together)
        dataset, per = face_groups(cache["face"], cfg.views, cfg.seed), cfg.views
    else:
        dataset, per = torch.arange(len(images)), 1

    def step_fn(idx: torch.Tensor, step: int) -> dict:
        groups = torch.arange(len(idx), device=idx.device).repeat_interleave(per)
        idx = idx.reshape(-1)
        losses = distillation_loss(net(images[idx].float() / 255.0), targets[idx], cfg.pair_weight,
                                   groups, cfg.same_weight)
        if val is not None and (step + 1) % cfg.eval_every == 0:
            losses.update(heldout(net, *val[:2], pairs=val[2]))
        return losses

    cfg.extra = {"n_views": len(images), "views": cfg.views, "pair_weight": cfg.pair_weight,
                 "by_face": cfg.by_face, "same_weight": cfg.same_weight}
    run_cfg = dataclasses.replace(cfg, batch_size=max(1, cfg.batch_size // per))  # loop.run batches rows of `per` views
    history = loop.run(run_cfg, dataset, {"net": net}, opt, step_fn, desc="identity proxy")
    net.to("cpu").eval()
    net.training_info = loop.training_facts(
        cfg, history, len(faces64), t0, teacher="dlib_face_recognition_resnet_model_v1 (evaluation.face_metrics)",
        n_views=len(images), views_per_face=cfg.views, compressor=str(cfg.compressor),
        compressed_fraction=round(float((cache["source"] == COMPRESSOR).mean()), 3),
        decoders=[str(d) for d in cfg.decoders], decoded_fraction=round(float((cache["source"] > COMPRESSOR).mean()), 3),
        decoder_max_rate=cfg.decoder_max_rate if cfg.decoders else None, by_face=cfg.by_face,
        same_weight=cfg.same_weight,
        detected_fraction=round(float(cache["detected"].mean()), 3), cache_seconds=cache["seconds"],
        pair_weight=cfg.pair_weight, augmentation="data.augment_batch: 128-px crops 80-100 %, shift, flip, "
        "colour ±8 %, → 64 px" if shared else "data.augment_batch at 64 px")
    return net, history


def main(args) -> int:
    cfg = Config.from_args(args)
    net, history = train(cfg)
    loop.export(net, cfg, history)
    return 0

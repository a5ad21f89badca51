"""A cache of the diffusion's few-step latents, so the parts after the latent train without re-running it.

One step of ``train fasdiff`` spends more than half its time in the diffusion: the compressor, the VAE encoder
and four UNet + ControlNet steps (about 1.3 of its 2.4 s on one CPU thread, training the decoder and the fusion).
When the control and the LFE are frozen and only the codec's decoder and the fidelity fusion train
(``--train-parts decoder,fusion``), the denoised latent ẑ0 of a face view at a given rate, decode setting and noise
does not depend on anything being trained. So it is computed once per view and kept (:func:`build`), and each
training step only decodes a cached ẑ0 and runs the fusion and the losses
(:meth:`FaSDiffCodec.decoded_loss <fasdiff_lite.models.codec.FaSDiffCodec.decoded_loss>`): measured here on one CPU
thread, a step of 12 faces takes 0.7 s instead of about 2 s training the fusion alone, and 1.1 s instead of 2.4 s
with the decoder (whose backward pass is what remains). The price is variety: a cache of G groups holds G·B views,
each with one noise draw, seen again every epoch (a few thousand views of the 680 train faces is enough for a
30 k-parameter fusion and a small decoder).

A group is one training batch: B views of the train faces (``data.augment_batch``) at one rate and one decode
setting (steps, realism), drawn as the uncached training draws them. Stored as safetensors beside the run
(``<out>/latent_cache.safetensors``) with what it was made from; a cache made from other frozen weights or
settings is refused, not silently reused.

    fasdiff-lite train fasdiff --init runs/r10-export --train-parts decoder,fusion --latent-cache 300 ...
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from .. import data

FILE = "latent_cache.safetensors"


def frozen_fingerprint(codec) -> str:
    """A hash of everything ẑ0 depends on that a checkpoint could change: the control's and the LFE's weights (the
    compressor and the prior are shipped, named in the cache's settings)."""
    h = hashlib.blake2b(digest_size=12)
    for name in ("control", "lfe"):
        module = getattr(codec, name, None)
        if module is None:
            continue
        for key, value in sorted(module.state_dict().items()):
            h.update(key.encode())
            h.update(value.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


@torch.no_grad()
def build(codec, faces, groups: int, batch_size: int, draw: Callable[[torch.Generator], tuple[float, int, float]],
          size: int = 64, seed: int = 0, progress: bool = True) -> dict[str, torch.Tensor]:
    """``groups`` batches of ``batch_size`` views of ``faces`` (N×H×W×3 uint8, the train split's 128-px copies), each
    batch at ``draw(generator) -> (rate, steps, realism)``: the views ``x``, the compressor's ``x_fid`` and the
    few-step latent ``z`` (:meth:`FaSDiffCodec.few_step_latent`), plus ``rate``, ``steps``, ``realism`` per group."""
    if groups < 1 or batch_size < 1:
        raise ValueError(f"a latent cache needs at least one group of one face, got {groups} × {batch_size}")
    dataset = data.FaceDataset(faces, augment=False)
    gen = torch.Generator().manual_seed(seed)
    device = codec.prior.device
    out: dict[str, list] = {k: [] for k in ("x", "x_fid", "z", "rate", "steps", "realism")}
    for _ in tqdm(range(groups), desc="latent cache", disable=not progress, dynamic_ncols=True):
        idx = torch.randint(len(dataset), (batch_size,), generator=gen)
        x = data.augment_batch(torch.stack([dataset[int(i)] for i in idx]), size, generator=gen).to(device)
        rate, steps, realism = draw(gen)
        z, x_fid, _ = codec.few_step_latent(x, rate, steps, realism, generator=gen)
        out["x"].append(x.half().cpu())
        out["x_fid"].append(x_fid.half().cpu())
        out["z"].append(z.float().cpu())
        out["rate"].append(torch.tensor(float(rate)))
        out["steps"].append(torch.tensor(int(steps)))
        out["realism"].append(torch.tensor(float(realism)))
    return {k: torch.stack(v).contiguous() for k, v in out.items()}


def save(cache: dict[str, torch.Tensor], path: str | Path, made_from: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(cache, str(path), metadata={"made_from": json.dumps(made_from, sort_keys=True)})
    return path


def load(path: str | Path, made_from: dict) -> dict[str, torch.Tensor]:
    """The cache at ``path``, or a ValueError when it was made from other weights or settings than ``made_from``."""
    path = Path(path)
    with safe_open(str(path), framework="pt") as f:
        stored = json.loads((f.metadata() or {}).get("made_from", "{}"))
    if stored != json.loads(json.dumps(made_from, sort_keys=True)):
        diff = sorted(k for k in set(stored) | set(made_from) if stored.get(k) != made_from.get(k))
        raise ValueError(f"{path} was made from other settings ({', '.join(diff)} differ); delete it or use "
                         "another --out to build a new one")
    return load_file(str(path))


def load_or_build(path: str | Path, made_from: dict, make: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Load the cache at ``path`` when it exists (checked against ``made_from``), else ``make()`` it and save it."""
    path = Path(path)
    if path.exists():
        return load(path, made_from)
    cache = make()
    save(cache, path, made_from)
    return cache


class Groups(torch.utils.data.Dataset):
    """The cache's groups as a dataset of group numbers (``train.loop.run`` draws one per step: batch size 1)."""

    def __init__(self, cache: dict[str, torch.Tensor]):
        self.cache = cache

    def __len__(self) -> int:
        return int(self.cache["z"].shape[0])

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor(i)

    def group(self, i: int, device=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, float]:
        """(x, z, x_fid, rate, realism) of group ``i``, images as float32 on ``device``."""
        c = self.cache
        return (c["x"][i].float().to(device), c["z"][i].float().to(device), c["x_fid"][i].float().to(device),
                float(c["rate"][i]), float(c["realism"][i]))

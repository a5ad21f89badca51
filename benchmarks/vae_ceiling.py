"""The ceiling of every FaSDiff decoder here: the tiny prior's VAE on the *clean* latent of each held-out face.

    python benchmarks/vae_ceiling.py            # 150 held-out faces (~2 min on 2 CPU cores, mostly dlib)
    python benchmarks/vae_ceiling.py --vae runs/vae28/checkpoint/vae.safetensors   # another VAE (a training run's)

A FaSDiff decoder ends in the prior's latent space: whatever the diffusion and the control do, the face comes out
of a 4×16×16 latent through a VAE decoder. Decoding the original's own latent is therefore the best any of them can
do without x_fid's pixels. Prints PSNR, identity distance, re-id rank-1 and detail ratio of that reconstruction,
beside the hf-compressor's x_fid at rates 0, 0.5 and 1 on the same faces.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from safetensors.torch import load_file

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics as fm
from fasdiff_lite.evaluation import metrics
from fasdiff_lite.evaluation.realism import detail_ratio
from fasdiff_lite.models import zoo
from fasdiff_lite.models.compressor import pad
from fasdiff_lite.models.prior_loading import load_prior


def row(name: str, faces: np.ndarray, outs: list[np.ndarray], ref: np.ndarray) -> str:
    d = fm.descriptors(outs)
    dist = float(np.nanmean(np.linalg.norm(d - ref, axis=1)))
    return (f"| {name} | {np.mean([metrics.psnr(a, b) for a, b in zip(faces, outs)]):.2f} | {dist:.3f} | "
            f"{fm.reid_rank1(list(faces), outs):.2f} | {np.mean(detail_ratio(faces, np.stack(outs))):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vae", default=None, help="a VAE's weights (.safetensors, e.g. a training run's checkpoint/"
                    "vae.safetensors, or a prior folder's vae/ weights) to measure in place of the tiny prior's")
    args = ap.parse_args()
    torch.set_num_threads(1)
    faces = data.load_faces("auto", size=64, split="val", limit=settings.pick(None, 4))
    print(f"{len(faces)} held-out faces, 64×64")
    ref = fm.descriptors(list(faces))
    prior = load_prior("tiny")
    name = "tiny VAE"
    if args.vae:
        prior.vae.load_state_dict({k: v.float() for k, v in load_file(args.vae).items()})
        name = f"VAE {args.vae}"
    with torch.no_grad():
        vae = [data.to_image(prior.decode(prior.encode(pad(data.to_tensor(f))))[..., :64, :64]) for f in faces]
    print("| decoded by | PSNR (dB) | identity distance | re-id rank-1 | detail ratio |\n|---|---|---|---|---|")
    print(row(f"{name}, the original's own latent (the ceiling)", faces, vae, ref))
    comp = zoo.load("hf-compressor")
    for rate in settings.pick((0.0, 0.5, 1.0), (1.0,)):
        with torch.no_grad():
            outs = [data.to_image(comp.decompress(comp.compress(data.to_tensor(f), rate))) for f in faces]
        print(row(f"hf-compressor x_fid, rate {rate:g}", faces, outs, ref))


if __name__ == "__main__":
    main()

"""How far the sampler's latent lands from the original's own, against x_fid's latent (session 23).

    python checkpoints/measure23/latent_reach.py runs/f25-latent-export [--faces 64]

For the first N faces of the shared validation split: the mean |z_fid − z0| (z0 = the prior's VAE encoding of the
original, z_fid of x_fid at the rate: what the control is handed as its dense prompt) and the mean |ẑ0 − z0| (the
latent the codec's 4 DDIM steps end on at realism 1, which the decoder turns into x_gen), at rates 0 / 0.1 / 0.2 / 0.5.
A steering that carried its prompt would land at least as near z0 as z_fid does, and nearer as the rate grows.
"""
import argparse

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.models import zoo
from fasdiff_lite.models.compressor import pad

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("codec")
ap.add_argument("--faces", type=int, default=64)
args = ap.parse_args()
settings.cpu_threads(1)
codec = zoo.load(args.codec)
faces = data.load_faces("shared", split="val", limit=args.faces)
x = torch.cat([data.to_tensor(f) for f in faces])
with torch.no_grad():
    z0 = codec.prior.encode(pad(x))
    print(f"{args.codec}, {len(faces)} held-out faces; mean |z0| {float(z0.abs().mean()):.4f}\n")
    print("| rate | mean abs(z_fid − z0) | mean abs(ẑ0 − z0), 4 steps, realism 1 |")
    print("|---|---|---|")
    for rate in (0.0, 0.1, 0.2, 0.5):
        z, x_fid, _ = codec.few_step_latent(x, rate, 4, 1.0)
        z_fid = codec.prior.encode(x_fid)
        print(f"| {rate:g} | {float((z_fid - z0).abs().mean()):.4f} | {float((z - z0).abs().mean()):.4f} |")

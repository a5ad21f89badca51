"""How far the sampler's latent lands from the original's own, by where the denoising starts (session 24).

    python checkpoints/measure24/latent_reach.py runs/f25-latent-export [--faces 64] [--realism 0.55 0.7 1]

Session 23's reading (checkpoints/measure23/latent_reach.py) per start: for the first N faces of the shared validation
split, the mean |z_fid − z0| (z0 = the prior's VAE encoding of the original, z_fid of x_fid at the rate: the control's
dense prompt) and the mean |ẑ0 − z0| of the latent the codec's 4 DDIM steps end on, started at realism β (the first
timestep ≈ β·(T−1): β = 1 starts from almost pure noise, √ᾱ = 0.07). The starting noise comes from a generator seeded
once (two runs give the same table). A steering that carries its prompt lands at least as near z0 as z_fid does.
"""
import argparse

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.models import zoo
from fasdiff_lite.models.compressor import pad

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("codec")
ap.add_argument("--faces", type=int, default=64)
ap.add_argument("--realism", type=float, nargs="+", default=[0.4, 0.55, 0.7, 0.85, 1.0])
ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.5])
args = ap.parse_args()
settings.cpu_threads(1)
codec = zoo.load(args.codec)
faces = data.load_faces("shared", split="val", limit=args.faces)
x = torch.cat([data.to_tensor(f) for f in faces])
with torch.no_grad():
    z0 = codec.prior.encode(pad(x))
    print(f"{args.codec}, {len(faces)} held-out faces; mean |z0| {float(z0.abs().mean()):.4f}; "
          f"cells: mean abs(ẑ0 − z0), 4 steps\n")
    print("| rate | abs(z_fid − z0) | " + " | ".join(f"start β={b:g} (t={int(codec.timesteps(4, b)[0])})"
                                                  for b in args.realism) + " |")
    print("|---" * (len(args.realism) + 2) + "|")
    for rate in args.rates:
        cells = []
        for b in args.realism:
            g = torch.Generator().manual_seed(0)
            z, x_fid, _ = codec.few_step_latent(x, rate, 4, b, generator=g)
            cells.append(f"{float((z - z0).abs().mean()):.4f}")
        z_fid = codec.prior.encode(x_fid)
        print(f"| {rate:g} | {float((z_fid - z0).abs().mean()):.4f} | " + " | ".join(cells) + " |", flush=True)

"""Time one denoising step (one UNet call) of a diffusion prior at batch 1, plus one VAE encode/decode.

    python benchmarks/prior_step.py                       # the shipped tiny prior (64×64 faces)
    python benchmarks/prior_step.py --threads 1 --reps 200
    python benchmarks/prior_step.py --prior sd21-random --size 64    # SD 2.1-base architecture, random weights
    python benchmarks/prior_step.py --prior stable-diffusion --size 512   # real SD (GPU, weights reachable)

Prints milliseconds per step (median of ``--reps`` timed calls after warm-up) and the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from fasdiff_lite.models.prior_loading import load_prior
from fasdiff_lite.models.stable_diffusion import StableDiffusionPrior
from fasdiff_lite import settings


def timed(fn, reps: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prior", default="tiny", help="tiny, sd21-random, stable-diffusion, sd-turbo or a folder")
    ap.add_argument("--size", type=int, default=None, help="image side in pixels (default: the prior's own)")
    ap.add_argument("--reps", type=int, default=settings.pick(100, 10))
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.prior == "sd21-random":
        prior = StableDiffusionPrior.from_configs().to(settings.device(args.device))
    else:
        prior = load_prior(args.prior, device=args.device)
    prior.eval()
    size = args.size or (64 if args.prior == "sd21-random" else prior.image_size)
    z = torch.randn(1, *prior.latent_shape(size, size), device=prior.device, dtype=prior.dtype)
    x = torch.rand(1, 3, size, size, device=prior.device)
    with torch.no_grad():
        unet = timed(lambda: prior.predict_noise(z, 500), args.reps)
        enc = timed(lambda: prior.encode(x), max(3, args.reps // 10))
        dec = timed(lambda: prior.decode(z), max(3, args.reps // 10))
    dev = torch.cuda.get_device_name() if prior.device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    print(f"prior {args.prior!r}: image {size}×{size}, latent {tuple(z.shape[1:])}, UNet {prior.num_parameters()['unet'] / 1e6:.2f} M params")
    print(f"device: {dev}, torch threads {torch.get_num_threads()}, dtype {prior.dtype}")
    ms = lambda v: f"{1000 * statistics.median(v):.2f} ms (median of {len(v)}; min {1000 * min(v):.2f})"  # noqa: E731
    print(f"one denoising step at batch 1: {ms(unet)}")
    print(f"VAE encode at batch 1:         {ms(enc)}")
    print(f"VAE decode at batch 1:         {ms(dec)}")


if __name__ == "__main__":
    main()

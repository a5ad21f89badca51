"""Does a prior draw fine detail? The detail ratio of its unconditional samples against real faces.

    python benchmarks/prior_detail.py runs/prior28 checkpoints/prior-tiny-680 [--n 96] [--steps 4 16 50]

For each prior (a folder or ``tiny``): ``--n`` faces drawn from pure noise with each of its samplers (DDIM, DDPM,
DPM-Solver) at each ``--steps`` (seed 0), and their mean wavelet detail energy over that of the first ``--n`` faces
of the shared validation split (``evaluation.realism.set_detail_ratio``: 1 = as much fine detail as real faces,
below 1 = smoother). Beside it, the same ratio for the validation faces through the prior's own VAE (encode, decode):
what the latent space can hold, the ceiling of any decoder of that prior's latents. A prior whose samples sit far
below that ceiling draws smooth faces, whatever steers it: the detail of a decoder built on it comes from elsewhere
(session 24: the 4-step sampler of every FaSDiff codec on runs/prior28 ended on latents that decode to 0.4–0.5 of the
originals' detail). Time: about a minute a prior on one thread for the defaults.
"""
from __future__ import annotations

import argparse
import time

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import realism
from fasdiff_lite.models.compressor import pad
from fasdiff_lite.models.prior_loading import load_prior


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("priors", nargs="+", help="prior folders (or tiny, the shipped one)")
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--steps", type=int, nargs="+", default=[4, 16, 50])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.n < 2 or min(a.steps) < 1:
        ap.error("--n must be at least 2 and every --steps at least 1")
    settings.cpu_threads(a.threads)
    t0 = time.time()
    real = torch.cat([data.to_tensor(f) for f in data.load_faces("shared", split="val", limit=a.n)])
    print(f"detail ratio against {len(real)} validation faces (1 = as detailed; seed 0, {a.n} samples each)\n")
    print("| prior | its VAE on the real faces | " + " | ".join(f"{s} steps: DDIM / DDPM / DPM" for s in a.steps) + " |")
    print("|---" * (len(a.steps) + 2) + "|")
    for name in a.priors:
        prior = load_prior(name, device="cpu")
        with torch.no_grad():
            vae = prior.decode(prior.encode(pad(real)))[..., : real.shape[-2], : real.shape[-1]]
            cells = []
            for steps in a.steps:
                ratios = []
                for sampler in ("ddim", "ddpm", "dpm"):
                    samples = prior.sample(a.n, steps=steps, generator=torch.Generator().manual_seed(0), progress=False,
                                           scheduler=sampler, height=real.shape[-2], width=real.shape[-1])
                    ratios.append(f"{realism.set_detail_ratio(samples, real):.2f}")
                cells.append(" / ".join(ratios))
        print(f"| {name} | {realism.set_detail_ratio(vae, real):.2f} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n{time.time() - t0:.0f} s, {a.threads} thread(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

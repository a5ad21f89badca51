"""How real do a prior's unconditional samples look, and does it copy its training faces?

    python benchmarks/prior_samples.py                                   # the shipped tiny prior, 500 samples
    python benchmarks/prior_samples.py --prior runs/prior28/export --train-faces utkface+shared

Draws ``--n`` faces from pure noise (DDIM, ``--steps`` steps, seed 0) and prints:
- the descriptor Fréchet distance (dlib descriptors, ``evaluation.metrics.frechet_distance``) of the samples to the
  fixed validation faces (never trained on), beside the FD of the training faces themselves to the same validation
  faces (what a perfect sampler of the training distribution would reach on this many faces);
- for each sample its nearest training face, in pixels (RMS, grey levels at 64 px) and in dlib descriptor distance:
  the median and the share of samples closer than the copy thresholds (RMS under 10 levels; descriptor distance under
  0.4, about what separates two photos of one person) — a prior that copies its training set shows up here;
- the same nearest-training-face distances for the validation faces, as the reference for "new face".
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, metrics
from fasdiff_lite.models.prior_loading import load_prior
from fasdiff_lite.train import loop

COPY_RMS, COPY_DESCRIPTOR = 10.0, 0.4


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of a, the Euclidean distance to its nearest row of b."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    d2 = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(d2.min(1), 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prior", default="tiny")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--train-faces", default="shared", help="the faces the prior was trained on (a --faces source)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    settings.cpu_threads(a.threads)
    t0 = time.time()
    prior = load_prior(a.prior, device="cpu")
    g = torch.Generator().manual_seed(0)
    samples = np.concatenate([data.to_image(prior.sample(min(50, a.n - i), steps=a.steps, generator=g, progress=False,
                                                         scheduler="ddim")) for i in range(0, a.n, 50)])
    train = loop.training_faces(loop.TrainConfig(faces=a.train_faces).resolved(), size=64)
    val = data.load_faces("shared", 64, "val")
    d_s, d_t, d_v = (face_metrics.descriptors(x) for x in (samples, train, val))
    flat = lambda x: x.reshape(len(x), -1).astype(np.float64)  # noqa: E731
    rms_s = nearest(flat(samples), flat(train)) / np.sqrt(samples[0].size)
    rms_v = nearest(flat(val), flat(train)) / np.sqrt(val[0].size)
    desc_s, desc_v = nearest(d_s, d_t), nearest(d_v, d_t)
    print(f"prior {a.prior}: {len(samples)} samples (DDIM {a.steps} steps, seed 0); {len(train)} training faces "
          f"({a.train_faces}); {len(val)} validation faces; 64 px")
    print(f"descriptor FD to the validation faces: samples {metrics.frechet_distance(d_v, d_s):.4f}, "
          f"training faces {metrics.frechet_distance(d_v, d_t):.4f}")
    print("| nearest training face | median RMS (levels) | share RMS < 10 | median descriptor distance | share < 0.4 |")
    print("|---|---|---|---|---|")
    for name, rms, desc in (("samples", rms_s, desc_s), ("validation faces", rms_v, desc_v)):
        print(f"| {name} | {np.median(rms):.1f} | {np.mean(rms < COPY_RMS):.3f} | {np.median(desc):.3f} | "
              f"{np.mean(desc < COPY_DESCRIPTOR):.3f} |")
    print(f"({time.time() - t0:.0f} s on this machine, {a.threads} thread(s))")


if __name__ == "__main__":
    main()

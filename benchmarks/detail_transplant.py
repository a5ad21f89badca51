"""Where does dlib see identity, and what does *plausible but uninformed* detail cost it? A detail transplant.

    python benchmarks/detail_transplant.py                         # 150 held-out faces, rates 0 0.1 0.15 0.2 0.3
    python benchmarks/detail_transplant.py --faces 40 --rates 0.1  # a quicker look

The compressor's x_fid at a rate keeps its own coarse face (the LL band of a 2-level Haar transform, 16×16 for a
64-px face) and gets fine detail (the H, V, D bands of levels 1–2: exactly the bands ``realism.detail_ratio``
measures) from somewhere else (``evaluation.realism.transplant_detail``):

- **oracle**: the original face's own detail bands. The detail no decoder can know without more bits: an upper bound.
- **random donor**: the detail bands of a random *training* face. Plausible face texture on the wrong face.
- **nearest donor**: the detail bands of the training face whose LL band is nearest to x_fid's: a crude sample from
  a non-parametric prior of faces that look like this one at 16×16 (what a generative decoder does, much better,
  with a learned prior).
- **x_fid + g × nearest**: x_fid's own detail kept, the nearest face's added on top at gain g.
- **x_fid + noise σ**: white noise: detail energy with no structure at all.
- **fasdiff**: the shipped codec at the CLI's default decode (4 steps, realism 1), for comparison.

Each row: PSNR, detail ratio (1 = the original's detail energy), dlib re-identification rank-1 among the same
faces and the descriptor Fréchet distance to the originals (``decoder_probe.measure``). The faces are the first
``--faces`` of the fixed validation split; donors come from the train split only.

What it shows (the model card and notebook 08 quote it): identity, for dlib, lives in the fine detail bands (the
original's detail on x_fid's coarse face brings re-id to about 0.95–0.97 at every rate), and detail that does not
come from the bits costs identity in proportion to how much of it there is. So "as much detail as a real face"
and "identity as good as the compressor's" can both hold only where the bits carry that detail.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from decoder_probe import measure
from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics
from fasdiff_lite.evaluation.realism import nearest_by_coarse, transplant_detail
from fasdiff_lite.models import zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=150)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    settings.cpu_threads(args.threads)
    t0 = time.time()
    faces = data.load_faces("shared", split="val", limit=args.faces)
    train = torch.cat([data.to_tensor(f) for f in data.load_faces("shared", split="train")])
    gallery = face_metrics.descriptors(faces)
    codec = zoo.load("fasdiff")
    comp = codec.compressor
    rng = np.random.default_rng(args.seed)
    noise = torch.Generator().manual_seed(args.seed)

    def nearest(x_fid: torch.Tensor) -> torch.Tensor:
        return train[nearest_by_coarse(x_fid, train)]

    print(f"{len(faces)} held-out faces, 64×64; donors: {len(train)} training faces; dlib re-id among the same faces\n")
    print("| rate | decoder | PSNR | detail ratio | re-id rank-1 | descriptor FD |")
    print("|---|---|---|---|---|---|")
    for rate in args.rates:
        x_fids = {}

        def x_fid(x: torch.Tensor) -> torch.Tensor:
            key = x.numpy().tobytes()
            if key not in x_fids:
                x_fids[key] = comp.decompress(comp.compress(x, rate))
            return x_fids[key]

        rows = {
            "x_fid (the compressor)": x_fid,
            "oracle: the original's detail": lambda x: transplant_detail(x_fid(x), x),
            "random donor's detail": lambda x: transplant_detail(x_fid(x), train[[int(rng.integers(len(train)))]]),
            "nearest donor's detail": lambda x: transplant_detail(x_fid(x), nearest(x_fid(x))),
            "x_fid + 0.3 × nearest": lambda x: transplant_detail(x_fid(x), nearest(x_fid(x)), keep_own=True, gain=0.3),
            "x_fid + 0.6 × nearest": lambda x: transplant_detail(x_fid(x), nearest(x_fid(x)), keep_own=True, gain=0.6),
            "x_fid + noise σ 0.02": lambda x: (x_fid(x) + 0.02 * torch.randn(x.shape, generator=noise)).clamp(0, 1),
            "x_fid + noise σ 0.04": lambda x: (x_fid(x) + 0.04 * torch.randn(x.shape, generator=noise)).clamp(0, 1),
            "fasdiff (4 steps, realism 1)": lambda x: codec.decompress(codec.compress(x, rate)),
        }
        for name, decode in rows.items():
            m = measure(faces, decode, gallery)
            print(f"| {rate:g} | {name} | {m['psnr']:.2f} | {m['detail']:.2f} | {m['reid']:.3f} | {m['fd']:.4f} |",
                  flush=True)
    print(f"\n{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

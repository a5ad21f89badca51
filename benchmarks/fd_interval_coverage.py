"""Do the paired-bootstrap intervals of a descriptor-FD difference hold the truth? A coverage check on real faces.

    python benchmarks/fd_interval_coverage.py                 # 600 UTKFace validation faces, 100 samples of 129 (~15 min)

Two compressors' decodes of ``--pop`` UTKFace validation faces (never trained on) are described by dlib once. The FD
difference on all of them stands in for the truth; then ``--reps`` samples of ``--n`` faces (the size of the held-out
set the cards use) each get the paired bootstrap of ``evaluation.ablations`` (``--draws`` draws) and both interval
kinds, percentile and basic (:func:`fasdiff_lite.evaluation.bootstrap.interval`). Prints how often each holds the
truth (95 % intervals: about 0.95 is right, lower is overconfident). Pairs: hf-compressor at rate 0.1 against itself
at 0.15 (a small difference, like a decoder against its x_fid) and against the hyperprior at rate 0 (a large one).
The FD here is computed as ``metrics.frechet_distance`` is, with the trace of the matrix square root taken as the
nuclear norm of Xa·Xbᵀ/(n − 1) (exact, and fast enough for tens of thousands of draws; checked against it first).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fasdiff_lite import data, face_sets, settings  # noqa: E402
from fasdiff_lite.evaluation import face_metrics  # noqa: E402
from fasdiff_lite.evaluation.bootstrap import interval  # noqa: E402
from fasdiff_lite.evaluation.metrics import frechet_distance  # noqa: E402
from fasdiff_lite.models import zoo  # noqa: E402

DECODES = (("hf-compressor", 0.1), ("hf-compressor", 0.15), ("hyperprior", 0.0))
PAIRS = ((0, 1), (0, 2))  # indices into DECODES: A − B


def fast_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD = ‖μa − μb‖² + Tr Σa + Tr Σb − 2 Tr (Σa Σb)^½, with Tr (Σa Σb)^½ = the nuclear norm of Xa Xbᵀ / (n − 1)."""
    xa, xb = a - a.mean(0), b - b.mean(0)
    n = len(a)
    root = np.linalg.svd(xa @ xb.T, compute_uv=False).sum() / (n - 1)
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + ((xa ** 2).sum() + (xb ** 2).sum()) / (n - 1) - 2 * root)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pop", type=int, default=600, help="UTKFace validation faces (the stand-in for the truth)")
    ap.add_argument("--n", type=int, default=129, help="faces per sample")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--draws", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not 2 <= args.n < args.pop:
        raise SystemExit(f"--n must be between 2 and --pop ({args.pop}), got {args.n}")
    settings.cpu_threads(args.threads)
    t0 = time.time()
    faces, _ = face_sets.load_utkface(64, "val")
    if args.pop > len(faces):
        raise SystemExit(f"--pop {args.pop}: UTKFace's validation split has {len(faces)} faces")
    faces = faces[np.random.default_rng(1).choice(len(faces), args.pop, replace=False)]
    gallery = face_metrics.descriptors(list(faces))
    probes = []
    for name, rate in DECODES:
        model = zoo.load(name)
        probes.append(face_metrics.descriptors([data.to_image(model.decompress(model.compress(data.to_tensor(f), rate)))
                                                for f in faces]))
    head = np.arange(args.n)
    check = abs(fast_fd(probes[0][head], gallery[head]) - frechet_distance(probes[0][head], gallery[head]))
    if check > 1e-5:
        raise SystemExit(f"the fast FD differs from metrics.frechet_distance by {check:g}")
    print(f"{args.pop} UTKFace validation faces; {args.reps} samples of {args.n}; {args.draws} paired bootstrap draws "
          f"each; 95 % intervals (descriptors in {time.time() - t0:.0f} s)\n")
    print("| A − B | difference on all faces | percentile interval holds it | basic interval holds it | "
          "median shift of the draws from the sample's difference |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for ia, ib in PAIRS:
        fd = lambda k, i: fast_fd(probes[k][i], gallery[i])  # noqa: E731
        everything = np.arange(args.pop)
        truth = fd(ia, everything) - fd(ib, everything)
        held = {"percentile": 0, "basic": 0}
        shifts = []
        for _ in range(args.reps):
            s = rng.choice(args.pop, args.n, replace=False)
            measured = fd(ia, s) - fd(ib, s)
            draws = np.empty(args.draws)
            for k in range(args.draws):
                i = s[rng.integers(0, args.n, args.n)]
                draws[k] = fd(ia, i) - fd(ib, i)
            shifts.append(np.median(draws) - measured)
            for kind in held:
                lo, hi = interval(draws, measured, kind=kind)
                held[kind] += lo <= truth <= hi
        name = lambda k: f"{DECODES[k][0]} {DECODES[k][1]:g}"  # noqa: E731
        print(f"| {name(ia)} − {name(ib)} | {truth:+.4f} | {held['percentile'] / args.reps:.2f} | "
              f"{held['basic'] / args.reps:.2f} | {np.median(shifts):+.4f} |", flush=True)
    print(f"\n{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

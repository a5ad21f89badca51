"""Measure the shipped FaSDiff codecs and their ablations against the hyperprior, JPEG and WebP.

    python benchmarks/fasdiff_codecs.py                   # the 150 held-out faces, 3 rates (about 15 min, 2-core CPU)
    FASDIFF_FAST=1 python benchmarks/fasdiff_codecs.py    # 4 faces, 2 rates: a smoke run

For every rate: ``fasdiff`` (full), ``fasdiff-nolfe``, ``fasdiff-plain`` (decoded with ``--steps`` and
``--realism``), their compressors alone (``hf-compressor`` = realism 0, ``hyperprior``), and JPEG / WebP
fitted to the full codec's bytes for each face. Human vision: bpp (real files), PSNR, MS-SSIM. Machine
vision (offline dlib): identity cosine, same-person rate, re-identification rank-1 against all originals,
detection rate. Then the decode time per face at 1, 4 and 20 steps.

The measuring is ``fasdiff_lite.evaluation.run.run_eval`` (what ``fasdiff-lite eval`` runs, so it also writes
JPEG's quality sweep and the BD-rates); this script adds the decode-time table. Prints Markdown tables and
writes ``--out``/{rows.csv, summary.csv, bd_rate.csv, report.md, rd.png, identity.png}. The model card in
``fasdiff_lite/assets/fasdiff/`` quotes its output.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import run as evaluate
from fasdiff_lite.models import zoo
from fasdiff_lite.registry import DEFAULT_REALISM

KEYS = ("rate", "n", "bytes", "bpp", "psnr", "ms_ssim", "detail_ratio", "descriptor_fd", "identity_cosine", "same_person_rate", "reid_rank1",
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
    p.add_argument("--realism", type=float, default=DEFAULT_REALISM, help=f"default {DEFAULT_REALISM:g}, as the CLI")
    p.add_argument("--limit", type=int, default=settings.pick(None, 4), help="at most this many faces")
    p.add_argument("--timing-faces", type=int, default=settings.pick(20, 2))
    p.add_argument("--timing-steps", type=int, nargs="+", default=[1, 4, 20])
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--out", default="out/benchmarks/fasdiff")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = zoo.available("codec")
    if not variants:
        raise SystemExit("no FaSDiff codec in fasdiff_lite/assets/fasdiff: train one with `fasdiff-lite train fasdiff --export ...`")
    faces, what = evaluate.load_eval_faces(args.source, limit=args.limit)
    print(f"{what}; rates {args.rates}; FaSDiff decoded with {args.steps} steps, realism {args.realism}; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")

    codecs = variants + ["hf-compressor", "hyperprior", "jpeg", "webp"]
    result = evaluate.run_eval(faces, codecs, args.rates, args.steps, args.realism, perceptual=False)
    print(result.table(KEYS))
    print("\nBD-rate: % bytes for the same quality, against each anchor (negative = fewer bytes)")
    print(result.bd_table())

    print(f"\ndecode time per face (ms), {args.timing_faces} faces, realism {args.realism}, batch 1:")
    print("| codec | " + " | ".join(f"{s} steps" for s in args.timing_steps) + " |")
    print("|---|" + "---|" * len(args.timing_steps))
    for name in variants:
        times = decode_times(zoo.cached(name), faces[: args.timing_faces], args.timing_steps, args.realism)
        print(f"| {name} | " + " | ".join(f"{times[s]:.0f}" for s in args.timing_steps) + " |")

    files = result.save(args.out)
    print(f"wrote {', '.join(str(f) for f in files.values())}")


if __name__ == "__main__":
    main()

"""Measure the shipped compressors against JPEG / WebP (and AVIF when Pillow has it) at equal bytes.

    python benchmarks/compressors.py                    # the 150 held-out faces, 5 rates (about 2 min, 2-core CPU)
    FASDIFF_FAST=1 python benchmarks/compressors.py     # 4 faces, 2 rates: a smoke run

Prints a Markdown table (bytes, bpp, PSNR, MS-SSIM, container+coder overhead vs the entropy estimate,
encode/decode time) and writes ``--out``/rd.csv and ``--out``/rd.png. The model cards in
``assets/compressor/`` quote its output.
"""
from __future__ import annotations

import argparse
import csv
import platform
from pathlib import Path

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import run as evaluate
from fasdiff_lite.models import zoo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=float, nargs="+", default=settings.pick([0.0, 0.25, 0.5, 0.75, 1.0], [0.2, 0.8]))
    p.add_argument("--limit", type=int, default=settings.pick(None, 4), help="at most this many faces")
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--out", default="out/benchmarks/compressors")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    split = "val" if settings.shared_dir() and args.source in ("auto", "shared") else "all"
    faces = data.load_faces(args.source, size=64, split=split, limit=args.limit)
    print(f"{len(faces)} faces ({args.source}, split {split}), 64×64; rates {args.rates}; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    rows = []
    hf_rows = None
    for name in ("hf-compressor", "hyperprior"):
        model = zoo.load(name)
        r = evaluate.measure_learned(model, faces, args.rates, name=name)
        hf_rows = hf_rows or r
        rows += r
    rows += evaluate.measure_baselines_at(faces, hf_rows, codecs=("jpeg", "webp", "avif"))
    summary = evaluate.summarize(rows)
    print(evaluate.format_table(summary))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rd.csv", "w", newline="") as f:
        keys = sorted({k for r in rows for k in r})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    evaluate.plot_rd(summary, "psnr", axes[0])
    evaluate.plot_rd(summary, "ms_ssim", axes[1])
    fig.suptitle(f"{len(faces)} held-out faces, 64×64, equal bytes (baselines fitted to the HF compressor's files)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "rd.png", dpi=120)
    print(f"wrote {out / 'rd.csv'} and {out / 'rd.png'}")


if __name__ == "__main__":
    main()

"""The shipped compressors against WebP and JPEG on the 150 held-out faces: rate–distortion, identity, BD-rates.

    python benchmarks/compressors.py                    # 150 held-out faces, 8 rates, WebP/JPEG sweeps (~15 min, 2-core CPU)
    FASDIFF_FAST=1 python benchmarks/compressors.py     # 4 faces, 2 rates: a smoke run

For each learned compressor (hf-compressor, hyperprior) at each rate, and for WebP and JPEG over their whole
quality range (``<codec>-sweep``) and fitted to the HF compressor's bytes: bytes (real files, container
included), bpp, PSNR, MS-SSIM, identity (dlib descriptor distance and cosine to the original, re-id rank-1),
the detail ratio (``evaluation.realism``), the real file against the entropy estimate, encode/decode time.
Then BD-rates against WebP's quality sweep on PSNR and on identity distance, over the range where both exist.
Prints Markdown tables and writes ``--out``/rd.csv, summary.json, rd.png. The compressor model card quotes it.
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
from pathlib import Path

import numpy as np
import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import run as evaluate
from fasdiff_lite.evaluation.bdrate import bd_rate_table, format_bd_table
from fasdiff_lite.models import zoo

WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)
JPEG_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=float, nargs="+", default=settings.pick([i / 7 for i in range(8)], [0.0, 1.0]))
    p.add_argument("--limit", type=int, default=settings.pick(None, 4), help="at most this many faces")
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--out", default="out/benchmarks/compressors")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-identity", action="store_true", help="skip the dlib identity metrics (faster)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    faces, what = evaluate.load_eval_faces(args.source, limit=args.limit)
    print(f"{len(faces)} faces ({what}), 64×64; rates {[round(r, 3) for r in args.rates]}; "
          f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    rows, hf_rows = [], None
    for name in ("hf-compressor", "hyperprior"):
        r = evaluate.measure_learned(zoo.load(name), faces, args.rates, name=name, keep_images=True)
        hf_rows = hf_rows or r
        rows += r
    rows += evaluate.measure_baseline_sweep(faces, "webp", settings.pick(WEBP_QUALITIES, (10, 90)), keep_images=True)
    rows += evaluate.measure_baseline_sweep(faces, "jpeg", settings.pick(JPEG_QUALITIES, (10, 90)), keep_images=True)
    rows += evaluate.measure_baselines_at(faces, hf_rows, codecs=("webp",), keep_images=True)
    summary = evaluate.summarize(rows, keys=("bytes", "bpp", "psnr", "ms_ssim", "detail_ratio", "encode_ms", "decode_ms"))
    if not args.no_identity:  # dlib on every face of every line (~0.3 s a face): only where a BD-rate or the card needs it
        evaluate.add_identity([r for r in summary if r["codec"] in ("hf-compressor", "hyperprior", "webp-sweep")], rows, faces)
    print(evaluate.format_table(summary, keys=("rate", "n", "bytes", "bpp", "psnr", "ms_ssim", "identity_distance",
                                               "reid_rank1", "detail_ratio", "overhead_pct", "encode_ms", "decode_ms",
                                               "fits_pct")))
    for r in summary:  # the real file against the entropy estimate: within 5 % + 12 bytes?
        if "estimate_bytes" in r:
            r["within_5pct_12B"] = bool(r["bytes"] <= 1.05 * r["estimate_bytes"] + 12)
    bd = bd_rate_table(summary, anchors=("webp-sweep", "jpeg-sweep"),
                       metrics_=("psnr",) + (() if args.no_identity else ("identity_distance",)), rate_key="bpp")
    bd = [b for b in bd if b["codec"] in ("hf-compressor", "hyperprior")]
    print("\nThe real files against the entropy estimate (mean bytes; bound = 1.05·estimate + 12 B):\n")
    print("| codec | rate | file | estimate | bound | within |\n|---|---|---|---|---|---|")
    for r in summary:
        if "estimate_bytes" in r:
            print(f"| {r['codec']} | {r['rate']:.3g} | {r['bytes']:.1f} | {r['estimate_bytes']:.1f} | "
                  f"{1.05 * r['estimate_bytes'] + 12:.1f} | {'yes' if r['within_5pct_12B'] else 'NO'} |")
    print("\nBD-rate (bpp) of the learned compressors, negative = fewer bytes for the same quality:\n")
    print(format_bd_table(bd))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rd.csv", "w", newline="") as f:
        keys = sorted({k for r in rows for k in r if k != "image"})
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (out / "summary.json").write_text(json.dumps({"n_faces": len(faces), "faces": what, "summary": summary, "bd_rate": bd},
                                                 indent=1, default=float))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = [r for r in summary if r["codec"] in ("hf-compressor", "hyperprior", "webp-sweep", "jpeg-sweep")]
    panels = ["psnr", "ms_ssim"] + ([] if args.no_identity else ["identity_distance"])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6))
    for ax, m in zip(np.atleast_1d(axes), panels):
        evaluate.plot_rd(keep, m, ax)
        ax.set_xlim(0, 2.5)
    fig.suptitle(f"{len(faces)} held-out faces, 64×64, real file sizes", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "rd.png", dpi=120)
    print(f"wrote {out / 'rd.csv'}, {out / 'summary.json'} and {out / 'rd.png'}")


if __name__ == "__main__":
    main()

"""``fasdiff-lite quickstart``: the main job on the embedded default, offline, in seconds on a CPU.

Compresses the shipped sample faces (64×64) with the shipped FaSDiff codec (decoded by the diffusion
prior with ``--steps`` and ``--realism``), with the shipped compressors alone, and with JPEG and WebP
fitted to the same byte budget as the first learned file; prints bytes, bpp, PSNR, MS-SSIM and the detail ratio
(``evaluation.realism``: 1 = as much fine detail as the original, below 1 = blur), checks that every file decodes
back to the same pixels, and saves a side-by-side figure to ``out/quickstart.png``.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import data
from ..evaluation import baselines, metrics, realism
from ..models import zoo
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS
from .decompress import decode


def add_arguments(p) -> None:
    p.add_argument("--rate", type=float, default=0.3, help="rate for the learned codecs, 0…1 (default 0.3)")
    p.add_argument("--source", default="samples", help="faces: samples (default), shared, a folder or an .npz")
    p.add_argument("--limit", type=int, default=4, help="at most this many faces")
    p.add_argument("--out", default="out", help="folder for the figure and the .fsd files")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"FaSDiff denoising steps (1–50, default {DEFAULT_STEPS})")
    p.add_argument("--realism", type=float, default=DEFAULT_REALISM, help=f"FaSDiff realism, 0…1 (default {DEFAULT_REALISM:g})")


def run(rate: float = 0.3, source: str = "samples", limit: int = 4, out: str | Path = "out",
        steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM) -> list[dict]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    faces = data.load_faces(source, size=64, limit=limit)
    learned = zoo.available("compressor")
    if not learned:
        print("no shipped learned codec found in fasdiff_lite/assets/ — showing the classical baselines only")
    diffusion = [name for name in zoo.available("codec") if name == "fasdiff"]  # the full method; ablations: notebook 07
    models = {name: zoo.cached(name) for name in diffusion + learned}
    rows, pictures = [], []
    for i, face in enumerate(faces):
        x = data.to_tensor(face)
        row_pics = [("original", face)]
        budget = None
        for name, model in models.items():
            t0 = time.perf_counter()
            blob = model.compress(x, rate=rate)
            t_enc = time.perf_counter() - t0
            (out / f"face{i}_{name}.fsd").write_bytes(blob)
            t0 = time.perf_counter()
            img, _ = decode(blob, steps=steps, realism=realism)
            t_dec = time.perf_counter() - t0
            again, _ = decode(blob, steps=steps, realism=realism)
            assert np.array_equal(img, again), "decoding must be deterministic"
            rows.append(_row(i, name, face, img, len(blob), t_enc, t_dec))
            how = f", {steps} st., r {realism:g}" if name in diffusion else ""
            row_pics.append((f"{name}{how}\n{len(blob)} B", img))
            budget = budget or len(blob)
        budget = budget or 200  # bytes: without a learned codec, show the baselines at a fixed budget
        for codec in ("jpeg", "webp"):
            if codec not in baselines.available_codecs():
                continue
            t0 = time.perf_counter()
            res = baselines.fit_bytes(face, codec, budget)
            t_enc = time.perf_counter() - t0
            rows.append(_row(i, codec, face, res.decoded, res.num_bytes, t_enc, float("nan"), fits=res.fits))
            row_pics.append((f"{codec} q={res.quality}\n{res.num_bytes} B", res.decoded))
        pictures.append(row_pics)
    _print_table(rows)
    _save_figure(pictures, out / "quickstart.png")
    print(f"\nfigure: {out / 'quickstart.png'}   .fsd files: {out}/")
    print("next: `make lab` for the tutorial notebooks, `make demo` for the Gradio demo")
    return rows


def _row(i, codec, face, img, n_bytes, t_enc, t_dec, fits=True) -> dict:
    return {"face": i, "codec": codec, "bytes": n_bytes, "bpp": metrics.bpp(n_bytes, 64, 64),
            "psnr": metrics.psnr(face, img), "ms_ssim": metrics.ms_ssim(face, img),
            "detail": realism.detail_ratio(face, img), "enc_ms": t_enc * 1000, "dec_ms": t_dec * 1000, "fits": fits}


def _print_table(rows: list[dict]) -> None:
    print(f"{'face':>4} {'codec':>14} {'bytes':>6} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8} {'detail':>7} {'enc ms':>7} {'dec ms':>7}")
    for r in rows:
        note = "" if r["fits"] else "  (smallest file still over budget)"
        print(f"{r['face']:>4} {r['codec']:>14} {r['bytes']:>6} {r['bpp']:>7.3f} {r['psnr']:>7.2f} "
              f"{r['ms_ssim']:>8.4f} {r['detail']:>7.2f} {r['enc_ms']:>7.1f} {r['dec_ms']:>7.1f}{note}")
    print("detail: wavelet detail energy of the decoded face ÷ the original's (1 = as detailed, below 1 = blur)")


def _save_figure(pictures, path: Path) -> None:
    import matplotlib  # here: the Agg backend is chosen when a figure is written, and `--help` stays fast

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(pictures), max(len(p) for p in pictures)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.5 * rows), squeeze=False)
    for r, row in enumerate(pictures):
        for c in range(cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row):
                ax.imshow(row[c][1])
                ax.set_title(row[c][0], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args) -> int:
    run(args.rate, args.source, args.limit, args.out, args.steps, args.realism)
    return 0

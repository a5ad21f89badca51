"""Measure codecs on a set of faces: real bytes, bpp, PSNR, MS-SSIM, time; baselines at equal bytes.

    faces ─▶ learned codec at rate r ─▶ .fsd bytes ─▶ decoded ─▶ metrics      (one row per face × rate)
          └▶ JPEG / WebP fitted to the *same* number of bytes as the learned file for that face

``estimate_bits`` gives the entropy model's own estimate (−Σ log₂ p of the quantised latents), so the
real files can be compared with it: the difference is the range coder's overhead plus the container.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
import torch
from tqdm.auto import tqdm

from . import baselines, bitstream, data, metrics
from .compressor import HFCompressor, pad


@torch.no_grad()
def estimate_bits(model: HFCompressor, x: torch.Tensor, rate: float) -> float:
    """The entropy model's estimate of the y and z bits for one image (eval mode: rounding, not noise)."""
    model.eval()
    out = model.forward_rate(pad(x), rate)
    return float(sum(torch.log2(l).sum() for l in out["likelihoods"].values()).neg())


def measure_learned(model, faces: np.ndarray, rates, name: str | None = None, progress: bool = True,
                    keep_images: bool = False, **decode_kwargs) -> list[dict]:
    """One row per face × rate: bytes (file, streams), estimate, bpp, PSNR, MS-SSIM, encode/decode ms.

    ``model``: an :class:`HFCompressor` or a ``FaSDiffCodec`` (anything with ``compress(x, rate)`` and
    ``decompress(blob, **decode_kwargs)``; a FaSDiff file's streams are its compressor's, so the
    entropy estimate is the compressor's). ``keep_images``: also keep each decoded face (key ``image``)
    for :func:`add_identity`.
    """
    compressor = getattr(model, "compressor", model)
    name = name or getattr(model, "variant", None) or model.config.model_id
    rows = []
    for rate in tqdm(list(rates), desc=f"{name}", disable=not progress):
        for i, face in enumerate(faces):
            x = data.to_tensor(face)
            t0 = time.perf_counter()
            blob = model.compress(x, rate)
            t1 = time.perf_counter()
            x_hat = model.decompress(blob, **decode_kwargs)
            t2 = time.perf_counter()
            img = data.to_image(x_hat)
            packet = bitstream.unpack(blob)
            stream_bytes = sum(len(s) for s in packet.streams)
            h, w = face.shape[:2]
            rows.append({
                "codec": name, "face": i, "rate": float(rate), "bytes": len(blob), "stream_bytes": stream_bytes,
                "estimate_bytes": estimate_bits(compressor, x, rate) / 8, "bpp": metrics.bpp(len(blob), h, w),
                "psnr": float(metrics.psnr(face, img)), "ms_ssim": float(metrics.ms_ssim(face, img)),
                "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3, **({"image": img} if keep_images else {}),
            })
    return rows


def measure_baselines_at(faces: np.ndarray, reference_rows: list[dict], codecs=("jpeg", "webp"), progress: bool = True,
                         keep_images: bool = False) -> list[dict]:
    """For every learned row (face, rate, bytes), fit each baseline to the same byte budget for that face."""
    rows = []
    for codec in codecs:
        if codec not in baselines.available_codecs():
            continue
        for ref in tqdm(reference_rows, desc=f"{codec} at equal bytes", disable=not progress):
            face = faces[ref["face"]]
            t0 = time.perf_counter()
            res = baselines.fit_bytes(face, codec, ref["bytes"])
            t1 = time.perf_counter()
            h, w = face.shape[:2]
            rows.append({
                "codec": codec, "face": ref["face"], "rate": ref["rate"], "bytes": res.num_bytes,
                "budget": ref["bytes"], "quality": res.quality, "fits": res.fits, "bpp": metrics.bpp(res.num_bytes, h, w),
                "psnr": float(metrics.psnr(face, res.decoded)), "ms_ssim": float(metrics.ms_ssim(face, res.decoded)),
                "encode_ms": (t1 - t0) * 1e3, **({"image": res.decoded} if keep_images else {}),
            })
    return rows


def add_identity(summary: list[dict], rows: list[dict], faces: np.ndarray, progress: bool = True) -> list[dict]:
    """Add the machine-vision metrics (``face_metrics.evaluate_identity``: identity cosine, same-person
    rate, re-identification rank-1, detection rate, landmark NME) to each (codec, rate) line of a
    :func:`summarize` table, from rows measured with ``keep_images=True``."""
    from . import face_metrics

    groups = defaultdict(list)
    for r in rows:
        groups[(r["codec"], round(r["rate"], 4))].append(r)
    for line in tqdm(summary, desc="identity", disable=not progress):
        rs = groups[(line["codec"], line["rate"])]
        if not rs or "image" not in rs[0]:
            continue
        m = face_metrics.evaluate_identity([faces[r["face"]] for r in rs], [r["image"] for r in rs])
        line.update({k: v for k, v in m.items() if k != "n"})
    return summary


def summarize(rows: list[dict], keys=("bytes", "bpp", "psnr", "ms_ssim", "encode_ms", "decode_ms")) -> list[dict]:
    """Mean of each key per (codec, rate); PSNR is averaged in dB over faces (a common convention)."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["codec"], round(r["rate"], 4))].append(r)
    out = []
    for (codec, rate), rs in sorted(groups.items()):
        row = {"codec": codec, "rate": rate, "n": len(rs)}
        for k in keys:
            vals = [r[k] for r in rs if k in r and not (isinstance(r[k], float) and math.isinf(r[k]))]
            if vals:
                row[k] = float(np.mean(vals))
        if "estimate_bytes" in rs[0]:
            est = float(np.mean([r["estimate_bytes"] for r in rs]))
            row["estimate_bytes"] = est
            row["overhead_pct"] = 100 * (row["bytes"] - est) / est
            row["stream_overhead_pct"] = 100 * (float(np.mean([r["stream_bytes"] for r in rs])) - est) / est
        if "fits" in rs[0]:
            row["fits_pct"] = 100 * float(np.mean([r["fits"] for r in rs]))
        out.append(row)
    return out


def format_table(summary: list[dict], keys=("rate", "n", "bytes", "bpp", "psnr", "ms_ssim", "overhead_pct", "encode_ms", "decode_ms", "fits_pct")) -> str:
    """A Markdown table of :func:`summarize` output (blank where a codec has no such number)."""
    head = "| codec | " + " | ".join(keys) + " |"
    lines = [head, "|" + "---|" * (len(keys) + 1)]
    for r in summary:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)))
        lines.append(f"| {r['codec']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_rd(summary: list[dict], metric: str = "psnr", ax=None):
    """Rate–distortion curves (bpp on x) for every codec in a :func:`summarize` table."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    by = defaultdict(list)
    for r in summary:
        if metric in r:
            by[r["codec"]].append((r["bpp"], r[metric]))
    for codec, pts in by.items():
        pts.sort()
        ax.plot(*zip(*pts), marker="o", label=codec)
    ax.set_xlabel("bits per pixel (real file sizes)")
    ax.set_ylabel({"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM"}.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax

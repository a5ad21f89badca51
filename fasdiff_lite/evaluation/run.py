"""Measure codecs on a set of faces: real bytes, bpp, PSNR, MS-SSIM, time; baselines at equal bytes.

    faces ─▶ learned codec at rate r ─▶ .fsd bytes ─▶ decoded ─▶ metrics      (one row per face × rate)
          └▶ JPEG / WebP fitted to the *same* number of bytes as the learned file for that face

``estimate_bits`` gives the entropy model's own estimate (−Σ log₂ p of the quantised latents), so the
real files can be compared with it: the difference is the range coder's overhead plus the container.

A whole evaluation (``fasdiff-lite eval``, notebook 08) is :func:`run_eval`: every codec on the same faces,
human-vision metrics (PSNR, MS-SSIM; LPIPS and FID/KID when their packages and weights are there, see
:func:`perceptual.perceptual_backends`) and machine-vision metrics (``face_metrics``: identity, re-identification,
detection, landmarks), then BD-rate tables (``bdrate.py``) against JPEG and the plain hyperprior, written out by
:meth:`EvalResult.save` (CSV, Markdown, rate–distortion and rate–identity plots).
"""
from __future__ import annotations

import csv
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import bitstream, data, settings
from .. import faces as face_tools
from ..models import zoo
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, check_rate
from ..models.compressor import HFCompressor, likelihood_bits, pad
from . import CODEC_COLORS, baselines, face_metrics, metrics, realism
from .bdrate import BD_ANCHORS, bd_rate_table, format_bd_table
from .perceptual import add_perceptual, perceptual_backends

# matplotlib is imported where a figure is drawn: ``fasdiff-lite eval`` imports this module when it starts.


@torch.no_grad()
def estimate_bits(model: HFCompressor, x: torch.Tensor, rate: float) -> float:
    """The entropy model's estimate of the y and z bits for one image (eval mode: rounding, not noise)."""
    model.eval()
    out = model.forward_rate(pad(x.to(model.Gain.device)), rate)
    return float(likelihood_bits(out["likelihoods"]))


def quality(face: np.ndarray, decoded: np.ndarray) -> dict:
    """Human-vision numbers for one decoded face: PSNR, MS-SSIM, and the detail ratio (``realism``: 1.0 = as
    much fine detail as the original, below 1 = blur)."""
    return {"psnr": float(metrics.psnr(face, decoded)), "ms_ssim": float(metrics.ms_ssim(face, decoded)),
            "detail_ratio": realism.detail_ratio(face, decoded)}


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
                **quality(face, img), "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3,
                **({"image": img} if keep_images else {}),
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
                **quality(face, res.decoded), "encode_ms": (t1 - t0) * 1e3, **({"image": res.decoded} if keep_images else {}),
            })
    return rows


SWEEP_QUALITIES = (1, 3, 5, 10, 15, 20, 30, 40, 55, 75)


def measure_baseline_sweep(faces: np.ndarray, codec: str = "jpeg", qualities=SWEEP_QUALITIES, progress: bool = True,
                           keep_images: bool = False) -> list[dict]:
    """A classical codec at fixed quality settings on every face: its whole rate–distortion curve, named
    ``<codec>-sweep``, with ``rate`` = quality / 100. The BD-rate anchor curve for that codec: the points
    fitted to a learned codec's bytes (:func:`measure_baselines_at`) span too narrow a quality range to
    overlap the learned curves (at 64 px, JPEG at equal bytes is several dB below them)."""
    rows = []
    for q in tqdm(list(qualities), desc=f"{codec} quality sweep", disable=not progress):
        for i, face in enumerate(faces):
            t0 = time.perf_counter()
            blob = baselines.encode(face, codec, int(q))
            t1 = time.perf_counter()
            img = baselines.decode(blob)
            h, w = face.shape[:2]
            rows.append({
                "codec": f"{codec}-sweep", "face": i, "rate": q / 100, "quality": int(q), "bytes": len(blob),
                "bpp": metrics.bpp(len(blob), h, w), **quality(face, img), "encode_ms": (t1 - t0) * 1e3,
                **({"image": img} if keep_images else {}),
            })
    return rows


def add_identity(summary: list[dict], rows: list[dict], faces: np.ndarray, progress: bool = True) -> list[dict]:
    """Add the machine-vision metrics (``face_metrics.evaluate_identity``: identity cosine, same-person
    rate, re-identification rank-1, detection rate, landmark NME) to each (codec, rate) line of a
    :func:`summarize` table, from rows measured with ``keep_images=True``."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["codec"], round(r["rate"], 4))].append(r)
    originals: dict[int, object] = {}  # face index -> its analysis: each original is analysed once, not per line
    for line in tqdm(summary, desc="identity", disable=not progress):
        rs = groups[(line["codec"], line["rate"])]
        if not rs or "image" not in rs[0]:
            continue
        for r in rs:
            if r["face"] not in originals:
                originals[r["face"]] = face_metrics.analyse_originals([faces[r["face"]]])[0]
        m = face_metrics.evaluate_identity([faces[r["face"]] for r in rs], [r["image"] for r in rs],
                                           reference=[originals[r["face"]] for r in rs])
        line.update({k: v for k, v in m.items() if k != "n"})
    return summary


def summarize(rows: list[dict], keys=("bytes", "bpp", "psnr", "ms_ssim", "detail_ratio", "encode_ms", "decode_ms")) -> list[dict]:
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
        ax.plot(*zip(*pts), marker="o", label=codec, color=CODEC_COLORS.get(codec.removesuffix("-sweep")))
    ax.set_xlabel("bits per pixel (real file sizes)")
    ax.set_ylabel({"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM"}.get(metric, IDENTITY_LABELS.get(metric, metric)))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


# ------------------------------------------------------------------------ rate–identity plot
IDENTITY_LABELS = {"identity_cosine": "identity similarity (cosine, dlib)", "reid_rank1": "re-identification rank-1",
                   "detail_ratio": "detail ratio\n(1 = as detailed as the original)",
                   "descriptor_fd": "descriptor Fréchet distance\n(lower = more real)",
                   "identity_distance": "identity distance (dlib; lower = closer)",
                   "same_person_rate": "same-person rate (distance < 0.6)"}


def plot_rate_identity(summary: list[dict], metric: str = "identity_cosine", ax=None):
    """Rate–identity curves: :func:`plot_rd` with a machine-vision metric on the y axis."""
    ax = plot_rd(summary, metric, ax)
    ax.set_ylabel(IDENTITY_LABELS.get(metric, metric))
    return ax


# ------------------------------------------------------------------------------ the whole eval
TABLE_KEYS = ("rate", "n", "bytes", "bpp", "psnr", "ms_ssim", "detail_ratio", "descriptor_fd", "lpips", "fid", "kid",
              "identity_cosine", "same_person_rate", "reid_rank1", "detection_rate", "landmark_nme", "encode_ms",
              "decode_ms", "fits_pct")


def known_codecs() -> list[str]:
    """Every codec name :func:`run_eval` understands (whether or not it is shipped / available here)."""
    return [*zoo.names("codec"), *zoo.names("compressor"), *baselines.CODECS]


def resolve_codecs(names=None) -> tuple[list[str], list[str]]:
    """(the codecs to run, notes). ``names`` None: every one shipped or available here, with a note for
    each that is missing. Named explicitly: an unknown or missing codec is an error that says why; a folder that
    holds a trained codec or compressor (a run's ``--export``) is measured as it is, under its path."""
    fasdiff = zoo.names("codec")
    shipped = set(zoo.available("codec")) | set(zoo.available("compressor")) | set(baselines.available_codecs())
    known = known_codecs()
    if names is None or list(names) in (["all"], []):
        missing = [n for n in known if n not in shipped]
        notes = []
        if any(n in fasdiff for n in missing):
            notes.append("note: no trained " + ", ".join(n for n in missing if n in fasdiff) +
                         " in fasdiff_lite/assets/fasdiff/ yet; evaluating the codecs that are there (train one with "
                         "`fasdiff-lite train fasdiff --variant ... --export ...`)")
        other = [n for n in missing if n not in fasdiff]
        if other:
            notes.append(f"note: not available on this machine, skipped: {', '.join(other)}")
        return [n for n in known if n in shipped], notes
    # a trained codec or compressor folder (an ablation run's export) is measured as it is
    folders = [str(n) for n in names if str(n).lower() not in known and Path(n).is_dir()]
    empty = [f for f in folders if not any((Path(f) / m).exists() for m in (zoo.CODEC_FILE, "model.safetensors"))]
    if empty:
        raise ValueError(f"{', '.join(empty)}: no trained codec (codec.json) or compressor (model.safetensors) there")
    names = list(dict.fromkeys(str(n) if str(n) in folders else str(n).lower() for n in names))
    unknown = [n for n in names if n not in known and n not in folders]
    if unknown:
        raise ValueError(f"unknown codec(s) {', '.join(unknown)}; choose from: {', '.join(known)} (or 'all')")
    missing = [n for n in names if n not in shipped and n not in folders]
    if missing:
        raise ValueError(f"{', '.join(missing)} not available here (FaSDiff variants need their trained weights in "
                         f"fasdiff_lite/assets/fasdiff/, AVIF a Pillow that writes it); available: {', '.join(sorted(shipped))}")
    return names, []


def check_rates(rates) -> list[float]:
    """The rates, sorted and without repeats; each must be a number in [0, 1]."""
    try:
        rates = list(rates)
    except TypeError:
        raise ValueError(f"rates must be numbers in [0, 1], got {rates!r}") from None
    if not rates:
        raise ValueError("give at least one rate in [0, 1] (two or more for BD-rates)")
    out, bad = set(), []
    for r in rates:
        try:
            out.add(check_rate(r))
        except ValueError:
            bad.append(r)
    if bad:
        raise ValueError(f"rates must be in [0, 1] (0 = fewest bytes, 1 = best quality), got {bad}")
    return sorted(out)


def load_eval_faces(source="auto", limit: int | None = None, size: int = 64, align: bool = True) -> tuple[np.ndarray, str]:
    """(faces, a description). ``source``: ``"auto"`` = the held-out split of ../shared when present, else
    the shipped sample faces; or a folder of face photos (each photo's largest face found and aligned like the
    training faces, ``faces.prepare``; with ``align=False`` or without dlib, the centre square; resized to
    ``size``), an ``.npz``, ``"samples"``, ``"shared"`` (its held-out split)."""
    src = str(source)
    shared = src in ("auto", "shared") and (src == "shared" or settings.shared_dir() is not None)
    split = "val" if shared else "all"
    folder = Path(src).is_dir()
    aligned = folder and align and face_tools.is_available()
    faces = data.load_faces(src, size=size, split=split, limit=limit, crop=face_tools.prepare if aligned else None)
    if len(faces) == 0:
        raise data.DataUnavailable(f"{src}: no faces to evaluate")
    what = "held-out shared faces" if shared else ("sample faces" if src in ("auto", "samples") else src)
    how = ", faces aligned" if aligned else (", centre squares" if folder else "")
    return faces, f"{len(faces)} {what}, {size}×{size}{how}"


@dataclass
class EvalResult:
    """What :func:`run_eval` measured: one row per face × codec × rate (decoded images under ``image``),
    the per-(codec, rate) ``summary``, the ``bd`` table, and ``notes`` on what was skipped and why."""

    rows: list
    summary: list
    bd: list
    notes: list = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def table(self, keys=TABLE_KEYS) -> str:
        present = [k for k in keys if any(k in r for r in self.summary)]
        return format_table(self.summary, present)

    def bd_table(self) -> str:
        return format_bd_table(self.bd) if self.bd else "(no BD-rates: need an anchor codec and two or more rates)"

    def report(self) -> str:
        cfg = ", ".join(f"{k} {v}" for k, v in self.config.items())
        return "\n\n".join([f"# fasdiff-lite eval\n\n{cfg}", self.table(),
                            "## BD-rate (% bytes for the same quality; negative = fewer bytes)", self.bd_table(),
                            *(["## Notes\n\n" + "\n".join(f"- {n}" for n in self.notes)] if self.notes else [])])

    def save(self, out) -> dict[str, Path]:
        """Write rows.csv, summary.csv, bd_rate.csv, report.md, rd.png and (with identity) identity.png."""
        from matplotlib.figure import Figure  # no pyplot: works the same in a script, a notebook or a test

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, table in (("rows", [{k: v for k, v in r.items() if k != "image"} for r in self.rows]),
                            ("summary", self.summary), ("bd_rate", self.bd)):
            files[name] = out / f"{name}.csv"
            with open(files[name], "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in table for k in r)) or ["empty"])
                w.writeheader()
                w.writerows(table)
        files["report"] = out / "report.md"
        files["report"].write_text(self.report() + "\n")
        title = ", ".join(f"{k} {v}" for k, v in self.config.items() if k in ("faces", "steps", "realism"))
        for name, metrics_ in (("rd", ("psnr", "ms_ssim")), ("identity", ("identity_cosine", "reid_rank1")),
                               ("realism", ("detail_ratio", "descriptor_fd"))):
            metrics_ = [m for m in metrics_ if any(m in r for r in self.summary)]
            if not metrics_:
                continue
            fig = Figure(figsize=(4.8 * len(metrics_), 3.6))
            axes = fig.subplots(1, len(metrics_), squeeze=False)
            for ax, m in zip(axes[0], metrics_):
                (plot_rd if name == "rd" else plot_rate_identity)(self.summary, m, ax)
                for line in ax.get_lines():  # the quality sweeps are reference curves: dashed
                    if line.get_label().endswith("-sweep"):
                        line.set_linestyle("--")
                ax.legend(fontsize=7)
            fig.suptitle(title, fontsize=9)
            fig.tight_layout()
            files[name + "_png"] = out / f"{name}.png"
            fig.savefig(files[name + "_png"], dpi=120)
        return files


def run_eval(faces: np.ndarray, codecs=None, rates=(0.0, 0.5, 1.0), steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
             identity: bool = True, perceptual: bool = True, progress: bool = True, device: str = "cpu",
             log=print) -> EvalResult:
    """Every codec on the same faces: the learned ones at each rate, the classical ones (JPEG, WebP, AVIF)
    fitted per face to the bytes of the first learned codec (and JPEG also at fixed qualities,
    :func:`measure_baseline_sweep`), then identity, LPIPS/FID/KID where available, and BD-rates against
    JPEG (its quality sweep) and the plain hyperprior, on PSNR and on identity similarity.

    ``codecs``: names (see :func:`known_codecs`) or None for all that are here (a missing FaSDiff codec is
    then a note, not an error). FaSDiff codecs decode with ``steps`` and ``realism``. ``log``: where notes go.
    """
    faces = np.asarray(faces)
    if faces.ndim != 4 or len(faces) == 0:
        raise ValueError(f"expected a batch of faces N×H×W×3 with N ≥ 1, got shape {faces.shape}")
    rates = check_rates(rates)
    names, notes = resolve_codecs(codecs)
    learned = [n for n in names if n not in baselines.CODECS]
    classical = [n for n in names if n in baselines.CODECS]
    if classical and not learned:
        raise ValueError("JPEG/WebP/AVIF are fitted to a learned codec's bytes: add one of "
                         f"{', '.join(n for n in known_codecs() if n not in baselines.CODECS)}")
    for n in notes:
        log(n)
    t0 = time.perf_counter()
    rows = []
    for name in learned:
        rows += measure_learned(zoo.cached(name, device), faces, rates, name=name, progress=progress,
                                keep_images=True, **zoo.decode_settings(name, steps, realism))
    if classical:
        notes.append(f"{', '.join(classical)} fitted per face to {learned[0]}'s bytes at each rate "
                     "(the best quality that fits; fits_pct < 100 where even the lowest quality is bigger)")
        rows += measure_baselines_at(faces, [r for r in rows if r["codec"] == learned[0]], codecs=classical,
                                     progress=progress, keep_images=True)
    anchors = tuple(a for a in BD_ANCHORS if a in names)
    if "jpeg" in classical and len(rates) >= 2:
        rows += measure_baseline_sweep(faces, "jpeg", progress=progress, keep_images=True)
        anchors = ("jpeg-sweep",) + tuple(a for a in anchors if a != "jpeg")
        notes.append("jpeg-sweep: JPEG at qualities " + ", ".join(map(str, SWEEP_QUALITIES)) + " on the same faces "
                     "(its rate column is quality/100): the BD-rate anchor for JPEG, whose equal-bytes points span too "
                     "narrow a quality range to overlap the learned codecs' curves")
    summary = summarize(rows)
    if identity and face_metrics.is_available():
        add_identity(summary, rows, faces, progress=progress)
    elif identity:
        notes.append(f"identity metrics skipped: dlib or its model files are not installed ({face_metrics.INSTALL_HINT})")
    if perceptual:
        backends, skipped = perceptual_backends()
        for n in skipped:
            log(n)
        notes += skipped
        add_perceptual(summary, rows, faces, backends, progress=progress)
    if len(rates) < 2:
        notes.append("BD-rates need two or more rates; none computed")
    bd = bd_rate_table(summary, anchors) if len(rates) >= 2 else []
    config = {"faces": len(faces), "rates": rates, "steps": steps, "realism": realism,
              "codecs": names, "seconds": round(time.perf_counter() - t0, 1)}
    return EvalResult(rows, summary, bd, notes, config)


@torch.no_grad()
def tradeoff_point(codec, face, realism: float, rate: float = 0.3, steps: int = DEFAULT_STEPS, identity: bool = True,
                   blob: bytes | None = None) -> dict:
    """One face through a FaSDiff codec at one realism: ``image``, ``bytes``, PSNR and MS-SSIM (distortion,
    for people), identity cosine and distance (for machines; NaN without dlib). The same ``blob`` decoded at
    several realisms is the perception–distortion–identity trade-off of notebook 08."""
    img = data.load_image(face)
    blob = codec.compress(data.to_tensor(img), rate) if blob is None else blob
    out = data.to_image(codec.decompress(blob, steps=steps, realism=realism))
    ident = face_metrics.identity_similarity(img, out) if identity and face_metrics.is_available() else None
    return {"realism": float(realism), "image": out, "bytes": len(blob), "psnr": float(metrics.psnr(img, out)),
            "ms_ssim": float(metrics.ms_ssim(img, out)),
            "identity_cosine": ident.cosine if ident else math.nan, "identity_distance": ident.distance if ident else math.nan}

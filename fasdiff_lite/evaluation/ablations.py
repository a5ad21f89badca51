"""What each idea adds, at equal bytes: paired-bootstrap differences of two decoders, one table and one figure.

An ablation compares decoder A (the method) with decoder B (the method without one idea) on the **same files**:
both use the same compressor, so at each rate they decode the same bytes, and each difference A − B is measured on
the same faces. How sure a difference is comes from a paired bootstrap: the faces (or, for verification, the pairs
within each fold and kind) are drawn again with replacement and A − B recomputed on each draw; the 2.5 and 97.5
percentiles of the draws are the 95 % interval (for the descriptor FD, a biased statistic, those percentiles
reflected around the measured difference: :data:`INTERVAL`). An interval that holds 0 is a difference these faces cannot tell
from none.

    side(faces, gallery, decoded)          one decoder's per-face numbers (dlib descriptors, re-id hits, detail, PSNR)
    paired(a, b, gallery, draws, rng)      {metric: (A, B, A − B, lo, hi)} over the faces
    add_verification(rows, sweep)          each row's verification-accuracy difference, from a pairs sweep's distances
    load(measured, sweep)                  the rows ``benchmarks/decoder_ci.py --json`` wrote, one file per idea
    table(rows), plot(rows)                the ablation table (markdown) and its figure (one panel per metric)

``benchmarks/decoder_ci.py`` measures the rows, ``benchmarks/ablation_table.py`` draws them for the FaSDiff card, and
notebook 07 draws the card's file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import face_metrics, verification
from .bootstrap import interval
from .metrics import frechet_distance, psnr
from .realism import detail_ratio

METRICS = ("reid", "fd", "detail", "psnr")  # measured per face by decoder_ci
SHOWN = ("verification", "reid", "fd", "detail")  # the table's and the figure's columns (PSNR is the cost, not an idea)
LABELS = {"verification": "verification accuracy (points)", "reid": "re-id rank-1", "fd": "descriptor FD (lower: more real)",
          "detail": "detail ratio", "psnr": "PSNR (dB)"}
SCALE = {"verification": 100.0}  # shown in points
DIGITS = {"verification": 2, "reid": 3, "fd": 4, "detail": 3, "psnr": 2}


# ------------------------------------------------------------------------------------------ measuring
def side(faces, gallery: np.ndarray, decoded) -> dict:
    """Per-face numbers of one decoder: dlib descriptors, rank-1 hits against ``gallery`` (the originals'
    descriptors), detail ratios and PSNRs (needs dlib)."""
    probes = face_metrics.descriptors(decoded)
    return {"probes": probes, "hits": face_metrics.rank1_hits(gallery, probes),
            "detail": np.asarray(detail_ratio(list(faces), decoded), dtype=np.float64),
            "psnr": np.array([psnr(f, d) for f, d in zip(faces, decoded)])}


SIDE_KEYS = ("probes", "hits", "detail", "psnr")  # what :func:`side` measures per face


def side_arrays(a: dict, b: dict, rate: float) -> dict:
    """Two decoders' per-face numbers at one rate as flat named arrays (``"a probes @0.1"``, ...): what
    ``benchmarks/decoder_ci.py --json`` saves beside its rows, so that intervals can be drawn again without decoding."""
    return {f"{who} {k} @{rate:g}": np.asarray(s[k]) for who, s in (("a", a), ("b", b)) for k in SIDE_KEYS}


def sides_at(arrays, rate: float) -> tuple[dict, dict]:
    """The two sides :func:`side_arrays` saved at ``rate`` (from a loaded ``.npz``), ready for :func:`paired`."""
    missing = [f"a probes @{rate:g}", f"b probes @{rate:g}"]
    if not all(k in arrays for k in missing):
        raise KeyError(f"no per-face numbers at rate {rate:g} here (saved: "
                       f"{sorted({k.split('@')[1] for k in arrays if '@' in k})})")
    return tuple({k: np.asarray(arrays[f"{who} {k} @{rate:g}"]) for k in SIDE_KEYS} for who in ("a", "b"))


def summary(s: dict, gallery: np.ndarray, i=slice(None)) -> dict:
    """Each metric of one decoder over the faces ``i`` (FD: its descriptors against the same faces' originals)."""
    return {"reid": float(np.mean(s["hits"][i])), "fd": frechet_distance(s["probes"][i], gallery[i]),
            "detail": float(np.mean(s["detail"][i])), "psnr": float(np.mean(s["psnr"][i]))}


# How each metric's interval is read from its bootstrap draws. Re-id, detail and PSNR are means over the faces: the
# percentile interval. The descriptor FD is not a mean: fitted to a resample (a third of its faces repeated, with
# n ≈ 129 faces in 128 dimensions) it comes out larger, the more so the more spread the decoder's descriptors, so the
# draws of FD(A) − FD(B) sit shifted away from the measured difference, and the percentile interval with them (it may
# even leave the measured value outside). The basic bootstrap interval [2θ − q_hi, 2θ − q_lo] reflects the draws
# around the measured difference θ and undoes that shift. Measured on 600 UTKFace validation faces (session 20,
# subsamples of 129; the FaSDiff card, "How sure the FD intervals are"): the percentile interval held the 600-face
# difference in 62 % and 85 % of subsamples, the basic one in 99 % and 97 %.
INTERVAL = {"fd": "basic"}  # every other metric: "percentile"
FD_NOTE = ("FD: the basic bootstrap interval, which corrects FD's small-sample bias; where that bias is large the "
           "measured difference can lie outside it")  # what the scripts print under their tables


def paired(a: dict, b: dict, gallery: np.ndarray, draws: int = 1000, rng: np.random.Generator | None = None,
           level: float = 0.95) -> dict:
    """{metric: (A, B, A − B, lo, hi)}: the ``level`` interval of A − B over ``draws`` draws of the faces with
    replacement, both decoders scored on the same draw (percentile interval; basic for FD: :data:`INTERVAL`)."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    rng = rng if rng is not None else np.random.default_rng(0)
    n = len(gallery)
    sa, sb = summary(a, gallery), summary(b, gallery)
    diffs = {m: np.empty(draws) for m in METRICS}
    for k in range(draws):
        i = rng.integers(0, n, n)
        da, db = summary(a, gallery, i), summary(b, gallery, i)
        for m in METRICS:
            diffs[m][k] = da[m] - db[m]
    out = {}
    for m in METRICS:
        lo, hi = interval(diffs[m], sa[m] - sb[m], level, INTERVAL.get(m, "percentile"))
        out[m] = (sa[m], sb[m], sa[m] - sb[m], lo, hi)
    return out


def as_cells(r: dict) -> dict:
    """:func:`paired`'s result as a row's JSON cells: ``{metric: {a, b, diff, lo, hi}}`` (what :func:`load` reads)."""
    return {m: dict(zip(("a", "b", "diff", "lo", "hi"), v)) for m, v in r.items()}


def interval_text(v, fmt: str) -> str:
    """``A − B [lo, hi]`` of one metric's tuple from :func:`paired`, each number in ``fmt`` with its sign."""
    return f"{v[2]:+{fmt}} [{v[3]:+{fmt}}, {v[4]:+{fmt}}]"


def pair_text(v, fmt: str) -> str:
    """``A / B, A − B [lo, hi]`` of one metric's tuple from :func:`paired` (both sides, then :func:`interval_text`)."""
    return f"{v[0]:{fmt}} / {v[1]:{fmt}}, {interval_text(v, fmt)}"


def add_verification(rows: list[dict], sweep: str | Path, draws: int = 1000) -> list[dict]:
    """Add ``verification`` (A, B, A − B, interval: 10-fold accuracy) to each row whose two codecs (``a``, ``b``, named
    as in the sweep, or as they were measured: ``a_measured_as``) have per-pair distances at the row's rate in the
    verification sweep ``sweep`` (``verification.json`` of ``fasdiff-lite eval --pairs ... --out DIR``; B at its own
    ``rate_b`` where the row has one: equal bytes on another compressor). Rows without both are left as they are."""
    sweep = verification.Sweep(sweep)
    for row in rows:
        ra = sweep.row(row["rate"], row["a"], row.get("a_measured_as"))
        rb = sweep.row(row.get("rate_b", row["rate"]), row["b"], row.get("b_measured_as"))
        if ra is not None and rb is not None:
            d = sweep.difference(ra, rb, draws)
            row["verification"] = {k: d[k] for k in ("a", "b", "diff", "lo", "hi", "pairs")}
    return rows


# ------------------------------------------------------------------------------------------ reading, showing
def load(measured: dict[str, str | Path], sweep: str | Path | None = None, draws: int = 1000,
         names: dict[str, str] | None = None) -> list[dict]:
    """The rows of each idea (``{"the LFE": "runs/measure28/lfe.json", ...}``: files of ``decoder_ci.py --json``),
    each with its ``idea``, and their verification differences when ``sweep`` is given. ``names``: the codecs' names
    to show instead of the ones they were measured under (a run's folder, shipped since as a name); the sweep is
    searched under both."""
    rows = []
    for idea, path in measured.items():
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no measured rows for {idea!r} (benchmarks/decoder_ci.py --json writes them)")
        for r in json.loads(path.read_text()):
            row = dict(r, idea=idea)
            for side in ("a", "b"):
                if names and row[side] in names:
                    row[f"{side}_measured_as"], row[side] = row[side], names[row[side]]
            rows.append(row)
    return add_verification(rows, sweep, draws) if sweep is not None else rows


def face_set(row: dict) -> str:
    """The held-out set a row was measured on (``face_sets.VALIDATION_SETS``; rows measured before decoder_ci
    recorded it are the shared faces')."""
    return row.get("face_set", "shared")


def shown(rows: list[dict]) -> tuple[str, ...]:
    """The columns of :data:`SHOWN` that some row measured (a table without a verification sweep has no such column)."""
    return tuple(m for m in SHOWN if any(m in r for r in rows))


def excludes_zero(cell: dict | None) -> bool:
    """Whether a difference's interval lies wholly on one side of zero."""
    return cell is not None and (cell["lo"] > 0 or cell["hi"] < 0)


def cell_text(row: dict, metric: str) -> str:
    c = row.get(metric)
    if c is None:
        return "not measured"
    s, f = SCALE.get(metric, 1.0), DIGITS[metric]
    text = f"{s * c['diff']:+.{f}f} [{s * c['lo']:+.{f}f}, {s * c['hi']:+.{f}f}]"
    return f"**{text}**" if excludes_zero(c) else text


def rate_text(row: dict) -> str:
    """A row's rate, and B's after a slash where B ran at another (equal bytes on another compressor)."""
    return f"{row['rate']:g}" + (f" / {row['rate_b']:g}" if "rate_b" in row else "")


def table(rows: list[dict], metrics=SHOWN) -> str:
    """One markdown row per idea and rate: each metric's A − B with its 95 % interval (bold: the interval excludes
    zero), and the bytes of both sides (an ablation is at equal bytes only when they match)."""
    head = "| idea (A − B) | rate | bytes A / B | " + " | ".join(LABELS[m] for m in metrics) + " |"
    out = [head, "|" + "---|" * (3 + len(metrics))]
    for r in rows:
        out.append(f"| {r['idea']} | {rate_text(r)} | {r['bytes_a']:.0f} / {r['bytes_b']:.0f} | "
                   + " | ".join(cell_text(r, m) for m in metrics) + " |")
    return "\n".join(out)


def plot(rows: list[dict], metrics=SHOWN, fig=None):
    """One panel per metric; one line per idea and rate: A − B (dot) and its 95 % interval (bar), filled where the
    interval excludes zero; the dashed line is "adds nothing". Returns the figure."""
    import matplotlib.pyplot as plt

    labels = [f"{r['idea']} · rate {rate_text(r)}" for r in rows]
    if fig is None:
        fig = plt.figure(figsize=(3.2 * len(metrics), 0.9 + 0.32 * max(len(rows), 1)))
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    ideas = list(dict.fromkeys(r["idea"] for r in rows))
    for ax, m in zip(axes, metrics):
        s = SCALE.get(m, 1.0)
        for y, r in enumerate(rows):
            c = r.get(m)
            if c is None:
                continue
            color = f"C{ideas.index(r['idea'])}"
            ax.plot([s * c["lo"], s * c["hi"]], [y, y], color=color, lw=2)
            ax.plot([s * c["diff"]], [y], "o", color=color, mfc=color if excludes_zero(c) else "white")
        ax.axvline(0, color="0.4", ls="--", lw=1)
        ax.set_title(LABELS[m], fontsize=9)
        ax.set_xlabel("A − B")
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels(labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle("A − B (A: the method, B: without the idea; the same bytes) with its 95 % interval; "
                 "filled: the interval excludes zero", fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["METRICS", "SHOWN", "side", "summary", "paired", "add_verification", "load", "face_set", "shown", "excludes_zero",
           "table", "plot"]

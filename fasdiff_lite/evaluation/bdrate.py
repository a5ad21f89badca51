"""Bjøntegaard delta rate (BD-rate): how many more (or fewer) bytes one codec needs than another for the
same quality, averaged over the quality range both reach.

    rate ▲  anchor A                  For each curve, log(rate) as a function of quality; integrate both
         │   ╲   codec B              over the shared quality interval; the mean gap Δ of log rates gives
         │    ╲   ╲                   BD-rate = 100·(exp(Δ) − 1) %.  −50 %: B needs half A's bytes.
         └──────────▶ quality (PSNR, identity similarity, ...)

:func:`bd_rate` for two curves, :func:`bd_rate_table` for every codec of an evaluation summary against
each anchor (JPEG, the plain hyperprior), :func:`format_bd_table` to print it. Notebook 08 explains it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import NamedTuple

import numpy as np


class BDRate(NamedTuple):
    """A Bjøntegaard delta rate: ``percent`` (NaN when undefined) and, then, ``reason``."""

    percent: float
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.percent:+.1f}%" if math.isfinite(self.percent) else "n/a"


def _curve(rate, metric) -> tuple[np.ndarray, np.ndarray]:
    """(metric, log rate), finite points only, sorted by metric, equal metric values averaged."""
    r, m = np.asarray(rate, dtype=float).ravel(), np.asarray(metric, dtype=float).ravel()
    if r.shape != m.shape:
        raise ValueError(f"{r.size} rates but {m.size} metric values; they must pair up")
    if np.any(r[np.isfinite(r)] <= 0):
        raise ValueError("rates (bytes or bpp) must be positive")
    keep = np.isfinite(r) & np.isfinite(m)
    m, logr = m[keep], np.log(r[keep])
    uniq = np.unique(m)
    return uniq, np.array([logr[m == u].mean() for u in uniq])


def bd_rate(rate_a, metric_a, rate_b, metric_b, method: str = "pchip") -> BDRate:
    """Bjøntegaard delta rate of curve B against anchor curve A: the average % change in rate (bytes or
    bpp) B needs for the same quality. −50 means B needs half the bytes of A; positive means B needs more.

    The recipe (G. Bjøntegaard, VCEG-M33, 2001), for any "higher is better" metric (PSNR, identity):

    1. on each curve, express log(rate) as a function of the metric;
    2. ``method="pchip"`` (the default): piecewise cubic Hermite interpolation through the points, as
       recent implementations (JVET's, for example) do; ``method="poly"`` (Bjøntegaard's original): a
       least-squares polynomial of degree min(3, n − 1) (so 3 rates give a quadratic, 2 a line). We default
       to pchip because it never overshoots the points: on 3-rate curves that saturate (identity
       similarity at 64 px does) the quadratic can dip below the lowest measured rate inside the interval
       and double the BD-rate;
    3. integrate both over the metric interval the two curves share;
    4. the mean difference of log rates, Δ, gives ``100·(exp(Δ) − 1)`` percent.

    Returns ``BDRate(nan, reason)`` when a curve has fewer than 2 distinct points or the curves' metric
    ranges do not overlap (no quality both reach: the comparison is undefined, not zero).
    """
    if method not in ("poly", "pchip"):
        raise ValueError(f"method must be 'poly' or 'pchip', not {method!r}")
    ma, la = _curve(rate_a, metric_a)
    mb, lb = _curve(rate_b, metric_b)
    for name, m in (("A", ma), ("B", mb)):
        if len(m) < 2:
            return BDRate(math.nan, f"curve {name} has {len(m)} distinct finite point(s); need at least 2")
    lo, hi = max(ma[0], mb[0]), min(ma[-1], mb[-1])
    if not hi > lo:
        return BDRate(math.nan, f"no overlap: A spans {ma[0]:.4g}..{ma[-1]:.4g}, B {mb[0]:.4g}..{mb[-1]:.4g}")
    if method == "poly":
        ints = []
        for m, logr in ((ma, la), (mb, lb)):
            p = np.polyint(np.polyfit(m, logr, min(3, len(m) - 1)))
            ints.append(np.polyval(p, hi) - np.polyval(p, lo))
    else:
        from scipy.interpolate import PchipInterpolator  # here: slow to import, and only this method needs it

        ints = [PchipInterpolator(m, logr).integrate(lo, hi) for m, logr in ((ma, la), (mb, lb))]
    delta = (ints[1] - ints[0]) / (hi - lo)
    return BDRate(float(100 * (math.exp(delta) - 1)))


BD_ANCHORS = ("jpeg", "hyperprior")
BD_METRICS = {"psnr": "PSNR", "identity_cosine": "identity", "identity_distance": "identity distance",
              "accuracy_mean": "verification accuracy", "auc": "verification AUC"}
LOWER_IS_BETTER = {"identity_distance"}  # BD-rate runs on the negated values of these


def bd_rate_table(summary: list[dict], anchors=BD_ANCHORS, metrics_=tuple(BD_METRICS), rate_key: str = "bytes",
                  method: str = "pchip") -> list[dict]:
    """BD-rate of every codec of a :func:`summarize` table against each anchor present, on each metric
    present: one dict per (codec, anchor, metric) with ``bd_rate_pct`` (NaN when undefined) and ``note``."""
    curves = defaultdict(list)
    for r in summary:
        curves[r["codec"]].append(r)
    out = []
    for anchor in anchors:
        if anchor not in curves:
            continue
        for metric in metrics_:
            a = curves[anchor]
            if not any(metric in r for r in a):
                continue
            for codec, b in curves.items():
                if codec == anchor:
                    continue
                sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
                bd = bd_rate([r[rate_key] for r in a], [sign * r.get(metric, math.nan) for r in a],
                             [r[rate_key] for r in b], [sign * r.get(metric, math.nan) for r in b], method)
                out.append({"codec": codec, "anchor": anchor, "metric": metric, "bd_rate_pct": bd.percent,
                            "note": bd.reason})
    return out


def format_bd_table(bd_rows: list[dict]) -> str:
    """:func:`bd_rate_table` as Markdown: one line per codec, one column per (anchor, metric); n/a cells
    are explained under the table."""
    cols = list(dict.fromkeys((r["anchor"], r["metric"]) for r in bd_rows))
    codecs = list(dict.fromkeys(r["codec"] for r in bd_rows))
    cell = {(r["codec"], r["anchor"], r["metric"]): r for r in bd_rows}
    lines = ["| codec | " + " | ".join(f"vs {a} · {BD_METRICS.get(m, m)}" for a, m in cols) + " |",
             "|" + "---|" * (len(cols) + 1)]
    notes = []
    for c in codecs:
        cells = []
        for a, m in cols:
            r = cell.get((c, a, m))
            cells.append("" if r is None else str(BDRate(r["bd_rate_pct"], r["note"])))
            if r is not None and r["note"]:
                notes.append(f"- {c} vs {a} on {BD_METRICS.get(m, m)}: {r['note']}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))

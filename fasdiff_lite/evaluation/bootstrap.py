"""The interval of a bootstrap: one place for the choice every measurement here makes (ablations, verification, groups).

A paired bootstrap resamples the faces (or pairs) with replacement, measures the difference on each draw, and reads a
95 % interval off the draws. Two ways are used (both in Davison & Hinkley, *Bootstrap Methods and their Application*, 1997, ch. 5):

- ``"percentile"``: the draws' 2.5 and 97.5 percentiles. Right when the statistic is unbiased on a resample (a mean).
- ``"basic"``: those percentiles reflected around the measured value, 2θ − q_hi and 2θ − q_lo. It corrects a bias the
  resampling adds, as a Fréchet distance fitted to a resample has (measured: ``benchmarks/fd_interval_coverage.py``).

Which one a measurement uses was checked by coverage (does the interval of a subsample hold the whole set's value
about 95 % of the time?): ``benchmarks/fd_interval_coverage.py`` for FD, ``benchmarks/verification_interval_coverage.py``
for verification accuracy.
"""
from __future__ import annotations

import numpy as np

KINDS = ("percentile", "basic")


def interval(draws: np.ndarray, measured: float, level: float = 0.95, kind: str = "percentile") -> tuple[float, float]:
    """The ``level`` interval of a difference measured as ``measured`` from its bootstrap ``draws``: ``"percentile"``
    (the draws' quantiles) or ``"basic"`` (those quantiles reflected around ``measured``: 2θ − q_hi, 2θ − q_lo)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'percentile' or 'basic', not {kind!r}")
    tail = 100 * (1 - level) / 2
    lo, hi = (float(q) for q in np.percentile(draws, [tail, 100 - tail]))
    if kind == "basic":
        return 2 * measured - hi, 2 * measured - lo
    return lo, hi

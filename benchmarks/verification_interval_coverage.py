"""Do the paired-bootstrap intervals of a verification-accuracy difference hold the truth? A coverage check.

    python benchmarks/verification_interval_coverage.py                      # two codec pairs at rate 0.1 (~15 min)
    python benchmarks/verification_interval_coverage.py --pair fasdiff fasdiff-plain --rate 0.3 --rows DIR/verification.json

``benchmarks/verification_ci.py`` (and the ablation table) give A − B on the 6,000 ``celeba_identity`` pairs with a
95 % interval from resampling the pairs within each fold and kind (``evaluation.verification.paired_difference``).
Here the difference on all the pairs stands in for the truth; then ``--reps`` subsets of ``--share`` of them (drawn
within each fold and kind, so each keeps the protocol's folds and mix) each get that bootstrap (``--draws`` draws) and
both interval kinds, percentile and basic (:func:`fasdiff_lite.evaluation.bootstrap.interval`). Prints how often each
holds the truth (about 0.95 is right; lower is overconfident) and the median shift of the percentile interval's
centre from the subset's own difference (a bias the resampling adds shows there; ``fd_interval_coverage.py`` shifts
the draws' median instead: ``paired_difference`` returns the interval, not the draws). Only the per-pair distances are read: no face is decoded.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fasdiff_lite.evaluation import bootstrap, verification  # noqa: E402

# A − B: two of the sweep's rows with per-pair distances (the compressors' rows predate them): a small difference (the
# LFE's share) and the wavelet branch's (with the LFE)
PAIRS = (("fasdiff", "fasdiff-nolfe"), ("fasdiff", "fasdiff-plain"))


def subset(same: np.ndarray, folds: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``share`` of the pairs of each fold and kind, drawn without replacement (sorted)."""
    keep = []
    for k in np.unique(folds):
        for kind in (True, False):
            members = np.flatnonzero((folds == k) & (same == kind))
            if len(members):
                keep.append(rng.choice(members, size=max(2, round(share * len(members))), replace=False))
    return np.sort(np.concatenate(keep))


def coverage(a: np.ndarray, b: np.ndarray, same: np.ndarray, folds: np.ndarray, share: float, reps: int,
             draws: int, seed: int = 0) -> dict:
    """How often each interval kind of a ``share`` subset holds the difference on all pairs (see the module text)."""
    truth = verification.paired_difference(a, b, same, folds, draws=1)["diff"]
    rng = np.random.default_rng(seed)
    held = {kind: 0 for kind in bootstrap.KINDS}
    shifts = []
    for r in range(reps):
        i = subset(same, folds, share, rng)
        kept = {}
        for kind in bootstrap.KINDS:  # the same draws (same seed) for both kinds
            kept[kind] = verification.paired_difference(a[i], b[i], same[i], folds[i], draws=draws, seed=r, kind=kind)
            held[kind] += kept[kind]["lo"] <= truth <= kept[kind]["hi"]
        p = kept["percentile"]
        shifts.append((p["lo"] + p["hi"]) / 2 - p["diff"])  # the draws' centre against the subset's own difference
    return {"truth": truth, **{kind: held[kind] / reps for kind in held}, "shift": float(np.median(shifts))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=str(ROOT / "checkpoints" / "verification_celeba" / "verification.json"))
    ap.add_argument("--pair", nargs=2, action="append", metavar=("A", "B"), help="codecs A B (default: PAIRS)")
    ap.add_argument("--rate", type=float, nargs="+", default=[0.1])
    ap.add_argument("--share", type=float, default=0.25, help="share of the pairs in each subset (default 0.25)")
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--draws", type=int, default=200)
    args = ap.parse_args(argv)
    if not 0 < args.share < 1:
        raise SystemExit(f"--share must be between 0 and 1, got {args.share}")
    sweep = verification.Sweep(args.rows)
    pairs = sweep.pairs
    same, folds = np.asarray(pairs.same, dtype=bool), np.asarray(pairs.fold)
    print(f"{len(same)} pairs ({sweep.about['pairs']}); {args.reps} subsets of {args.share:.0%} (within folds and "
          f"kinds); {args.draws} paired bootstrap draws each; 95 % intervals\n")
    print("| A − B | rate | difference on all pairs (points) | percentile interval holds it | basic interval holds it "
          "| median shift of the percentile interval's centre from the subset's difference (points) |")
    print("|---|---|---|---|---|---|")
    for a, b in args.pair or PAIRS:
        for rate in args.rate:
            ra, rb = sweep.row(rate, a), sweep.row(rate, b)
            if ra is None or rb is None:
                print(f"| {a} − {b} | {rate:g} | not in the sweep with per-pair distances | | | |")
                continue
            c = coverage(np.asarray(ra["distances"]), np.asarray(rb["distances"]), same, folds, args.share, args.reps,
                         args.draws)
            print(f"| {a} − {b} | {rate:g} | {100 * c['truth']:+.2f} | {c['percentile']:.2f} | {c['basic']:.2f} | "
                  f"{100 * c['shift']:+.3f} |", flush=True)
    print(f"\nthe sweep's intervals are {verification.INTERVAL} ones (evaluation.verification.INTERVAL)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

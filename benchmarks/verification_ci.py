"""What one codec adds over another on face verification, with a paired-bootstrap interval (issue 28's ablations).

    python benchmarks/verification_ci.py fasdiff fasdiff-nolfe                  # every rate both were measured at
    python benchmarks/verification_ci.py runs/fasdiff28 fasdiff --rates 0.1 0.2 --rows runs/verification_celeba/verification.json

Reads a verification sweep (``fasdiff-lite eval --pairs … --out DIR``: ``verification.json`` and the per-pair
distances in ``verification_distances.npz``) and, for each rate at which both codecs have a row with distances, prints
the difference of their 10-fold verification accuracy (A − B, in points) with its 95 % interval from 1,000 paired
bootstrap draws of the pairs within each fold and kind (``evaluation.verification.paired_difference``). An interval that holds
0 is a difference these pairs cannot tell from none. Codecs are named as in the sweep (a shipped name or a folder).
"""
from __future__ import annotations

import argparse

from fasdiff_lite.evaluation import verification


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="codec A (as named in the sweep)")
    ap.add_argument("b", help="codec B, the one A is compared with")
    ap.add_argument("--rows", default="runs/verification_celeba/verification.json")
    ap.add_argument("--rates", type=float, nargs="*", default=None, help="only these rates (default: all shared)")
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args(argv)
    sweep = verification.Sweep(args.rows)
    rates = sweep.rates(args.a, args.b)
    if args.rates:
        rates = [r for r in rates if r in set(args.rates)]
    if not rates:
        raise SystemExit(f"no rate where both {args.a} and {args.b} have per-pair distances in {sweep.path} "
                         f"(codecs with distances: {', '.join(sweep.codecs()) or 'none'}; rows of sweeps before session 14 have none)")
    pairs = sweep.pairs
    print(f"{args.a} − {args.b}: 10-fold verification accuracy on {len(pairs)} pairs ({sweep.about['pairs']}), "
          f"{args.draws} paired bootstrap draws within folds")
    print("| rate | A bpp | B bpp | A accuracy | B accuracy | A − B (points) | 95 % interval |")
    print("|---|---|---|---|---|---|---|")
    for rate in rates:
        ra, rb = sweep.row(rate, args.a), sweep.row(rate, args.b)
        d = sweep.difference(ra, rb, args.draws)
        print(f"| {rate:g} | {ra['bpp']:.3f} | {rb['bpp']:.3f} | {d['a']:.4f} | {d['b']:.4f} | "
              f"{100 * d['diff']:+.2f} | [{100 * d['lo']:+.2f}, {100 * d['hi']:+.2f}] |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

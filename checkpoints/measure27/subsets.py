"""The same paired measurement on fewer faces: A − B of each metric on 600 faces against its value on subsets of n
(the first n, and 200 random subsets), from a ``decoder_ci.py --json`` run's per-face numbers (no decoding).
Does a 129-face FD difference say what the 600-face one says? (Re-id on a subset: its faces' rank-1 hits as
measured, against the gallery of all the faces.)

    python checkpoints/measure27/subsets.py runs/measure27/lfe600.npz --n 129
"""
from __future__ import annotations

import argparse

import numpy as np

from fasdiff_lite.evaluation import ablations


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("npz")
    ap.add_argument("--n", type=int, default=129)
    ap.add_argument("--subsets", type=int, default=200)
    args = ap.parse_args(argv)
    with np.load(args.npz) as z:
        saved = dict(z)
    rates = sorted({float(k.split("@")[1]) for k in saved if "@" in k})
    gallery = saved["gallery"]
    rng = np.random.default_rng(0)
    print(f"{args.npz}: A − B on all {len(gallery)} faces, on the first {args.n}, and over {args.subsets} random "
          f"subsets of {args.n} (mean; 2.5–97.5 % of the subsets; share of subsets on the other side of zero)\n")
    print("| rate | metric | all | first n | subsets: mean [2.5 %, 97.5 %] | other sign |")
    print("|---|---|---|---|---|---|")
    for rate in rates:
        a, b = ablations.sides_at(saved, rate)
        diff = lambda i: {m: ablations.summary(a, gallery, i)[m] - ablations.summary(b, gallery, i)[m]  # noqa: E731
                          for m in ("reid", "fd")}
        full, first = diff(slice(None)), diff(slice(0, args.n))
        subs = [diff(rng.choice(len(gallery), args.n, replace=False)) for _ in range(args.subsets)]
        for m, fmt in (("reid", "+.3f"), ("fd", "+.4f")):
            v = np.array([s[m] for s in subs])
            other = np.mean(np.sign(v) != np.sign(full[m]))
            print(f"| {rate:g} | {m} | {full[m]:{fmt}} | {first[m]:{fmt}} | {v.mean():{fmt}} [{np.percentile(v, 2.5):{fmt}}, "
                  f"{np.percentile(v, 97.5):{fmt}}] | {other:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The reship's verification rows into a sweep's rows file (session 26): the codecs shipped until now keep their rows
under their run folders' names (the d28 runs: out of the cards, still there to compare), the v25 runs' rows come in
under the names they are shipped as, and x_fid's (hf-compressor's) rows measured again with per-pair distances replace
the ones without (the same accuracies). Other rows of SRC (runs not shipped) come in under their folders' names; its
rows under the shipped names are the d28 runs' (SRC began as a copy of the committed sweep) and stay out.

    python checkpoints/measure26/rows.py runs/verification25x/verification.json checkpoints/verification_celeba/verification.json
    python tools/refresh_verification.py --rows checkpoints/verification_celeba/verification.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from fasdiff_lite.evaluation import verification

RUNS = "/work/main/runs"
RETIRED = {"fasdiff": f"{RUNS}/d28-full-export", "fasdiff-nolfe": f"{RUNS}/d28-nolfe-export",
           "fasdiff-plain": f"{RUNS}/d28-plain-export"}  # shipped in session 20, replaced in 26
SHIPPED = {f"{RUNS}/v25-full-export": "fasdiff", f"{RUNS}/v25-nolfe-export": "fasdiff-nolfe",
           f"{RUNS}/v25-plain-export": "fasdiff-plain"}


def main(src: str, dest: str) -> None:
    dest = Path(dest)
    about = {k: v for k, v in json.loads(dest.read_text()).items() if k != "rows"}
    have = {r["codec"] for r in verification.load_rows(dest, **about)}
    if not have & set(RETIRED.values()):  # once: the retired codecs' rows leave their shipped names
        print(f"{dest}: {verification.rename_codecs(dest, RETIRED)} row(s) of the d28 runs renamed to their folders")
    new = [dict(r, codec=SHIPPED.get(r["codec"], r["codec"])) for r in verification.load_rows(src, **about)
           if r["codec"] not in {"original", *RETIRED} and r.get("distances") is not None]  # (SRC's shipped names: d28's)
    if not new:
        raise SystemExit(f"{src} holds no rows with per-pair distances measured on {dest}'s pairs and setting")
    verification.save_rows(new, dest, **about)
    for r in new:
        print(f"{r['codec']} {r['kind']} {r['value']:g}: accuracy {r['accuracy_mean']:.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])

"""Two decoders measured in two decoder_ci.py runs, paired again without decoding: their per-face numbers (the .npz
decoder_ci.py --json writes beside its rows) on the same faces, A − B with the same paired bootstrap.

    python checkpoints/measure28b/offline_pairs.py runs/measure28b/film-utk.npz:a checkpoints/measure27/lfe600.npz:b \
        --rates 0 0.1 0.15 0.2 --json runs/measure28b/filmshare-utk.json

Each side is FILE.npz:a or FILE.npz:b (which decoder of that run); both runs must hold the same faces (their galleries,
the originals' descriptors, are compared) and the decodes are deterministic (a file's noise is seeded by its bytes), so
the pairing is the one a decoder_ci.py run of A against B would make. Bytes and names come from each run's .json rows.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fasdiff_lite.evaluation.ablations import FD_NOTE, SIDE_KEYS, as_cells, interval_text, paired


def side(spec: str, rate: float) -> tuple[dict, np.ndarray, dict]:
    path, who = spec.rsplit(":", 1)
    if who not in ("a", "b"):
        raise SystemExit(f"{spec}: a side is FILE.npz:a or FILE.npz:b")
    z = np.load(path)
    arrays = {k: np.asarray(z[f"{who} {k} @{rate:g}"]) for k in SIDE_KEYS}
    row = next(r for r in json.loads(Path(path).with_suffix(".json").read_text()) if r["rate"] == rate)
    return arrays, np.asarray(z["gallery"]), {"name": row[who], "bytes": row[f"bytes_{who}"], "faces": row["faces"],
                                              "face_set": row.get("face_set", "shared"), "steps": row["steps"],
                                              "realism": row["realism"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rates", type=float, nargs="+", required=True)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for rate in args.rates:
        (sa, ga, ma), (sb, gb, mb) = side(args.a, rate), side(args.b, rate)
        if ga.shape != gb.shape or not np.allclose(ga, gb, atol=1e-6) or ma["face_set"] != mb["face_set"]:
            raise SystemExit(f"rate {rate:g}: the two runs did not measure the same faces")
        if not rows:
            print(f"A = {ma['name']}, B = {mb['name']}; {ma['steps']} steps, realism {ma['realism']:g}; {ma['faces']} held-out "
                  f"faces ({ma['face_set']}); {args.draws} paired bootstrap draws, paired again from {args.a} and {args.b} "
                  f"(no new decode); A − B with its 95 % interval (FD: lower is better; {FD_NOTE})\n")
            print("| rate | bytes A / B | re-id A / B | re-id A − B [95 %] | FD A / B | FD A − B [95 %] | detail A / B | "
                  "detail A − B [95 %] | PSNR A − B [95 %] |\n|---|---|---|---|---|---|---|---|---|")
        r = paired(sa, sb, ga, args.draws, rng)
        rows.append({"rate": rate, "a": ma["name"], "b": mb["name"], "steps": ma["steps"], "realism": ma["realism"],
                     "bytes_a": ma["bytes"], "bytes_b": mb["bytes"], "faces": ma["faces"], "face_set": ma["face_set"],
                     **as_cells(r)})
        cell = lambda m, f: interval_text(r[m], f)  # noqa: E731
        print(f"| {rate:g} | {ma['bytes']:.0f} / {mb['bytes']:.0f} | {r['reid'][0]:.3f} / {r['reid'][1]:.3f} | "
              f"{cell('reid', '.3f')} | {r['fd'][0]:.4f} / {r['fd'][1]:.4f} | {cell('fd', '.4f')} | "
              f"{r['detail'][0]:.2f} / {r['detail'][1]:.2f} | {cell('detail', '.3f')} | {cell('psnr', '.2f')} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What each idea adds at equal bytes, as one table and one figure (issue 28's ablation table, for the FaSDiff card).

    python benchmarks/ablation_table.py --idea "the LFE=runs/measure28/lfe.json" \\
        --idea "the bigger prior=runs/measure28/prior.json" --idea "the fusion=runs/measure28/fusion.json" \\
        --sweep runs/verification_celeba/verification.json --out fasdiff_lite/assets/fasdiff

Each ``--idea LABEL=FILE`` is the ``--json`` of ``benchmarks/decoder_ci.py --codec A --against B`` (A: the method, B:
it without that idea; the same compressor, so the same bytes): re-id, descriptor FD and detail with their paired
bootstrap intervals over the faces. ``--sweep`` adds verification accuracy where the face-verification sweep
(``fasdiff-lite eval --pairs ... --out DIR``) holds both codecs, under the names decoder_ci used, at that rate
(per-pair bootstrap within folds); ``--name MEASURED=SHOWN`` shows a run's folder by the name it was shipped as
(the sweep is searched under both). Prints the markdown table; ``--out`` also writes ``ablations.png`` and
``ablations.json`` (what notebook 07 draws). Bold: a 95 % interval that excludes zero.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fasdiff_lite.evaluation import ablations  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idea", action="append", default=[], required=True, metavar="LABEL=FILE",
                    help="an idea and the decoder_ci.py --json file that measured it (repeat, in the table's order)")
    ap.add_argument("--sweep", default=None, help="a verification sweep's verification.json (adds verification accuracy)")
    ap.add_argument("--draws", type=int, default=1000, help="paired bootstrap draws of the pairs (verification)")
    ap.add_argument("--name", action="append", default=[], metavar="MEASURED=SHOWN",
                    help="show a codec measured under a folder's path by a name (a run shipped since: the same weights)")
    ap.add_argument("--out", default=None, help="a folder for ablations.png and ablations.json")
    ap.add_argument("--stem", default="ablations", help="the two files' name without its extension (default "
                    "ablations; the FaSDiff card keeps the UTKFace faces' table as ablations_utkface)")
    args = ap.parse_args(argv)
    for flag, given in (("--idea", args.idea), ("--name", args.name)):
        bad = [i for i in given if "=" not in i or not all(p.strip() for p in i.split("=", 1))]
        if bad:
            raise SystemExit(f"{flag} takes {'IDEA=FILE' if flag == '--idea' else 'MEASURED=SHOWN'}, got {', '.join(bad)}")
    measured = dict(i.split("=", 1) for i in args.idea)
    rows = ablations.load(measured, args.sweep, draws=args.draws, names=dict(n.split("=", 1) for n in args.name))
    faces = "/".join(str(n) for n in sorted({r["faces"] for r in rows}))
    sets = " and ".join(sorted({ablations.face_set(r) for r in rows}))
    pairs = next((r["verification"]["pairs"] for r in rows if "verification" in r), None)
    print(f"A − B for each idea (A: the method; B: without it; the same bytes), {faces} held-out faces ({sets})"
          f"{f', verification on {pairs} pairs' if pairs else ''}; 95 % paired-bootstrap intervals, bold where they "
          f"exclude zero ({ablations.FD_NOTE})\n")
    metrics = ablations.shown(rows)  # verification only where a sweep measured it
    print(ablations.table(rows, metrics))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        png, js = out / f"{args.stem}.png", out / f"{args.stem}.json"
        ablations.plot(rows, metrics).savefig(png, dpi=110)
        js.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"\nwrote {png} and {js}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

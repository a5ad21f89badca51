"""Who loses identity: the shipped compressors' identity distance and re-id rank-1 by age group, gender and race, on
UTKFace's 1,000 validation faces (never trained on), at two rates.

    python benchmarks/identity_by_group.py                               # hf-compressor and hyperprior, rates 0.1 0.5
    python benchmarks/identity_by_group.py --codecs hf-compressor fasdiff --rates 0.1 0.3 --limit 200

Prints a Markdown table (evaluation/groups.py: means with bootstrap 95 % intervals over each group's faces) and
writes it with the raw rows to ``--out`` (JSON). Takes about 4 minutes on one CPU thread for two codecs at two
rates (dlib describes 5,000 faces).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fasdiff_lite import face_sets, settings
from fasdiff_lite.evaluation import face_metrics, groups
from fasdiff_lite.models import zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codecs", nargs="+", default=["hf-compressor", "hyperprior"])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.5])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("runs/identity_by_group.json"))
    a = ap.parse_args()
    settings.cpu_threads(a.threads)
    t0 = time.time()
    faces, names = face_sets.load_utkface(64, "val", limit=a.limit)
    gallery = face_metrics.descriptors(faces)
    results = {c: groups.measure(zoo.cached(c), faces, names, a.rates, gallery) for c in a.codecs}
    print(f"{len(faces)} UTKFace validation faces at 64 px; dlib identity distance (lower = more alike) / re-id "
          "rank-1 among them, mean [bootstrap 95 % interval]")
    table = groups.format_table(results)
    print(table)
    print(f"({time.time() - t0:.0f} s on this machine, {a.threads} thread(s))")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"n_faces": len(faces), "results": {c: {str(r): rows for r, rows in v.items()}
                                                                     for c, v in results.items()},
                                 "table": table}, indent=1))


if __name__ == "__main__":
    main()

"""Hostile ``.fsd`` files through every shipped learned decoder, each batch in a subprocess so a crash is seen.

    python benchmarks/fuzz.py                  # 10,000 mutated files per decoder (~15 min on 2 CPU cores)
    python benchmarks/fuzz.py --n 500          # a quick run
    FASDIFF_FAST=1 python benchmarks/fuzz.py   # 40 per decoder: a smoke run

Valid files (the sample faces at rates 0, 0.5 and 1, made by each decoder's own encoder) are mutated with
``bitstream.mutate`` — flipped, overwritten, inserted or cut bytes, and, with the container left valid, another size,
rate or model id in the header, or an emptied or random stream — and decoded by the decoder that made them (FaSDiff
decoders at 1 step). A child process decodes a batch and reports each file; a child that dies (a crash, a
segfault) is noticed by its exit code, and its batch is re-run one file per process to find the file. Prints a table:
per decoder, how many mutations were refused with a ``BitstreamError``, decoded (only a mutation that leaves the
bytes as they were may decode), decoded with NaN, raised anything else, crashed or hung (over ``--timeout`` s), and
the slowest decode.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fasdiff_lite import bitstream, data, settings


def worker(batch_file: str, out_file: str) -> None:
    """Decode every file of a batch; one JSON line per file: outcome and milliseconds."""
    import torch

    from fasdiff_lite.models import zoo

    torch.set_num_threads(1)
    batch = json.loads(Path(batch_file).read_text())
    with open(out_file, "w") as out:
        for item in batch:
            blob = bytes.fromhex(item["blob"])
            model = zoo.cached(item["codec"])
            kw = {"steps": 1} if zoo.kind_of(item["codec"]) == "codec" else {}
            t0 = time.perf_counter()
            try:
                x = model.decompress(blob, **kw)
                outcome = "decoded" if torch.isfinite(x).all() else "nan"
                if outcome == "decoded" and not item["unchanged"]:
                    outcome = "decoded a changed file"
            except bitstream.BitstreamError as e:
                outcome = "refused" if str(e) and "\n" not in str(e) else "refused (bad message)"
            except Exception as e:  # noqa: BLE001 - everything else is a finding
                outcome = f"other: {type(e).__name__}"
            out.write(json.dumps({"i": item["i"], "outcome": outcome, "ms": (time.perf_counter() - t0) * 1e3}) + "\n")
            out.flush()


def run_batch(items: list[dict], timeout: float) -> list[dict]:
    """Decode ``items`` in one child process; on a crash or a hang, each file of the batch alone."""
    with tempfile.TemporaryDirectory() as tmp:
        batch, out = Path(tmp) / "batch.json", Path(tmp) / "out.jsonl"
        batch.write_text(json.dumps(items))
        cmd = [sys.executable, __file__, "--worker", str(batch), str(out)]
        try:
            rc = subprocess.run(cmd, timeout=timeout * len(items) + 60, capture_output=True).returncode
        except subprocess.TimeoutExpired:
            rc = None
        done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    if rc == 0 and len(done) == len(items):
        return done
    if len(items) == 1:
        return [{"i": items[0]["i"], "outcome": "hang" if rc is None else f"crash (exit {rc})", "ms": float("nan")}]
    seen = {d["i"] for d in done}
    return done + [r for it in items if it["i"] not in seen for r in run_batch([it], timeout)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=settings.pick(10_000, 40), help="mutated files per decoder")
    p.add_argument("--codecs", nargs="+", default=None, help="decoders (default: every shipped learned one)")
    p.add_argument("--batch", type=int, default=500, help="files per child process")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a single decode may take")
    p.add_argument("--seed", type=int, default=20251125)
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(*args.worker)

    from fasdiff_lite.models import zoo

    codecs = args.codecs or (zoo.available("compressor") + zoo.available("codec"))
    faces = data.sample_faces(64)
    rng = random.Random(args.seed)
    print(f"{args.n} mutated files per decoder; seed {args.seed}; batches of {args.batch} in child processes")
    print("| decoder | files | refused | decoded (unchanged) | decoded a changed file | NaN | other error | crash | hang | slowest ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in codecs:
        model = zoo.cached(name)
        seeds = [model.compress(data.to_tensor(f), r) for f in faces for r in (0.0, 0.5, 1.0)]
        items = []
        for i in range(args.n):
            src = seeds[i % len(seeds)]
            blob = bitstream.mutate(src, rng)
            items.append({"i": i, "codec": name, "blob": blob.hex(), "unchanged": blob == src})
        t0 = time.perf_counter()
        results = [r for k in range(0, len(items), args.batch) for r in run_batch(items[k:k + args.batch], args.timeout)]
        counts: dict[str, int] = {}
        for r in results:
            key = r["outcome"].split(":")[0].split(" (")[0] if r["outcome"].startswith(("crash", "other")) else r["outcome"]
            counts[key] = counts.get(key, 0) + 1
        slowest = max((r["ms"] for r in results if r["ms"] == r["ms"]), default=float("nan"))
        print(f"| {name} | {len(results)} | {counts.get('refused', 0)} | {counts.get('decoded', 0)} | "
              f"{counts.get('decoded a changed file', 0)} | {counts.get('nan', 0)} | {counts.get('other', 0)} | "
              f"{counts.get('crash', 0)} | {counts.get('hang', 0)} | {slowest:.0f} |", flush=True)
        odd = [r for r in results if r["outcome"] not in ("refused", "decoded")]
        for r in odd[:5]:
            print(f"    file {r['i']}: {r['outcome']} — {items[r['i']]['blob'][:80]}…", flush=True)
        print(f"    ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

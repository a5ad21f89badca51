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

Coverage-guided fuzzing (atheris + libFuzzer; the harnesses and their seed corpus are in ``fuzz/``)::

    python benchmarks/fuzz.py --atheris fsd image        # a million executions of each harness, one after the other
    python benchmarks/fuzz.py --atheris image --runs 100000 --timeout 10 --slow 1

Each harness runs in a child process from its seed corpus (``fuzz/corpus/<harness>``, read only; the inputs it adds go
to a work folder, ``--work``, default a temporary one) until ``--runs`` executions or its first crash. Prints, per
harness: executions, exec/s, libFuzzer's coverage (``cov``: edges of the instrumented Python code — fasdiff_lite, and
Pillow for the image harness; ``ft``: features), the corpus it grew to, where the executions went (the targets'
labels: refused by the container, decoded …), crashes (an unexpected exception or a broken
invariant: the input is saved as ``crash-*`` in ``--artifacts``), hangs (an input over ``--timeout`` s: ``timeout-*``),
out-of-memory inputs, and slow inputs (over ``--slow`` s, saved as ``slow-*``). Needs ``pip install atheris``
(Linux; the project's dev extra). Measured numbers: the closing note of issue 30 and ``fuzz/README.md``.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fasdiff_lite import bitstream, data, settings

ROOT = Path(__file__).resolve().parents[1]
HARNESSES = ("fsd", "image")


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
    p.add_argument("--atheris", nargs="+", choices=HARNESSES, help="coverage-guided: run these harnesses of fuzz/")
    p.add_argument("--runs", type=int, default=1_000_000, help="--atheris: executions per harness")
    p.add_argument("--slow", type=float, default=1.0, help="--atheris: an input slower than this (s) is reported")
    p.add_argument("--work", default=None, help="--atheris: folder for the grown corpus (default: a temporary one)")
    p.add_argument("--artifacts", default="out/fuzz", help="--atheris: where crash, timeout and slow inputs go")
    p.add_argument("--max-len", type=int, default=4096, help="--atheris: longest input the fuzzer makes (bytes)")
    p.add_argument("--rss-limit-mb", type=int, default=4096, help="--atheris: memory of the fuzzer before an OOM")
    args = p.parse_args()
    if args.worker:
        return worker(*args.worker)
    if args.atheris:
        rows = [run_atheris(h, args) for h in args.atheris]
        print_atheris_table(rows, args)
        raise SystemExit(1 if any(r["crashes"] or r["hangs"] or r["oom"] for r in rows) else 0)

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


# ------------------------------------------------------------------------------------- coverage-guided (atheris)
def parse_libfuzzer(log: str) -> dict:
    """The numbers of a libFuzzer run's output (``-print_final_stats=1``)."""
    def stat(name, cast=int):
        m = re.search(rf"stat::{name}:\s+(\d+)", log)
        return cast(m.group(1)) if m else None

    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/", log)
    # atheris prints the exception's "Type: message" on the line after this header
    uncaught = re.findall(r"=== Uncaught Python exception: ===\s*\n([\w.]+)", log)
    return {
        "executions": stat("number_of_executed_units") or 0,
        "libfuzzer_exec_s": stat("average_exec_per_sec"),
        "slowest_s": stat("slowest_unit_time_sec"),
        "peak_rss_mb": stat("peak_rss_mb"),
        "cov": int(cov[-1][0]) if cov else None, "ft": int(cov[-1][1]) if cov else None,
        "corpus": int(cov[-1][2]) if cov else None,
        "uncaught": uncaught,
        "crash_artifacts": sorted(set(re.findall(r"(?:Test unit written to|INPUT SAVED:) (\S+)", log))),
        "timeout": "ERROR: libFuzzer: timeout" in log,
        "oom": "ERROR: libFuzzer: out-of-memory" in log,
        "slow_inputs": len(re.findall(r"^SLOW INPUT:", log, re.M)),
        # the harness's count of the paths the inputs took (fuzz/targets.py's labels), last printed
        "outcomes": ast.literal_eval(re.findall(r"^OUTCOMES: \d+ (\{.*\})$", log, re.M)[-1])
        if "OUTCOMES:" in log else {},
    }


def run_atheris(harness: str, args) -> dict:
    """One harness in a child process for ``args.runs`` executions (or until its first crash); its numbers."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        raise SystemExit("atheris is not installed: pip install atheris (Linux; part of the dev extra)") from None
    artifacts = Path(args.artifacts).resolve() / harness
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work).resolve() / harness if args.work else Path(tmp) / "corpus"
        work.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(ROOT / "fuzz" / f"fuzz_{harness}.py"), str(work), str(ROOT / "fuzz" / "corpus" / harness),
               f"-runs={args.runs}", f"-timeout={int(args.timeout)}", f"-seed={args.seed}", f"-max_len={args.max_len}",
               f"-rss_limit_mb={args.rss_limit_mb}", f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
               "-print_pcs=0", "-reduce_inputs=1"]
        env = {**os.environ, "FUZZ_SLOW_S": str(args.slow), "FUZZ_SLOW_DIR": str(artifacts), "PYTHONWARNINGS": "ignore"}
        print(f"{harness}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        log_path = artifacts / "fuzz.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
            started = None
            for line in proc.stdout:  # libFuzzer's progress, echoed every few lines
                log.write(line)
                if started is None and "INITED" in line:
                    started = time.perf_counter()
                if line.startswith(("#", "SLOW", "===", "==", "SUMMARY")) and ("pulse" in line or "DONE" in line
                                                                                  or not line.startswith("#")):
                    print(f"  {line.rstrip()}", flush=True)
            rc = proc.wait()
        end = time.perf_counter()
        text = log_path.read_text(errors="replace")
    r = parse_libfuzzer(text)
    wall, fuzzing = end - t0, end - (started or t0)  # fuzzing: from the seed corpus loaded (INITED) to the end
    r.update(harness=harness, rc=rc, wall_s=wall, fuzz_s=fuzzing, log=str(log_path),
             exec_s=r["executions"] / fuzzing if fuzzing > 0 else float("nan"))
    r["hangs"] = int(r["timeout"])
    r["crashes"] = int(rc != 0 and not r["timeout"] and not r["oom"])
    r["oom"] = int(r["oom"])
    return r


def print_atheris_table(rows: list[dict], args) -> None:
    print(f"\ncoverage-guided fuzzing (atheris + libFuzzer), {args.runs:,} executions asked per harness, seed {args.seed}, "
          f"hang = over {args.timeout:g} s, slow = over {args.slow:g} s")
    print("| harness | executions | exec/s | time | cov | ft | corpus | crashes | unexpected exceptions | hangs | OOM "
          "| slow inputs | slowest s | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        exc = ", ".join(r["uncaught"]) or "0"
        print(f"| {r['harness']} | {r['executions']:,} | {r['exec_s']:.0f} | {r['fuzz_s']:.0f} s | {r['cov']} | "
              f"{r['ft']} | {r['corpus']} | {r['crashes']} | {exc} | {r['hangs']} | {r['oom']} | {r['slow_inputs']} | "
              f"{r['slowest_s']} | {r['peak_rss_mb']} |")
    for r in rows:
        total = sum(r["outcomes"].values())
        if total:
            print(f"{r['harness']}: where the executions went: "
                  + ", ".join(f"{k} {v:,} ({100 * v / total:.1f}%)" for k, v in r["outcomes"].items()))
        if r["executions"] < args.runs:
            left = (args.runs - r["executions"]) / r["exec_s"] if r["exec_s"] == r["exec_s"] and r["exec_s"] else 0
            print(f"{r['harness']}: stopped after {r['executions']:,} executions (exit {r['rc']}); "
                  f"the rest would take ~{left / 60:.0f} min at this speed")
        for a in r["crash_artifacts"]:
            print(f"{r['harness']}: reproducer {a} (python fuzz/fuzz_{r['harness']}.py {a})")
        print(f"{r['harness']}: full log {r['log']}")


if __name__ == "__main__":
    main()

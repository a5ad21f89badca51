"""Encode and decode time per face, time per diffusion step, and peak memory, for every codec here.

    python benchmarks/speed_memory.py                            # every shipped codec, 20 faces
    FASDIFF_FAST=1 python benchmarks/speed_memory.py             # 2 faces, 1 and 2 steps: a smoke run
    python benchmarks/speed_memory.py --codecs fasdiff hyperprior jpeg --steps 1 4 20 --threads 1
    python benchmarks/speed_memory.py --device cuda              # GPU: adds torch's peak GPU memory

Each codec runs in its own Python process, so each peak is its own: ``resource.getrusage``'s peak resident
memory (``ru_maxrss``) after loading the codec and after coding the faces. Both include the Python and
torch runtime (a few hundred MB); their difference, ``coding +MB``, is what encoding and decoding added.
On a GPU, ``torch.cuda.max_memory_allocated`` over the coding is reported too. Times are means over the
faces, one face at a time (batch 1), after one warm-up. ``ms/step`` is the slope of a line fitted to the
FaSDiff decode time against the number of denoising steps (the fixed part, ``0 steps``, is the
compressor's decoder, the VAE and the LFE). Prints a Markdown table and the machine it ran on.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

from fasdiff_lite import settings


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def mean_ms(fn, items) -> float:
    t0 = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - t0) / len(items) * 1e3


def measure(name: str, args) -> dict:
    """One codec, in this process: load, warm up, time encode and decode, record the peaks."""
    import torch

    from fasdiff_lite import data
    from fasdiff_lite.evaluation import baselines
    from fasdiff_lite.evaluation import run as evaluate
    from fasdiff_lite.models import zoo

    if args.threads:
        torch.set_num_threads(args.threads)
    faces, _ = evaluate.load_eval_faces(args.data, limit=args.faces)
    cuda = torch.device(args.device).type == "cuda"
    out = {"codec": name, "faces": len(faces)}
    if name in baselines.CODECS:
        blobs = [baselines.encode(f, name, args.quality) for f in faces]
        out["loaded_mb"] = peak_rss_mb()
        out["encode_ms"] = mean_ms(lambda f: baselines.encode(f, name, args.quality), faces)
        out["decode_ms"] = {0: mean_ms(baselines.decode, blobs)}
        out["bytes"] = float(np.mean([len(b) for b in blobs]))
    else:
        model = zoo.cached(name, args.device)
        xs = [data.to_tensor(f).to(args.device) for f in faces]
        diffusion = zoo.kind_of(name) == "codec"
        steps = args.steps if diffusion else [0]

        def decode(blob, s):
            return model.decompress(blob, steps=s, realism=args.realism) if diffusion else model.decompress(blob)

        def sync():
            if cuda:
                torch.cuda.synchronize()

        out["loaded_mb"] = peak_rss_mb()  # before any coding: the peak after it includes the activations
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            decode(model.compress(xs[0], args.rate), steps[-1])  # warm-up (lazy tables, allocator)
            sync()
            blobs = [model.compress(x, args.rate) for x in xs]
            out["encode_ms"] = mean_ms(lambda x: (model.compress(x, args.rate), sync()), xs)
            out["decode_ms"] = {s: mean_ms(lambda b: (decode(b, s), sync()), blobs) for s in steps}
        out["bytes"] = float(np.mean([len(b) for b in blobs]))
        if cuda:
            out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if diffusion and len(steps) >= 2:
            slope, intercept = np.polyfit(list(steps), [out["decode_ms"][s] for s in steps], 1)
            out["ms_per_step"], out["fixed_ms"] = float(slope), float(intercept)
    out["peak_mb"] = peak_rss_mb()
    return out


def run_child(name: str, args) -> dict:
    """:func:`measure` in a fresh Python process (its own peak memory); the result comes back as JSON."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--faces", str(args.faces), "--data", args.data,
           "--rate", str(args.rate), "--realism", str(args.realism), "--quality", str(args.quality),
           "--device", args.device, "--steps", *map(str, args.steps)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codecs", nargs="+", default=None, help="default: every codec shipped or available here")
    p.add_argument("--faces", type=int, default=settings.pick(20, 2), help="faces to time (batch 1)")
    p.add_argument("--data", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--steps", type=int, nargs="+", default=settings.pick([1, 4, 20], [1, 2]),
                   help="FaSDiff decode step counts (two or more give ms per step)")
    p.add_argument("--rate", type=float, default=0.5, help="learned codecs' rate")
    p.add_argument("--realism", type=float, default=0.5, help="FaSDiff decoder realism")
    p.add_argument("--quality", type=int, default=50, help="JPEG/WebP/AVIF quality")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="cuda" if settings.device().type == "cuda" else "cpu")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: measure one codec, print JSON
    args = p.parse_args()
    args.steps = sorted(set(args.steps))
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return

    from fasdiff_lite.evaluation import run as evaluate

    names, notes = evaluate.resolve_codecs(args.codecs)
    for n in notes:
        print(n)
    import torch

    dev = (torch.cuda.get_device_name() if args.device.startswith("cuda")
           else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
    print(f"{args.faces} faces at 64×64, batch 1; rate {args.rate}, realism {args.realism}, JPEG/WebP/AVIF quality "
          f"{args.quality}; device {dev}; torch threads {args.threads or 'default'}; load average "
          f"{os.getloadavg()[0]:.1f}\n")
    step_cols = [f"decode ms @{s} step{'s' if s > 1 else ''}" for s in args.steps]
    gpu = args.device.startswith("cuda")
    head = ["codec", "bytes", "encode ms", "decode ms", *step_cols, "ms/step", "RSS loaded MB", "peak RSS MB",
            "coding +MB", *(["GPU peak MB"] if gpu else [])]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        r = run_child(name, args)
        d = r["decode_ms"]
        plain = d.get("0")
        cells = [name, f"{r['bytes']:.0f}", f"{r['encode_ms']:.2f}", f"{plain:.2f}" if plain is not None else "",
                 *[f"{d[str(s)]:.0f}" if str(s) in d and plain is None else "" for s in args.steps],
                 f"{r['ms_per_step']:.1f}" if "ms_per_step" in r else "",
                 f"{r['loaded_mb']:.0f}", f"{r['peak_mb']:.0f}", f"{r['peak_mb'] - r['loaded_mb']:.0f}",
                 *([f"{r.get('gpu_peak_mb', 0):.0f}"] if gpu else [])]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

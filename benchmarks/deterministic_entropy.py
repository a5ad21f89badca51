"""What deterministic entropy parameters cost, and what they buy (issue 30; ``models/integer_scales.py``).

    python benchmarks/deterministic_entropy.py            # the held-out faces (shared), else the 2 sample faces
    python benchmarks/deterministic_entropy.py --fasdiff  # the FaSDiff table only

For each shipped compressor, on the held-out faces at rates 0, 0.1, 0.3, 0.5 and 1: the bytes of version-3 files
(tables from integer scales) against version-2 files (float scales), PSNR of each (the symbols do not depend on the
tables, so the pixels are the same unless the encoder moved the rate one header step), encode and decode time; then
the files of each version that would not decode to the same symbols on another machine (``evaluation/portability``:
h_s's outputs perturbed by a relative 10⁻⁶, 10⁻⁵, 10⁻⁴; float64; two threads). Last, for each FaSDiff codec, PSNR
between its decode here and on the simulated other machine (4 steps, realism 1), a stated bound on how much a face
may differ between machines. One torch thread.
"""
from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch

from fasdiff_lite import bitstream, data, registry
from fasdiff_lite.evaluation import metrics
from fasdiff_lite.evaluation.portability import mismatches, other_machine
from fasdiff_lite.models import zoo

RATES = (0.0, 0.1, 0.3, 0.5, 1.0)


def faces() -> tuple[np.ndarray, str]:
    try:
        f = data.load_faces("shared", split="val", size=64)
        return f, f"{len(f)} held-out faces"
    except (FileNotFoundError, ValueError):
        return data.sample_faces(64), "the 2 sample faces"


def main() -> int:
    torch.set_num_threads(1)
    imgs, what = faces()
    xs = [data.to_tensor(f) for f in imgs]
    print(f"# Deterministic entropy parameters: {what}, rates {', '.join(map(str, RATES))}, one torch thread\n")
    print("| compressor | version | bytes (mean) | PSNR dB | encode ms | decode ms |")
    print("|---|---|---|---|---|---|")
    files = {}
    for name in ([] if "--fasdiff" in sys.argv else registry.names("compressor")):
        v3 = zoo.load(name)
        v2 = copy.deepcopy(v3)
        v2.int_scales = None
        models = {"2 (float scales)": v2, "3 (integer scales)": v3}
        blobs = {k: [] for k in models}
        outs = {k: [] for k in models}
        ms = {k: [0.0, 0.0] for k in models}
        for x in xs:  # the two versions alternate face by face: the same load on the machine for both
            for r in RATES:
                for k, model in models.items():
                    t = time.perf_counter()
                    blob = model.compress(x, r)
                    t1 = time.perf_counter()
                    with torch.no_grad():
                        out = model.decompress(blob)
                    ms[k][0] += t1 - t
                    ms[k][1] += time.perf_counter() - t1
                    blobs[k].append(blob)
                    outs[k].append(out)
        ref = [f for f in imgs for _ in RATES]
        for k, model in models.items():
            psnr = np.mean([metrics.psnr(a, data.to_image(o)) for a, o in zip(ref, outs[k])])
            assert {bitstream.unpack(b).version for b in blobs[k]} == {int(k[0])}
            files[(name, k[0])] = (model, blobs[k])
            n = len(blobs[k])
            print(f"| {name} | {k} | {np.mean([len(b) for b in blobs[k]]):.2f} | {psnr:.3f} | "
                  f"{ms[k][0] / n * 1e3:.1f} | {ms[k][1] / n * 1e3:.1f} |", flush=True)
    if files:
        print("\n| compressor | version | files | noise 1e-6 | noise 1e-5 | noise 1e-4 | float64 | 2 threads |")
        print("|---|---|---|---|---|---|---|---|")
    for (name, version), (model, blobs) in files.items():
        counts = [mismatches(model, blobs, "noise", eps) for eps in (1e-6, 1e-5, 1e-4)]
        counts += [mismatches(model, blobs, how) for how in ("float64", "threads")]
        print(f"| {name} | {version} | {len(blobs)} | " + " | ".join(map(str, counts)) + " |", flush=True)
    print("\n| FaSDiff codec | faces × rates | PSNR between the two decodes (min / median), noise 1e-4 | float64 | "
          "2 threads |")
    print("|---|---|---|---|---|")
    few = xs[:20]
    for name in registry.names("codec"):
        codec = zoo.load(name)
        blobs = [codec.compress(x, r) for x in few for r in (0.1, 0.5)]
        with torch.no_grad():
            here = [data.to_image(codec.decompress(b)) for b in blobs]
        cells = []
        for how in ("noise", "float64", "threads"):
            try:
                with other_machine(codec, how) as other, torch.no_grad():
                    there = [data.to_image(other.decompress(b)) for b in blobs]
            except RuntimeError as e:  # the diffusion decoder mixes float32 tensors into a float64 model
                cells.append(f"does not run ({str(e)[:40]}…)")
                continue
            p = [metrics.psnr(a, b) for a, b in zip(here, there)]
            cells.append(f"{np.min(p):.1f} / {np.median(p):.1f}")
        print(f"| {name} | {len(blobs)} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

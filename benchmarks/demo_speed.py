"""How long one compare takes in the demo at 64 px, after warm-up (issue: a compare in ≤ 3 s on this CPU).

    python benchmarks/demo_speed.py            # 12 uncached compares: each sample face at 6 rates
    python benchmarks/demo_speed.py --threads 2

Each compare is a new (face, rate) pair, so nothing comes from the demo's cache: the default codecs (FaSDiff at
4 steps, realism 1, the two compressors, JPEG and WebP fitted to FaSDiff's bytes), the metrics (PSNR, MS-SSIM,
detail ratio, dlib identity), the bit map and the .fsd file. Then the same compares with only the realism changed
(what a slider move costs: the diffusion decode alone) and once more unchanged (the cache). Prints the median and
the slowest of each.
"""
from __future__ import annotations

import argparse
import statistics
import time

from fasdiff_lite import demo, settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.2, 0.35, 0.55, 0.75, 0.95])
    args = ap.parse_args()
    settings.cpu_threads(args.threads)
    samples = demo.sample_choices()
    t = time.perf_counter()
    demo.compare(None, samples[0], 0.3)  # warm-up: models load, dlib loads
    print(f"warm-up (model loading included): {time.perf_counter() - t:.2f} s")
    demo.clear_cache()
    for what, kwargs in (("new face/rate", {}), ("realism changed", {"realism": 0.5}), ("unchanged (cache)", {"realism": 0.5})):
        times = []
        for s in samples:
            for r in args.rates:
                t = time.perf_counter()
                demo.compare(None, s, r, **kwargs)
                times.append(time.perf_counter() - t)
        print(f"{what:18s}: {len(times)} compares at 64 px, median {statistics.median(times):.2f} s, "
              f"slowest {max(times):.2f} s ({args.threads} torch thread(s); codecs {', '.join(demo.default_codecs())})")


if __name__ == "__main__":
    main()

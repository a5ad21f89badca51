"""Time and peak memory of one FaSDiff training step: ``training_loss`` + backward on a batch of shipped-codec faces.

    python benchmarks/train_step.py                          # batch 12, 4 steps, realism 1, rate 0.3, one thread
    python benchmarks/train_step.py --checkpoint             # gradient checkpointing of the sampler steps
    python benchmarks/train_step.py --parts decoder,fusion   # the control and the LFE frozen

Every part the variant has trains (control, LFE, decoder, fusion) unless ``--parts`` says otherwise. The faces are the
first ``--batch`` of the validation split (timing only: nothing is learned). Prints the median wall time of ``--reps``
steps after one warm-up step, the peak resident memory the step added above what the loaded codec held (each step runs
in this one process, so the peak is the kernel's high-water mark, read after the steps), and whether the few-step latent carried
gradients.
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time

import torch

from fasdiff_lite import data
from fasdiff_lite.models import zoo


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", default="fasdiff")
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--realism", type=float, default=1.0)
    ap.add_argument("--rate", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--parts", default="all", help="comma-separated trainable parts, or all")
    ap.add_argument("--checkpoint", action="store_true", help="gradient checkpointing of the sampler steps")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    codec = zoo.load(a.codec, device="cpu")
    parts = codec.trainable_modules()
    keep = set(parts) if a.parts == "all" else {p.strip() for p in a.parts.split(",")}
    for name, m in parts.items():
        m.train().requires_grad_(name in keep)
    if a.checkpoint:
        codec.checkpoint_steps = True
    x = torch.cat([data.to_tensor(f) for f in data.load_faces("auto", 64, "val", limit=a.batch)])
    params = [p for m in parts.values() for p in m.parameters() if p.requires_grad]

    def step() -> dict:
        for p in params:
            p.grad = None
        out = codec.training_loss(x, a.rate, a.steps, a.realism)
        out["loss"].backward()
        return out

    torch.manual_seed(0)
    base = rss_mib()
    step()  # warm-up
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    z, _, _ = codec.few_step_latent(x, a.rate, a.steps, a.realism, diffusion_loss=codec.steers())
    print(f"{platform.processor() or platform.machine()}, {a.threads} thread(s), torch {torch.__version__}")
    print(f"{a.codec}: batch {a.batch}, {a.steps} steps, realism {a.realism}, rate {a.rate}, parts {sorted(keep)}, "
          f"checkpoint {a.checkpoint}")
    print(f"step: {statistics.median(times):.2f} s (median of {a.reps}); peak memory {peak_mib():.0f} MiB "
          f"({peak_mib() - base:+.0f} MiB above the {base:.0f} MiB the loaded codec and faces held)")
    print(f"few-step latent requires grad: {z.requires_grad}")


if __name__ == "__main__":
    main()

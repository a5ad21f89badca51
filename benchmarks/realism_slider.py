"""Does the realism slider change what the decoder draws? PSNR and detail ratio of the same files decoded at each realism.

    python benchmarks/realism_slider.py                                   # the shipped fasdiff, rate 0.1, 150 faces
    python benchmarks/realism_slider.py fasdiff runs/p26-export --rate 0.1 --realisms 0 0.1 0.25 0.5 1

Each codec (a shipped name or a codec folder) compresses each of the first ``--faces`` held-out faces of the fixed
validation split once at ``--rate``; the same bytes are then decoded at every realism with ``--steps`` steps (realism
0 is the compressor's own x_fid). Prints, per codec and realism, the mean PSNR, the detail ratio (1 = as much fine
detail as the original) and the mean absolute pixel change from the realism-1 decode (in grey levels, 0-255: 0 means
the slider draws the same face), of the output and of the diffusion's own face before the fidelity fusion and the
low-frequency correction (``FaSDiffCodec.decode_stages``' x_gen), so a reader sees whether the slider does anything
and, if not, which stage undoes it; then x_gen's own PSNR and detail ratio (what the diffusion draws at each realism,
before the fusion decides how much of it to keep); and, with ``--fd``, the descriptor Fréchet distance of the
decoded set to the originals (dlib descriptors: lower is more like real faces of these people).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, metrics, realism
from fasdiff_lite.models import zoo
from fasdiff_lite.registry import DEFAULT_STEPS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codecs", nargs="*", default=["fasdiff"], help="shipped names or codec folders")
    ap.add_argument("--faces", type=int, default=150)
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--realisms", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5, 1.0])
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fd", action="store_true", help="also the descriptor Fréchet distance at each realism (dlib: "
                    "about 0.1 s a face)")
    a = ap.parse_args()
    settings.cpu_threads(a.threads)
    t0 = time.time()
    faces = data.load_faces("shared", split="val", limit=a.faces)
    print(f"{len(faces)} held-out faces, 64×64, rate {a.rate}, {a.steps} steps")
    originals = face_metrics.descriptors(list(faces)) if a.fd else None
    print("| codec | realism | PSNR (dB) | detail ratio | mean abs. change from realism 1, output (levels) | ... of x_gen "
          "| x_gen's PSNR (dB) | x_gen's detail ratio |" + (" descriptor FD |" if a.fd else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if a.fd else ""))
    for name in a.codecs:
        codec = zoo.load(name, device="cpu").eval()
        blobs = [codec.compress(data.to_tensor(f), a.rate) for f in faces]
        with torch.no_grad():
            stages = {r: [codec.decode_stages(b, steps=a.steps, realism=r) for b in blobs]
                      for r in sorted(set(a.realisms) | {1.0})}

        def change(r: float, key: str) -> str:
            if any(key not in s for s in stages[r]):
                return "-"
            return f"{np.mean([255 * (s[key] - t[key]).abs().mean().item() for s, t in zip(stages[r], stages[1.0])]):.2f}"

        def quality(r: float, key: str) -> tuple[str, str]:
            if any(key not in s for s in stages[r]):
                return "-", "-"
            ims = [data.to_image(s[key]) for s in stages[r]]
            return (f"{np.mean([metrics.psnr(f, o) for f, o in zip(faces, ims)]):.2f}",
                    f"{np.mean([realism.detail_ratio(f, o) for f, o in zip(faces, ims)]):.3f}")

        for r in a.realisms:
            (psnr, detail), (g_psnr, g_detail) = quality(r, "out"), quality(r, "x_gen")
            fd = ""
            if a.fd:
                decoded = [data.to_image(s["out"]) for s in stages[r]]
                fd = f" {realism.descriptor_frechet(decoded, original_descriptors=originals):.4f} |"
            print(f"| {name} | {r:g} | {psnr} | {detail} | {change(r, 'out')} | {change(r, 'x_gen')} | {g_psnr} "
                  f"| {g_detail} |{fd}", flush=True)
    print(f"({time.time() - t0:.0f} s on this machine, {a.threads} thread(s))")


if __name__ == "__main__":
    main()

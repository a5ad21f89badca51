"""Time per face of the offline machine-vision metrics (dlib) on this machine's CPU.

    python benchmarks/face_metrics_speed.py                  # 50 held-out faces at 64 px (about 40 s, 2-core CPU)
    FASDIFF_FAST=1 python benchmarks/face_metrics_speed.py   # 5 faces: a smoke run
    python benchmarks/face_metrics_speed.py --size 128 --source path/to/my/faces

Prints a Markdown table: milliseconds per face for each stage of ``fasdiff_lite.evaluation.face_metrics``
(upsample to 256 px, HOG detection, 5-point shape, ResNet descriptor, 68-point landmarks) and for
``evaluate_identity`` per (original, decoded) pair, plus the detection rate it saw. dlib runs on the
CPU here (the ``dlib-bin`` wheel has no CUDA), so there is no GPU column.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import baselines
from fasdiff_lite.evaluation import face_metrics as fm


def per_face(fn, items, repeat: int = 1) -> float:
    """Median over ``repeat`` runs of the mean seconds per item."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for x in items:
            fn(x)
        runs.append((time.perf_counter() - t) / len(items))
    return float(np.median(runs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=settings.pick(50, 5), help="at most this many faces")
    p.add_argument("--size", type=int, default=64, help="face side in pixels before the metrics' own upsampling")
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--repeat", type=int, default=settings.pick(3, 1))
    args = p.parse_args()

    try:
        be = fm.get_backend().check()
        import dlib
    except fm.FaceMetricsUnavailable as e:
        raise SystemExit(f"cannot benchmark: {e}")
    split = "val" if settings.shared_dir() and args.source in ("auto", "shared") else "all"
    faces = data.load_faces(args.source, size=args.size, split=split, limit=args.limit)
    print(f"{len(faces)} faces ({args.source}, split {split}), {args.size}×{args.size} → {fm.WORK_SIZE} px; "
          f"dlib {dlib.__version__} (CUDA: {dlib.DLIB_USE_CUDA}); {platform.processor() or platform.machine()}, "
          f"{__import__('os').cpu_count()} CPU cores")

    prepared = [be.prepare(f)[0] for f in faces]
    rects = [be._detect(img)[0] for img in prepared]
    shapes = [be._model("shape5")(img, r) for img, r in zip(prepared, rects)]
    pairs = list(zip(prepared, rects, shapes))
    detector, sp5, sp68, net = (be._model(k) for k in ("detector", "shape5", "shape68", "descriptor"))
    decoded = np.stack([baselines.decode(baselines.encode(f, "jpeg", 50)) for f in faces])

    rows = [
        ("upsample (PIL bicubic)", per_face(be.prepare, faces, args.repeat)),
        ("detection (HOG, no extra pyramid up-step)", per_face(lambda img: detector.run(img, 0, 0.0), prepared, args.repeat)),
        ("5-point shape", per_face(lambda t: sp5(t[0], t[1]), pairs, args.repeat)),
        ("descriptor (ResNet, 128-d)", per_face(lambda t: net.compute_face_descriptor(t[0], t[2], 0, 0.25), pairs, args.repeat)),
        ("68-point landmarks", per_face(lambda t: sp68(t[0], t[1]), pairs, args.repeat)),
        ("descriptor() end to end", per_face(fm.descriptor, faces, 1)),
    ]
    t = time.perf_counter()
    m = fm.evaluate_identity(faces, decoded)
    rows.append(("evaluate_identity, per (original, decoded) pair", (time.perf_counter() - t) / len(faces)))

    print()
    print("| stage | ms per face |")
    print("|---|---:|")
    for name, sec in rows:
        print(f"| {name} | {1000 * sec:.1f} |")
    print()
    print(f"detection rate on these originals: {np.mean([be._detect(img)[1] for img in prepared]):.3f}; "
          f"vs JPEG q=50 copies: rank-1 {m['reid_rank1']:.3f}, mean distance {m['identity_distance']:.3f}")


if __name__ == "__main__":
    main()

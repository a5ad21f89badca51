"""A quick look at a FaSDiff training run before deciding whether it is worth a full evaluation: the codec it started
from (``--init``: the shipped one, or an earlier run's export), the run's checkpoint and the compressor's own x_fid on the same held-out faces.

    python benchmarks/decoder_probe.py runs/r7-wide                       # 40 held-out faces, rates 0 0.3 1
    python benchmarks/decoder_probe.py runs/r7-wide --faces 150 --rates 0 0.3 0.5 1
    python benchmarks/decoder_probe.py runs/gpu/df-full/export             # an exported codec folder works too

The checkpoint's trained parts (``runs/<run>/checkpoint/<part>.safetensors``: decoder, fusion, control, LFE,
whichever the run trained) are loaded into a fresh copy of the codec the run started from (``--init`` in its
progress.json; the fusion gets its rate input when the run added one). An exported codec folder (``codec.json``; a run
trained elsewhere, say on a GPU) is measured as it is, beside the codec its training started from where that folder
is here. Prints PSNR, the detail ratio (1 = as much
fine detail as the original), re-identification rank-1 among the same faces (dlib) and the descriptor Fréchet
distance to the originals, at 4 steps and realism 1 (the CLI's default). The faces are the first ``--faces`` of the
fixed validation split: never training faces.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, metrics, realism
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.train import fasdiff as fasdiff_train


def checkpoint_codec(run: Path) -> tuple[FaSDiffCodec, dict]:
    if (run / "codec.json").exists():  # an exported codec folder: its training facts name the start
        facts = FaSDiffCodec.read_config(run).get("training", {})
        return FaSDiffCodec.from_pretrained(run).eval(), {"step": facts.get("steps", "?"), "init": facts.get("init"),
                                                          "loaded": ["all (an exported folder)"]}
    progress = json.loads((run / "checkpoint" / "progress.json").read_text())
    cfg = progress["config"]
    init = cfg.get("init")
    if not init:
        raise SystemExit(f"{run}: the run did not start from a codec folder (--init); this probe compares against one")
    names = {f.name for f in dataclasses.fields(fasdiff_train.Config)}
    codec = fasdiff_train.start_codec(fasdiff_train.Config(**{k: v for k, v in cfg.items() if k in names}))
    parts = codec.trainable_modules()
    loaded = []
    for name, module in parts.items():
        f = run / "checkpoint" / f"{name}.safetensors"
        if f.exists():
            module.load_state_dict(load_file(str(f)), strict=True)
            loaded.append(name)
    return codec.eval(), {"step": progress["step"], "init": init, "loaded": loaded}


@torch.no_grad()
def measure(faces: np.ndarray, decode, gallery: np.ndarray) -> dict:
    out = [data.to_image(decode(data.to_tensor(f))) for f in faces]
    probes = face_metrics.descriptors(out)
    return {"psnr": float(np.mean([metrics.psnr(f, o) for f, o in zip(faces, out)])),
            "detail": float(np.mean([realism.detail_ratio(f, o) for f, o in zip(faces, out)])),
            "reid": face_metrics.reid_rank1(faces, out, gallery=gallery, probes=probes),
            "fd": metrics.frechet_distance(gallery, probes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--faces", type=int, default=40)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.3, 1.0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--realism", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--also", nargs="*", default=[], metavar="DIR", help="more codec folders to measure beside it "
                    "(e.g. fasdiff_lite/assets/fasdiff/full when the run started from another run)")
    args = ap.parse_args()
    settings.cpu_threads(args.threads)
    t0 = time.time()
    faces, what = data.load_faces("shared", split="val", limit=args.faces), "held-out faces"
    new, info = checkpoint_codec(args.run)
    has_start = bool(info["init"]) and Path(info["init"]).exists()
    start = FaSDiffCodec.from_pretrained(info["init"]).eval() if has_start else None
    comp = (start or new).compressor
    others = {d: FaSDiffCodec.from_pretrained(d).eval() for d in args.also}
    gallery = face_metrics.descriptors(faces)
    print(f"{args.run} at step {info['step']} (trained parts: {', '.join(info['loaded'])}; from {info['init']}); "
          f"{len(faces)} {what}, 64×64, {args.steps} steps, realism {args.realism}")
    print("| rate | codec | PSNR | detail ratio | re-id rank-1 | descriptor FD |")
    print("|---|---|---|---|---|---|")
    for r in args.rates:
        rows = {"x_fid (compressor alone)": lambda x: comp.decompress(comp.compress(x, r))}
        if has_start:
            rows[f"its start ({info['init']})"] = lambda x: start.decompress(start.compress(x, r), steps=args.steps,
                                                                            realism=args.realism)
        rows["checkpoint"] = lambda x: new.decompress(new.compress(x, r), steps=args.steps, realism=args.realism)
        for folder, other in others.items():
            rows[folder] = (lambda c: lambda x: c.decompress(c.compress(x, r), steps=args.steps,
                                                              realism=args.realism))(other)
        for name, fn in rows.items():
            m = measure(faces, fn, gallery)
            print(f"| {r:g} | {name} | {m['psnr']:.2f} | {m['detail']:.2f} | {m['reid']:.2f} | {m['fd']:.3f} |", flush=True)
    print(f"({time.time() - t0:.0f} s on this machine)")


if __name__ == "__main__":
    main()

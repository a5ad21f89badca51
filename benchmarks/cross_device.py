"""Files made on one device decode on another: a GPU ↔ CPU round of every shipped compressor (issue 30, item 2).

    python benchmarks/cross_device.py --faces faces.npz              # CUDA → CPU and CPU → CUDA, 1,000 files each way
    python benchmarks/cross_device.py --devices cpu cpu --files 20   # the same code on one device (a smoke run)
    python benchmarks/cross_device.py --write-faces faces.npz        # 200 held-out UTKFace faces, to carry to a GPU

For each shipped compressor: ``--files`` files (faces × rates 0, 0.1, 0.3, 0.5, 1), each compressed on one device and
decoded on both. A file *travels* when the other device reads the very symbols the encoding device reads
(``evaluation/portability.decoded_symbols``) and decodes it at all; the table also gives the PSNR between the two
decodes (the synthesis transform is floating point: a few levels may differ, the symbols may not). Then the reverse
direction. ``--fasdiff N`` adds N files per FaSDiff codec (4 steps, realism 1): PSNR between the GPU's and the
CPU's decoded face. The entropy parameters of version-3 files are integers (``models/integer_scales.py``), so every
file must travel; a version-2 file (float scales: ``--version 2``) may not, which is what this measures.

Faces: an ``.npz`` (``--faces``; a GPU machine has no ``../shared``), else UTKFace's validation split, else the
held-out shared faces, else the two sample faces. One torch thread on the CPU.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from fasdiff_lite import bitstream, data, registry
from fasdiff_lite.evaluation import metrics
from fasdiff_lite.evaluation.portability import decoded_symbols
from fasdiff_lite.models import zoo

RATES = (0.0, 0.1, 0.3, 0.5, 1.0)


def held_out_faces(path: str | None, n: int) -> tuple[np.ndarray, str]:
    if path:
        return data.load_faces(path, size=64)[:n], f"{path}"
    try:
        from fasdiff_lite.face_sets import load_utkface

        return load_utkface(64, split="val", limit=n)[0], "UTKFace's validation split"
    except (data.DataUnavailable, FileNotFoundError, ValueError):
        pass
    try:
        return data.load_faces("shared", split="val", size=64)[:n], "the held-out shared faces"
    except (data.DataUnavailable, FileNotFoundError, ValueError):
        return data.sample_faces(64), "the 2 sample faces"


def _to(model, device: str, version: int):
    m = copy.deepcopy(model).to(device).eval()
    if version == 2:
        getattr(m, "compressor", m).int_scales = None
    return m


def one_direction(name: str, xs: list[torch.Tensor], src: str, dst: str, version: int) -> dict:
    model = zoo.load(name)
    enc, dec = _to(model, src, version), _to(model, dst, version)
    jobs = [(x, r) for x in xs for r in RATES]
    travelled = refused = other_symbols = 0
    psnrs, sizes = [], []
    for x, r in tqdm(jobs, desc=f"{name} {src}→{dst}", leave=False):
        with torch.no_grad():
            blob = enc.compress(x.to(src), r)
        assert bitstream.unpack(blob).version == version
        sizes.append(len(blob))
        images: list[torch.Tensor] = []
        here = decoded_symbols(enc, blob, images)
        there = decoded_symbols(dec, blob, images)
        if isinstance(there, str):
            refused += 1
            continue
        if there != here:
            other_symbols += 1
            continue
        travelled += 1
        psnrs.append(metrics.psnr(*(data.to_image(im.cpu()) for im in images)))
    return {"compressor": name, "from": src, "to": dst, "version": version, "files": len(jobs),
            "travelled": travelled, "refused": refused, "other_symbols": other_symbols,
            "bytes_mean": float(np.mean(sizes)), **spread(psnrs)}


def spread(psnrs: list[float]) -> dict:
    """The lowest and the median PSNR between the two devices' decodes (None when no file decoded on both)."""
    p = np.asarray(psnrs, dtype=np.float64)
    return {"psnr_min": float(p.min()) if len(p) else None, "psnr_median": float(np.median(p)) if len(p) else None}


def psnr_cell(row: dict) -> str:
    return "—" if row["psnr_min"] is None else f"{row['psnr_min']:.1f} / {row['psnr_median']:.1f}"


def fasdiff_direction(name: str, xs: list[torch.Tensor], src: str, dst: str) -> dict:
    codec = zoo.load(name)
    enc, dec = _to(codec, src, 3), _to(codec, dst, 3)
    psnrs, failed = [], 0
    for x in tqdm(xs, desc=f"{name} {src}→{dst}", leave=False):
        with torch.no_grad():
            blob = enc.compress(x.to(src), 0.1)
            a = data.to_image(enc.decompress(blob, steps=4, realism=1.0).cpu())
            try:
                b = data.to_image(dec.decompress(blob, steps=4, realism=1.0).cpu())
            except bitstream.BitstreamError:
                failed += 1
                continue
        psnrs.append(metrics.psnr(a, b))
    return {"codec": name, "from": src, "to": dst, "files": len(xs), "refused": failed, **spread(psnrs)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", nargs=2, default=None, metavar=("A", "B"),
                   help="the two devices (default: cuda cpu; both directions are measured)")
    p.add_argument("--files", type=int, default=1000, help="files per compressor and direction (faces × 5 rates)")
    p.add_argument("--faces", default=None, help="an .npz of faces (default: UTKFace val, else the shared val faces)")
    p.add_argument("--version", type=int, choices=(2, 3), default=3, help="file version (2: float entropy scales)")
    p.add_argument("--fasdiff", type=int, default=0, help="files per FaSDiff codec and direction (0: none)")
    p.add_argument("--json", default=None, help="also write the rows here")
    p.add_argument("--write-faces", default=None, metavar="NPZ",
                   help="write the held-out faces (enough for --files) to this .npz and stop")
    args = p.parse_args(argv)
    n_faces = -(-args.files // len(RATES))
    imgs, what = held_out_faces(args.faces, n_faces)
    if args.write_faces:
        np.savez_compressed(args.write_faces, images=imgs)
        print(f"{len(imgs)} faces of {what} → {args.write_faces}")
        return 0
    devices = args.devices or ["cuda", "cpu"]
    if any(d.startswith("cuda") for d in devices) and not torch.cuda.is_available():
        print("no CUDA device here: run with --devices cpu cpu for a smoke run", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True  # what a Colab user gets by default on Ampere and later
        torch.backends.cudnn.allow_tf32 = True
    xs = [data.to_tensor(f) for f in imgs]
    print(f"# Files across devices: {len(xs)} faces of {what} × {len(RATES)} rates, version {args.version}, "
          f"{' ↔ '.join(devices)}" + (f" ({torch.cuda.get_device_name()})" if torch.cuda.is_available() else ""))
    print("\n| compressor | encoded on | decoded on | files | travelled | refused | other symbols | bytes | "
          "PSNR between decodes (min / median) dB |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in registry.names("compressor"):
        for src, dst in (devices, devices[::-1]):
            r = one_direction(name, xs, src, dst, args.version)
            rows.append(r)
            print(f"| {name} | {src} | {dst} | {r['files']} | {r['travelled']} | {r['refused']} | "
                  f"{r['other_symbols']} | {r['bytes_mean']:.1f} | {psnr_cell(r)} |", flush=True)
    if args.fasdiff:
        print("\n| FaSDiff codec (rate 0.1, 4 steps, realism 1) | encoded and decoded on | decoded again on | files | "
              "refused | PSNR between decodes (min / median) dB |")
        print("|---|---|---|---|---|---|")
        for name in registry.names("codec"):
            for src, dst in (devices, devices[::-1]):
                r = fasdiff_direction(name, xs[: args.fasdiff], src, dst)
                rows.append(r)
                print(f"| {name} | {src} | {dst} | {r['files']} | {r['refused']} | {psnr_cell(r)} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

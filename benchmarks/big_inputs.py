"""Huge inputs through every entry point: each must end within the time limit, under the memory limit, with a
clear message or a result (issue: hostile files and huge inputs).

    python benchmarks/big_inputs.py              # 3 inputs × 5 entry points, each in its own process (~2 min)

The inputs, made in a temporary folder:

- ``huge_10000x10000.png``: a real 10000×10000 RGB PNG (100 MP; a grey picture, so the file is small);
- ``bomb_13000x13000.png``: a 1-bit PNG that declares 169 MP in about 20 KB (a decompression bomb);
- ``photo_12mp.jpg``: a 4000×3000 JPEG photo with a sample face off centre (12 MP).

The entry points: the library (``data.load_image`` then the hf-compressor), ``fasdiff-lite compress`` (the face
aligned, by default; ``--no-align``, the whole image; ``--no-align --size 64``, its centre square), ``fasdiff-lite eval --data`` on a folder holding the input, and the demo's compare
callback. Each runs in a child process; its wall time and peak memory (the child's own max RSS, from
``os.wait4``) are printed with the first line of what it said. A child still running at ``--limit`` seconds is
killed and counted as a failure.
"""
from __future__ import annotations

import argparse
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path


def _png(path: Path, width: int, height: int, bit_depth: int, colour_type: int, row: bytes) -> None:
    """A PNG written row by row (never holding the whole image), every row the same ``row`` bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    parts = []
    line = b"\x00" + row  # filter byte 0, then the row
    for _ in range(height):
        parts.append(comp.compress(line))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def make_inputs(folder: Path) -> None:
    """Write the three inputs (run in a child process: this one stays small, so its children's peak memory,
    which counts what a forked child inherits, is theirs alone)."""
    import numpy as np
    from PIL import Image

    from fasdiff_lite import data

    huge = folder / "huge_10000x10000.png"
    _png(huge, 10000, 10000, 8, 2, bytes([128]) * 30000)
    bomb = folder / "bomb_13000x13000.png"
    _png(bomb, 13000, 13000, 1, 0, bytes((13000 + 7) // 8))
    photo = folder / "photo_12mp.jpg"
    rng = np.random.default_rng(0)
    canvas = (rng.normal(120, 25, (3000, 4000, 3)).clip(0, 255)).astype(np.uint8)
    face = Image.fromarray(data.sample_faces(128)[0]).resize((1800, 1800), Image.Resampling.BICUBIC)
    canvas[600:2400, 2000:3800] = np.asarray(face)
    Image.fromarray(canvas).save(photo, quality=90)


INPUTS = {"10000×10000 PNG": "huge_10000x10000.png", "PNG bomb (169 MP)": "bomb_13000x13000.png",
          "12 MP photo": "photo_12mp.jpg"}


def entry_points(path: Path, work: Path) -> dict[str, list[str]]:
    py = sys.executable
    folder = work / f"folder_{path.stem}"
    folder.mkdir(exist_ok=True)
    link = folder / path.name
    if not link.exists():
        link.symlink_to(path)
    library = ("import sys; from fasdiff_lite import data; from fasdiff_lite.models import zoo; "
               "x = data.to_tensor(data.load_image(sys.argv[1])); "
               "b = zoo.load('hf-compressor').compress(x, 0.5); print(f'{len(b)} bytes')")
    demo = ("import sys; from fasdiff_lite import demo, settings; settings.cpu_threads(demo.THREADS); "  # as the server
            "rows = demo.compare(sys.argv[1], rate=0.5).rows(); "
            "print(f'{len(rows)} codecs, ' + ', '.join(f'{r[0]} {r[1]} B' for r in rows[:2]))")
    cli = [py, "-m", "fasdiff_lite.cli"]
    return {
        "library": [py, "-c", library, str(path)],
        "compress (aligned)": cli + ["compress", str(path), "-o", str(work / f"{path.stem}.fsd"), "--force",
                                     "--codec", "hf-compressor"],
        "compress --no-align": cli + ["compress", str(path), "-o", str(work / f"{path.stem}_whole.fsd"), "--force",
                                      "--no-align", "--codec", "hf-compressor"],
        "compress --no-align --size 64": cli + ["compress", str(path), "-o", str(work / f"{path.stem}_64.fsd"),
                                                "--force", "--no-align", "--size", "64", "--codec", "hf-compressor"],
        "eval --data": cli + ["eval", "--data", str(folder), "--codecs", "hf-compressor", "--rates", "0.5",
                              "--no-identity", "--no-perceptual", "--out", str(work / f"eval_{path.stem}")],
        "demo compare": [py, "-c", demo, str(path)],
    }


def run(cmd: list[str], limit: float) -> tuple[float, float, int | None, str]:
    """(seconds, peak MB of the child, exit code or None when killed, last line it printed)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    killed = threading.Event()

    def kill():
        killed.set()
        os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(limit, kill)
    timer.start()
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip() and "Warning" not in ln and "warn(" not in ln]
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, None if killed.is_set() else proc.returncode, \
        (lines[-1] if lines else "")[:150]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=float, default=20.0, help="seconds before a child is killed (default 20)")
    p.add_argument("--max-mb", type=float, default=3072.0, help="peak memory a child may reach (default 3 GB)")
    p.add_argument("--make", metavar="DIR", help=argparse.SUPPRESS)  # the child that writes the inputs
    args = p.parse_args(argv)
    if args.make:
        make_inputs(Path(args.make))
        return 0
    failures = 0
    with tempfile.TemporaryDirectory(prefix="big-inputs-") as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, __file__, "--make", str(work)], check=True)
        inputs = {label: work / name for label, name in INPUTS.items()}
        print("| input | file | entry point | seconds | peak MB | exit | what it said |")
        print("|---|---|---|---|---|---|---|")
        for label, path in inputs.items():
            for name, cmd in entry_points(path, work).items():
                secs, mb, rc, said = run(cmd, args.limit)
                ok = rc is not None and secs < args.limit and mb < args.max_mb and said and "Traceback" not in said
                failures += not ok
                print(f"| {label} | {path.stat().st_size / 1024:.0f} KB | {name} | {secs:.1f} | {mb:.0f} | "
                      f"{'killed' if rc is None else rc} | {said.replace('|', '/')}{'' if ok else '  ← FAIL'} |", flush=True)
    print(f"{failures} failures (limit {args.limit:.0f} s, {args.max_mb:.0f} MB)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

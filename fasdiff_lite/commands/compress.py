"""``fasdiff-lite compress face.png -o face.fsd --rate R``: an image to a ``.fsd`` file, with bytes, bpp and time."""
from __future__ import annotations

import time
from pathlib import Path

from .. import data, metrics
from ..compressor import SHIPPED, load_compressor


def add_arguments(p) -> None:
    p.add_argument("image", help="input image (png, jpg, webp, ...; grayscale/RGBA/16-bit are converted)")
    p.add_argument("-o", "--output", help="output .fsd file (default: next to the input)")
    p.add_argument("--rate", type=float, default=0.5, help="0 (fewest bytes) … 1 (best quality); default 0.5")
    p.add_argument("--codec", default="hf-compressor", help=f"one of {', '.join(SHIPPED)} or a model folder")
    p.add_argument("--size", type=int, default=None, help="first crop the centre square and resize to SIZE×SIZE (e.g. 64)")
    p.add_argument("--device", default="cpu")


def main(args) -> int:
    if not 0 <= args.rate <= 1:
        raise ValueError(f"--rate must be between 0 and 1, got {args.rate}")
    img = data.face_crop(args.image, args.size) if args.size else data.load_image(args.image)
    model = load_compressor(args.codec, args.device)
    t0 = time.perf_counter()
    blob = model.compress(data.to_tensor(img), rate=args.rate)
    dt = time.perf_counter() - t0
    out = Path(args.output or Path(args.image).with_suffix(".fsd"))
    out.write_bytes(blob)
    h, w = img.shape[:2]
    print(f"{out}: {len(blob)} bytes, {metrics.bpp(len(blob), h, w):.4f} bpp, {w}×{h}, "
          f"codec {model.config.model_id}, rate {args.rate:g}, encoded in {dt * 1000:.0f} ms")
    return 0

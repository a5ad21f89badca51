"""``fasdiff-lite compress face.png -o face.fsd --rate R``: an image to a ``.fsd`` file, with bytes, bpp and time.

By default the largest face in the image is found and aligned like the training faces (``faces.prepare``: eyes
level, a 64-px crop); ``--no-align`` codes the image as it is (or its centre square, with ``--size``).

The default codec is the full FaSDiff codec when its weights are shipped, else the high-frequency-
sensitive compressor. The bytes are the compressor's either way; the header's model id tells
``decompress`` which decoder to use (the diffusion decoder for the FaSDiff ids).
"""
from __future__ import annotations

import time
from pathlib import Path

from .. import bitstream, data, faces
from ..evaluation import metrics
from ..models import zoo
from ..registry import DEFAULT_CODEC, check_rate
from .files import input_file, output_file


def add_arguments(p) -> None:
    p.add_argument("image", help="input image (png, jpg, webp, ...; grayscale/RGBA/16-bit are converted)")
    p.add_argument("-o", "--output", help="output .fsd file (default: the input's name with .fsd, next to it)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.add_argument("--rate", type=float, default=0.5, help="0 (fewest bytes) … 1 (best quality); default 0.5")
    p.add_argument("--codec", default="auto",
                   help="fasdiff, fasdiff-nolfe, fasdiff-plain, hf-compressor, hyperprior, or a model folder "
                        "(default: fasdiff when shipped, else hf-compressor)")
    p.add_argument("--size", type=int, default=None, help="side of the face crop in pixels (default 64, the size the "
                   "models were trained at; with --no-align and no --size the whole image is coded as it is)")
    p.add_argument("--no-align", dest="align", action="store_false",
                   help="do not look for the face: code the whole image, or with --size its centre square")
    p.add_argument("--device", default="cpu")


def load_encoder(name: str, device: str = "cpu"):
    """The codec object whose ``compress(x, rate)`` writes a ``.fsd`` file, by name (see ``--codec``)."""
    if name == "auto":
        name = DEFAULT_CODEC if DEFAULT_CODEC in zoo.available("codec") else zoo.names("compressor")[0]
    known = zoo.names("codec") + zoo.names("compressor")
    if name in known or Path(name).is_dir():
        return zoo.cached(name, device)
    raise ValueError(f"unknown codec {name!r}: use {', '.join(known)} or a folder")


def main(args) -> int:
    check_rate(args.rate)
    src = input_file(args.image, "image")
    out = output_file(args.output or src.with_suffix(".fsd"), args.force, inputs=(src,))
    if args.align:  # the largest face, found and aligned like the training faces (faces.py)
        img = faces.prepare(src, args.size or 64)
    else:
        img = data.face_crop(src, args.size) if args.size else data.load_image(src)
    t0 = time.perf_counter()
    encoder = load_encoder(args.codec, args.device)
    t1 = time.perf_counter()
    blob = encoder.compress(data.to_tensor(img), rate=args.rate)
    t2 = time.perf_counter()
    out.write_bytes(blob)
    h, w = img.shape[:2]
    print(f"{out}: {len(blob)} bytes, {metrics.bpp(len(blob), h, w):.4f} bpp, {w}×{h}, "
          f"codec {bitstream.unpack(blob).model}, rate {args.rate:g}; model loaded in {(t1 - t0) * 1000:.0f} ms, "
          f"encoded in {(t2 - t1) * 1000:.0f} ms")
    return 0

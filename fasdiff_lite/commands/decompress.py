"""``fasdiff-lite decompress face.fsd -o out.png``: decode a ``.fsd`` file with the model named in its header.

FaSDiff files decode with the diffusion decoder (``--steps``, ``--realism``); compressor files with
the compressor's own synthesis transform.
"""
from __future__ import annotations

import time

from PIL import Image

from .. import bitstream, data
from ..evaluation import metrics
from ..models import zoo
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, MAX_STEPS
from .files import input_file, output_file


def add_arguments(p) -> None:
    p.add_argument("bitstream", help="a .fsd file made by `fasdiff-lite compress`")
    p.add_argument("-o", "--output", help="output image (default: <input>.decoded.png, next to it)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"denoising steps for FaSDiff files (1–{MAX_STEPS}; default {DEFAULT_STEPS})")
    p.add_argument("--realism", type=float, default=DEFAULT_REALISM,
                   help=f"FaSDiff files: 0 = the compressor's fidelity output … 1 = full diffusion (default {DEFAULT_REALISM:g})")
    p.add_argument("--device", default="cpu")


def decoder_for(packet: bitstream.Packet, device: str = "cpu"):
    """The shipped model the header names (loaded once per process), or a BitstreamError naming what is installed."""
    installed = zoo.available("compressor") + zoo.available("codec")
    if packet.model not in installed:
        raise bitstream.BitstreamError(f"no decoder for model {packet.model!r} is installed here "
                                       f"(installed: {', '.join(installed)})")
    return zoo.cached(packet.model, device)


def decode(blob: bytes, device: str = "cpu", steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM, model=None):
    """bytes → (uint8 image, packet). The header names the model; the matching shipped model decodes (``model``:
    one already loaded with :func:`decoder_for`)."""
    packet = bitstream.unpack(blob)
    model = model or decoder_for(packet, device)
    return data.to_image(model.decompress(blob, **zoo.decode_settings(packet.model, steps, realism))), packet


def main(args) -> int:
    path = input_file(args.bitstream, ".fsd file")
    out = output_file(args.output or path.with_name(path.stem + ".decoded.png"), args.force, inputs=(path,))
    blob = path.read_bytes()
    t0 = time.perf_counter()
    model = decoder_for(bitstream.unpack(blob), args.device)
    t1 = time.perf_counter()
    img, packet = decode(blob, args.device, args.steps, args.realism, model=model)
    t2 = time.perf_counter()
    Image.fromarray(img).save(out)
    how = f", {args.steps} steps, realism {args.realism:g}" if packet.model.startswith("fasdiff") else ""
    print(f"{out}: {packet.width}×{packet.height} from {len(blob)} bytes "
          f"({metrics.bpp(len(blob), packet.height, packet.width):.4f} bpp), model {packet.model}{how}, "
          f"rate {packet.rate:.3g}; model loaded in {(t1 - t0) * 1000:.0f} ms, decoded in {(t2 - t1) * 1000:.0f} ms")
    return 0

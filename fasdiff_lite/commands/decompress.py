"""``fasdiff-lite decompress face.fsd -o out.png``: decode a ``.fsd`` file with the model named in its header."""
from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from .. import bitstream, data, metrics
from ..compressor import SHIPPED, cached_compressor


def add_arguments(p) -> None:
    p.add_argument("bitstream", help="a .fsd file made by `fasdiff-lite compress`")
    p.add_argument("-o", "--output", help="output image (default: <input>.png)")
    p.add_argument("--device", default="cpu")


def decode(blob: bytes, device: str = "cpu"):
    """bytes → (uint8 image, packet). The header names the model; the matching shipped model decodes."""
    packet = bitstream.unpack(blob)
    if packet.model not in SHIPPED:
        raise bitstream.BitstreamError(f"no decoder for model {packet.model!r} is installed (known: {', '.join(SHIPPED)})")
    model = cached_compressor(packet.model, device)
    return data.to_image(model.decompress(blob)), packet


def main(args) -> int:
    path = Path(args.bitstream)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    blob = path.read_bytes()
    t0 = time.perf_counter()
    img, packet = decode(blob, args.device)
    dt = time.perf_counter() - t0
    out = Path(args.output or path.with_suffix(".png"))
    Image.fromarray(img).save(out)
    print(f"{out}: {packet.width}×{packet.height} from {len(blob)} bytes "
          f"({metrics.bpp(len(blob), packet.height, packet.width):.4f} bpp), model {packet.model}, "
          f"rate {packet.rate:.3g}, decoded in {dt * 1000:.0f} ms")
    return 0

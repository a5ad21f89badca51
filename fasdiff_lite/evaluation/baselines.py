"""Classical codecs (JPEG, WebP, AVIF through Pillow) to bytes and back, and "fit a byte budget".

Comparisons in the suite are made at **equal bytes**: a learned codec produces a file of N bytes, and
each classical codec gets the best quality setting whose file still fits N bytes (:func:`fit_bytes`).
All byte counts are whole files, headers included, exactly what would be written to disk.

AVIF is used when the installed Pillow can write it (Pillow ≥ 11.3 wheels bundle libavif);
:func:`available_codecs` says what this machine has.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from .. import data

# codec -> (Pillow format, quality range, extra save options). Quality: higher = bigger, better.
CODECS = {
    "jpeg": ("JPEG", (1, 95), {"optimize": True}),
    "webp": ("WEBP", (0, 100), {"method": 6}),
    "avif": ("AVIF", (0, 100), {"speed": 6}),
}


@lru_cache(maxsize=None)
def _can_write(fmt: str) -> bool:
    try:
        buf = io.BytesIO()
        Image.new("RGB", (16, 16)).save(buf, format=fmt)
        Image.open(io.BytesIO(buf.getvalue())).load()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available here"
        return False


def available_codecs() -> list[str]:
    """The codecs Pillow on this machine can both write and read, e.g. ``['jpeg', 'webp', 'avif']``."""
    return [name for name, (fmt, _, _) in CODECS.items() if _can_write(fmt)]


def _check(codec: str) -> tuple:
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; known: {', '.join(CODECS)}")
    if codec not in available_codecs():
        raise RuntimeError(f"Pillow {Image.__version__} on this machine cannot write {codec.upper()}")
    return CODECS[codec]


def encode(image, codec: str, quality: int) -> bytes:
    """Any image (path, array, PIL) → the bytes of a whole ``codec`` file at ``quality``."""
    fmt, (lo, hi), opts = _check(codec)
    if not lo <= int(quality) <= hi:
        raise ValueError(f"{codec} quality must be in {lo}..{hi}, got {quality}")
    img = Image.fromarray(data.load_image(image))
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=int(quality), **opts)
    return buf.getvalue()


def decode(blob: bytes) -> np.ndarray:
    """Bytes of a JPEG/WebP/AVIF file → H×W×3 uint8."""
    try:
        with Image.open(io.BytesIO(blob)) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001
        raise data.ImageError(f"cannot decode these {len(blob)} bytes as an image: {e}") from None


@dataclass
class BaselineResult:
    codec: str
    quality: int
    data: bytes
    decoded: np.ndarray
    fits: bool  # False when even the lowest quality is bigger than the budget (the result is that file)

    @property
    def num_bytes(self) -> int:
        return len(self.data)

    def bpp(self) -> float:
        h, w = self.decoded.shape[:2]
        return 8 * self.num_bytes / (h * w)


def fit_bytes(image, codec: str, max_bytes: int) -> BaselineResult:
    """The highest quality whose ``codec`` file fits ``max_bytes`` (binary search over quality).

    Sizes grow with quality almost monotonically; the search keeps the best fitting quality it saw, so a
    small non-monotonic wiggle can only cost a step of quality, never break the budget. If even the
    lowest quality does not fit, that file is returned with ``fits=False``: headers alone make JPEG
    unable to reach very small budgets, and callers should show that rather than hide it.
    """
    fmt, (lo, hi), _ = _check(codec)
    img = data.load_image(image)
    best = None
    a, b = lo, hi
    while a <= b:
        q = (a + b) // 2
        blob = encode(img, codec, q)
        if len(blob) <= max_bytes:
            best = (q, blob)
            a = q + 1
        else:
            b = q - 1
    if best is None:
        blob = encode(img, codec, lo)
        return BaselineResult(codec, lo, blob, decode(blob), False)
    q, blob = best
    return BaselineResult(codec, q, blob, decode(blob), True)

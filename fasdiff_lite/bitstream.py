"""The ``.fsd`` container: what a compressed face looks like on disk.

Every learned codec in the suite writes the same small container around the range coder's streams::

    offset  size     field
    0       2        magic  FA 5D                       ("FaSDiff"): foreign files fail here
    2       1        format version (1)                 newer files fail with a clear message
    3       1        model id (see MODEL_IDS)           a file decodes only with the model that made it
    4       1–3      height  (unsigned LEB128 varint)   the original size: decoders crop back to it
    .       1–3      width   (unsigned LEB128 varint)
    .       2        rate    (u16, rate·65535)          the rate setting the encoder used
    .       1        number of streams n
    .       1–4 each length of streams 0..n-2 (varint)  the last stream runs to the CRC
    .       ...      the streams, back to back
    end-2   2        CRC-16 (CCITT, binascii.crc_hqx) over everything before it

A 64×64 face with two streams carries 2+1+1+1+1+2+1+1+2 = 12 bytes of header, and that counts in
every bpp the suite reports. Anything that is not a valid container raises :class:`BitstreamError`
(a ``ValueError``) with a message that says what is wrong; nothing else escapes :func:`unpack`.
"""
from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\xfa\x5d"
VERSION = 1
MODEL_IDS = {"hf-compressor": 1, "hyperprior": 2, "fasdiff": 3, "fasdiff-nolfe": 4, "fasdiff-plain": 5}
MODEL_NAMES = {v: k for k, v in MODEL_IDS.items()}
MAX_SIDE = 1 << 16  # 65536 pixels: bigger sides are refused on both ends
MAX_STREAMS = 16


class BitstreamError(ValueError):
    """The bytes are not a valid ``.fsd`` file (truncated, corrupted, foreign or wrong version)."""


@dataclass(frozen=True)
class Packet:
    model: str  # a key of MODEL_IDS
    height: int
    width: int
    rate: float  # in [0, 1]; stored with 16-bit precision
    streams: tuple[bytes, ...]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    n = shift = 0
    for i in range(4):  # ≤ 28 bits (256 MiB): sizes and stream lengths never need more
        if pos >= len(buf):
            raise BitstreamError(f"file is truncated (ends inside the {what})")
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos
    raise BitstreamError(f"corrupted header: the {what} is too long")


def quantize_rate(rate: float) -> int:
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:  # also rejects NaN
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    return round(rate * 65535)


def pack(p: Packet) -> bytes:
    """Packet → bytes (the layout in the module docstring)."""
    if p.model not in MODEL_IDS:
        raise ValueError(f"unknown model {p.model!r}; known: {', '.join(MODEL_IDS)}")
    for name, side in (("height", p.height), ("width", p.width)):
        if not 1 <= int(side) <= MAX_SIDE:
            raise ValueError(f"{name} must be in 1..{MAX_SIDE}, got {side}")
    if not 1 <= len(p.streams) <= MAX_STREAMS:
        raise ValueError(f"need 1..{MAX_STREAMS} streams, got {len(p.streams)}")
    if any(len(s) >= 1 << 28 for s in p.streams):
        raise ValueError("a stream longer than 256 MiB does not fit the container")
    body = bytearray(MAGIC)
    body += bytes([VERSION, MODEL_IDS[p.model]])
    body += _varint(int(p.height)) + _varint(int(p.width))
    body += struct.pack(">H", quantize_rate(p.rate))
    body.append(len(p.streams))
    for s in p.streams[:-1]:
        body += _varint(len(s))
    for s in p.streams:
        body += bytes(s)
    return bytes(body) + struct.pack(">H", binascii.crc_hqx(bytes(body), 0xFFFF))


def unpack(blob: bytes) -> Packet:
    """Bytes → Packet, or :class:`BitstreamError` saying what is wrong with them."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"expected bytes, got {type(blob).__name__}")
    buf = bytes(blob)
    if len(buf) < 2 or buf[:2] != MAGIC:
        raise BitstreamError("not a .fsd file (wrong magic bytes): was it made by fasdiff-lite?")
    if len(buf) < 4:
        raise BitstreamError("file is truncated (ends inside the header)")
    if buf[2] != VERSION:
        raise BitstreamError(f"format version {buf[2]} is not supported (this fasdiff-lite reads version {VERSION}); "
                             "upgrade fasdiff-lite or re-encode the image")
    if len(buf) < 11:
        raise BitstreamError(f"file is truncated ({len(buf)} bytes; the smallest valid file has 11)")
    crc = struct.unpack(">H", buf[-2:])[0]
    if binascii.crc_hqx(buf[:-2], 0xFFFF) != crc:
        raise BitstreamError("checksum mismatch: the file is corrupted or truncated")
    body = buf[:-2]
    model = MODEL_NAMES.get(body[3])
    if model is None:
        raise BitstreamError(f"unknown model id {body[3]} (known: {MODEL_IDS})")
    height, pos = _read_varint(body, 4, "height")
    width, pos = _read_varint(body, pos, "width")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise BitstreamError(f"corrupted header: image size {height}×{width}")
    if pos + 3 > len(body):
        raise BitstreamError("file is truncated (ends inside the header)")
    rate = struct.unpack(">H", body[pos:pos + 2])[0] / 65535
    n = body[pos + 2]
    pos += 3
    if not 1 <= n <= MAX_STREAMS:
        raise BitstreamError(f"corrupted header: {n} streams")
    lengths = []
    for i in range(n - 1):
        length, pos = _read_varint(body, pos, f"length of stream {i}")
        lengths.append(length)
    if pos + sum(lengths) > len(body):
        raise BitstreamError("file is truncated (the streams are shorter than the header says)")
    streams = []
    for length in lengths:
        streams.append(body[pos:pos + length])
        pos += length
    streams.append(body[pos:])
    return Packet(model, height, width, rate, tuple(streams))


def overhead_bytes(p: Packet) -> int:
    """Bytes the container adds around the streams (header + CRC)."""
    return len(pack(p)) - sum(len(s) for s in p.streams)


def seed_of(blob: bytes) -> int:
    """A deterministic 63-bit seed from the file's bytes: diffusion decoders draw their noise from it."""
    import hashlib

    return int.from_bytes(hashlib.sha256(bytes(blob)).digest()[:8], "big") >> 1


def write(path: str | Path, blob: bytes) -> Path:
    path = Path(path)
    path.write_bytes(blob)
    return path


def read(path: str | Path) -> Packet:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        return unpack(path.read_bytes())
    except BitstreamError as e:
        raise BitstreamError(f"{path}: {e}") from None

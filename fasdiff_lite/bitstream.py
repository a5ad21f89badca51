"""The ``.fsd`` container: what a compressed face looks like on disk.

Every learned codec in the suite writes the same small container around its range-coded stream. Versions 2 and 3
(2 written since the compressors moved to the byte-wise rANS coder of :mod:`fasdiff_lite.rans`; 3, the same layout,
since the table of each symbol is chosen in integer arithmetic, :mod:`fasdiff_lite.models.integer_scales`, so that
a file decodes on every machine)::

    offset  size     field
    0       2        magic  FA 5D                       ("FaSDiff"): foreign files fail here
    2       1        format version (2 or 3)            newer files fail with a clear message
    3       1        model id (see MODEL_IDS)           a file decodes only with the model that made it
    4       1–3      height  (unsigned LEB128 varint)   the original size: decoders crop back to it
    .       1–3      width   (unsigned LEB128 varint)
    .       2        rate    (u16, rate·65535)          the rate setting the encoder used
    .       ...      the stream (z then y), to the end of the file

A 64×64 face carries 8 bytes of header, and they count in every bpp the suite reports. There is no CRC in the
container: the coder's final state holds a 23-bit check of the header (these 8 bytes, :func:`header`) and of
every decoded symbol, so a flipped bit, a swapped or truncated stream, another model's file or a header that
lies all fail at decoding with :class:`BitstreamError` — a check of what was *encoded*, not only of the bytes,
for the price of one bit.

Version 1 files (multi-stream, CRC-16, CompressAI's 64-bit rANS) still decode::

    magic FA 5D | version 1 | model id | height | width | rate u16 | n streams | n−1 stream lengths (varints)
    | the streams | CRC-16 (CCITT, binascii.crc_hqx) over everything before it

Anything that is not a valid container raises :class:`BitstreamError` (a ``ValueError``) with a message that
says what is wrong; nothing else escapes :func:`unpack`.
"""
from __future__ import annotations

import binascii
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from .registry import MODEL_IDS, check_rate

MAGIC = b"\xfa\x5d"
VERSION = 3  # the version written (2 by a compressor without integer scales); 1 and 2 are still read
VERSIONS = (1, 2, 3)
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
    version: int = VERSION  # 2: one stream, its check covers the header; 1: streams + CRC-16


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
            if b == 0 and i:  # an overlong varint (…80 00): the same number in other bytes, which the check misses
                raise BitstreamError(f"corrupted header: the {what} is not in its shortest form")
            return n, pos
    raise BitstreamError(f"corrupted header: the {what} is too long")


def quantize_rate(rate: float) -> int:
    return round(check_rate(rate) * 65535)


def _check_fields(model: str, height: int, width: int) -> None:
    if model not in MODEL_IDS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODEL_IDS)}")
    for name, side in (("height", height), ("width", width)):
        if not 1 <= int(side) <= MAX_SIDE:
            raise ValueError(f"{name} must be in 1..{MAX_SIDE}, got {side}")


def header(model: str, height: int, width: int, rate: float, version: int = VERSION) -> bytes:
    """The header bytes of a file (everything before the streams; for version 1, before the stream count).
    The coder's check covers them, so the encoder can bind its stream to the file it will sit in."""
    _check_fields(model, height, width)
    if version not in VERSIONS:
        raise ValueError(f"format version must be one of {VERSIONS}, got {version}")
    return (MAGIC + bytes([version, MODEL_IDS[model]]) + _varint(int(height)) + _varint(int(width))
            + struct.pack(">H", quantize_rate(rate)))


def header_of(p: Packet) -> bytes:
    return header(p.model, p.height, p.width, p.rate, p.version)


def pack(p: Packet) -> bytes:
    """Packet → bytes (the layouts in the module docstring)."""
    _check_fields(p.model, p.height, p.width)
    if p.version >= 2 and len(p.streams) != 1:
        raise ValueError(f"a version-{p.version} file holds exactly one stream, got {len(p.streams)}")
    if not 1 <= len(p.streams) <= MAX_STREAMS:
        raise ValueError(f"need 1..{MAX_STREAMS} streams, got {len(p.streams)}")
    if any(len(s) >= 1 << 28 for s in p.streams):
        raise ValueError("a stream longer than 256 MiB does not fit the container")
    body = bytearray(header_of(p))
    if p.version >= 2:
        return bytes(body) + bytes(p.streams[0])
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
    version = buf[2]
    if version not in VERSIONS:
        raise BitstreamError(f"format version {version} is not supported (this fasdiff-lite reads versions "
                             f"{', '.join(map(str, VERSIONS))}); upgrade fasdiff-lite or re-encode the image")
    smallest = 11 if version == 1 else 12  # v2, v3: an 8-byte header and a 4-byte coder state
    if len(buf) < smallest:
        raise BitstreamError(f"file is truncated ({len(buf)} bytes; the smallest valid file has {smallest})")
    if version == 1:
        crc = struct.unpack(">H", buf[-2:])[0]
        if binascii.crc_hqx(buf[:-2], 0xFFFF) != crc:
            raise BitstreamError("checksum mismatch: the file is corrupted or truncated")
    body = buf[:-2] if version == 1 else buf
    model = MODEL_NAMES.get(body[3])
    if model is None:
        raise BitstreamError(f"unknown model id {body[3]} (known: {MODEL_IDS})")
    height, pos = _read_varint(body, 4, "height")
    width, pos = _read_varint(body, pos, "width")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise BitstreamError(f"corrupted header: image size {height}×{width}")
    if pos + 2 > len(body):
        raise BitstreamError("file is truncated (ends inside the header)")
    rate = struct.unpack(">H", body[pos:pos + 2])[0] / 65535
    if version >= 2:
        if pos + 2 >= len(body):
            raise BitstreamError("file is truncated (no stream after the header)")
        return Packet(model, height, width, rate, (body[pos + 2:],), version)
    if pos + 3 > len(body):
        raise BitstreamError("file is truncated (ends inside the header)")
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
    return Packet(model, height, width, rate, tuple(streams), version)


def overhead_bytes(p: Packet) -> int:
    """Bytes the container adds around the streams (header; + stream count, lengths and CRC in version 1)."""
    return len(pack(p)) - sum(len(s) for s in p.streams)


def mutate(blob: bytes, rng) -> bytes:
    """A hostile variant of a valid file, for fuzzing decoders (``rng``: a ``random.Random``): bit flips,
    overwritten, inserted or cut bytes, or — with the container left valid — another size or rate in the header,
    another model's id, or an emptied or random stream of the same length."""
    b = bytearray(blob)
    kind = rng.randrange(8)
    if kind == 0:  # flip bits
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 1:  # overwrite bytes
        i, n = rng.randrange(len(b)), rng.randint(1, 8)
        b[i:i + n] = bytes(rng.randrange(256) for _ in range(n))
        return bytes(b)
    if kind == 2:  # truncate
        return bytes(b[:rng.randrange(1, len(b))])
    if kind == 3:  # insert
        i = rng.randrange(len(b))
        return bytes(b[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + b[i:])
    p = unpack(blob)
    if kind == 4:  # the header lies about the size
        side = rng.choice([rng.randint(1, 256), rng.randint(1, 4096)])
        return pack(Packet(p.model, side, rng.randint(1, 4096) if rng.random() < 0.5 else side, p.rate, p.streams, p.version))
    if kind == 5:  # another rate
        return pack(Packet(p.model, p.height, p.width, rng.random(), p.streams, p.version))
    if kind == 6:  # another model's id
        return pack(Packet(rng.choice(sorted(MODEL_IDS)), p.height, p.width, p.rate, p.streams, p.version))
    s = p.streams[0]  # an emptied or random stream of the same length
    s = bytes(len(s)) if rng.random() < 0.3 else bytes(rng.randrange(256) for _ in s)
    return pack(Packet(p.model, p.height, p.width, p.rate, (s,) + tuple(p.streams[1:]), p.version))


def seed_of(blob: bytes) -> int:
    """A deterministic 63-bit seed from the file's bytes: diffusion decoders draw their noise from it."""
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

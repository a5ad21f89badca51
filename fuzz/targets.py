"""Fuzz targets: plain functions of bytes, shared by the atheris harnesses (``fuzz_fsd.py``, ``fuzz_image.py``),
the corpus replay test (``tests/test_fuzz.py``) and ``benchmarks/fuzz.py``.

A target returns (a label of the path the input took, counted by the harness) when its input was handled as documented — decoded to what it says, or refused with the project's
own error (:class:`~fasdiff_lite.bitstream.BitstreamError` for ``.fsd`` bytes, :class:`~fasdiff_lite.rans.RansError`
for a bare rANS stream, :class:`~fasdiff_lite.data.ImageError` for an image), with a message — and raises anything
else: an unexpected exception, or an ``AssertionError`` when a decoded result breaks an invariant (size, range,
round trip). Atheris reports either as a crash and writes the input to a ``crash-*`` file.

``fsd(blob)``: the container parser, then

- a parsed file (magic ``FA 5D``) decoded by the shipped compressor its header names (a FaSDiff codec's file holds
  its compressor's stream: decoded up to x_fid, without the diffusion decoder), which reads the stream with
  :class:`~fasdiff_lite.rans.RansDecoder` (version 2) or :class:`~fasdiff_lite.rans.Rans64Decoder` (version 1);
- anything that does not start with the magic bytes is, after ``unpack`` refused it, a bare rANS input for either
  decoder and the shipped models' real CDF tables (the layout in :func:`raw_rans`), so the decoders are fuzzed with
  symbol counts, table indexes and contexts the fuzzer chooses, not only the ones a header implies.

``image(blob)``: :func:`fasdiff_lite.data.load_image` on file bytes (PNG, JPEG, WebP, GIF, TIFF, BMP …: whatever
Pillow opens, EXIF orientation included), then the CLI's centre crop (:func:`~fasdiff_lite.data.face_crop`); bytes
that start with ``ARR`` are instead an array (a dtype, a shape, the values) given to ``load_image``, as the demo's
webcam and the Python API give one.
"""
from __future__ import annotations

import functools
import random

import numpy as np

from fasdiff_lite import bitstream, data, rans, registry

# ----------------------------------------------------------------------------------------------- helpers
def _clear(e: Exception) -> None:
    """The project's errors must say what is wrong, in one line."""
    msg = str(e)
    assert msg.strip(), f"{type(e).__name__} without a message"


@functools.cache
def compressors() -> dict:
    """The shipped compressors (loaded once, one torch thread: a fuzzer runs one input at a time)."""
    import torch

    from fasdiff_lite.models.compressor import HFCompressor

    torch.set_num_threads(1)
    return {name: HFCompressor.shipped(name) for name in registry.available("compressor")}


def _small_tables() -> rans.Tables:
    """A few valid CompressAI-like tables (every frequency ≥ 1), short ones included: the smallest has 3 entries
    (CompressAI's C++ coder stores a frequency in 16 bits: a one-symbol table, frequency 2¹⁶, is not one it makes)."""
    rng = random.Random(7)
    cdfs, lengths, offsets = [], [], []
    for k in (2, 3, 8, 40):  # a CompressAI table has 2 entries at least (a symbol, the escape)
        w = [rng.random() ** 3 + 1e-3 for _ in range(k)]
        f = [max(1, int(v / sum(w) * (1 << 15))) for v in w]
        f[-1] += (1 << 16) - sum(f)
        cdf = [0]
        for v in f:
            cdf.append(cdf[-1] + v)
        cdfs.append(cdf)
        lengths.append(len(cdf))
        offsets.append(rng.randint(-10, 0))
    return rans.prepare(cdfs, lengths, offsets)


@functools.cache
def table_sets() -> list[rans.Tables]:
    """The CDF tables a decoder reads with: each shipped compressor's z (EntropyBottleneck) and y (Gaussian) tables,
    then a few small synthetic ones."""
    sets = []
    for model in compressors().values():
        sets += [model._prepared(model.entropy_bottleneck), model._prepared(model.gaussian_conditional)]
    return sets + [_small_tables()]


# ----------------------------------------------------------------------------------------------- .fsd
def fsd(blob: bytes) -> str:
    try:
        p = bitstream.unpack(blob)
    except bitstream.BitstreamError as e:
        _clear(e)
        if bytes(blob[:2]) != bitstream.MAGIC:
            return raw_rans(blob)
        return "container refused"
    # a parsed container describes itself consistently, and packs back to a file that parses the same
    assert p.model in bitstream.MODEL_IDS and p.version in bitstream.VERSIONS, p
    assert 1 <= p.height <= bitstream.MAX_SIDE and 1 <= p.width <= bitstream.MAX_SIDE and 0 <= p.rate <= 1, p
    assert 1 <= len(p.streams) <= bitstream.MAX_STREAMS and (p.version == 1 or len(p.streams) == 1), p
    assert bitstream.pack(p) == bytes(blob), "the container is not one-to-one: these bytes pack back to others"
    name = registry.VARIANTS.get(p.model, (p.model,))[0]
    model = compressors().get(name)
    if model is None:  # that compressor's weights are not here
        return "container parsed, no model"
    try:
        model.unpack(blob, model_id=p.model)
        x, y = model.decode_packet(p)
    except bitstream.BitstreamError as e:
        _clear(e)
        return f"container parsed v{p.version}, stream refused"
    assert tuple(x.shape) == (1, 3, p.height, p.width), (tuple(x.shape), p.height, p.width)
    assert bool(x.isfinite().all()) and float(x.min()) >= 0 and float(x.max()) <= 1
    return f"decoded v{p.version}"


RAW_LAYOUT = """byte 0: bit 0 the decoder (0: RansDecoder, version 2; 1: Rans64Decoder, version 1), bits 1-7 the table set
byte 1: n, the number of symbols; the next n bytes: each symbol's table index (modulo the set's size)
then 1 byte k (modulo 9) and k bytes of context (the header the check covers); the rest: the stream"""


def raw_layout(decoder: int, table_set: int, indexes: list[int], context: bytes, stream: bytes) -> bytes:
    """The bytes :func:`raw_rans` reads (for seeds): see ``RAW_LAYOUT``."""
    assert len(indexes) < 256 and len(context) < 9
    return bytes([decoder | table_set << 1, len(indexes), *indexes, len(context)]) + context + stream


def raw_rans(blob: bytes) -> str:
    blob = bytes(blob)
    if len(blob) < 3:
        return "raw: too short"
    sets = table_sets()
    v1, tables = blob[0] & 1, sets[(blob[0] >> 1) % len(sets)]
    n = blob[1]
    if len(blob) < 3 + n:
        return "raw: too short"
    indexes = [i % len(tables[0]) for i in blob[2:2 + n]]
    k = blob[2 + n] % 9
    context, stream = blob[3 + n:3 + n + k], blob[3 + n + k:]
    try:
        dec = (rans.Rans64Decoder if v1 else rans.RansDecoder)(stream)
        symbols = dec.decode_stream(indexes, tables)
        dec.finish(context)
    except rans.RansError as e:
        _clear(e)
        return f"raw v{2 - v1}: refused"
    assert len(symbols) == n
    # accepted: our encoder codes the same symbols to a stream that decodes to them again
    enc = rans.RansEncoder()
    enc.encode_with_indexes(symbols, indexes, tables)
    again = rans.RansDecoder(enc.flush(context))
    assert again.decode_stream(indexes, tables) == symbols
    again.finish(context)
    return f"raw v{2 - v1}: decoded"


# ----------------------------------------------------------------------------------------------- images
ARRAY_TAG = b"ARR"
DTYPES = ("uint8", "uint16", ">u2", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "bool",
          "complex64", "uint32")


def image(blob: bytes) -> str:
    blob = bytes(blob)
    if blob.startswith(ARRAY_TAG):
        return array_image(blob[len(ARRAY_TAG):])
    img = _load_checked(blob)
    if img is None:
        return "file refused"
    crop = data.face_crop(img, 16)  # the CLI's path without alignment: the centre square, resized
    assert crop.shape == (16, 16, 3) and crop.dtype == np.uint8, crop.shape
    return "file decoded"


def _load_checked(src):
    """``data.load_image(src)``, checked to be an RGB image within the size limits, or None when it is refused with
    a clear ImageError (anything else escapes: the fuzzer's finding)."""
    try:
        img = data.load_image(src)
    except data.ImageError as e:
        _clear(e)
        return None
    _check_rgb(img)
    return img


def _check_rgb(img: np.ndarray) -> None:
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, (
        type(img), getattr(img, "shape", None), getattr(img, "dtype", None))
    assert min(img.shape[:2]) >= data.MIN_SIDE and img.shape[0] * img.shape[1] <= data.MAX_PIXELS, img.shape


def array_layout(dtype: str, shape: tuple[int, ...], values: bytes, tensor: bool = False) -> bytes:
    """The bytes :func:`array_image` reads (for seeds)."""
    return ARRAY_TAG + bytes([DTYPES.index(dtype) | (0x80 if tensor else 0), len(shape), *shape]) + values


def array_image(blob: bytes) -> str:
    """byte 0: the dtype (an index into DTYPES; bit 7: give it as a torch tensor), byte 1: ndim (modulo 5), then one
    byte per axis (its length, modulo 40), then the values (cycled to fill the array; zeros when there are none)."""
    if len(blob) < 2:
        return "array: too short"
    dtype, tensor, ndim = np.dtype(DTYPES[(blob[0] & 0x7F) % len(DTYPES)]), bool(blob[0] & 0x80), blob[1] % 5
    if len(blob) < 2 + ndim:
        return "array: too short"
    shape = tuple(b % 40 for b in blob[2:2 + ndim])
    raw = blob[2 + ndim:]
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = (raw * (nbytes // max(len(raw), 1) + 1))[:nbytes] if raw else bytes(nbytes)
    a = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    src = a
    if tensor:
        import torch

        if a.dtype.byteorder == ">" or a.dtype == np.uint32:  # torch has no big-endian or uint32 tensors
            return "array: not a tensor dtype"
        src = torch.from_numpy(a)
    return "array refused" if _load_checked(src) is None else "array decoded"

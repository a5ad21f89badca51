"""A small byte-wise rANS coder for CompressAI's entropy tables, with a checksum where the coder's start state was.

CompressAI's entropy models give every symbol a quantised CDF (16-bit precision, ``_quantized_cdf``,
``_cdf_length``, ``_offset``); its C++ ``RansEncoder``/``RansDecoder`` turn them into bytes. That coder is made
for big images: a 64-bit state flushed as 8 bytes, output in 32-bit words (up to 3 more bytes). A whole 64-px
face at the lowest rate is about 30 bytes of entropy, so that overhead alone was a third of the file. This coder
reads the *same* tables (so the bits are the ones CompressAI's likelihoods estimate) with

- a 32-bit state renormalised one byte at a time (ryg's ``rans_byte``): a 4-byte flush, no word padding;
- the encoder's start state carrying a 23-bit check of the symbols and of a caller's context (the file header).
  rANS is a bijection: after the last symbol the decoder is back in the encoder's start state, so it reads the
  check back for about one bit of extra output. A file whose bytes, header or tables were changed decodes to
  other symbols and fails the check (a false accept has probability 2⁻²³), and a stream that ends early or
  has bytes left over is refused: the decoder never reads outside its bytes;
- values outside a table's range escape to 4-bit "bypass" digits, exactly as CompressAI codes them.

Encoding walks the symbols backwards (rANS is last-in first-out), so the decoder reads them forwards::

    enc = RansEncoder(); enc.encode_with_indexes(symbols, indexes, cdfs, cdf_lengths, offsets); blob = enc.flush(b"hdr")
    dec = RansDecoder(blob); symbols = dec.decode_stream(indexes, cdfs, cdf_lengths, offsets); dec.finish(b"hdr")

``finish`` raises :class:`RansError` (a ``ValueError``) when the check fails.

Version-1 ``.fsd`` files hold streams of CompressAI's own coder (64-bit state, 32-bit words). They are read by
:class:`Rans64Decoder`, a port of CompressAI's ``RansDecoder.decode_stream`` to Python with the same bounds checks:
the C++ decoder reads past the end of a stream whose header asks for more symbols than it holds (a crafted file
could crash the process or leak heap bytes into the image); this one raises :class:`RansError`.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_right

import numpy as np

PRECISION = 16  # bits of probability in CompressAI's quantised CDFs
L = 1 << 23  # lower bound of the normalised state: the state lives in [L, 256·L)
BYPASS_BITS = 4  # escape digits for out-of-table values, as in CompressAI
BYPASS_MAX = (1 << BYPASS_BITS) - 1
CHECK_BITS = 23
_X_MAX_BASE = (L >> PRECISION) << 8


class RansError(ValueError):
    """The bytes do not decode: the stream is truncated, too long, or fails its check."""


class Tables(tuple):
    """An entropy model's coding tables as plain lists: (CDF rows cut to their lengths, lengths, offsets).
    Build them once with :func:`prepare` and pass the one object where the three lists would go (``cdfs``)."""


def prepare(cdfs, cdf_lengths, offsets) -> Tables:
    lengths = [int(n) for n in cdf_lengths]
    return Tables(([list(map(int, row))[:n] for row, n in zip(cdfs, lengths)], lengths, [int(o) for o in offsets]))


def _tables(cdfs, cdf_lengths, offsets) -> Tables:
    if isinstance(cdfs, Tables):  # called as f(tables) with a prepared triple
        return cdfs
    if cdf_lengths is None:
        raise TypeError("pass (cdfs, cdf_lengths, offsets) or one prepared Tables")
    return prepare(cdfs, cdf_lengths, offsets)


def check_of(symbols: list[int], context: bytes = b"") -> int:
    """The 23-bit check of a symbol sequence and a context (e.g. a file header): BLAKE2b, truncated."""
    h = hashlib.blake2b(bytes(context), digest_size=4)
    h.update(np.asarray(symbols, dtype="<i4").tobytes())
    return int.from_bytes(h.digest(), "little") & ((1 << CHECK_BITS) - 1)


class RansEncoder:
    """Collects symbols (with the same ``encode_with_indexes`` as CompressAI's ``BufferedRansEncoder``) and
    writes them all in :meth:`flush`."""

    def __init__(self):
        self._ops: list[tuple[int, int, int]] = []  # (start, frequency, precision) in decode order
        self._symbols: list[int] = []

    def encode_with_indexes(self, symbols, indexes, cdfs, cdf_lengths=None, offsets=None) -> None:
        cdfs, lengths, offsets = _tables(cdfs, cdf_lengths, offsets)
        ops, put = self._ops, self._ops.append
        for s, i in zip(symbols, indexes):
            s, i = int(s), int(i)
            if not 0 <= i < len(cdfs):
                raise ValueError(f"table index {i} out of range (0..{len(cdfs) - 1})")
            self._symbols.append(s)
            cdf, max_value = cdfs[i], lengths[i] - 2
            value = s - offsets[i]
            raw = None
            if value < 0:
                raw, value = -2 * value - 1, max_value
            elif value >= max_value:
                raw, value = 2 * (value - max_value), max_value
            put((cdf[value], cdf[value + 1] - cdf[value], PRECISION))
            if raw is not None:  # escape: the number of 4-bit digits (in unary-ish chunks), then the digits
                n = 0
                while raw >> (n * BYPASS_BITS):
                    n += 1
                count = n
                while count >= BYPASS_MAX:
                    put((BYPASS_MAX, 1, BYPASS_BITS))
                    count -= BYPASS_MAX
                put((count, 1, BYPASS_BITS))
                ops.extend(((raw >> (j * BYPASS_BITS)) & BYPASS_MAX, 1, BYPASS_BITS) for j in range(n))

    def flush(self, context: bytes = b"") -> bytes:
        """All symbols so far → bytes. ``context`` (e.g. the container header) is covered by the check."""
        x = L + check_of(self._symbols, context)
        out = bytearray()
        for start, freq, prec in reversed(self._ops):
            x_max = (_X_MAX_BASE << (PRECISION - prec)) * freq
            while x >= x_max:
                out.append(x & 0xFF)
                x >>= 8
            x = ((x // freq) << prec) + (x % freq) + start
        out += x.to_bytes(4, "little")
        out.reverse()  # the decoder reads the last byte written first
        self._ops, self._symbols = [], []
        return bytes(out)


class RansDecoder:
    """Reads a stream written by :class:`RansEncoder`; never reads past its end."""

    def __init__(self, stream: bytes):
        self._buf = bytes(stream)
        if len(self._buf) < 4:
            raise RansError(f"stream too short ({len(self._buf)} bytes; a stream has at least 4)")
        self._x = int.from_bytes(self._buf[:4], "big")
        if not L <= self._x < (L << 8):
            raise RansError("corrupted stream (its first bytes are not a coder state)")
        self._pos = 4
        self._symbols: list[int] = []

    def _get(self, prec: int) -> int:
        return self._x & ((1 << prec) - 1)

    def _advance(self, start: int, freq: int, prec: int) -> None:
        x = freq * (self._x >> prec) + (self._x & ((1 << prec) - 1)) - start
        buf, pos = self._buf, self._pos
        while x < L:
            if pos >= len(buf):
                raise RansError("corrupted or truncated stream (the symbols need more bytes than it holds)")
            x = (x << 8) | buf[pos]
            pos += 1
        self._x, self._pos = x, pos

    def _bypass(self) -> int:
        v = self._get(BYPASS_BITS)
        self._advance(v, 1, BYPASS_BITS)
        return v

    def decode_stream(self, indexes, cdfs, cdf_lengths=None, offsets=None) -> list[int]:
        cdfs, lengths, offsets = _tables(cdfs, cdf_lengths, offsets)
        out = []
        mask = (1 << PRECISION) - 1
        for i in indexes:
            i = int(i)
            if not 0 <= i < len(cdfs):
                raise ValueError(f"table index {i} out of range (0..{len(cdfs) - 1})")
            cdf, max_value = cdfs[i], lengths[i] - 2
            cum = self._x & mask
            value = bisect_right(cdf, cum) - 1
            if not 0 <= value <= max_value:  # only a table with zero-frequency ends could land here
                raise RansError("corrupted stream (a symbol outside its table)")
            self._advance(cdf[value], cdf[value + 1] - cdf[value], PRECISION)
            if value == max_value:
                n = count = self._bypass()
                while count == BYPASS_MAX:
                    count = self._bypass()
                    n += count
                if n > 8:  # more than 32 bits of escape: no real symbol is that large
                    raise RansError("corrupted stream (an escape longer than 32 bits)")
                raw = 0
                for j in range(n):
                    raw |= self._bypass() << (j * BYPASS_BITS)
                value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
            out.append(value + offsets[i])
        self._symbols.extend(out)
        return out

    def finish(self, context: bytes = b"") -> None:
        """After the last symbol: the whole stream must be read and the state must hold the symbols' check."""
        if self._pos != len(self._buf):
            raise RansError(f"corrupted stream ({len(self._buf) - self._pos} bytes left after the last symbol)")
        if self._x != L + check_of(self._symbols, context):
            raise RansError("checksum mismatch: the file is corrupted, or was made by another model or settings")


class Rans64Decoder(RansDecoder):
    """CompressAI's coder read safely: a 64-bit state, renormalised by 32-bit little-endian words, bypass digits
    as raw bits. After the last symbol every word must be read and the state must be the encoder's start state
    (2³¹), which is this format's only check."""

    L64 = 1 << 31

    def __init__(self, stream: bytes):
        buf = bytes(stream)
        if len(buf) < 8 or len(buf) % 4:
            raise RansError(f"corrupted stream ({len(buf)} bytes: not a whole number of 32-bit words, at least 2)")
        self._words = [int.from_bytes(buf[i:i + 4], "little") for i in range(0, len(buf), 4)]
        self._x = self._words[0] | (self._words[1] << 32)
        self._pos = 2
        self._symbols = []

    def _renorm(self, x: int) -> int:
        if x < self.L64:
            if self._pos >= len(self._words):
                raise RansError("corrupted or truncated stream (the symbols need more bytes than it holds)")
            x = (x << 32) | self._words[self._pos]
            self._pos += 1
        return x

    def _advance(self, start: int, freq: int, prec: int) -> None:
        if prec == BYPASS_BITS:  # CompressAI reads bypass digits as raw bits
            self._x = self._renorm(self._x >> BYPASS_BITS)
            return
        x = freq * (self._x >> prec) + (self._x & ((1 << prec) - 1)) - start
        self._x = self._renorm(x)

    def finish(self, context: bytes = b"") -> None:
        if self._pos != len(self._words) or self._x != self.L64:
            raise RansError("corrupted stream (it does not end where its symbols do)")

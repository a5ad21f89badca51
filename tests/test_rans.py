import math
import random

import pytest

from fasdiff_lite import rans


def _tables(n=6, seed=0):
    """n random 16-bit CDFs of random lengths (every symbol frequency ≥ 1), like CompressAI's."""
    rng = random.Random(seed)
    cdfs, lengths, offsets = [], [], []
    for _ in range(n):
        k = rng.randint(3, 40)
        w = [rng.random() ** 3 + 1e-3 for _ in range(k)]
        f = [max(1, int(v / sum(w) * (1 << 16 - 1))) for v in w]
        f[-1] += (1 << 16) - sum(f)
        cdf = [0]
        for v in f:
            cdf.append(cdf[-1] + v)
        cdfs.append(cdf + [0] * 5)  # padded rows, cut to their lengths
        lengths.append(len(cdf))
        offsets.append(rng.randint(-20, 0))
    return cdfs, lengths, offsets


def _ideal_bits(symbols, indexes, cdfs, lengths, offsets):
    bits = 0.0
    for s, i in zip(symbols, indexes):
        v = s - offsets[i]
        m = lengths[i] - 2
        v = min(max(v, m), m) if not 0 <= v < m else v
        bits += -math.log2((cdfs[i][v + 1] - cdfs[i][v]) / 65536)
    return bits


def test_round_trip_with_escapes_and_near_ideal_size():
    cdfs, lengths, offsets = _tables()
    rng = random.Random(1)
    idx = [rng.randrange(len(cdfs)) for _ in range(3000)]
    sym = [offsets[i] + rng.randrange(lengths[i] - 2) for i in idx]
    sym[5] = offsets[idx[5]] - 1000  # far below the table: an escape
    sym[9] = offsets[idx[9]] + 10**6  # far above
    enc = rans.RansEncoder()
    enc.encode_with_indexes(sym[:100], idx[:100], cdfs, lengths, offsets)
    enc.encode_with_indexes(sym[100:], idx[100:], rans.prepare(cdfs, lengths, offsets))
    blob = enc.flush(b"ctx")
    dec = rans.RansDecoder(blob)
    assert dec.decode_stream(idx[:100], cdfs, lengths, offsets) + dec.decode_stream(idx[100:], cdfs, lengths, offsets) == sym
    dec.finish(b"ctx")
    ideal = _ideal_bits(sym, idx, cdfs, lengths, offsets) / 8
    assert ideal < len(blob) <= ideal + 4 + 1 + 8  # the 4-byte state, rounding, the two escapes' digits


def test_check_refuses_another_context_and_stray_bytes():
    cdfs, lengths, offsets = _tables()
    idx = [i % len(cdfs) for i in range(200)]
    sym = [offsets[i] for i in idx]
    enc = rans.RansEncoder()
    enc.encode_with_indexes(sym, idx, cdfs, lengths, offsets)
    blob = enc.flush(b"header A")
    for context, stream, message in ((b"header B", blob, "checksum"), (b"header A", blob + b"\0", "left"),
                                      (b"header A", blob[:-1], "truncated|checksum")):
        dec = rans.RansDecoder(stream)
        with pytest.raises(rans.RansError, match=message):
            dec.decode_stream(idx, cdfs, lengths, offsets)
            dec.finish(context)
    with pytest.raises(rans.RansError, match="too short"):
        rans.RansDecoder(b"\0\x80\0")
    with pytest.raises(rans.RansError, match="state"):
        rans.RansDecoder(b"\xff\xff\xff\xff")


def test_empty_stream_is_just_the_state():
    blob = rans.RansEncoder().flush(b"x")
    assert len(blob) == 4
    rans.RansDecoder(blob).finish(b"x")

"""Hostile files: random mutations of real ``.fsd`` files never crash the decoder, never read outside the stream,
never take long, and never decode to an image (version 2: the coder's end state checks the header and every
symbol). Seeded, so a failure reproduces."""
import random
import time

import torch

from fasdiff_lite import bitstream
from tests.test_compressor import tiny  # noqa: F401 - the small random compressor, as a fixture

N_MUTATIONS = 400


def test_mutated_files_are_refused_quickly(tiny):
    rng = random.Random(20251125)
    blobs = [tiny.compress(torch.rand(1, 3, h, w), r) for (h, w), r in (((64, 64), 0.0), ((64, 64), 0.7), ((50, 90), 0.4))]
    slowest = 0.0
    for i in range(N_MUTATIONS):
        blob = bitstream.mutate(blobs[i % len(blobs)], rng)
        t0 = time.perf_counter()
        try:
            x = tiny.decompress(blob)
        except bitstream.BitstreamError as e:
            assert str(e)
        else:  # only the unchanged file may decode (a mutation can leave the bytes as they were)
            assert blob in blobs, f"mutation {i} decoded: {blob.hex()}"
            assert torch.isfinite(x).all()
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < 3.0, f"a hostile file kept the decoder busy for {slowest:.1f} s"

"""The shipped codecs decode the stored ``.fsd`` files to the very same pixels as when the files were made.

``tests/data/regression/`` holds a few ``.fsd`` files written by the shipped compressors and FaSDiff codecs
(2 sample faces; FaSDiff decoded at two (steps, realism) settings) and the SHA-256 of the PNG each decodes to,
made by ``tests/data/regression/make.py`` with one torch thread on the CPU. Decoding with one CPU thread was
bit-stable between runs when they were made, so the hashes match exactly on that machine; on another CPU a
pixel or two may move by one level (float32 kernels round differently: an AVX-512 machine, measured in session 12),
which the test allows and nothing more; a retrained model changes them
on purpose (run make.py again). Encoding the same face must also write the same bytes.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fasdiff_lite import data
from fasdiff_lite.models import zoo

HERE = Path(__file__).resolve().parent / "data" / "regression"
MAX_LEVELS, MAX_PIXELS = 1, 8  # what another machine's float rounding may change in a 64×64 decode (measured: 1 level, 1 pixel)
MANIFEST = json.loads((HERE / "manifest.json").read_text())
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _png_sha(img) -> str:
    import sys

    sys.path.insert(0, str(HERE))
    from make import png_bytes

    return hashlib.sha256(png_bytes(img)).hexdigest()


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["png"] for e in MANIFEST])
@pytest.mark.parametrize("version", ["", "_v3"])
def test_stored_file_decodes_to_the_same_pixels(entry, version):
    """Both the version-2 file (tables from float scales, written before session 13) and the version-3 one (integer
    scales) of each face decode to the PNG stored when each was made."""
    if entry["codec"] not in zoo.available():
        pytest.skip(f"{entry['codec']} is not shipped here")
    model = zoo.cached(entry["codec"])
    blob = (HERE / entry["fsd" + version]).read_bytes()
    kw = {k: entry[k] for k in ("steps", "realism") if k in entry}
    with torch.no_grad():
        img = data.to_image(model.decompress(blob, **kw))
    if _png_sha(img) == entry["png" + version + "_sha256"]:
        return
    # another CPU (other SIMD kernels: AVX-512 against AVX2) rounds a few float32 values differently, which can move
    # a pixel by one level; anything more is a change of the decoder
    ref = np.asarray(Image.open(HERE / entry["png" + version]).convert("RGB")).astype(int)
    diff = np.abs(img.astype(int) - ref)
    assert diff.max() <= MAX_LEVELS and (diff > 0).sum() <= MAX_PIXELS, (
        f"{entry['png' + version]} decodes to other pixels than when it was made: {(diff > 0).sum()} pixels differ, "
        f"by up to {diff.max()} levels")


@pytest.mark.parametrize("entry", [e for e in MANIFEST if "steps" not in e or e["steps"] == 2],
                         ids=lambda e: e["fsd"])
def test_encoding_writes_the_same_bytes(entry):
    if entry["codec"] not in zoo.available():
        pytest.skip(f"{entry['codec']} is not shipped here")
    names = data.sample_names()
    face = data.sample_faces(64)[names.index(entry["face"])]
    blob = zoo.cached(entry["codec"]).compress(data.to_tensor(face), entry["rate"])
    assert hashlib.sha256(blob).hexdigest() == entry["fsd_v3_sha256"]

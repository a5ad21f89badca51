"""Write the regression files that ``tests/test_regression.py`` decodes: a few stored ``.fsd`` files made by the
shipped codecs and the SHA-256 of the PNG each decodes to (one torch thread, CPU).

Run it again whenever a shipped model is retrained (the stored files and hashes then change on purpose)::

    FASDIFF_FAST=1 python tests/data/regression/make.py

It writes ``<face>_<codec>.fsd`` (the bytes as the encoder made them), ``<face>_<codec>_<setting>.png`` (the
decoded face) and ``manifest.json`` (for each decode: file, codec, steps, realism, the PNG's SHA-256, and the
SHA-256 of the ``.fsd`` bytes, so that the test can also check that encoding still writes the same bytes).
"""
from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the checkout this script lives in, before any installed copy

RATE = 0.3
FACES = 2  # the first two shipped sample faces (64×64)
COMPRESSORS = ("hf-compressor", "hyperprior")
CODECS = ("fasdiff", "fasdiff-nolfe", "fasdiff-plain")
SETTINGS = {"s2r1": (2, 1.0), "s3r05": (3, 0.5)}  # FaSDiff decodes: (steps, realism); both denoising paths


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def decoders():
    """name -> (encoder/decoder object, {setting: decode kwargs})."""
    from fasdiff_lite.models import zoo

    out = {n: (zoo.load(n), {"": {}}) for n in COMPRESSORS}
    out.update({n: (zoo.load(n), {k: {"steps": s, "realism": r} for k, (s, r) in SETTINGS.items()}) for n in CODECS})
    return out


def main() -> int:
    from fasdiff_lite import data

    torch.set_num_threads(1)
    faces = data.sample_faces(64)[:FACES]
    names = data.sample_names()[:FACES]
    manifest = []
    for name, (model, settings_) in decoders().items():
        for face, fname in zip(faces, names):
            blob = model.compress(data.to_tensor(face), RATE)
            stem = f"{fname}_{name}"
            (HERE / f"{stem}.fsd").write_bytes(blob)
            for key, kw in settings_.items():
                img = data.to_image(model.decompress(blob, **kw))
                png = png_bytes(img)
                out = f"{stem}_{key}.png" if key else f"{stem}.png"
                (HERE / out).write_bytes(png)
                manifest.append({"fsd": f"{stem}.fsd", "fsd_sha256": sha256(blob), "codec": name, "face": fname,
                                 "rate": RATE, **kw, "png": out, "png_sha256": sha256(png)})
                print(f"{out}: {len(blob)} B, png {sha256(png)[:12]}")
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

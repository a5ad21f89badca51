"""Write the regression files that ``tests/test_regression.py`` decodes: a few stored ``.fsd`` files made by the
shipped codecs and the SHA-256 of the PNG each decodes to (one torch thread, CPU).

Run it again whenever a shipped model is retrained (the stored files and hashes then change on purpose)::

    FASDIFF_FAST=1 python tests/data/regression/make.py

It writes ``<face>_<codec>.v3.fsd`` (the bytes as the encoder makes them: format version 3, the tables chosen by
integer scales), ``<face>_<codec>.fsd`` (the same face as a version-2 file, tables from float scales: what the
encoder wrote before session 13, kept so that old files are known to decode), ``<face>_<codec>_<setting>.png`` and
``….v3.png`` (the decoded faces: the same for a compressor, whose symbols do not depend on the tables; another
draw for a FaSDiff codec, whose noise is seeded by the file's own bytes) and ``manifest.json`` (for each decode: the files, codec, steps, realism,
the PNG's SHA-256, and the SHA-256 of both ``.fsd``, so that the test can also check that encoding still writes
the same bytes). ``--v3-only`` adds the version-3 files to an existing manifest without touching the rest.
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
    if "--v3-only" in sys.argv:
        return add_version_3(faces, names)
    for name, (model, settings_) in decoders().items():
        for face, fname in zip(faces, names):
            blob = version_2(model).compress(data.to_tensor(face), RATE)
            blob3 = model.compress(data.to_tensor(face), RATE)
            stem = f"{fname}_{name}"
            (HERE / f"{stem}.fsd").write_bytes(blob)
            (HERE / f"{stem}.v3.fsd").write_bytes(blob3)
            for key, kw in settings_.items():
                img = data.to_image(model.decompress(blob, **kw))
                png = png_bytes(img)
                out = f"{stem}_{key}.png" if key else f"{stem}.png"
                (HERE / out).write_bytes(png)
                png3 = png_bytes(data.to_image(model.decompress(blob3, **kw)))
                (HERE / out.replace(".png", ".v3.png")).write_bytes(png3)
                manifest.append({"fsd": f"{stem}.fsd", "fsd_sha256": sha256(blob), "fsd_v3": f"{stem}.v3.fsd",
                                 "fsd_v3_sha256": sha256(blob3), "codec": name, "face": fname,
                                 "rate": RATE, **kw, "png": out, "png_sha256": sha256(png),
                                 "png_v3": out.replace(".png", ".v3.png"), "png_v3_sha256": sha256(png3)})
                print(f"{out}: {len(blob)} B, png {sha256(png)[:12]}")
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


def version_2(model):
    """A copy of ``model`` (a compressor or a FaSDiff codec) that writes version-2 files (no integer scales)."""
    import copy

    model = copy.deepcopy(model)
    (getattr(model, "compressor", model)).int_scales = None
    return model


def add_version_3(faces, names) -> int:
    """Write the version-3 file of every entry of the existing manifest and record it (nothing else changes)."""
    from fasdiff_lite import data

    manifest = json.loads((HERE / "manifest.json").read_text())
    models = {name: model for name, (model, _) in decoders().items()}
    for e in manifest:
        blob3 = models[e["codec"]].compress(data.to_tensor(faces[names.index(e["face"])]), e["rate"])
        e["fsd_v3"] = e["fsd"].replace(".fsd", ".v3.fsd")
        e["fsd_v3_sha256"] = sha256(blob3)
        (HERE / e["fsd_v3"]).write_bytes(blob3)
        kw = {k: e[k] for k in ("steps", "realism") if k in e}
        png3 = png_bytes(data.to_image(models[e["codec"]].decompress(blob3, **kw)))
        e["png_v3"], e["png_v3_sha256"] = e["png"].replace(".png", ".v3.png"), sha256(png3)
        (HERE / e["png_v3"]).write_bytes(png3)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

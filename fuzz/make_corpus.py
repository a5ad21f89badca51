"""Writes the seed corpus of the harnesses (``fuzz/corpus/fsd``, ``fuzz/corpus/image``): small valid inputs the fuzzer
starts from. Deterministic; re-run it after the shipped models change (their files would no longer decode).

    python fuzz/make_corpus.py

- ``fsd``: ``.fsd`` files made by the shipped compressors at 16-32 px (odd sizes, rates 0 to 1), FaSDiff-id files
  (a FaSDiff file is its compressor's stream), a version-1 file (CompressAI's coder), and bare rANS inputs for
  both decoders and every table set (the layout of ``targets.raw_rans``);
- ``image``: a sample face at 16-32 px as PNG (L, LA, RGB, RGBA, P with and without transparency, I;16, 1), JPEG
  (RGB, L, CMYK, EXIF orientations 3/6/8), WebP (lossy, lossless RGBA), GIF, TIFF (CMYK, 16-bit big-endian, float),
  BMP, AVIF, and arrays/tensors (``targets.array_image``); plus a 4-px PNG (refused: too small).

Crash reproducers found later are kept beside the seeds (``crash-*``, ``timeout-*``, ``slow-*``): the corpus replay
test (tests/test_fuzz.py) runs every file on every run.
"""
import io
import random
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fasdiff_lite import bitstream, data, rans  # noqa: E402
from fuzz import targets  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"


def _face(h: int, w: int) -> np.ndarray:
    face = data.sample_faces(64)[0]
    return np.asarray(Image.fromarray(face).resize((w, h), Image.Resampling.LANCZOS))


def fsd_seeds() -> dict[str, bytes]:
    out = {}
    comps = targets.compressors()
    for name, sizes in (("hf-compressor", ((16, 16, 0.0), (24, 24, 0.5), (32, 32, 1.0), (17, 31, 0.3))),
                        ("hyperprior", ((16, 16, 0.0), (32, 32, 0.7)))):
        for h, w, r in sizes:
            out[f"{name}_{h}x{w}_r{r:g}.fsd"] = comps[name].compress(_face(h, w), r)
    out["fasdiff_16x16_r0.5.fsd"] = comps["hf-compressor"].compress(_face(16, 16), 0.5, model_id="fasdiff")
    out["fasdiff-plain_16x16_r0.5.fsd"] = comps["hyperprior"].compress(_face(16, 16), 0.5, model_id="fasdiff-plain")
    # version 2: tables from float scales (what a compressor without integer scales writes)
    import copy

    float_tables = copy.deepcopy(comps["hf-compressor"])
    float_tables.int_scales = None
    out["hf-compressor_24x24_r0.5_v2.fsd"] = float_tables.compress(_face(24, 24), 0.5)
    # version 1: the stream of CompressAI's own coder, with the container's CRC-16
    from compressai.ans import BufferedRansEncoder

    m = comps["hf-compressor"]
    z_sym, z_idx, y_sym, y_idx = m.symbols(data.to_tensor(_face(16, 16)), 0.5, deterministic=False)
    enc = BufferedRansEncoder()
    enc.encode_with_indexes(z_sym, z_idx, *m._tables(m.entropy_bottleneck))
    enc.encode_with_indexes(y_sym, y_idx, *m._tables(m.gaussian_conditional))
    out["hf-compressor_16x16_r0.5_v1.fsd"] = bitstream.pack(
        bitstream.Packet("hf-compressor", 16, 16, 0.5, (enc.flush(),), version=1))
    # bare rANS inputs: random symbols of each table set, coded by each decoder's encoder
    rng = random.Random(0)
    for t, tables in enumerate(targets.table_sets()):
        cdfs, lengths, offsets = tables
        indexes = [rng.randrange(len(cdfs)) for _ in range(40)]
        symbols = [offsets[i] + rng.randrange(-2, lengths[i]) for i in indexes]  # a few escapes at both ends
        enc = rans.RansEncoder()
        enc.encode_with_indexes(symbols, indexes, tables)
        out[f"raw_v2_set{t}.bin"] = targets.raw_layout(0, t, indexes, b"hdr", enc.flush(b"hdr"))
        enc64 = BufferedRansEncoder()
        enc64.encode_with_indexes(symbols, indexes, [c + [0] * (max(lengths) - len(c)) for c in cdfs], lengths, offsets)
        out[f"raw_v1_set{t}.bin"] = targets.raw_layout(1, t, indexes, b"", enc64.flush())
    return out


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def image_seeds() -> dict[str, bytes]:
    rgb = Image.fromarray(_face(24, 20))
    rgba = rgb.convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:6, :, 3] = 0
    rgba = Image.fromarray(a)
    p_t = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p_t.info["transparency"] = 0
    i16 = Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257))
    out = {
        "L.png": _save(rgb.convert("L"), "PNG"),
        "LA.png": _save(rgba.convert("LA"), "PNG"),
        "RGB.png": _save(rgb, "PNG"),
        "RGBA.png": _save(rgba, "PNG"),
        "P.png": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG"),
        "P_transparent.png": _save(p_t, "PNG", transparency=0),
        "I16.png": _save(i16, "PNG"),
        "1.png": _save(rgb.convert("1"), "PNG"),
        "tiny_4px.png": _save(rgb.resize((4, 4)), "PNG"),
        "RGB.jpg": _save(rgb, "JPEG", quality=60),
        "L.jpg": _save(rgb.convert("L"), "JPEG", quality=60),
        "CMYK.jpg": _save(rgb.convert("CMYK"), "JPEG", quality=60),
        "RGB_progressive.jpg": _save(rgb, "JPEG", quality=60, progressive=True),
        "RGB.webp": _save(rgb, "WEBP", quality=50),
        "RGBA_lossless.webp": _save(rgba, "WEBP", lossless=True),
        "P.gif": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "GIF"),
        "CMYK.tif": _save(rgb.convert("CMYK"), "TIFF"),
        "I16B.tif": _save(i16.convert("I;16B") if hasattr(i16, "convert") else i16, "TIFF"),
        "F.tif": _save(Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.float32) / 255.0), "TIFF"),
        "RGB.bmp": _save(rgb, "BMP"),
        "RGB.avif": _save(rgb, "AVIF", quality=40),
    }
    for o in (3, 6, 8):
        out[f"RGB_exif{o}.jpg"] = _save(rgb, "JPEG", quality=60, exif=_exif(o))
    out["RGB_exif6.png"] = _save(rgb, "PNG", exif=_exif(6))
    out["RGB_exif8.webp"] = _save(rgb, "WEBP", quality=50, exif=_exif(8))
    face16 = _face(16, 16)
    out["array_uint8_rgb.arr"] = targets.array_layout("uint8", (16, 16, 3), face16.tobytes())
    out["array_float32_gray.arr"] = targets.array_layout(
        "float32", (16, 16), (face16[..., 0].astype(np.float32) / 255).tobytes())
    out["array_uint16_1ch.arr"] = targets.array_layout("uint16", (16, 16, 1), (face16[..., :1].astype(np.uint16) * 257).tobytes())
    out["array_rgba.arr"] = targets.array_layout("uint8", (16, 16, 4), np.asarray(Image.fromarray(face16).convert("RGBA")).tobytes())
    out["tensor_float32_chw.arr"] = targets.array_layout(
        "float32", (3, 16, 16), (torch.from_numpy(face16.copy()).permute(2, 0, 1).float() / 255).numpy().tobytes(), tensor=True)
    return out


def main() -> None:
    for name, seeds in (("fsd", fsd_seeds()), ("image", image_seeds())):
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for fname, blob in seeds.items():
            (folder / fname).write_bytes(blob)
        print(f"{folder}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()

"""Property tests (hypothesis) of every entry point that takes a user's image or file: any image — sides 1 to 1,100
px (odd ones included), modes L/LA/RGB/RGBA/P/1/I;16/I/F/CMYK, saved as PNG/JPEG/WebP/TIFF/GIF/BMP, with any EXIF
orientation, given as bytes, a path or a PIL image — gives a decoded image of the right size or one clear error:

- ``data.load_image`` (every entry point's first step): H×W×3 uint8, the sides swapped by an orientation of 5-8, the
  pixels of a lossless RGB file turned as the orientation says; or an :class:`~fasdiff_lite.data.ImageError`;
- ``compress`` → ``decompress`` of every shipped learned codec (the compressors, and the FaSDiff codecs at 1 step):
  a 1×3×H×W image in [0, 1]; or an ``ImageError`` (a side under 8 px) or the ``ValueError`` of the 1 MP limit;
- the demo's input path (``demo.input_face``: uploads as a path, webcam frames as arrays, with and without alignment)
  and its decode panel (``demo.decode_file`` on valid and mutated ``.fsd`` files);
- ``load_image`` on arrays and tensors of any dtype and shape.

Examples per test: few in CI (the ``fasdiff-ci`` profile, the default: 12-60 per test, the whole file 15-20 s on
this project's busy 2-core machine), many with ``FASDIFF_PROPERTIES=thorough python -m pytest tests/test_properties.py``
(300-2,000 per test: 9.5 min there, 8 of them coding images). In CI the pixel count of an image that is coded is kept
small (a side of up to 1,100 px with the other short; refusals over 1 MP stay in), the thorough profile codes images
up to the 1 MP limit.
"""
import io
import os
import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from fasdiff_lite import bitstream, data
from fasdiff_lite.models import compressor as compressor_module, zoo

pytestmark = pytest.mark.usefixtures("one_torch_thread")

settings.register_profile("fasdiff-ci", max_examples=12, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fasdiff-thorough", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
THOROUGH = os.environ.get("FASDIFF_PROPERTIES", "").lower() == "thorough"
PROFILE = settings.get_profile("fasdiff-thorough" if THOROUGH else "fasdiff-ci")
CODED_PIXELS = compressor_module.MAX_PIXELS if THOROUGH else 64 * 1100  # CI: long strips, not megapixels


def profile(ci: int, thorough: int | None = None):
    """This test's settings: ``ci`` examples in CI, ``thorough`` (default: the profile's) with FASDIFF_PROPERTIES."""
    return settings(PROFILE, max_examples=(thorough or PROFILE.max_examples) if THOROUGH else ci)


# ------------------------------------------------------------------------------------------- image files
MODES = ("L", "LA", "RGB", "RGBA", "P", "1", "I;16", "I", "F", "CMYK")
FORMATS = {  # format -> modes Pillow writes in it (WebP and GIF convert the others themselves)
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"},
    "JPEG": {"L", "RGB", "CMYK"},
    "WEBP": set(MODES) - {"I;16", "I", "F"},
    "TIFF": set(MODES),
    "GIF": {"1", "L", "P", "RGB"},
    "BMP": {"1", "L", "P", "RGB"},
}
EXIF_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
LOSSLESS_RGB = ("PNG", "TIFF", "BMP")


def _pixels(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colours with a little noise (cheap at any size): H×W×3 uint8."""
    coarse = rng.integers(0, 256, (min(h, 8), min(w, 8), 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BILINEAR)).astype(np.int16)
    return np.clip(a + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8)


def _in_mode(rgb: np.ndarray, mode: str, rng) -> Image.Image:
    im = Image.fromarray(rgb)
    if mode in ("LA", "RGBA"):
        im = im.convert("RGBA")
        im.putalpha(Image.fromarray(rng.integers(0, 256, rgb.shape[:2], dtype=np.uint8)))
        return im.convert(mode)
    if mode == "P":
        return im.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    if mode == "I;16":
        return Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257)
    if mode == "F":
        return Image.fromarray(np.asarray(im.convert("L"), dtype=np.float32) / 255.0)
    return im.convert(mode)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _save(im: Image.Image, fmt: str, orientation: int | None) -> bytes:
    buf, kw = io.BytesIO(), {}
    if fmt == "JPEG":
        kw["quality"] = 75
    if fmt == "WEBP":
        kw["lossless"] = True
    if orientation is not None:
        kw["exif"] = _exif(orientation)
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _turned(a: np.ndarray, orientation: int | None) -> np.ndarray:
    """The pixels as a viewer shows them: EXIF orientation o (1-8), written with numpy (not Pillow's table)."""
    o = orientation or 1
    if o in (2, 4, 5, 7):  # mirrored: flip left-right first
        a = a[:, ::-1]
    turns = {1: 0, 2: 0, 3: 2, 4: 2, 5: 1, 6: 3, 7: 3, 8: 1}[o]  # counter-clockwise quarter turns after the mirror
    return np.ascontiguousarray(np.rot90(a, turns))


SIDES = st.one_of(st.integers(1, 48), st.integers(1, 48), st.integers(8, 96), st.integers(1, 1100))


@st.composite
def image_files(draw, max_pixels: int | None = None):
    """(file bytes, mode, format, orientation, the RGB pixels written, (H, W) as load_image must give them)."""
    h, w = draw(SIDES), draw(SIDES)
    if max_pixels and min(h, w) >= data.MIN_SIDE and max_pixels < h * w <= compressor_module.MAX_PIXELS:
        w = max(data.MIN_SIDE, max_pixels // h)  # keep the 1 MP refusals; shorten the costly images in between
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(sorted(f for f, modes in FORMATS.items() if mode in modes)))
    orientation = draw(st.none() | st.integers(1, 8)) if fmt in EXIF_FORMATS else None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rgb = _pixels(rng, h, w)
    blob = _save(_in_mode(rgb, mode, rng), fmt, orientation)
    turned = (w, h) if orientation in (5, 6, 7, 8) else (h, w)
    return blob, mode, fmt, orientation, rgb, turned


def _as(blob: bytes, form: str, tmp_path):
    if form == "bytes":
        return blob
    if form == "path":
        path = tmp_path / f"image_{random.getrandbits(32):08x}"
        path.write_bytes(blob)
        return path
    return Image.open(io.BytesIO(blob))  # a PIL image, not yet decoded


@profile(ci=40, thorough=1000)
@given(image_files(), st.sampled_from(["bytes", "path", "pil"]))
@example((_save(Image.new("RGB", (1, 1)), "PNG", None), "RGB", "PNG", None, np.zeros((1, 1, 3), np.uint8), (1, 1)),
         "bytes")
def test_load_image_gives_rgb_of_the_right_size_or_an_image_error(tmp_path_factory, case, form):
    blob, mode, fmt, orientation, rgb, (h, w) = case
    src = _as(blob, form, tmp_path_factory.mktemp("img"))
    if min(h, w) < data.MIN_SIDE:
        with pytest.raises(data.ImageError, match="at least"):
            data.load_image(src)
        return
    img = data.load_image(src)
    assert img.dtype == np.uint8 and img.shape == (h, w, 3), (mode, fmt, orientation, img.shape, (h, w))
    if mode == "RGB" and fmt in LOSSLESS_RGB:  # the very pixels, turned as the orientation says
        assert np.array_equal(img, _turned(rgb, orientation)), (fmt, orientation)


# ------------------------------------------------------------------------------------ compress / decompress
LEARNED = zoo.available("compressor") + zoo.available("codec")
requires_models = pytest.mark.skipif(not LEARNED, reason="no shipped learned codec here")


def _decode(model, name: str, blob: bytes) -> torch.Tensor:
    kw = {"steps": 1, "realism": 1.0} if name in zoo.available("codec") else {}
    return model.decompress(blob, **kw)


@requires_models
@profile(ci=12, thorough=300)
@given(st.sampled_from(LEARNED or ["none"]), image_files(max_pixels=CODED_PIXELS), st.floats(0, 1),
       st.sampled_from(["bytes", "path", "pil"]))
@example("hf-compressor", (_save(Image.new("RGB", (1100, 1100)), "PNG", None), "RGB", "PNG", None, None, (1100, 1100)),
         0.5, "bytes")
@example("hf-compressor", (_save(Image.new("L", (1100, 8)), "PNG", None), "L", "PNG", None, None, (8, 1100)),
         0.0, "path")
@example("hyperprior", (_save(Image.new("RGB", (17, 31)), "JPEG", 6), "RGB", "JPEG", 6, None, (17, 31)), 1.0, "pil")
@example("hyperprior", (_save(Image.new("RGB", (7, 300)), "PNG", None), "RGB", "PNG", None, None, (300, 7)), 0.3,
         "bytes")
def test_every_learned_codec_decodes_any_image_to_its_size_or_says_why_not(tmp_path_factory, name, case, rate, form):
    blob, mode, fmt, orientation, _, (h, w) = case
    if name in zoo.available("codec") and h * w > 64 * 96 and not THOROUGH:
        w = h = 48  # the diffusion decoder's step costs ~0.2 s per 64-px face: big faces only in the thorough run
        blob = _save(Image.new("RGB", (w, h), (90, 120, 150)), "PNG", None)
    model = zoo.cached(name)
    src = _as(blob, form, tmp_path_factory.mktemp("img"))
    if min(h, w) < data.MIN_SIDE:
        with pytest.raises(data.ImageError, match="at least"):
            model.compress(src, rate)
        return
    if h * w > compressor_module.MAX_PIXELS:
        with pytest.raises(ValueError, match="MP"):
            model.compress(src, rate)
        return
    fsd = model.compress(src, rate)
    p = bitstream.unpack(fsd)
    assert (p.height, p.width, p.model) == (h, w, name)
    x = _decode(model, name, fsd)
    assert tuple(x.shape) == (1, 3, h, w) and bool(torch.isfinite(x).all()) and 0 <= float(x.min()) <= float(x.max()) <= 1


@requires_models
@profile(ci=4, thorough=100)
@given(st.sampled_from(zoo.available("compressor") or ["none"]),
       st.sampled_from([-0.01, 1.01, float("nan"), float("inf"), -float("inf")]))
def test_a_bad_rate_is_one_value_error(name, rate):
    # (a string such as "0.5x" is refused too, but by float() in HFCompressor.compress: "could not convert string")
    with pytest.raises(ValueError, match="rate"):
        zoo.cached(name).compress(np.zeros((16, 16, 3), np.uint8), rate)


# ------------------------------------------------------------------------------------------ the demo
@profile(ci=10, thorough=200)
@given(image_files(max_pixels=CODED_PIXELS), st.sampled_from([64, 128, 256]), st.booleans(),
       st.sampled_from(["upload", "webcam"]))
def test_the_demo_input_path_gives_a_face_or_one_clear_error(tmp_path_factory, case, size, align, how):
    from fasdiff_lite import demo, faces

    blob, mode, fmt, orientation, _, (h, w) = case
    if how == "upload":  # gradio hands the app a file path (gr.File, type="filepath")
        kw = {"image": _as(blob, "path", tmp_path_factory.mktemp("up"))}
    else:  # a webcam frame arrives as an H×W×3 uint8 array
        if min(h, w) >= data.MIN_SIDE:
            frame = data.load_image(blob)
        else:
            frame = np.zeros((h, w, 3), np.uint8)
        kw = {"webcam": frame}
    try:
        face = demo.input_face(sample=None, size=size, align=align, **kw)
    except data.ImageError as e:  # NoFaceFound is one too
        assert str(e).strip()
        assert min(h, w) < data.MIN_SIDE or (align and isinstance(e, faces.NoFaceFound)), e
        return
    assert min(h, w) >= data.MIN_SIDE
    assert face.face.shape == (size, size, 3) and face.face.dtype == np.uint8


@requires_models
@profile(ci=10, thorough=300)
@given(st.sampled_from(zoo.available("compressor") or ["none"]), st.integers(0, 2**32 - 1), st.booleans())
def test_the_demo_decode_panel_decodes_or_refuses_any_file(tmp_path_factory, name, seed, mutate):
    from fasdiff_lite import demo

    rng = random.Random(seed)
    h, w = rng.randint(8, 40), rng.randint(8, 40)
    fsd = zoo.cached(name).compress(np.full((h, w, 3), rng.randrange(256), np.uint8), rng.random())
    blob = bitstream.mutate(fsd, rng) if mutate else fsd
    path = tmp_path_factory.mktemp("fsd") / "face.fsd"
    path.write_bytes(blob)
    try:
        img, info = demo.decode_file(str(path), steps=1, realism=1.0)
    except bitstream.BitstreamError as e:
        assert str(e).strip() and blob != fsd
        return
    p = bitstream.unpack(blob)
    assert img.dtype == np.uint8 and img.shape == (p.height, p.width, 3) and info
    assert blob == fsd or p.model != name  # a changed file decodes only as another model's (its header was changed)


# ------------------------------------------------------------------------------------------ arrays, tensors
DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
                          np.float64, np.bool_, np.complex64, np.dtype(">u2"), np.dtype("<i4")])


@profile(ci=60, thorough=2000)
@given(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=20)), st.booleans())
@example(np.zeros((0, 16), np.float32), False)
@example(np.zeros((16, 0, 3), np.int32), True)
@example(np.full((16, 16, 3), np.nan, np.float32), False)
def test_load_image_on_any_array_or_tensor(a, as_tensor):
    src = a
    if as_tensor:
        if a.dtype.byteorder == ">" or a.dtype == np.uint16:
            return  # torch has no big-endian tensors, and few uint16 ops
        src = torch.from_numpy(a.copy())
    try:
        img = data.load_image(src)
    except data.ImageError as e:
        assert str(e).strip()
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= data.MIN_SIDE

"""Face detection and alignment: turn any photo of a person into a crop that looks like the training faces.

The shipped models were trained on 64×64 crops in which the face is roughly centred, level and about the
same size (the shared faces). A user's photo is rarely like that: the face sits off-centre, the head is
tilted, or it is a small face in a large photo. *Alignment* moves the face to where the models expect it::

    photo ──detect──▶ face box ──5 landmarks──▶ two eye centres
                                                     │  similarity transform (rotate + scale + shift):
                                                     │    rotate so the eyes are level,
                                                     │    scale so the eye distance matches the template,
                                                     ▼    shift so the eyes' midpoint lands on the template's
                                          size×size crop, eyes where the training faces have them

The *template* is the mean position of the two eye centres over the training faces (train split only),
measured with the same detector by :func:`measure_template`. Detection is dlib's HOG face detector and its
5-point landmark model (two corners of each eye and the nose), both offline (``dlib-bin`` and
``face-recognition-models`` on PyPI).

Typical use::

    from fasdiff_lite import faces
    crop = faces.prepare("photo.jpg", 64)               # aligned 64×64 uint8 crop (NoFaceFound if there is no face)
    crop = faces.prepare("photo.jpg", 64, align=False)  # the plain centre crop, as data.face_crop
    crop, where = faces.locate("photo.jpg", 64)          # ... and where it came from:
    faces.paste_back("photo.jpg", decoded, where)        # the decoded face back in a downscaled copy of the photo

Coordinates are continuous pixels: the image's top-left corner is (0, 0) and pixel (i, j)'s centre is
(i + 0.5, j + 0.5), so a position as a fraction of the frame is the same at 64 px and at 128 px.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, ImageFilter

from . import data

INSTALL_HINT = "pip install dlib-bin face-recognition-models"
SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"
MIN_WORK, MAX_WORK = 256, 800  # detection runs on a copy whose longer side is brought into this range
CHIP = 200  # the 5 landmarks are located on a crop resampled so the face box is about this many pixels


@dataclass(frozen=True)
class Template:
    """Where the two eye centres sit in a training face, as fractions (x, y) of the frame's width and height."""

    left_eye: tuple[float, float]  # the eye on the image's left (the person's right eye)
    right_eye: tuple[float, float]
    found: int = 0  # faces the detector found when this was measured ...
    total: int = 0  # ... out of this many

    @property
    def mid(self) -> np.ndarray:
        return (np.asarray(self.left_eye) + np.asarray(self.right_eye)) / 2

    @property
    def distance(self) -> float:
        return float(np.hypot(*(np.asarray(self.right_eye) - np.asarray(self.left_eye))))

    def targets(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Where :func:`align` puts the (left, right) eye centres in a size×size crop: level, ``distance`` apart,
        around ``mid`` (within a fraction of a pixel of the mean eye positions, which are almost level)."""
        half = np.array([self.distance / 2, 0.0])
        return (self.mid - half) * size, (self.mid + half) * size


# Measured by measure_template() on the 128-px copies of the shared faces' TRAIN split (never validation):
# dlib found a face in 646 of the 680 train faces. Re-measure with:  python benchmarks/alignment.py
# The train faces are only roughly aligned: two sources, tight crops (native side < 128 px, eye distance about
# 0.35 of the frame) and looser ones (native ≥ 512 px, about 0.29): one face's eyes sit ~2–5 px (at 64 px) from these.
# The tight crops were cut from a detector box (framed from dlib's box, half of them are reproduced exactly); the looser
# ones follow no single framing (frame 1.53 ± 0.33 box sides), so no aligner reproduces every training crop within
# 2 px (benchmarks/alignment.py measures both).
TEMPLATE = Template(left_eye=(0.3375, 0.4249), right_eye=(0.6667, 0.4214), found=646, total=680)


class FacesUnavailable(RuntimeError):
    """dlib or its model files are not installed; the message says what to install."""


class NoFaceFound(data.ImageError):
    """The detector found no face in the photo (a ValueError, like every ImageError)."""


@dataclass(frozen=True)
class Face:
    """One detected face; every coordinate is in the input image's pixels."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    landmarks: np.ndarray  # 5×2 (x, y): 0–1 corners of the eye on the image's right, 2–3 of the other, 4 nose
    left_eye: np.ndarray  # centre of the eye on the image's left (x, y)
    right_eye: np.ndarray  # centre of the eye on the image's right

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(*(self.right_eye - self.left_eye)))

    @property
    def angle(self) -> float:
        """Tilt of the line from the left to the right eye, in degrees (0 = level, positive = clockwise)."""
        dx, dy = self.right_eye - self.left_eye
        return math.degrees(math.atan2(dy, dx))


# ----------------------------------------------------------------------------------------- models
def models_dir() -> Path:
    """The ``models/`` folder of ``face-recognition-models``, found without importing it (its ``__init__``
    needs ``pkg_resources``, which recent setuptools no longer ships)."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FacesUnavailable(f"dlib's face model files are not installed; install them with:  {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@lru_cache(maxsize=1)
def _models():
    """(dlib, HOG detector, 5-point shape predictor), loaded once."""
    try:
        import dlib  # optional: imported on first use, its absence explained below
    except ImportError as e:
        raise FacesUnavailable(f"dlib is not installed ({e}); install it and its model files with:  {INSTALL_HINT}") from None
    path = models_dir() / SHAPE5_FILE
    if not path.exists():
        raise FacesUnavailable(f"{path.name} is missing from {path.parent}; reinstall with:  {INSTALL_HINT}")
    return dlib, dlib.get_frontal_face_detector(), dlib.shape_predictor(str(path))


def is_available() -> bool:
    """True when dlib and the 5-point landmark model load here."""
    try:
        _models()
    except FacesUnavailable:
        return False
    return True


# ----------------------------------------------------------------------------------------- detection
def detect(image) -> list[Face]:
    """Every face dlib finds in ``image`` (anything :func:`fasdiff_lite.data.load_image` reads), largest first.

    The detector runs on a copy whose longer side is brought to 256–800 px (a 12 MP photo is shrunk, a 64-px
    face enlarged: HOG needs faces of about 80 px); if it finds nothing there it looks again at twice that
    resolution for small faces. The landmarks are then located on a crop around each face resampled to
    about :data:`CHIP` px, so they are precise for small and large faces alike.
    """
    img = data.load_image(image)
    dlib, detector, _ = _models()
    h, w = img.shape[:2]
    s = min(max(1.0, MIN_WORK / max(h, w)), MAX_WORK / max(h, w))
    work = img if s == 1 else _resize(Image.fromarray(img), (round(w * s), round(h * s)))
    sx, sy = work.shape[1] / w, work.shape[0] / h
    rects = detector(work, 0) or detector(work, 1)
    rects = sorted(rects, key=lambda r: r.width() * r.height(), reverse=True)
    # a dlib rectangle holds inclusive pixel indices; +1 on right/bottom makes it a continuous box
    boxes = [(r.left() / sx, r.top() / sy, (r.right() + 1) / sx, (r.bottom() + 1) / sy) for r in rects]
    return [_face(img, box) for box in boxes]


def _face(img: np.ndarray, box: tuple[float, float, float, float]) -> Face:
    """The 5 landmarks of the face in ``box``, located on a crop around it resampled to about CHIP px."""
    dlib, _, predictor = _models()
    h, w = img.shape[:2]
    l, t, r, b = box
    m = 0.3 * max(r - l, b - t)
    region = (max(0.0, l - m), max(0.0, t - m), min(float(w), r + m), min(float(h), b + m))
    k = CHIP / max(r - l, b - t)
    cw, ch = max(1, round((region[2] - region[0]) * k)), max(1, round((region[3] - region[1]) * k))
    chip = _resize(Image.fromarray(img), (cw, ch), box=region)
    kx, ky = cw / (region[2] - region[0]), ch / (region[3] - region[1])
    rect = dlib.rectangle(round((l - region[0]) * kx), round((t - region[1]) * ky),
                          round((r - region[0]) * kx) - 1, round((b - region[1]) * ky) - 1)
    pts = np.array([[p.x, p.y] for p in predictor(chip, rect).parts()], dtype=np.float64) + 0.5
    pts = pts / (kx, ky) + region[:2]
    return Face(box=tuple(float(v) for v in box), landmarks=pts, left_eye=pts[2:4].mean(0), right_eye=pts[0:2].mean(0))


def _resize(im: Image.Image, size: tuple[int, int], box=None) -> np.ndarray:
    """Lanczos when shrinking (fast for big photos: reduce first), bicubic when enlarging."""
    src_w = (box[2] - box[0]) if box else im.width
    shrink = size[0] < src_w
    out = im.resize(size, Image.Resampling.LANCZOS if shrink else Image.Resampling.BICUBIC, box=box,
                    reducing_gap=3.0 if shrink else None)
    return np.ascontiguousarray(np.asarray(out))


# ----------------------------------------------------------------------------------------- template
def measure_template(faces: Iterable) -> Template:
    """The mean eye-centre positions, as fractions of the frame, over the faces the detector finds.

    ``faces``: images (e.g. ``data.load_faces("shared", size=128, split="train")``). Use training faces
    only: the template is part of the model's input pipeline, so it must not be fitted on validation faces.
    """
    left, right, total = [], [], 0
    for f in faces:
        img = data.load_image(f)
        total += 1
        found = detect(img)
        if found:
            wh = np.array([img.shape[1], img.shape[0]], dtype=np.float64)
            left.append(found[0].left_eye / wh)
            right.append(found[0].right_eye / wh)
    if not left:
        raise NoFaceFound(f"no face found in any of the {total} images; cannot measure a template")
    le, re = np.mean(left, axis=0), np.mean(right, axis=0)
    return Template(tuple(float(v) for v in le), tuple(float(v) for v in re), found=len(left), total=total)


# ----------------------------------------------------------------------------------------- alignment
def align(image, size: int = 64, face: Face | None = None, template: Template = TEMPLATE) -> np.ndarray:
    """The largest face in ``image`` (or ``face``, in its pixels), aligned to ``template`` → uint8 size×size×3.

    Raises :class:`NoFaceFound` when dlib finds no face; :func:`prepare` with ``align=False`` (the CLI's
    ``--no-align``) takes the centre crop instead.
    """
    return _align(image, size, face, template)


def prepare(image, size: int = 64, align: bool = True) -> np.ndarray:
    """The face crop the models expect: aligned (default), or the plain centre crop with ``align=False``."""
    return _align(image, size, None, TEMPLATE) if align else data.face_crop(image, size)


@dataclass(frozen=True)
class Placement:
    """Where an aligned crop came from: crop point ``u`` (continuous pixels) is photo point ``A @ u + off``."""

    A: np.ndarray  # 2×2
    off: np.ndarray  # 2
    size: int  # the crop's side
    photo_size: tuple[int, int]  # the photo's (width, height)


def locate(image, size: int = 64, face: Face | None = None, template: Template = TEMPLATE) -> tuple[np.ndarray, Placement]:
    """:func:`align`, and where the crop sits in the photo (for :func:`paste_back`)."""
    out = {}
    crop = _align(image, size, face, template, out)
    return crop, out["placement"]


def paste_back(photo, decoded, placement: Placement, max_side: int = 256, feather: float = 1.5) -> np.ndarray:
    """The decoded face put back where it came from, in a copy of ``photo`` downscaled so its longer side is at
    most ``max_side`` (a 64-px face gains nothing from a full-size canvas). ``decoded`` may be any size: it is
    stretched over the crop's square. The seam is blurred over about ``feather`` canvas pixels."""
    img = data.load_image(photo)
    h, w = img.shape[:2]
    if (w, h) != tuple(placement.photo_size):
        raise data.ImageError(f"the photo is {w}×{h} but the face was located in a "
                              f"{placement.photo_size[0]}×{placement.photo_size[1]} one")
    dec = data.load_image(decoded)
    s = min(1.0, max_side / max(h, w))
    cw, ch = max(1, round(w * s)), max(1, round(h * s))
    canvas = np.asarray(Image.fromarray(img).resize((cw, ch), Image.Resampling.LANCZOS)) if s < 1 else img
    # canvas point c → photo point c·(w/cw, h/ch) → crop point A⁻¹(x − off) → decoded point × (side / size)
    k = dec.shape[1] / placement.size
    Ainv = np.linalg.inv(placement.A) * k
    S = np.diag([w / cw, h / ch])
    M, t = Ainv @ S, -Ainv @ placement.off
    coeffs = (M[0, 0], M[0, 1], t[0], M[1, 0], M[1, 1], t[1])
    warp = lambda im, resample: im.transform((cw, ch), Image.Transform.AFFINE, coeffs, resample=resample)  # noqa: E731
    face = np.asarray(warp(Image.fromarray(dec), Image.Resampling.BICUBIC), dtype=np.float64)
    inside = warp(Image.new("L", (dec.shape[1], dec.shape[0]), 255), Image.Resampling.BILINEAR)
    if feather > 0:  # shrink the mask by about `feather` and blur it, so the seam fades instead of cutting
        inside = inside.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(feather))
    a = np.asarray(inside, dtype=np.float64)[..., None] / 255
    return np.clip(canvas * (1 - a) + face * a, 0, 255).round().astype(np.uint8)


def _align(image, size: int, face: Face | None, template: Template, out: dict | None = None) -> np.ndarray:
    if size < data.MIN_SIDE:
        raise data.ImageError(f"crop size {size} is below the minimum {data.MIN_SIDE}")
    img = data.load_image(image)
    if face is None:
        found = detect(img)
        if not found:
            name = Path(image).name if isinstance(image, (str, Path)) else "the image"
            raise NoFaceFound(f"no face found in {name}; use --no-align (align=False) for a centre crop")
        face = found[0]
    eye_dist = face.eye_distance
    if eye_dist < 1e-6:
        raise data.ImageError("the face's two eye centres coincide; cannot align it")
    scale = template.distance * size / eye_dist  # output pixels per input pixel
    # Output point u maps to input point x = A u + off: rotate by the eyes' tilt, undo the scale, and send
    # the template's eye midpoint to the face's.
    cos, sin = (face.right_eye - face.left_eye) / eye_dist
    A = np.array([[cos, -sin], [sin, cos]]) / scale
    off = (face.left_eye + face.right_eye) / 2 - A @ (template.mid * size)
    if out is not None:
        out["placement"] = Placement(A, off, size, (img.shape[1], img.shape[0]))
    # Render at 2× when shrinking and Lanczos down at the end (no aliasing); shrink the photo's region
    # first so the rotation itself never shrinks by more than that (fast for big photos).
    q = 2 if scale < 1 else 1
    A_render = A / q
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64) @ A.T + off
    x0, y0 = np.floor(corners.min(0)).astype(int) - 3
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 3
    region = Image.fromarray(_crop_replicate(img, x0, y0, x1, y1))
    k = min(1.0, q * scale)
    if k < 1:
        region = Image.fromarray(_resize(region, (max(1, round(region.width * k)), max(1, round(region.height * k)))))
    kx, ky = region.width / (x1 - x0), region.height / (y1 - y0)
    coeffs = (A_render[0, 0] * kx, A_render[0, 1] * kx, (off[0] - x0) * kx,
              A_render[1, 0] * ky, A_render[1, 1] * ky, (off[1] - y0) * ky)
    out = region.transform((q * size, q * size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BICUBIC)
    if q > 1:
        out = out.resize((size, size), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(out))


def _crop_replicate(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """img[y0:y1, x0:x1], where parts outside the photo repeat its edge pixels (not black)."""
    h, w = img.shape[:2]
    ys, xs = np.clip(np.arange(y0, y1), 0, h - 1), np.clip(np.arange(x0, x1), 0, w - 1)
    return img[np.ix_(ys, xs)]

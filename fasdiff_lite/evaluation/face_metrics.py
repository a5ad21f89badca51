"""Machine-vision metrics: does a decoded face still work for a face-recognition system?

PSNR and MS-SSIM ask "does the decoded image look like the original to a person?". FaSDiff's second
claim is about *machines*: after compression, a face recogniser should still see the same person, a
detector should still find the face, and a landmark model should still put the eyes where they were.
This module measures that, offline, with models whose weights ship inside PyPI packages:

- ``dlib-bin`` (a prebuilt wheel of `dlib <http://dlib.net>`_), and
- ``face-recognition-models`` (dlib's model files: the ResNet face descriptor, the 5- and 68-point
  landmark predictors, and a CNN detector we do not use).

The pipeline for one face (every metric below is built from it)::

    face (any size, uint8 H×W×3)
      └─ upsample: longer side → 256 px, bicubic (dlib's HOG detector misses faces under ~80 px)
          └─ detect: HOG + linear SVM face detector → box           (or the fallback box, see below)
              ├─ 5-point shape (eye corners, nose) → aligned 150×150 chip → ResNet → 128-d descriptor
              └─ 68-point shape (jaw, brows, eyes, nose, mouth)          → landmarks for NME

The metrics
-----------
**Identity similarity.** dlib's ResNet (a ResNet-34-like network trained with a metric loss on about
3 million faces) maps a face to a 128-d *descriptor* such that two photos of the same person lie close
and different people lie far apart. We report two numbers for an (original, decoded) pair:

- *cosine similarity* ``a·b / (|a||b|)``: 1 for identical descriptors; the usual number for
  ArcFace-style models, so our plots read the same way with a stronger backend later. Beware: dlib's
  descriptors all share a large common direction, so even *different* people score high (mean 0.84,
  5th–95th percentile 0.78–0.90 over all pairs of the 150 validation faces). Read cosine on a
  0.8–1 scale, and use the distance for yes/no decisions;
- *dlib distance*: the Euclidean distance ``|a − b|``, the number dlib was trained and calibrated on.
  dlib's rule is **distance < 0.6 → same person** (99.38% accuracy on the LFW benchmark). The
  *same-person rate* is the fraction of pairs a dlib-based system would still accept as a match.
  (Between different validation faces the mean distance is 0.81; 1.6% of pairs fall under 0.6:
  the same person photographed twice, or look-alikes at 64 px.)

**Re-identification rank-1.** A harder, more realistic test: put the descriptors of all *originals* in
a gallery, and for each *decoded* face ask "which gallery face is nearest?". Rank-1 accuracy is the
fraction whose nearest gallery face is their own original. It drops when compression pushes faces
toward a generic "average face" (a known failure of generative decoders), even while each pair still
passes the 0.6 threshold. The gallery here can hold the same person twice (the shared faces have no
identity labels), so rank-1 is a lower bound on true person-level re-identification.

**Detection rate.** The fraction of faces in which dlib's HOG detector finds a face. Compression
artefacts (blocking, blur) can hide the gradients a HOG detector relies on.

**Landmark error (NME).** The 68-point model's landmarks on the decoded face, compared with those on
the original, averaged over the 68 points, and divided by the *inter-ocular distance* (outer eye
corners, points 36 and 45, of the original): the normalised mean error used by the 300-W benchmark.
0.05 means the landmarks moved on average 5% of the eye-to-eye distance. The original's landmarks are
the reference ("pseudo ground truth"): we measure how much compression moves them, not how right the
model is.

Small, tightly-cropped faces (our choice, documented)
-----------------------------------------------------
The suite's faces are 64×64 crops in which the face fills the image. Two consequences:

1. dlib's HOG detector works on faces of about 80 px and more, so every image whose longer side is
   shorter than :data:`WORK_SIZE` (256) is **upsampled** to it with bicubic interpolation (PIL) before
   detection, landmarks and descriptors. Larger images are used as they are. Original and decoded
   faces always go through the same resize.
2. Even upsampled, the detector misses some tight crops (the face runs off the edge of the image,
   so the HOG window does not fit). Then we **fall back to a fixed face box** so the descriptor and
   landmarks can still be computed; the result says ``detected=False`` and :func:`detection_rate`
   counts it as a miss, so the detection rate stays honest. The fallback box is not the full image:
   dlib's detector boxes on tight crops sit lower and narrower than the image (brows to chin), and the
   landmark predictors are trained on *its* boxes. :data:`FALLBACK_BOX` is the mean detector box we
   measured on the 150 validation faces at 64 px. On the faces the detector does find, swapping its
   box for this fallback moves the descriptor by 0.04 on average (max 0.26), against 0.12 (max 0.91,
   past the 0.6 threshold) for the full image rectangle. ``DlibBackend(fallback="full")`` gives the
   plain full-image rectangle. On a user's own un-cropped photos the fallback is rarely needed.
3. For a *pair* (original, decoded), the decoded face's landmarks are predicted from the original's
   face box (``paired_box=True``, the default): the two images are pixel-aligned, so this measures
   what compression did to the face rather than how the detector's box jittered. Whether the detector
   still finds the decoded face is :func:`detection_rate`'s job.

What to expect (measured on a 2-core CPU, 150 validation faces at 64 px, JPEG at a byte budget)
--------------------------------------------------------------------------------------------------
======================  ======  =======  =========  ======  =========  =====
JPEG budget (bytes)     bpp     cosine   distance   same    rank-1     NME
======================  ======  =======  =========  ======  =========  =====
256 (q=1, over budget)  0.69    0.876    0.694      0.11    0.02       0.065
512 (q≈10)              0.98    0.943    0.478      0.89    0.81       0.022
768 (q≈31)              1.49    0.975    0.313      1.00    0.97       0.014
======================  ======  =======  =========  ======  =========  =====

The detector finds 94% of the originals, 1% of the 256-byte JPEGs, 87% at 512 bytes and 93% at 768.
JPEG cannot reach 256 bytes (0.5 bpp) on a 64×64 face at all: its headers and 8×8 blocks cost
more. About 0.1 s per face for a descriptor (``benchmarks/face_metrics_speed.py``).

Optional stronger backends (ArcFace, FaceNet) need weights downloaded from the internet (Colab); see
:func:`online_backend`.

Typical use::

    from fasdiff_lite import face_metrics as fm
    fm.identity_similarity(original, decoded)      # → IdentityScore(cosine=0.97, distance=0.21, ...)
    fm.evaluate_identity(originals, decodeds)      # → dict of all the metrics above
    refs = fm.analyse_originals(originals)         # many decoded sets of the same originals:
    fm.evaluate_identity(originals, decodeds, reference=refs)   # analyse the originals once
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .. import data, faces
from .metrics import frechet_distance

WORK_SIZE = 256  # images whose longer side is shorter than this are upsampled to it (bicubic)
SAME_PERSON_DISTANCE = 0.6  # dlib's threshold on the Euclidean distance of two descriptors
DESCRIPTOR_DIM = 128
# Mean dlib HOG box (left, top, right, bottom) as a fraction of the image, measured on the 150
# validation faces at 64 px upsampled to 256 px (std about 0.07-0.11 per side).
FALLBACK_BOX = (0.14, 0.23, 0.84, 0.94)
INSTALL_HINT = "pip install dlib-bin face-recognition-models"
MODEL_FILES = {
    "shape5": "shape_predictor_5_face_landmarks.dat",
    "shape68": "shape_predictor_68_face_landmarks.dat",
    "descriptor": "dlib_face_recognition_resnet_model_v1.dat",
}
OUTER_EYE_CORNERS = (36, 45)  # in dlib's 68-point (iBUG 300-W) numbering


class FaceMetricsUnavailable(RuntimeError):
    """A face-metrics backend that cannot run here (missing package, model file or network)."""


# ------------------------------------------------------------------------------------- results
@dataclass
class FaceAnalysis:
    """What the pipeline saw in one face. Coordinates are in the input image's pixels."""

    detected: bool  # False: the detector found nothing and the fallback box was used
    box: tuple[float, float, float, float]  # left, top, right, bottom
    descriptor: np.ndarray | None = None  # 128-d float64
    landmarks: np.ndarray | None = None  # 68×2 (x, y), when asked for


@dataclass
class IdentityScore:
    cosine: float  # cosine similarity of the two descriptors (1 = identical)
    distance: float  # Euclidean distance, dlib's own measure
    same_person: bool  # distance < SAME_PERSON_DISTANCE

    def __repr__(self) -> str:
        return f"IdentityScore(cosine={self.cosine:.3f}, distance={self.distance:.3f}, same_person={self.same_person})"


# ------------------------------------------------------------------------------------- backend
def models_dir() -> Path:
    """The ``models/`` folder of the ``face-recognition-models`` package, found without importing it
    (:func:`fasdiff_lite.faces.models_dir`; its ``__init__`` imports ``pkg_resources``, which recent setuptools no
    longer ships)."""
    try:
        return faces.models_dir()
    except faces.FacesUnavailable as e:
        raise FaceMetricsUnavailable(f"{e} (about 100 MB, offline afterwards)") from None


class DlibBackend:
    """dlib's detector, landmark predictors and ResNet descriptor, loaded once on first use.

    Creating the object is free; the first call that needs a model loads it (about 1.5 s and 110 MB of
    memory for all of them, measured here). Raises :class:`FaceMetricsUnavailable` naming the pip packages to install
    when dlib or the model files are missing.
    """

    name = "dlib"

    def __init__(self, work_size: int = WORK_SIZE, fallback: str = "typical"):
        if fallback not in ("typical", "full"):
            raise ValueError(f"fallback must be 'typical' or 'full', not {fallback!r}")
        self.work_size = int(work_size)
        self.fallback = fallback
        self._dlib = None
        self._models: dict[str, object] = {}

    # -- loading
    @property
    def dlib(self):
        if self._dlib is None:
            try:
                import dlib  # optional: imported on first use, its absence explained below
            except ImportError as e:
                raise FaceMetricsUnavailable(
                    f"dlib is not installed ({e}); install a prebuilt wheel and the model files with:  "
                    f"{INSTALL_HINT}"
                ) from None
            self._dlib = dlib
        return self._dlib

    def _model(self, key: str):
        if key not in self._models:
            dlib = self.dlib
            if key == "detector":
                self._models[key] = dlib.get_frontal_face_detector()  # built into dlib, no file
            else:
                path = models_dir() / MODEL_FILES[key]
                if not path.exists():
                    raise FaceMetricsUnavailable(f"{path.name} is missing from {path.parent}; reinstall with:  {INSTALL_HINT}")
                load = dlib.face_recognition_model_v1 if key == "descriptor" else dlib.shape_predictor
                self._models[key] = load(str(path))
        return self._models[key]

    def check(self) -> "DlibBackend":
        """Load every model now (raises :class:`FaceMetricsUnavailable` if one is missing)."""
        for key in ("detector", *MODEL_FILES):
            self._model(key)
        return self

    # -- one face
    def prepare(self, face) -> tuple[np.ndarray, float]:
        """Any image → (uint8 H×W×3 that dlib sees, scale from input pixels to its pixels)."""
        img = data.load_image(face)
        h, w = img.shape[:2]
        if max(h, w) >= self.work_size:
            return np.ascontiguousarray(img), 1.0
        scale = self.work_size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC)), scale

    def _detect(self, img: np.ndarray):
        """(dlib.rectangle, detected?) on an already prepared image; the best-scoring face wins."""
        dlib = self.dlib
        rects, scores, _ = self._model("detector").run(img, 0, 0.0)
        if len(rects):
            return rects[int(np.argmax(scores))], True
        h, w = img.shape[:2]
        if self.fallback == "full":
            return dlib.rectangle(0, 0, w - 1, h - 1), False
        l, t, r, b = FALLBACK_BOX
        return dlib.rectangle(round(l * w), round(t * h), round(r * w) - 1, round(b * h) - 1), False

    def analyse(self, face, *, box=None, descriptor: bool = True, landmarks: bool = False, landmark_box=None) -> FaceAnalysis:
        """Detect, then (optionally) describe and locate the 68 landmarks of one face.

        box: a (left, top, right, bottom) box in input pixels to use instead of the detector's (for
        example the original's box when analysing its decoded copy); ``detected`` still says whether
        the detector found a face. landmark_box: such a box for the 68-point model only.
        """
        img, s = self.prepare(face)
        rect, detected = self._detect(img)
        if box is not None:
            rect = self._rect(box, s)
        out = FaceAnalysis(detected, tuple(v / s for v in (rect.left(), rect.top(), rect.right(), rect.bottom())))
        if descriptor:
            shape = self._model("shape5")(img, rect)
            # num_jitters=0: one deterministic pass; padding 0.25 is dlib's default chip margin
            out.descriptor = np.asarray(self._model("descriptor").compute_face_descriptor(img, shape, 0, 0.25), dtype=np.float64)
        if landmarks:
            lrect = rect if landmark_box is None else self._rect(landmark_box, s)
            shape = self._model("shape68")(img, lrect)
            out.landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64) / s
        return out

    def _rect(self, box, scale: float):
        l, t, r, b = (float(v) * scale for v in box)
        return self.dlib.rectangle(round(l), round(t), round(r), round(b))

    def detect(self, face) -> FaceAnalysis:
        return self.analyse(face, descriptor=False)

    def descriptor(self, face) -> np.ndarray:
        return self.analyse(face).descriptor

    def landmarks(self, face) -> np.ndarray:
        return self.analyse(face, descriptor=False, landmarks=True).landmarks


_BACKEND: DlibBackend | None = None


def get_backend() -> DlibBackend:
    """The shared lazy dlib backend (models load on first use)."""
    global _BACKEND
    if _BACKEND is None:
        _BACKEND = DlibBackend()
    return _BACKEND


def is_available() -> bool:
    """True when dlib and its model files are installed (loads nothing heavy)."""
    try:
        get_backend().dlib
        return all((models_dir() / f).exists() for f in MODEL_FILES.values())
    except FaceMetricsUnavailable:
        return False


def online_backend(name: str):
    """Stronger recognisers (ArcFace, FaceNet) whose weights are downloaded from the internet.

    Not part of the offline suite: this always raises :class:`FaceMetricsUnavailable` with how to get
    them (on Colab, for example ``pip install facenet-pytorch``, whose weights download on first use).
    """
    hints = {
        "facenet": "pip install facenet-pytorch  (InceptionResnetV1(pretrained='vggface2') downloads its weights)",
        "arcface": "pip install insightface onnxruntime  (FaceAnalysis() downloads the buffalo_l ArcFace weights)",
    }
    key = name.lower().replace("-", "").replace("_", "")
    hint = hints.get(key, "one of: " + ", ".join(sorted(hints)))
    raise FaceMetricsUnavailable(
        f"the {name!r} face-recognition backend needs model weights downloaded from the internet, which "
        f"this offline suite does not do. On Colab (online): {hint}. Offline, use the dlib backend "
        f"(the default here: {INSTALL_HINT})."
    )


# ------------------------------------------------------------------------------------- metrics
def _as_list(faces) -> list:
    if isinstance(faces, np.ndarray) and faces.ndim == 4:
        return list(faces)
    if isinstance(faces, (list, tuple)):
        return list(faces)
    raise data.ImageError(f"expected a batch of faces (N×H×W×3 array or a list of images), got {type(faces).__name__}")


def _pairs(originals, decodeds) -> tuple[list, list]:
    a, b = _as_list(originals), _as_list(decodeds)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} originals but {len(b)} decoded faces; they must pair up")
    if not a:
        raise ValueError("no faces given")
    return a, b


def descriptor(face) -> np.ndarray:
    """One face (any image input) → its 128-d dlib ResNet descriptor (float64)."""
    return get_backend().descriptor(face)


def descriptors(faces) -> np.ndarray:
    """A batch of faces → N×128 descriptors."""
    return np.stack([descriptor(f) for f in _as_list(faces)])


def _score(a: np.ndarray, b: np.ndarray) -> IdentityScore:
    dist = float(np.linalg.norm(a - b))
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
    return IdentityScore(cos, dist, dist < SAME_PERSON_DISTANCE)


def identity_similarity(original, decoded) -> IdentityScore:
    """Cosine similarity and dlib distance of two faces' descriptors (see the module docstring)."""
    return _score(descriptor(original), descriptor(decoded))


def identity_similarities(originals, decodeds) -> list[IdentityScore]:
    """:func:`identity_similarity` for each pair of two equally long batches."""
    a, b = _pairs(originals, decodeds)
    return [identity_similarity(x, y) for x, y in zip(a, b)]


def reid_rank1(originals, decodeds, *, gallery: np.ndarray | None = None, probes: np.ndarray | None = None) -> float:
    """Rank-1 re-identification accuracy: decoded face i counts as correct when, among the descriptors
    of *all* originals, its nearest (Euclidean) is original i. ``gallery``/``probes`` accept precomputed
    N×128 descriptors of the originals/decoded faces."""
    if gallery is None or probes is None:
        a, b = _pairs(originals, decodeds)
        gallery = descriptors(a) if gallery is None else gallery
        probes = descriptors(b) if probes is None else probes
    return float(rank1_hits(gallery, probes).mean())


def rank1_hits(gallery: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Face by face, what :func:`reid_rank1` averages: 1.0 where probe i's nearest (Euclidean) gallery descriptor is
    gallery i, else 0.0 (for per-face statistics, e.g. a bootstrap over the faces)."""
    gallery, probes = np.asarray(gallery), np.asarray(probes)
    if gallery.shape != probes.shape:
        raise ValueError(f"gallery {gallery.shape} and probes {probes.shape} must pair up")
    d = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=-1)  # N probes × N gallery
    return (np.argmin(d, axis=1) == np.arange(len(gallery))).astype(float)


def detection_rate(faces) -> float:
    """Fraction of faces in which the HOG detector finds a face (after upsampling small images)."""
    faces = _as_list(faces)
    if not faces:
        raise ValueError("no faces given")
    be = get_backend()
    return float(np.mean([be.detect(f).detected for f in faces]))


def _nme(ref: np.ndarray, pts: np.ndarray) -> float:
    iod = float(np.linalg.norm(ref[OUTER_EYE_CORNERS[0]] - ref[OUTER_EYE_CORNERS[1]]))
    return float(np.mean(np.linalg.norm(pts - ref, axis=1)) / max(iod, 1e-6))


def landmark_error(original, decoded, *, paired_box: bool = True) -> float:
    """Normalised mean error (NME) of the decoded face's 68 landmarks against the original's.

    Mean point-to-point distance over the 68 points divided by the original's inter-ocular (outer eye
    corner) distance. ``paired_box=True`` predicts both from the original's face box (the images are
    pixel-aligned), so the number reflects compression, not detector jitter.
    """
    be = get_backend()
    ref = be.analyse(original, descriptor=False, landmarks=True)
    dec = be.analyse(decoded, descriptor=False, landmarks=True, landmark_box=ref.box if paired_box else None)
    return _nme(ref.landmarks, dec.landmarks)


def landmark_errors(originals, decodeds, *, paired_box: bool = True) -> np.ndarray:
    a, b = _pairs(originals, decodeds)
    return np.array([landmark_error(x, y, paired_box=paired_box) for x, y in zip(a, b)])


def analyse_originals(originals, *, landmarks: bool = True) -> list[FaceAnalysis]:
    """The originals' analyses (box, descriptor, landmarks), to pass to :func:`evaluate_identity` as
    ``reference`` when the same originals are compared with many decoded sets (every codec × rate of an
    evaluation): each original is then analysed once instead of once per set (about 0.1 s a face)."""
    be = get_backend()
    return [be.analyse(x, landmarks=landmarks) for x in _as_list(originals)]


def evaluate_identity(originals, decodeds, *, landmarks: bool = True, progress: bool = False,
                      reference: list[FaceAnalysis] | None = None) -> dict:
    """Every machine-vision metric for a batch of (original, decoded) pairs, each face analysed once.

    Returns a dict: ``identity_cosine`` (mean cosine similarity), ``identity_distance`` (mean dlib
    distance), ``same_person_rate`` (fraction with distance < 0.6), ``reid_rank1``,
    ``detection_rate`` (of the decoded faces), ``detection_rate_original``, ``landmark_nme`` (mean NME;
    NaN when ``landmarks=False``), ``descriptor_fd`` (Fréchet distance between the descriptors of the decoded
    set and of the originals: ``metrics.frechet_distance``; NaN for one pair) and ``n``.

    reference: the originals already analysed (:func:`analyse_originals`, one per pair, in order, with
    landmarks when ``landmarks``); the results are the same, only faster.
    """
    a, b = _pairs(originals, decodeds)
    if reference is not None:
        if len(reference) != len(a):
            raise ValueError(f"{len(reference)} reference analyses for {len(a)} pairs; they must pair up")
        if landmarks and any(r.landmarks is None for r in reference):
            raise ValueError("the reference analyses have no landmarks: use analyse_originals(..., landmarks=True)")
    be = get_backend()
    pairs = zip(a, b, reference if reference is not None else [None] * len(a))
    if progress:
        pairs = tqdm(pairs, total=len(a), desc="face metrics", leave=False)
    orig, dec, nme = [], [], []
    for x, y, ref in pairs:
        ox = ref if ref is not None else be.analyse(x, landmarks=landmarks)
        dy = be.analyse(y, landmarks=landmarks, landmark_box=ox.box)  # paired box: see landmark_error
        orig.append(ox)
        dec.append(dy)
        if landmarks:
            nme.append(_nme(ox.landmarks, dy.landmarks))
    gallery = np.stack([o.descriptor for o in orig])
    probes = np.stack([d.descriptor for d in dec])
    scores = [_score(g, p) for g, p in zip(gallery, probes)]
    return {
        "identity_cosine": float(np.mean([s.cosine for s in scores])),
        "identity_distance": float(np.mean([s.distance for s in scores])),
        "same_person_rate": float(np.mean([s.same_person for s in scores])),
        "reid_rank1": float(rank1_hits(gallery, probes).mean()),
        "detection_rate": float(np.mean([d.detected for d in dec])),
        "detection_rate_original": float(np.mean([o.detected for o in orig])),
        "landmark_nme": float(np.mean(nme)) if nme else float("nan"),
        "descriptor_fd": frechet_distance(probes, gallery) if len(a) >= 2 else float("nan"),
        "n": len(a),
    }

"""What every explorer shares: input checks, PNG rendering, default faces, one colour per codec, and the setup
of the FaSDiff notebooks (05–08).

- checks: :func:`check_unit`, :func:`check_rate` (snapped to the ``.fsd`` header's 16-bit grid),
  :func:`check_model`, :func:`check_codec`, :func:`check_steps`, :func:`check_realism`;
- faces: :func:`as_face` / :func:`as_faces` / :func:`square_face` (through :func:`fasdiff_lite.data.load_image`,
  the one path for pixels), :func:`default_faces` (validation faces, else the shipped samples),
  :func:`photo_faces` (the frequency explorer's larger crops);
- pictures: :func:`png` (an image as PNG bytes for an ipywidgets ``Image``), :func:`colorize`,
  :func:`show_images`; :data:`CODEC_COLORS`, the colour of each codec in every plot of the suite;
- :func:`load_setup`: the shipped prior and FaSDiff codecs, or an announced fallback.
"""
from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .. import data, registry, settings
from ..registry import VARIANTS, check_realism, check_steps, check_unit  # noqa: F401  (the explorers' checks)
from ..evaluation import CODEC_COLORS  # noqa: F401  (the one palette: RD plots and explorers alike)
from ..models import zoo
from ..models.codec import FaSDiffCodec
from ..models.compressor import CompressorConfig, HFCompressor, on_rate_grid
from ..models.prior import PriorUnavailable, TinyPrior
from ..models.prior_loading import load_prior

# The explorers of notebooks 01–03 start without loading diffusers: the models import it where they build a diffusion
# model (tests/test_layout.py checks it). matplotlib is imported where a picture is drawn (the demo imports this module
# when it starts).


# ------------------------------------------------------------------------------------------ checks
def check_rate(rate) -> float:
    """A valid rate, snapped to the 16-bit grid the ``.fsd`` header stores it on (as the compressor does
    when it encodes; see :func:`fasdiff_lite.models.compressor.on_rate_grid`), so the numbers shown match the file."""
    return on_rate_grid(registry.check_rate(rate))


def check_model(model):
    if not isinstance(model, HFCompressor):
        raise ValueError(f"expected a compressor (fasdiff_lite.models.compressor.HFCompressor), got {type(model).__name__}")
    return model


def check_codec(codec):
    if not isinstance(codec, FaSDiffCodec):
        raise ValueError(f"expected a FaSDiff codec (fasdiff_lite.models.codec.FaSDiffCodec), got {type(codec).__name__}")
    return codec


# ------------------------------------------------------------------------------------------- faces
def as_face(face) -> np.ndarray:
    """One face as uint8 H×W×3: anything :func:`fasdiff_lite.data.load_image` reads (a 1×3×H×W tensor too)."""
    if face is None:
        raise ValueError("no face given: pass an image (array, PIL, path) or a 1×3×H×W tensor in [0, 1]")
    if isinstance(face, torch.Tensor) and face.ndim == 4 and face.shape[0] != 1:
        raise ValueError(f"expected one face, got a batch of {face.shape[0]}")
    return data.load_image(face)


def as_faces(faces) -> np.ndarray:
    """A non-empty batch of faces as uint8 N×H×W×3 (one face H×W×3 becomes a batch of one)."""
    a = np.asarray(faces)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3 or len(a) == 0:
        raise ValueError(f"faces must be a non-empty uint8 array N×H×W×3, got shape {a.shape}")
    return np.stack([data.load_image(f) for f in a]) if a.dtype != np.uint8 else a


def square_face(image) -> np.ndarray:
    """:func:`as_face`, and it must be square."""
    a = as_face(image)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square face image, got {a.shape[1]}×{a.shape[0]}; use data.face_crop first")
    return a


def default_faces(n: int | None = None, size: int = 64) -> tuple[np.ndarray, list[str]]:
    """Validation faces of the shared set (never trained on) when present, else the shipped samples, with labels."""
    n = n or settings.pick(12, 4)
    if settings.shared_dir() is not None:
        faces = data.load_faces("shared", size, split="val", limit=n)
        return faces, [f"validation face {i}" for i in range(len(faces))]
    faces = data.sample_faces(size)[:n]
    return faces, data.sample_names()[: len(faces)]


def photo_faces() -> tuple[list[np.ndarray], list[str]]:
    """The shipped sample faces at 256 px, plus a few validation faces of ../shared (128 px) when that folder is here."""
    faces = list(data.sample_faces(256))
    names = [n.replace("_", " ") for n in data.sample_names()]
    try:
        shared = data.load_faces("shared", size=128, split="val", limit=4)
        faces += list(shared)
        names += [f"shared val #{i}" for i in range(len(shared))]
    except data.DataUnavailable:
        pass
    return faces, names


# ---------------------------------------------------------------------------------------- pictures
def png(img: np.ndarray, scale: int = 3) -> bytes:
    """uint8 H×W×3 → PNG bytes, upscaled ``scale``× with nearest neighbours (pixels stay visible)."""
    im = Image.fromarray(img)
    im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (for an ipywidgets ``Image``: no Output widget, no display call)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def colorize(a: np.ndarray, vmax: float | None = None, cmap: str = "magma") -> np.ndarray:
    import matplotlib

    vmax = vmax or max(float(a.max()), 1e-6)
    return (matplotlib.colormaps[cmap](np.clip(a / vmax, 0, 1))[..., :3] * 255).round().astype(np.uint8)


def show_images(images, titles=None, cmap=None, size: float = 2.2, suptitle: str | None = None, axes=None):
    """Draw images in one row (uint8 H×W×3, float H×W×3 / H×W in [0, 1], or 1×3×H×W tensors); returns the figure."""
    import matplotlib.pyplot as plt

    images = list(images)
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    if axes is None:
        fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.4), squeeze=False)
        axes = axes[0]
    else:
        fig = axes[0].figure
    for ax, im, t in zip(axes, images, titles):
        if isinstance(im, torch.Tensor):
            im = data.to_image(im)
        im = np.asarray(im)
        ax.imshow(im, cmap=cmap if im.ndim == 2 else None, vmin=0 if im.ndim == 2 else None,
                  vmax=(1 if im.dtype != np.uint8 else 255) if im.ndim == 2 else None)
        ax.set_title(t, fontsize=9)
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- the FaSDiff notebooks' setup
@dataclass
class Setup:
    """What :func:`load_setup` found: the prior, one codec per variant, and what is trained."""

    prior: object
    codecs: "OrderedDict[str, object]"  # variant -> FaSDiffCodec
    prior_trained: bool
    trained: list = field(default_factory=list)  # variants whose control (and LFE) weights were loaded
    notes: list = field(default_factory=list)

    @property
    def weights(self) -> str:
        """One line for figure titles: which weights these numbers come from."""
        if not self.prior_trained:
            return "random tiny prior, untrained control (plumbing only)"
        if len(self.trained) == len(self.codecs):
            return "shipped prior and codecs"
        if self.trained:
            return f"shipped prior; trained codecs: {', '.join(self.trained)}; others untrained"
        return "shipped prior, untrained control"

    def describe(self) -> str:
        lines = [f"weights: {self.weights}"]
        for name, c in self.codecs.items():
            state = "trained" if name in self.trained else "UNTRAINED (zero-initialised control: decodes as the bare prior)"
            lines.append(f"  {name:14s} compressor {c.compressor.config.model_id} (M={c.compressor.config.M}), "
                         f"LFE {'yes' if c.lfe is not None else 'no '}, control {state}")
        return "\n".join(lines + self.notes)


def _small_compressor(name: str, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        m = HFCompressor(CompressorConfig(N=16, M=16, frequency_branch=name == "hf-compressor", model_id=name)).eval()
    m.update(force=True)
    return m


def load_setup(variants=None, device=None, seed: int = 0, verbose: bool = True) -> Setup:
    """The shipped tiny prior and FaSDiff codecs when they are in ``fasdiff_lite/assets/``, else a clearly announced fallback.

    - prior: ``load_prior("tiny")``; missing → ``TinyPrior.from_config()`` (random weights).
    - compressor of each variant: the shipped one; missing → a small untrained one (N = M = 16).
    - control (+ LFE): the shipped codec folder when it exists *and* the prior is the trained one;
      otherwise freshly initialised: its zero convolutions make it an exact no-op (notebook 05).

    ``variants``: the FaSDiff variants to set up (default: all three). Prints :meth:`Setup.describe` (with a note
    on every fallback) when ``verbose``.
    """
    variants = list(VARIANTS if variants is None else variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    notes = []
    try:
        prior = load_prior("tiny", device=device)
        prior_trained = True
    except PriorUnavailable:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            prior = TinyPrior.from_config().to(settings.device(device))
        prior_trained = False
        notes.append(
            "NOTE: the trained tiny prior is not in fasdiff_lite/assets/prior/tiny, so this notebook uses a RANDOMLY "
            "INITIALISED tiny prior (TinyPrior.from_config()) with untrained control. Every cell runs and shows "
            "the plumbing (shapes, bytes, the zero-initialised control), but the decoded images are noise, not "
            "faces. Re-run once the weights are there (git pull, or see fasdiff_lite/assets/prior/tiny/MODEL_CARD.md)."
        )
    prior = prior.eval()
    shipped = set(zoo.available("codec")) if prior_trained else set()
    codecs, trained, compressors = OrderedDict(), [], {}
    for v in variants:
        if v in shipped:
            codecs[v] = zoo.load(v, prior=prior)
            trained.append(v)
            continue
        cname = VARIANTS[v][0]
        if cname not in compressors:
            try:
                compressors[cname] = zoo.load(cname, device=prior.device)
            except FileNotFoundError:
                compressors[cname] = _small_compressor(cname, seed).to(prior.device)
                notes.append(f"NOTE: the shipped {cname} compressor is missing; using a small untrained one.")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            codecs[v] = FaSDiffCodec(compressors[cname], prior, v).eval()
    if prior_trained and len(trained) < len(variants):
        missing = [v for v in variants if v not in trained]
        notes.append(
            f"NOTE: no trained control for {', '.join(missing)} in fasdiff_lite/assets/fasdiff/ yet, so "
            f"{'it decodes' if len(missing) == 1 else 'they decode'} with freshly initialised (zero) control: "
            "the bare prior re-drawing the fidelity image, not steered by the visual prompt. Re-run once the "
            "codecs are trained (fasdiff-lite train fasdiff --variant ... --export fasdiff_lite/assets/fasdiff/...)."
        )
    setup = Setup(prior, codecs, prior_trained, trained, notes)
    if verbose:
        print(setup.describe())
    return setup

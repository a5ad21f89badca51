"""The demo's work (``fasdiff-lite demo``, the Gradio app: ``commands/demo.py``). Pick a sample face, upload a photo
or take one with the webcam, then compare codecs at one rate.

What a presenter gets, and what each number means:

- the face as the models see it (a photo's largest face found and aligned like the training faces), and each
  chosen codec's decoded face, all shown losslessly (PNG), each captioned with its **real** file size;
- a table of bytes, bpp, PSNR, MS-SSIM, the detail ratio (offline realism: 1 = as much fine detail as the original)
  and the identity cosine (dlib's face descriptor, 1 = the same face) per codec;
- **honest budgets**: the first learned codec chosen (FaSDiff, else the HF compressor, …) sets the byte budget,
  JPEG/WebP/AVIF are fitted to it (the note says when one cannot get that small), and the other learned codecs spend
  their own bytes at the same rate (said as such, never called "equal bytes");
- where the bits go (the HF compressor's per-position cost, −log₂ p over the channels, drawn over the face), the
  ``.fsd`` file to download (FaSDiff's when it is chosen) and a decode panel that takes any ``.fsd`` file;
- the decoded face pasted back into a downscaled copy of the photo (optional), and a rate–distortion plot of this
  one face (a button: it decodes many rates, so it is not redone at every change).

Work is cached per face: moving the realism or steps slider re-runs only the diffusion decoders, and a repeated
setting costs nothing. The callbacks (:func:`compare`, :func:`rd_figure`, :func:`decode_file`) are plain functions
(the tests call them directly); ``commands/demo.py`` only wires them to widgets (``build_app``) and serves the app.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import data, faces, registry
from .commands.decompress import decode
from .commands.files import input_file
from .registry import DEFAULT_REALISM, DEFAULT_STEPS
from .evaluation import baselines, face_metrics, metrics
from .evaluation import realism as realism_metrics
from .explore.rate import bit_map_overlay
from .models import zoo

# matplotlib is imported where a figure is drawn: ``fasdiff-lite demo`` imports this module when it starts.

SIZES = (64, 128, 256)
KEEP_FILES = 50  # the demo's download folder keeps the newest .fsd files only
KEEP_PNGS = 2000  # ... and the newest PNGs it hands to gradio (a 64-px face's is ~9 kB)
CACHE_ENTRIES = 256  # decoded results kept in memory (a 64-px entry is ~12 kB, a 256-px one ~200 kB)
THREADS = 1  # torch CPU threads of the demo server: one 64-px face at a time gains little from more, and torch's
# worker threads stall when other work holds the cores (a 12-MP photo's compare: 10 s with 1 thread, 31 s with 2
# beside a training job on a 2-core machine)
_folder: tempfile.TemporaryDirectory | None = None
LEARNED = tuple(registry.names("compressor"))
# Who sets the byte budget: the first of these that is chosen (FaSDiff's file codes the HF compressor's symbols)
BUDGET_ORDER = ("fasdiff", "hf-compressor", "fasdiff-nolfe", "hyperprior", "fasdiff-plain")
DEFAULT_CODECS = ("fasdiff", "hf-compressor", "hyperprior", "jpeg", "webp")
RD_RATES = (0.0, 0.15, 0.3, 0.5, 0.75, 1.0)
TABLE_COLUMNS = ["codec", "bytes", "bpp", "PSNR (dB)", "MS-SSIM", "detail ratio", "identity cosine", "note"]


def available_learned() -> list[str]:
    return [n for n in LEARNED if n in zoo.available("compressor")]


def available_codecs() -> list[str]:
    """Every codec the demo can run here: shipped FaSDiff variants, shipped compressors, classical codecs."""
    return list(zoo.available("codec")) + available_learned() + list(baselines.available_codecs())


def default_codecs() -> list[str]:
    return [c for c in DEFAULT_CODECS if c in available_codecs()]


def sample_choices() -> list[str]:
    return data.sample_names()


def _demo_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = tempfile.TemporaryDirectory(prefix="fasdiff-demo-")
    return Path(_folder.name)


def _keep_newest(folder: Path, pattern: str, keep: int) -> None:
    """Remove the oldest files matching ``pattern`` in ``folder`` so that a new one leaves at most ``keep``."""
    old = sorted(folder.glob(pattern), key=lambda f: f.stat().st_mtime)
    for f in old[: max(0, len(old) - keep + 1)]:
        f.unlink(missing_ok=True)


def png_file(img: np.ndarray | None) -> str | None:
    """``img`` as a PNG file in the demo's folder, named by its content, written once (to a temporary name, then
    renamed into place). The app hands gradio these paths rather than arrays: gradio writes an array to its cache
    under a name made from the content, *rewriting* the file each time, so two concurrent requests that show the
    same image (the demo's caches make that common) could serve a half-written file (measured: 3 of 228 compares
    under 50 concurrent requests ended in a truncated download). A path is copied into gradio's cache once."""
    if img is None:
        return None
    folder = _demo_folder() / "png"
    folder.mkdir(exist_ok=True)
    img = np.ascontiguousarray(img)
    path = folder / f"{hashlib.blake2b(img.tobytes() + repr(img.shape).encode(), digest_size=16).hexdigest()}.png"
    if not path.exists():
        _keep_newest(folder, "*.png", KEEP_PNGS)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(img).save(f, format="PNG")
        os.replace(tmp, path)
    return str(path)


def _download_path(rate: float, codec: str = "face") -> Path:
    """A fresh path in the demo's one temporary folder (removed when the process exits), which keeps the newest
    :data:`KEEP_FILES` files: a long-running demo does not fill the disk with a folder per request."""
    folder = _demo_folder()
    _keep_newest(folder, "*.fsd", KEEP_FILES)
    return folder / f"{codec}_rate{float(rate):.2f}_{uuid.uuid4().hex[:8]}.fsd"


# ------------------------------------------------------------------------------------------ the input face
@dataclass
class InputFace:
    face: np.ndarray  # size×size×3 uint8, what the codecs get
    what: str  # where it came from, in words
    photo: np.ndarray | None = None  # the photo it was cut from (uploads and webcam), for pasting back
    placement: object | None = None  # faces.Placement when the face was aligned


def input_face(image=None, sample: str | None = None, size: int = 64, align: bool = True, webcam=None) -> InputFace:
    """The face to compress: an upload (``image``: a path, array or PIL image), else a webcam frame, else the
    shipped sample portrait named ``sample``. Each is aligned like the training faces (``faces.locate``: the largest
    face, eyes level); with ``align=False``, or where dlib is not installed, its centre square is used."""
    if int(size) not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size}")
    size = int(size)
    src, kind = (image, "upload") if image is not None else (webcam, "webcam photo")
    if src is None:  # a shipped sample portrait: a photo like any other
        names = data.sample_names()
        if sample not in names:
            raise ValueError(f"pick a sample face ({', '.join(names)}), upload a photo or take one with the webcam")
        src, kind = data.sample_paths()[names.index(sample)], f"sample '{sample}'"
    photo = data.load_image(src)
    if not (align and faces.is_available()):
        why = "" if align else " (alignment off)"
        return InputFace(data.face_crop(photo, size), f"{kind}, centre square{why}", photo)
    try:
        crop, where = faces.locate(photo, size)
    except faces.NoFaceFound:
        raise faces.NoFaceFound(f"no face found in the {kind}; untick 'align the face' to compress its centre "
                                "square instead") from None
    return InputFace(crop, f"{kind}, face found and aligned", photo, where)


# ------------------------------------------------------------------------------------------ coding, cached
@dataclass
class Coded:
    codec: str
    image: np.ndarray
    blob: bytes
    note: str = ""


_results: "OrderedDict[tuple, Coded]" = OrderedDict()
_encoded: "OrderedDict[tuple, bytes]" = OrderedDict()  # FaSDiff files: one encode per (face, rate), any decode setting
_descriptors: "OrderedDict[bytes, np.ndarray | None]" = OrderedDict()


def _digest(face: np.ndarray) -> bytes:
    return hashlib.blake2b(face.tobytes() + repr(face.shape).encode(), digest_size=16).digest()


def _remember(store: OrderedDict, key, make):
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = store[key] = make()
    while len(store) > CACHE_ENTRIES:
        store.popitem(last=False)
    return value


def clear_cache() -> None:
    _results.clear()
    _encoded.clear()
    _descriptors.clear()


def _code(codec: str, face: np.ndarray, rate: float, steps: int, real: float, budget: int | None) -> Coded:
    """One codec on one face, cached: learned codecs by (face, rate), FaSDiff also by (steps, realism), classical
    codecs by (face, byte budget)."""
    d = _digest(face)
    if codec in baselines.available_codecs():
        def make() -> Coded:
            res = baselines.fit_bytes(face, codec, int(budget))
            note = (f"quality {res.quality}, fitted to ≤ {budget} B" if res.fits else
                    f"cannot get down to {budget} B: its smallest file (quality {res.quality})")
            return Coded(codec, res.decoded, res.data, note)

        return _remember(_results, (d, codec, int(budget)), make)
    model = zoo.cached(codec)
    if codec in zoo.names("codec"):
        def make() -> Coded:
            blob = _remember(_encoded, (d, codec, rate), lambda: model.compress(data.to_tensor(face), rate=rate))
            img = data.to_image(model.decompress(blob, steps=steps, realism=real))
            return Coded(codec, img, blob, f"diffusion decode: {steps} steps, realism {real:.2f}")

        return _remember(_results, (d, codec, rate, steps, real), make)

    def make() -> Coded:
        blob = model.compress(data.to_tensor(face), rate=rate)
        return Coded(codec, data.to_image(model.decompress(blob)), blob)

    return _remember(_results, (d, codec, rate), make)


def _descriptor(img: np.ndarray):
    """dlib's face descriptor of a decoded face (cached), or None without dlib."""
    if not face_metrics.is_available():
        return None
    return _remember(_descriptors, _digest(img), lambda: face_metrics.descriptor(img))


def _identity(face: np.ndarray, img: np.ndarray) -> float | None:
    a, b = _descriptor(face), _descriptor(img)
    if a is None or b is None:
        return None
    return round(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)), 3)


def _check_codecs(codecs) -> list[str]:
    here = available_codecs()
    codecs = default_codecs() if codecs is None else [str(c) for c in codecs]
    unknown = [c for c in codecs if c not in here]
    if unknown:
        raise ValueError(f"codec(s) not available here: {', '.join(unknown)}; choose from {', '.join(here)}")
    if not codecs:
        raise ValueError("choose at least one codec")
    return [c for c in here if c in codecs]  # a fixed order: FaSDiff, compressors, classical


# ------------------------------------------------------------------------------------------ the comparison
@dataclass
class Comparison:
    """What :func:`compare` returns (:meth:`gallery`, :meth:`rows` and the rest feed the app's widgets)."""

    input: InputFace
    rate: float
    coded: list[Coded]
    budget: int
    budget_codec: str | None
    fsd: str | None  # the downloadable file: FaSDiff's when chosen, else the budget setter's
    fsd_codec: str | None
    bit_map: np.ndarray | None  # the HF compressor's bits over the face, uint8
    bit_caption: str
    pasted: np.ndarray | None
    seconds: float
    rows_: list = field(default_factory=list)

    @property
    def face(self) -> np.ndarray:
        return self.input.face

    def gallery(self) -> list[tuple[np.ndarray, str]]:
        h, w = self.face.shape[:2]
        return [(self.face, f"original {w}×{h} ({self.input.what})")] + [(c.image, f"{c.codec}: {len(c.blob)} B")
                                                                          for c in self.coded]

    def rows(self) -> list[list]:
        return self.rows_

    def heading(self) -> str:
        h, w = self.face.shape[:2]
        lines = [f"**{self.input.what}**, {w}×{h}, rate {self.rate:.2f} — every size below is a real file."]
        if self.budget_codec:
            fitted = [c for c in self.coded if c.codec in baselines.available_codecs()]
            fits = [c.codec for c in fitted if "fitted" in c.note]
            over = [f"{c.codec} ({len(c.blob)} B)" for c in fitted if "fitted" not in c.note]
            part = f"The byte budget is {self.budget_codec}'s file: **{self.budget} B**"
            part += f" ({metrics.bpp(self.budget, h, w):.3f} bpp)."
            if fits:
                part += f" At equal bytes (≤ {self.budget} B): {', '.join(fits)}."
            if over:
                part += f" Cannot get that small: {', '.join(over)}."
            own = [c for c in self.coded if c.codec not in baselines.available_codecs()
                   and len(c.blob) != self.budget]
            if own:
                part += " At the same rate but their own bytes: " + ", ".join(f"{c.codec} {len(c.blob)} B" for c in own) + "."
            lines.append(part)
        else:
            lines.append(f"No learned codec chosen: the classical codecs are fitted to {self.budget} B.")
        if self.fsd:
            n = next(len(c.blob) for c in self.coded if c.codec == self.fsd_codec)
            lines.append(f"The file to download below is **{self.fsd_codec}'s `.fsd`** ({n} B); "
                         "the decode panel at the bottom reads it back.")
        if self.bit_caption:
            lines.append(f"Where the bits go: {self.bit_caption}.")
        lines.append(f"Computed in {self.seconds:.2f} s (cached results are reused).")
        return "\n\n".join(lines)


def compare(image=None, sample: str | None = None, rate: float = 0.3, size: int = 64, out_dir: str | None = None,
            steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM, align: bool = True, codecs=None,
            webcam=None, paste: bool = False, budget: int = 250) -> Comparison:
    """The demo's main callback: the chosen ``codecs`` (default :data:`DEFAULT_CODECS` where shipped) on one face.

    ``image``/``webcam``/``sample``: see :func:`input_face`. FaSDiff codecs decode with ``steps`` denoising steps
    at ``realism`` (0 = the compressor's fidelity output). Classical codecs are fitted to the first chosen learned
    codec's file (:data:`BUDGET_ORDER`), or to ``budget`` bytes when no learned codec is chosen. ``paste``: also
    put the decoded face (FaSDiff's, else the first learned codec's) back into a downscaled copy of the photo.
    """
    t0 = time.perf_counter()
    rate, steps, real = registry.check_rate(rate), registry.check_steps(steps), registry.check_realism(realism)
    codecs = _check_codecs(codecs)
    inp = input_face(image, sample, size, bool(align), webcam)
    face = inp.face
    classical = set(baselines.available_codecs())
    learned = [c for c in codecs if c not in classical]
    budget_codec = next((c for c in BUDGET_ORDER if c in learned), learned[0] if learned else None)
    coded = {c: _code(c, face, rate, steps, real, None) for c in learned}
    n_budget = len(coded[budget_codec].blob) if budget_codec else int(budget)
    for c in codecs:
        if c in classical:
            coded[c] = _code(c, face, rate, steps, real, n_budget)
    ordered = [coded[c] for c in codecs]

    fsd_codec = "fasdiff" if "fasdiff" in coded else budget_codec
    fsd = None
    if fsd_codec:
        path = (Path(out_dir) / f"{fsd_codec}_rate{rate:.2f}.fsd") if out_dir else _download_path(rate, fsd_codec)
        path.write_bytes(coded[fsd_codec].blob)
        fsd = str(path)

    bit_map, bit_caption = None, ""
    if "hf-compressor" in zoo.available("compressor"):
        bits = zoo.cached("hf-compressor").bit_map(face, rate)
        bit_map = bit_map_overlay(face, bits["y"])
        n = bits["y"].shape
        bit_caption = (f"hf-compressor at rate {rate:.2f}: {bits['y_bits']:.0f} bits for ŷ ({n[0]}×{n[1]} positions, "
                       f"brighter = more bits) + {bits['z_bits']:.0f} bits of side information ẑ")

    pasted = None
    if paste and inp.placement is not None and learned:
        shown = coded["fasdiff"] if "fasdiff" in coded else coded[learned[0]]
        pasted = faces.paste_back(inp.photo, shown.image, inp.placement)

    result = Comparison(inp, rate, ordered, n_budget, budget_codec, fsd, fsd_codec, bit_map, bit_caption, pasted, 0.0)
    h, w = face.shape[:2]
    for c in ordered:
        note = c.note
        if c.codec == budget_codec:
            note = "sets the byte budget" + (f"; {note}" if note else "")
        elif c.codec not in classical:
            same = len(c.blob) == n_budget
            note = ("the same bytes as the budget" if same else f"its own bytes at rate {rate:.2f}") + (f"; {note}" if note else "")
        result.rows_.append([c.codec, len(c.blob), round(metrics.bpp(len(c.blob), h, w), 4),
                             round(metrics.psnr(face, c.image), 2), round(metrics.ms_ssim(face, c.image), 4),
                             round(realism_metrics.detail_ratio(face, c.image), 3), _identity(face, c.image), note])
    result.seconds = time.perf_counter() - t0
    return result


# ------------------------------------------------------------------------------------------ this face's RD curve
def rd_points(face: np.ndarray, codecs, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM) -> dict:
    """``{codec: [(bpp, PSNR, identity cosine or None), ...]}`` for one face: learned codecs at :data:`RD_RATES`,
    classical ones over a sweep of qualities."""
    codecs = _check_codecs(codecs)
    h, w = face.shape[:2]
    out = {}
    for c in codecs:
        pts = []
        if c in baselines.available_codecs():
            lo, hi = baselines.CODECS[c][1]
            for q in np.unique((lo + (hi - lo) * np.linspace(0, 1, 10) ** 2).round().astype(int)):
                blob = baselines.encode(face, c, int(q))
                img = baselines.decode(blob)
                pts.append((metrics.bpp(len(blob), h, w), metrics.psnr(face, img), _identity(face, img)))
        else:
            for r in RD_RATES:
                k = _code(c, face, float(r), int(steps), float(realism), None)
                pts.append((metrics.bpp(len(k.blob), h, w), metrics.psnr(face, k.image), _identity(face, k.image)))
        out[c] = sorted(pts)
    return out


def rd_figure(image=None, sample: str | None = None, size: int = 64, steps: int = DEFAULT_STEPS,
              realism: float = DEFAULT_REALISM, align: bool = True, codecs=None, webcam=None):
    """A matplotlib Figure: PSNR and identity cosine against bpp for this one face (see :func:`rd_points`)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    inp = input_face(image, sample, size, bool(align), webcam)
    pts = rd_points(inp.face, codecs, steps, realism)
    bpps = [p[0] for v in pts.values() for p in v]
    lo, hi = min(bpps) / 1.2, max(bpps) * 1.2
    with_id = any(p[2] is not None for v in pts.values() for p in v)
    fig = Figure(figsize=(9 if with_id else 4.8, 3.4))
    axes = fig.subplots(1, 2 if with_id else 1, squeeze=False)[0]
    for c, v in pts.items():
        v = np.array([(b, p, np.nan if i is None else i) for b, p, i in v], dtype=float)
        style = "--" if c in baselines.available_codecs() else "-"
        axes[0].plot(v[:, 0], v[:, 1], style, marker="o", ms=3, label=c)
        if with_id:
            axes[1].plot(v[:, 0], v[:, 2], style, marker="o", ms=3, label=c)
    for ax, ylabel in zip(axes, ("PSNR (dB)", "identity cosine (dlib)")):
        ax.set_xlabel("bits per pixel (real files)")
        ax.set_ylabel(ylabel)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks([t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo <= t <= hi])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    h, w = inp.face.shape[:2]
    fig.suptitle(f"this one face ({inp.what}, {w}×{h}); learned codecs at rates {', '.join(f'{r:g}' for r in RD_RATES)}"
                 f"; FaSDiff at {int(steps)} steps, realism {float(realism):.2f}", fontsize=8)
    fig.tight_layout()
    return fig


def enlarge(img: np.ndarray | None, side: int = 256) -> np.ndarray | None:
    """A small image repeated pixel by pixel up to about ``side`` (a 64-px bit map stays sharp blocks on screen)."""
    if img is None:
        return None
    k = max(1, side // max(img.shape[:2]))
    return np.kron(img, np.ones((k, k, 1), dtype=img.dtype))


def figure_to_image(fig, dpi: int = 110) -> np.ndarray:
    """A matplotlib Figure rendered to an RGB uint8 array (shown losslessly by the app)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# ------------------------------------------------------------------------------------------ decoding a file
def decode_file(path, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM) -> tuple[np.ndarray, str]:
    """Decode an uploaded ``.fsd`` file with the shipped model its header names → (image, description)."""
    if path is None:
        raise ValueError("upload a .fsd file first")
    blob = input_file(path, ".fsd file").read_bytes()
    img, packet = decode(blob, steps=int(steps), realism=float(realism))
    info = (f"{packet.width}×{packet.height} from {len(blob)} bytes "
            f"({metrics.bpp(len(blob), packet.height, packet.width):.4f} bpp), model {packet.model}, rate {packet.rate:.3f}")
    return img, info

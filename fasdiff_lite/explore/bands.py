"""The frequency explorer of notebook 01 (ipywidgets), built on a pure function you can test.

Each explorer is split in two:

- a **pure function** that computes everything the explorer shows from plain arguments and returns a dict
  of arrays and numbers (no display, no widgets) — tests and exercises call it directly;
- a **widget** that only wires controls to that function and draws the result with matplotlib.

    controls (Dropdown, sliders, checkboxes) ──values──▶ frequency_views(...) ──dict──▶ figure + PSNR line

What is here:

- :func:`frequency_views` / :func:`frequency_explorer` — keep some wavelet bands of a face and see what
  comes back; split the same face into a Fourier low-pass and high-pass.

Nothing here holds model logic: the transforms live in :mod:`fasdiff_lite.frequency`.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pywt
import torch
from matplotlib.figure import Figure

from .. import data, frequency
from ..evaluation import metrics
from .common import figure_png, photo_faces, square_face

DEFAULT_SIZE = 64
SIZES = (64, 128)  # the explorer redraws on every change; these stay interactive on a laptop CPU
CUTOFF_RANGE = (0.0, math.sqrt(2))  # fraction of Nyquist: 1 = Nyquist along an axis, √2 = the corner
FOURIER_KINDS = ("ideal", "gaussian")


# ------------------------------------------------------------------------------------- pure functions
def max_levels(size: int, wavelet: str = "haar") -> int:
    """Deepest DWT that makes sense for a ``size``-pixel side: every level must halve the side exactly, and
    the side must stay at least as long as the wavelet's filter (pywavelets' ``dwt_max_level``)."""
    length = len(frequency._filters(_check_wavelet(wavelet))[0])
    deepest = pywt.dwt_max_level(int(size), length)
    n = 0
    while n < deepest and size % 2 ** (n + 1) == 0:
        n += 1
    return n


def _check_wavelet(wavelet: str) -> str:
    if not isinstance(wavelet, str):
        raise ValueError(f"wavelet must be a name such as {', '.join(frequency.WAVELETS)}; got {wavelet!r}")
    frequency._filters(wavelet)  # raises ValueError for unknown or non-orthogonal wavelets
    return wavelet


def frequency_views(image, wavelet: str = "haar", levels: int = 2, keep=None, cutoff: float = 0.25,
                    kind: str = "ideal") -> dict:
    """Everything the frequency explorer shows, for one square face image.

    image   any image :func:`fasdiff_lite.data.load_image` reads (uint8 H×W×3, tensor, path, PIL), square.
    wavelet an orthogonal wavelet (``frequency.WAVELETS``: haar, db2, db4, sym4, coif1).
    levels  DWT depth, 1 … :func:`max_levels` for this size and wavelet.
    keep    band names to keep (from ``frequency.band_names(levels)``); ``None`` keeps all of them.
    cutoff  Fourier low-pass radius as a fraction of Nyquist, in [0, √2].
    kind    ``"ideal"`` (sharp disc) or ``"gaussian"`` Fourier mask.

    Returns a dict:

    ``original``, ``reconstruction``     uint8 H×W×3: the face, and the face rebuilt from the kept bands only
    ``error``                            float H×W in [0, 1]: |original − reconstruction|, mean over colour
    ``fourier_low``                      uint8 H×W×3: the Fourier low-pass (radius ≤ cutoff)
    ``fourier_high``                     uint8 H×W×3: the Fourier high-pass plus the mean colour (so it is
                                         viewable; low + high = original before rounding)
    ``fourier_mask``                     float H×W: the low-pass mask, centred (DC in the middle)
    ``mosaic``                           float H×W×3: the wavelet pyramid picture (``frequency.mosaic``)
    ``psnr``                             {"wavelet", "fourier_low", "fourier_high"}: dB vs the original
                                         (``inf`` when identical)
    ``bands``, ``keep``                  all band names at this depth, and the kept ones (in band order)
    ``energy``, ``kept_energy``          per-band energy fractions (mean removed) and the sum over ``keep``
    """
    _check_wavelet(wavelet)
    face = square_face(image)
    side = face.shape[0]
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
        raise ValueError(f"levels must be a whole number, got {levels!r}")
    deepest = max_levels(side, wavelet)
    if not 1 <= levels <= deepest:
        raise ValueError(
            f"levels={levels} is out of range for a {side}-px image with {wavelet}: use 1…{deepest} "
            f"(each level halves the side, which must stay divisible by 2 and at least the filter length)"
        )
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float, np.number)) or not math.isfinite(cutoff):
        raise ValueError(f"cutoff must be a number in [0, √2], got {cutoff!r}")
    if not CUTOFF_RANGE[0] <= cutoff <= CUTOFF_RANGE[1] + 1e-9:
        raise ValueError(f"cutoff={cutoff} is out of range: give a fraction of Nyquist in [0, √2 ≈ 1.414]")
    if kind not in FOURIER_KINDS:
        raise ValueError(f"kind must be one of {FOURIER_KINDS}, not {kind!r}")
    bands = frequency.band_names(levels)
    keep_set = set(bands) if keep is None else ({keep} if isinstance(keep, str) else set(keep))
    unknown = keep_set - set(bands)
    if unknown:
        raise ValueError(f"unknown band(s) {sorted(unknown)} for {levels} level(s); bands are {bands}")

    x = data.to_tensor(face)
    with torch.no_grad():
        rec = frequency.keep_bands(x, keep_set, wavelet, levels).clamp(0, 1)
        low, high = frequency.fourier_split(x, float(cutoff), kind)
        high_view = (high + x.mean(dim=(-2, -1), keepdim=True)).clamp(0, 1)
        coeffs = frequency.dwt2(x, wavelet, levels)
        energy = frequency.band_energy(x, wavelet, levels)
        mask = frequency.radial_mask(side, side, float(cutoff), kind)
    recon = data.to_image(rec)
    f_low, f_high = data.to_image(low.clamp(0, 1)), data.to_image(high_view)
    return {
        "original": face,
        "reconstruction": recon,
        "error": np.abs(face.astype(np.float32) - recon.astype(np.float32)).mean(axis=-1) / 255.0,
        "fourier_low": f_low,
        "fourier_high": f_high,
        "fourier_mask": torch.fft.fftshift(mask).numpy(),
        "mosaic": frequency.mosaic(coeffs),
        "psnr": {
            "wavelet": metrics.psnr(face, recon),
            "fourier_low": metrics.psnr(face, f_low),
            "fourier_high": metrics.psnr(face, f_high),
        },
        "bands": bands,
        "keep": [b for b in bands if b in keep_set],
        "energy": energy,
        "kept_energy": sum(energy[b] for b in keep_set),
        "wavelet": wavelet,
        "levels": int(levels),
        "cutoff": float(cutoff),
        "kind": kind,
    }


def _db(v: float) -> str:
    return "∞ dB" if math.isinf(v) else f"{v:.1f} dB"


def draw_frequency_views(views: dict, fig=None):
    """The explorer's figure for a :func:`frequency_views` result: 2 rows × 3 pictures."""
    if fig is None:
        fig = plt.figure(figsize=(8.4, 6.3))
    axes = fig.subplots(2, 3).ravel()
    p = views["psnr"]
    kept = "+".join(views["keep"]) if views["keep"] else "nothing"
    panels = [
        (views["original"], "original", None),
        (views["reconstruction"], f"kept bands: {_db(p['wavelet'])}", None),
        (views["error"], f"|error| (max {views['error'].max():.2f})", "magma"),
        (views["mosaic"], f"{views['wavelet']}, {views['levels']} level(s)", None),
        (views["fourier_low"], f"Fourier low ≤ {views['cutoff']:.2f}: {_db(p['fourier_low'])}", None),
        (views["fourier_high"], f"Fourier high + mean: {_db(p['fourier_high'])}", None),
    ]
    for ax, (im, title, cmap) in zip(axes, panels):
        if im.ndim == 2:
            ax.imshow(im, cmap=cmap, vmin=0, vmax=max(float(im.max()), 1e-3))
        else:
            ax.imshow(im)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"kept: {kept}  ({100 * views['kept_energy']:.1f}% of the energy)", fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ explorer
try:  # ipywidgets comes with the [notebooks] extra; the pure functions above work without it
    import ipywidgets as w
    from ipywidgets import VBox as _Box
except ImportError:  # pragma: no cover - exercised only where ipywidgets is missing
    w, _Box = None, object


class FrequencyExplorer(_Box):
    """The frequency explorer as a widget box. Its controls are attributes, so code (and tests) can drive it:

    ``face`` (Dropdown of indices), ``size``, ``wavelet``, ``levels``, ``band_boxes`` (name → Checkbox),
    ``cutoff``, ``kind``; ``views`` holds the latest :func:`frequency_views` result and ``keep`` the ticked
    bands. Changing any control recomputes and redraws (``refresh()`` does it by hand).
    """

    def __init__(self, faces, names, size: int = DEFAULT_SIZE, wavelet: str = "haar", levels: int = 2,
                 cutoff: float = 0.25, draw: bool = True):
        if _Box is object:
            raise ImportError("the explorers need ipywidgets: pip install 'fasdiff-lite[notebooks]'")
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {size}")
        _check_wavelet(wavelet)
        wavelets = list(frequency.WAVELETS) + ([wavelet] if wavelet not in frequency.WAVELETS else [])
        self._faces = faces
        self._crops: dict[tuple[int, int], np.ndarray] = {}
        self._draw = draw
        self._busy = False
        self.views: dict | None = None
        self.error: str | None = None
        self.renders = 0

        narrow = w.Layout(width="260px")
        self.face = w.Dropdown(options=[(n, i) for i, n in enumerate(names)], value=0, description="face", layout=narrow)
        self.size = w.Dropdown(options=list(SIZES), value=size, description="size (px)", layout=narrow)
        self.wavelet = w.Dropdown(options=wavelets, value=wavelet, description="wavelet", layout=narrow)
        deepest = max_levels(size, wavelet)
        if not 1 <= levels <= deepest:
            raise ValueError(f"levels={levels} is out of range for {size} px with {wavelet}: use 1…{deepest}")
        if not 0 <= cutoff <= 1:
            raise ValueError(f"cutoff={cutoff} is out of the slider's range [0, 1] (fraction of Nyquist)")
        self.levels = w.IntSlider(value=levels, min=1, max=deepest, description="levels", continuous_update=False)
        self.cutoff = w.FloatSlider(value=cutoff, min=0.0, max=1.0, step=0.01, description="Fourier cut",
                                    continuous_update=False, readout_format=".2f")
        self.kind = w.ToggleButtons(options=list(FOURIER_KINDS), value="ideal", description="mask",
                                    style={"button_width": "auto"})
        self.all_button = w.Button(description="keep all", layout=w.Layout(width="90px"))
        self.ll_button = w.Button(description="LL only", layout=w.Layout(width="90px"))
        self.band_boxes: dict[str, w.Checkbox] = {}
        self.band_panel = w.VBox()
        self.info = w.HTML()
        self.out = w.Image(format="png")

        self._build_band_boxes(frequency.band_names(levels))
        for c in (self.face, self.cutoff, self.kind):
            c.observe(self._on_change, names="value")
        self.levels.observe(self._on_levels, names="value")
        self.size.observe(self._on_depth_limits, names="value")
        self.wavelet.observe(self._on_depth_limits, names="value")
        self.all_button.on_click(lambda _: self.set_keep(frequency.band_names(self.levels.value)))
        self.ll_button.on_click(lambda _: self.set_keep(["LL"]))

        left = w.VBox([self.face, self.size, self.wavelet, self.levels, self.cutoff, self.kind])
        bands = w.VBox([w.HTML("<b>wavelet bands to keep</b>"), self.band_panel, w.HBox([self.all_button, self.ll_button])])
        super().__init__([w.HBox([left, bands]), self.info, self.out])
        self.refresh()

    # -- state -----------------------------------------------------------------------------------
    @property
    def keep(self) -> list[str]:
        return [n for n, b in self.band_boxes.items() if b.value]

    def image(self) -> np.ndarray:
        """The selected face at the selected size (uint8 size×size×3)."""
        key = (self.face.value, self.size.value)
        if key not in self._crops:
            self._crops[key] = data.face_crop(self._faces[self.face.value], self.size.value)
        return self._crops[key]

    def set_keep(self, names) -> None:
        """Tick exactly the bands in ``names`` (one redraw)."""
        names = set(names)
        self._busy = True
        try:
            for n, b in self.band_boxes.items():
                b.value = n in names
        finally:
            self._busy = False
        self.refresh()

    # -- callbacks -------------------------------------------------------------------------------
    def _build_band_boxes(self, names: list[str]) -> None:
        old = {n: b.value for n, b in self.band_boxes.items()}
        self.band_boxes = {}
        for n in names:
            box = w.Checkbox(value=old.get(n, True), description=n, indent=False, layout=w.Layout(width="60px"))
            box.observe(self._on_change, names="value")
            self.band_boxes[n] = box
        rows = [w.HBox([self.band_boxes["LL"]])]
        for lev in range(len(names) // 3, 0, -1):
            rows.append(w.HBox([self.band_boxes[f"{k}{lev}"] for k in frequency.BAND_KINDS]))
        self.band_panel.children = rows

    def _on_levels(self, change) -> None:
        busy, self._busy = self._busy, True  # the new checkboxes must not redraw one by one
        try:
            self._build_band_boxes(frequency.band_names(change["new"]))
        finally:
            self._busy = busy
        self._on_change(change)

    def _on_depth_limits(self, change) -> None:
        """Size or wavelet changed: clamp the level slider to what the new pair allows, then redraw once."""
        deepest = max_levels(self.size.value, self.wavelet.value)
        self._busy = True  # changing the slider below must not redraw on its own
        try:
            if self.levels.value > deepest:
                self.levels.value = deepest  # rebuilds the band checkboxes through _on_levels
            self.levels.max = deepest
        finally:
            self._busy = False
        self.refresh()

    def _on_change(self, change=None) -> None:
        if not self._busy:
            self.refresh()

    def refresh(self) -> dict | None:
        """Recompute the views from the controls and redraw; returns the views (None after a bad setting)."""
        try:
            self.views = frequency_views(self.image(), self.wavelet.value, self.levels.value, self.keep,
                                         self.cutoff.value, self.kind.value)
            self.error = None
        except ValueError as e:  # a setting the function refuses: say so instead of raising in a callback
            self.views, self.error = None, str(e)
            self.info.value = f"<span style='color:#b00'>{e}</span>"
            return None
        p = self.views["psnr"]
        self.info.value = (
            f"PSNR vs original — kept wavelet bands: <b>{_db(p['wavelet'])}</b> "
            f"({100 * self.views['kept_energy']:.1f}% of the energy kept) · "
            f"Fourier low-pass: <b>{_db(p['fourier_low'])}</b> · high-pass + mean: <b>{_db(p['fourier_high'])}</b>"
        )
        self.renders += 1
        if self._draw:
            self._render()
        return self.views

    def _render(self) -> None:
        # A PNG in an Image widget, like the other explorers: no Output widget, whose clear_output(wait=True)
        # made nbclient wait out its whole cell timeout when the CPU was busy (measured: 180 s).
        self.out.value = figure_png(draw_frequency_views(self.views, Figure(figsize=(8.4, 6.3), dpi=80)))


def frequency_explorer(faces=None, names=None, size: int = DEFAULT_SIZE, wavelet: str = "haar", levels: int = 2,
                       cutoff: float = 0.25, draw: bool = True) -> FrequencyExplorer:
    """An interactive frequency explorer for faces (notebook 01).

    faces  ``None`` (the shipped sample faces, plus 4 validation faces of ../shared when present), a uint8
           N×H×W×3 array, or a list of anything :func:`fasdiff_lite.data.load_image` reads.
    names  labels for the face picker (default ``face 0``, ``face 1``, …).
    size   64 (default, snappy) or 128; switchable in the widget.
    draw   False skips matplotlib (for tests: the computed ``views`` still update).

    Controls: face, size, wavelet, DWT levels, a checkbox per sub-band (keep/drop), Fourier cutoff and mask.
    Shows, live: original, reconstruction from the kept bands, |error|, the sub-band mosaic, the Fourier
    low-pass and high-pass, and the PSNR of each against the original.
    """
    if faces is None:
        faces, default_names = photo_faces()
        names = names if names is not None else default_names
    else:
        faces = list(faces) if not isinstance(faces, np.ndarray) or faces.ndim == 4 else [faces]
        if not faces:
            raise ValueError("faces is empty; give at least one face image")
        names = names if names is not None else [f"face {i}" for i in range(len(faces))]
    names = [str(n) for n in names]
    if len(names) != len(faces):
        raise ValueError(f"{len(faces)} faces but {len(names)} names")
    return FrequencyExplorer(list(faces), names, size=size, wavelet=wavelet, levels=levels, cutoff=cutoff, draw=draw)

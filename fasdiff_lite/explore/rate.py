"""The rate–distortion explorer (ipywidgets) and the helpers notebook 02 builds its story on (notebook 03 and 07
reuse the equal-bytes ones).

One continuous rate slider drives *one* set of compressor weights; every move re-encodes the face and
shows, side by side and **at equal bytes**::

    face ──HF compressor @ rate──▶ .fsd (N bytes) ──▶ decoded            the file that sets the budget
         ├─plain hyperprior, rate fitted so its .fsd ≤ N bytes ──▶ decoded
         ├─JPEG, best quality whose file ≤ N bytes ──────────────▶ decoded
         └─WebP, best quality whose file ≤ N bytes ──────────────▶ decoded
    + an RD curve of this face for every codec, with a live marker where the slider is.

Pure functions (tested; the widget only wires them up):

- :func:`rate_views`: one learned codec at one rate → decoded image, real bytes, bpp, the entropy
  model's estimated bits, PSNR, MS-SSIM.
- :func:`fit_rate`: the highest rate whose file fits a byte budget (learned codecs at equal bytes).
- :func:`compare_at_rate`: all codecs for one face at one slider position (what the widget shows).
- :func:`estimated_bits` (the entropy model's −Σ log₂ p, :func:`fasdiff_lite.models.compressor.likelihood_bits`),
  :func:`bit_map_overlay` (where the bits go, from ``HFCompressor.bit_map``), :func:`quantization_demo`,
  :func:`bitstream_anatomy`.

:func:`rate_explorer` returns the ipywidgets box (its controller is ``box.explorer``; setting
``box.explorer.slider.value`` from Python updates the views, which is how the tests drive it).
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch

from .. import bitstream, data, registry, settings
from ..evaluation import baselines, metrics
from ..models import zoo
from ..models.compressor import HFCompressor, likelihood_bits, pad
from .common import CODEC_COLORS, as_face, check_model, check_rate, colorize, default_faces, figure_png, png

# matplotlib is imported where a figure is drawn (the demo imports this module when it starts); ipywidgets and
# IPython (the [notebooks] extra) by the widget only.

LEARNED = tuple(registry.names("compressor"))


# ------------------------------------------------------------------------------------------ models
def shipped_models(names=LEARNED, device=None) -> "OrderedDict[str, HFCompressor]":
    """The shipped compressors by name, or a FileNotFoundError saying which weights are missing and why."""
    missing = [n for n in names if n not in zoo.available("compressor")]
    if missing:
        raise FileNotFoundError(
            f"the shipped weights for {', '.join(missing)} are not in {settings.ASSETS_DIR / 'compressor'}. "
            "On a fresh clone they come with the repository (git pull); or train your own with "
            "`fasdiff-lite train compressor` and pass models={'hf-compressor': HFCompressor.from_pretrained(folder)}"
        )
    return OrderedDict((n, zoo.load(n, device)) for n in names)


def _models(models) -> "OrderedDict[str, HFCompressor]":
    if models is None:
        return shipped_models()
    if isinstance(models, HFCompressor):
        models = [models]
    if isinstance(models, dict):
        out = OrderedDict(models)
    else:
        out = OrderedDict((check_model(m).config.model_id, m) for m in models)
    if not out:
        raise ValueError("need at least one learned compressor")
    for m in out.values():
        check_model(m)
    return out



# ------------------------------------------------------------------------------------- bits and bytes
@torch.no_grad()
def estimated_bits(model: HFCompressor, face, rate: float) -> dict:
    """The entropy model's estimate for one face, split into y (the latent) and z (the side information)."""
    model = check_model(model)
    rate = check_rate(rate)
    model.eval()
    x = data.to_tensor(as_face(face)).to(model.Gain.device)
    out = model.forward_rate(pad(x), rate)
    bits = {k: float(likelihood_bits(v)) for k, v in out["likelihoods"].items()}
    bits["total"] = sum(bits.values())
    return bits


def bit_map_overlay(face, bits: np.ndarray, alpha: float = 0.6, vmax: float | None = None) -> np.ndarray:
    """Where the bits go, drawn over the face: ``bits`` (one number per latent cell, e.g. the ``"y"`` map of
    :meth:`HFCompressor.bit_map <fasdiff_lite.models.compressor.HFCompressor.bit_map>`) stretched to the face
    (nearest: each cell stays a visible block), coloured (magma, 0 … ``vmax`` bits) and blended over a grey copy
    of the face. Returns uint8 H×W×3."""
    face = as_face(face)
    bits = np.asarray(bits, dtype=np.float64)
    if bits.ndim != 2 or bits.size == 0 or not np.isfinite(bits).all() or (bits < 0).any():
        raise ValueError(f"bits must be a non-empty 2-D map of non-negative numbers, got shape {bits.shape}")
    h, w = face.shape[:2]
    cell = -(-h // bits.shape[0])  # pixels per cell (16 for ŷ)
    big = np.kron(bits, np.ones((cell, cell)))[:h, :w]
    heat = colorize(big, vmax).astype(np.float64)
    grey = face.astype(np.float64).mean(axis=2, keepdims=True)
    return (alpha * heat + (1 - alpha) * grey).round().clip(0, 255).astype(np.uint8)


def bitstream_anatomy(blob: bytes) -> list[tuple[str, int]]:
    """Where the bytes of a ``.fsd`` file go: ``[(field, bytes), ...]`` summing to ``len(blob)``."""
    p = bitstream.unpack(blob)  # BitstreamError if it is not a valid file

    def varint_len(n: int) -> int:
        return max(1, math.ceil(n.bit_length() / 7))

    rows = [("magic FA 5D", 2), ("format version", 1), ("model id", 1),
            ("height (varint)", varint_len(p.height)), ("width (varint)", varint_len(p.width)), ("rate (u16)", 2)]
    if p.version == 1:
        rows.append(("number of streams", 1))
        rows += [(f"length of stream {i} (varint)", varint_len(len(s))) for i, s in enumerate(p.streams[:-1])]
    names = (["z then y (one rANS stream; its last state holds the check)"] if len(p.streams) == 1 else
             ["y (the latent)", "z (side information)"] if len(p.streams) == 2 else [str(i) for i in range(len(p.streams))])
    rows += [(f"stream {n}", len(s)) for n, s in zip(names, p.streams)]
    if p.version == 1:
        rows.append(("CRC-16", 2))
    assert sum(b for _, b in rows) == len(blob)
    return rows



# ------------------------------------------------------------------------------------- one codec, one rate
@torch.no_grad()
def rate_views(model: HFCompressor, face, rate: float) -> dict:
    """Encode ``face`` at ``rate`` into a real ``.fsd`` file, decode it, and measure everything.

    Returns ``codec, rate, image`` (decoded uint8), ``blob`` (the file), ``bytes``, ``bpp`` (whole file),
    ``stream_bytes``, ``header_bytes`` (container overhead), ``estimated_bits`` (the entropy model's
    −Σ log₂ p of y and z), ``overhead_pct`` (file vs estimate), ``psnr``, ``ms_ssim``.
    """
    model = check_model(model)
    rate = check_rate(rate)
    img = as_face(face)
    model.eval()
    blob = model.compress(data.to_tensor(img).to(model.Gain.device), rate)
    decoded = data.to_image(model.decompress(blob))
    packet = bitstream.unpack(blob)
    est = estimated_bits(model, img, rate)["total"]
    h, w = img.shape[:2]
    return {
        "codec": model.config.model_id, "rate": rate, "image": decoded, "blob": blob, "bytes": len(blob),
        "bpp": metrics.bpp(len(blob), h, w), "stream_bytes": sum(len(s) for s in packet.streams),
        "header_bytes": bitstream.overhead_bytes(packet), "estimated_bits": est,
        "overhead_pct": 100.0 * (8 * len(blob) - est) / max(est, 1e-9),
        "psnr": metrics.psnr(img, decoded), "ms_ssim": metrics.ms_ssim(img, decoded),
    }


@torch.no_grad()
def fit_rate(model: HFCompressor, face, max_bytes: int, steps: int = 10) -> tuple[float, bool]:
    """The highest rate whose ``.fsd`` file fits ``max_bytes`` (bisection; bytes grow with rate).

    Returns ``(rate, fits)``; ``fits`` is False when even rate 0 is bigger than the budget.
    """
    model = check_model(model)
    if int(max_bytes) < 1:
        raise ValueError(f"max_bytes must be ≥ 1, got {max_bytes}")
    x = data.to_tensor(as_face(face)).to(model.Gain.device)
    model.eval()

    def size(r: float) -> int:
        return len(model.compress(x, check_rate(r)))

    if size(0.0) > max_bytes:
        return 0.0, False
    if size(1.0) <= max_bytes:
        return 1.0, True
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = check_rate((lo + hi) / 2)
        lo, hi = (mid, hi) if size(mid) <= max_bytes else (lo, mid)
    return lo, True


def baseline_view(face, codec: str, max_bytes: int) -> dict:
    """A classical codec fitted to ``max_bytes`` (best quality that fits), measured like :func:`rate_views`."""
    img = as_face(face)
    res = baselines.fit_bytes(img, codec, int(max_bytes))
    h, w = img.shape[:2]
    return {"codec": codec, "quality": res.quality, "fits": res.fits, "image": res.decoded, "blob": res.data,
            "bytes": res.num_bytes, "bpp": metrics.bpp(res.num_bytes, h, w),
            "psnr": metrics.psnr(img, res.decoded), "ms_ssim": metrics.ms_ssim(img, res.decoded)}


def compare_at_rate(models, face, rate: float, codecs=("jpeg", "webp")) -> "OrderedDict[str, dict]":
    """Every codec for one face at one slider position, at equal bytes.

    The first learned model is encoded at ``rate`` and its file size is the budget; every other learned
    model gets the highest rate that fits (``fitted_rate``), every classical codec the best quality.
    """
    models = _models(models)
    rate = check_rate(rate)
    img = as_face(face)
    names = list(models)
    first = rate_views(models[names[0]], img, rate)
    views = OrderedDict([(names[0], first)])
    budget = first["bytes"]
    for name in names[1:]:
        r, fits = fit_rate(models[name], img, budget)
        v = rate_views(models[name], img, r)
        v.update(fitted_rate=r, fits=fits)
        views[name] = v
    for codec in codecs:
        if codec not in baselines.CODECS:
            raise ValueError(f"unknown codec {codec!r}; known: {', '.join(baselines.CODECS)}")
        if codec in baselines.available_codecs():
            views[codec] = baseline_view(img, codec, budget)
    return views


def rd_curve(model: HFCompressor, face, rates) -> list[tuple[float, float, float]]:
    """``[(bpp, PSNR, MS-SSIM), ...]`` of one learned codec on one face over ``rates``."""
    out = []
    for r in rates:
        v = rate_views(model, face, r)
        out.append((v["bpp"], v["psnr"], v["ms_ssim"]))
    return out


def baseline_curve(face, codec: str, qualities=None) -> list[tuple[float, float, float]]:
    """``[(bpp, PSNR, MS-SSIM), ...]`` of a classical codec on one face over a sweep of qualities."""
    img = as_face(face)
    lo, hi = baselines.CODECS[codec][1]
    if qualities is None:  # denser at low qualities, where the learned codecs live
        qualities = np.unique((lo + (hi - lo) * np.linspace(0, 1, 16) ** 2).round().astype(int))
    h, w = img.shape[:2]
    out = []
    for q in qualities:
        blob = baselines.encode(img, codec, int(q))
        dec = baselines.decode(blob)
        out.append((metrics.bpp(len(blob), h, w), metrics.psnr(img, dec), metrics.ms_ssim(img, dec)))
    return sorted(out)



# ------------------------------------------------------------------------------------------ quantization
@torch.no_grad()
def quantization_demo(model: HFCompressor, face, rate: float = 0.5, seed: int = 0) -> dict:
    """Rounding (what the coder does) vs additive uniform noise (the training proxy) on a real latent.

    With μ, σ from the hyperprior and the gain g of ``rate``, the coder sees u = (y − μ)·g and sends
    round(u). Training cannot differentiate through rounding, so CompressAI's likelihood uses
    u + U(−½, ½) instead. Returns ``u``, ``rounded``, ``noisy`` (flat numpy arrays), the two errors'
    mean squares (both ≈ 1/12), and the bits each version of the likelihood estimates (nearly equal).
    """
    model = check_model(model)
    rate = check_rate(rate)
    model.eval()
    x = pad(data.to_tensor(as_face(face)).to(model.Gain.device))
    g = model.gain(rate)
    y = model.g_a(x)
    z_hat, _ = model.entropy_bottleneck(model.h_a(y), training=False)
    scales, means = model.h_s(z_hat).chunk(2, 1)
    u = (y - means) * g
    gen = torch.Generator(device=u.device).manual_seed(seed)
    noisy = u + torch.rand(u.shape, generator=gen, device=u.device) - 0.5
    gc = model.gaussian_conditional
    _, lik_round = gc(y * g, scales * g, means=means * g, training=False)
    torch.manual_seed(seed)
    _, lik_noise = gc(y * g, scales * g, means=means * g, training=True)
    return {
        "u": u.flatten().cpu().numpy(), "rounded": torch.round(u).flatten().cpu().numpy(),
        "noisy": noisy.flatten().cpu().numpy(),
        "round_mse": float((torch.round(u) - u).pow(2).mean()), "noise_mse": float((noisy - u).pow(2).mean()),
        "bits_rounding": float(likelihood_bits(lik_round)), "bits_noise": float(likelihood_bits(lik_noise)),
        "latent_shape": tuple(y.shape), "gain": float(g),
    }


def plot_quantization(demo: dict, ax=None, bins: int = 60):
    """Histogram of u, round(u) and u + noise from :func:`quantization_demo`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    lim = float(np.percentile(np.abs(demo["u"]), 99.5)) + 1
    edges = np.linspace(-lim, lim, bins)
    ax.hist(demo["u"], edges, alpha=0.5, label="u = (y − μ)·gain")
    ax.hist(demo["noisy"], edges, histtype="step", lw=2, label="u + U(−½, ½)  (training)")
    ax.hist(demo["rounded"], np.arange(-math.ceil(lim), math.ceil(lim) + 1) - 0.5, histtype="step", lw=2,
            label="round(u)  (coding)")
    ax.set_yscale("log")
    ax.set_xlabel("latent value")
    ax.legend(fontsize=8)
    return ax



# ------------------------------------------------------------------------------------------- the widget
class RateExplorer:
    """Controller behind :func:`rate_explorer`: widgets in ``.widget``; the latest views in ``.views``."""

    def __init__(self, models=None, faces=None, labels=None, codecs=("jpeg", "webp"), rate: float = 0.3,
                 curve_rates=None, scale: int = 3, continuous_update: bool = False):
        import ipywidgets as W

        self.models = _models(models)
        if faces is None:
            faces, default_labels = default_faces()
            labels = labels or default_labels
        faces = np.asarray(faces)
        if faces.ndim == 3:
            faces = faces[None]
        if faces.ndim != 4 or faces.shape[-1] != 3 or len(faces) == 0:
            raise ValueError(f"faces must be a non-empty uint8 array N×H×W×3, got shape {faces.shape}")
        self.faces = faces.astype(np.uint8)
        self.labels = list(labels) if labels is not None else [f"face {i}" for i in range(len(faces))]
        if len(self.labels) != len(self.faces):
            raise ValueError(f"{len(self.labels)} labels for {len(self.faces)} faces")
        self.codecs = [c for c in codecs if c in baselines.available_codecs()]
        self.curve_rates = list(curve_rates) if curve_rates is not None else list(np.linspace(0, 1, settings.pick(9, 5)))
        self.scale = scale
        self._cache: dict = {}
        self._curves: dict = {}
        self.views: OrderedDict = OrderedDict()

        self.face_picker = W.Dropdown(options=[(l, i) for i, l in enumerate(self.labels)], value=0, description="face")
        self.slider = W.FloatSlider(value=check_rate(rate), min=0.0, max=1.0, step=0.01, description="rate",
                                    continuous_update=continuous_update, readout_format=".2f",
                                    layout=W.Layout(width="420px"))
        self.metric = W.ToggleButtons(options=[("PSNR", "psnr"), ("MS-SSIM", "ms_ssim")], value="psnr",
                                      style={"button_width": "80px"})
        names = ["original", *self.models, *self.codecs]
        self.images = {n: W.Image(format="png") for n in names}
        self.captions = {n: W.HTML() for n in names}
        tiles = [W.VBox([self.images[n], self.captions[n]], layout=W.Layout(align_items="center", margin="0 6px"))
                 for n in names]
        self.plot = W.Image(format="png")
        self.table = W.HTML()
        self.widget = W.VBox([
            W.HBox([self.face_picker, self.slider, self.metric]),
            W.HBox(tiles),
            W.HBox([self.plot, self.table]),
        ])
        self.widget.explorer = self
        self.face_picker.observe(self._on_change, names="value")
        self.slider.observe(self._on_change, names="value")
        self.metric.observe(self._on_change, names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _on_change(self, _change=None):
        self.update()

    def curves(self, i: int) -> dict:
        """This face's RD curves for every codec (computed once per face)."""
        if i not in self._curves:
            face = self.faces[i]
            c = {n: rd_curve(m, face, self.curve_rates) for n, m in self.models.items()}
            c.update({k: baseline_curve(face, k) for k in self.codecs})
            self._curves[i] = c
        return self._curves[i]

    def update(self) -> OrderedDict:
        """Recompute the views for the current face and rate, and redraw."""
        i, rate = int(self.face_picker.value), round(float(self.slider.value), 4)
        key = (i, rate)
        if key not in self._cache:
            self._cache[key] = compare_at_rate(self.models, self.faces[i], rate, self.codecs)
        self.views = self._cache[key]
        face = self.faces[i]
        h, w = face.shape[:2]
        self.images["original"].value = png(face, self.scale)
        self.captions["original"].value = f"<b>original</b><br>{w}×{h}, {3 * h * w} raw bytes"
        budget = next(iter(self.views.values()))["bytes"]
        for name, v in self.views.items():
            self.images[name].value = png(v["image"], self.scale)
            extra = ""
            if "fitted_rate" in v:
                extra = f"<br>fitted rate {v['fitted_rate']:.2f}"
            elif "quality" in v:
                extra = f"<br>quality {v['quality']}" + ("" if v["fits"] else " (cannot fit!)")
            self.captions[name].value = (f"<b>{name}</b><br>{v['bytes']} B · {v['bpp']:.3f} bpp<br>"
                                         f"{v['psnr']:.2f} dB · MS-SSIM {v['ms_ssim']:.3f}{extra}")
        self.plot.value = self._plot(i)
        self.table.value = self._table(budget)
        return self.views

    def _plot(self, i: int) -> bytes:
        from matplotlib.figure import Figure

        metric = self.metric.value
        k = 1 if metric == "psnr" else 2
        fig = Figure(figsize=(4.6, 3.2), dpi=90)
        ax = fig.subplots()
        curves = self.curves(i)
        xmax = 1.3 * max(p[0] for n in self.models for p in curves[n] + [(self.views[n]["bpp"],)])
        for name, pts in curves.items():
            pts = [p for p in sorted(pts) if p[0] <= 1.15 * xmax]  # the learned codecs' range, not JPEG at 5 bpp
            ax.plot([p[0] for p in pts], [p[k] for p in pts], "-", color=CODEC_COLORS.get(name), alpha=0.6, label=name)
            v = self.views[name]
            ax.plot([v["bpp"]], [v[metric]], "o", ms=8, color=CODEC_COLORS.get(name), mec="k")
        ax.axvline(next(iter(self.views.values()))["bpp"], color="k", lw=0.8, ls=":")
        ax.set_xlim(0, xmax)
        ax.set_xlabel("bits per pixel (real file sizes)")
        ax.set_ylabel("PSNR (dB)" if metric == "psnr" else "MS-SSIM")
        ax.set_title("this face; dots = the slider, at equal bytes", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return figure_png(fig)

    def _table(self, budget: int) -> str:
        def est(v):
            return f"{v['estimated_bits']:.0f}" if "estimated_bits" in v else ""

        rows = "".join(
            f"<tr><td>{n}</td><td>{v['bytes']}</td><td>{v['bpp']:.3f}</td><td>{v['psnr']:.2f}</td>"
            f"<td>{v['ms_ssim']:.3f}</td><td>{est(v)}</td></tr>"
            for n, v in self.views.items())
        return (f"<div style='margin-left:12px'><b>budget: {budget} bytes</b> (the first codec's .fsd file)"
                "<table><tr><th>codec</th><th>bytes</th><th>bpp</th><th>PSNR</th><th>MS-SSIM</th>"
                f"<th>est. bits</th></tr>{rows}</table></div>")


def rate_explorer(models=None, faces=None, **kwargs):
    """The rate–distortion explorer: a face picker, ONE continuous rate slider, decoded images of every codec
    at equal bytes, a table, and the face's RD curves with a live marker. Returns the ipywidgets box
    (its controller is ``box.explorer``). ``models``: None (the shipped ``hf-compressor`` and
    ``hyperprior``), a dict name → compressor, or a list of compressors; the first sets the byte budget.
    ``faces``: uint8 N×H×W×3 (default: a few validation faces, or the shipped samples).
    """
    return RateExplorer(models, faces, **kwargs).widget

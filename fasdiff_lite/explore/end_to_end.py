"""Notebook 07 (FaSDiff end to end): compress → bytes → diffusion decode, and the ablations at equal bytes.

    sliders (rate, steps, realism) ──▶ decode_views(codec, face, ...) ──dict──▶ images + captions

- :func:`header_fields` (every field of the ``.fsd`` file), :func:`decode_views` / :func:`decode_explorer`;
- :func:`compare_ablations` (every codec at equal bytes), :func:`summarize_ablations`, :func:`format_ablations`,
  :func:`plot_ablations`; :func:`realism_sweep` and :func:`plot_perception_distortion`.

The setup (:func:`fasdiff_lite.explore.common.load_setup`) and the checks are shared with notebooks 05, 06 and 08;
the model logic lives in :mod:`fasdiff_lite.models.codec`.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import bitstream, data
from ..evaluation import baselines, face_metrics, metrics
from ..evaluation.realism import detail_ratio
from ..models.codec import FaSDiffCodec
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, MAX_STEPS  # MAX_STEPS: the decode slider's range
from .common import CODEC_COLORS, as_face, as_faces, check_codec, check_rate, check_realism, check_steps, png
from .lowfreq import lf_errors
from .rate import baseline_view, bitstream_anatomy, fit_rate, rate_views

# ipywidgets and IPython (the [notebooks] extra) are imported by the widget only: the pure functions work without them.


def header_fields(blob: bytes) -> list[tuple[str, str, int]]:
    """Every field of a ``.fsd`` file as ``(field, value, bytes)``; the byte counts sum to ``len(blob)``."""
    p = bitstream.unpack(blob)
    values = ["FA 5D", str(blob[2]), f"{p.model} ({bitstream.MODEL_IDS[p.model]})", str(p.height), str(p.width),
              f"{p.rate:.4f} (u16 {bitstream.quantize_rate(p.rate)})"]
    if p.version == 1:
        values.append(str(len(p.streams)))
        values += [str(len(s)) for s in p.streams[:-1]]
    values += ["range-coded" for _ in p.streams]
    if p.version == 1:
        values.append(f"0x{blob[-2:].hex()}")
    rows = bitstream_anatomy(blob)
    return [(name, val, n) for (name, n), val in zip(rows, values)]


@torch.no_grad()
def decode_views(codec: FaSDiffCodec, face, rate: float = 0.3, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                 blob: bytes | None = None) -> dict:
    """Compress ``face`` at ``rate`` (or take ``blob``), decode it with ``steps`` and ``realism``, measure.

    Returns ``image`` (uint8), ``fidelity`` (the realism-0 decode), ``blob``, ``bytes``, ``bpp``,
    ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf`` (:func:`lf_errors`), ``decode_s`` and the settings.
    """
    codec = check_codec(codec)
    rate, steps, realism = check_rate(rate), check_steps(steps), check_realism(realism)
    img = as_face(face)
    if blob is None:
        blob = codec.compress(data.to_tensor(img), rate)
    t0 = time.perf_counter()
    x = codec.decompress(blob, steps=steps, realism=realism)
    took = time.perf_counter() - t0
    out = data.to_image(x)
    fid = out if realism == 0 else data.to_image(codec.decompress(blob, realism=0))
    h, w = img.shape[:2]
    return {"codec": codec.variant, "rate": rate, "steps": steps, "realism": realism, "image": out, "fidelity": fid,
            "blob": blob, "bytes": len(blob), "bpp": metrics.bpp(len(blob), h, w),
            "psnr": metrics.psnr(img, out), "ms_ssim": metrics.ms_ssim(img, out),
            "detail_ratio": detail_ratio(img, out), "lf": lf_errors(img, out), "decode_s": took}


def _fit_codec_rate(codec: FaSDiffCodec, img: np.ndarray, budget: int) -> tuple[float, bool]:
    """The highest rate whose file fits ``budget`` bytes (the .fsd size depends only on the compressor's
    streams, so the compressor's own bisection answers it for the codec)."""
    return fit_rate(codec.compressor, img, budget)


def compare_ablations(codecs, face, rate: float = 0.3, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                      compressors=None, classical=("jpeg", "webp"), identity: bool | None = None) -> "OrderedDict[str, dict]":
    """Every codec for one face **at equal bytes**, measured alike.

    ``codecs``: name → FaSDiffCodec; the first one is encoded at ``rate`` and its file size is the budget.
    A FaSDiff codec that codes the very same symbols at ``rate`` (the same compressor, e.g. ``fasdiff-nolfe`` next
    to ``fasdiff``) keeps that rate, so only the decoders differ (``same_symbols``; the bytes differ only in the
    check the coder's state carries, which covers the header and so the model id). Every other FaSDiff
    codec and every compressor in ``compressors`` (name → HFCompressor, e.g. the plain
    ``hyperprior``) gets the highest rate whose file fits; each ``classical`` codec the best quality that
    fits. Each entry: ``image``, ``bytes``, ``bpp``, ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf``,
    ``fits``, and ``identity`` (cosine, dlib distance) when ``identity`` is True (default: when
    :func:`fasdiff_lite.evaluation.face_metrics.is_available`).
    """
    if isinstance(codecs, FaSDiffCodec):
        codecs = {codecs.variant: codecs}
    if not isinstance(codecs, dict):
        raise ValueError(f"codecs must be a FaSDiffCodec or a dict name → FaSDiffCodec, got {type(codecs).__name__}")
    codecs = OrderedDict(codecs)
    if not codecs:
        raise ValueError("need at least one FaSDiff codec")
    for c in codecs.values():
        check_codec(c)
    rate = check_rate(rate)
    img = as_face(face)
    names = list(codecs)
    first = decode_views(codecs[names[0]], img, rate, steps, realism)
    first["fits"] = True
    views = OrderedDict([(names[0], first)])
    budget = first["bytes"]
    x = data.to_tensor(img)
    first_symbols = codecs[names[0]].compressor.symbols(x, rate)
    for name in names[1:]:
        blob = codecs[name].compress(x, rate)
        if codecs[name].compressor.symbols(x, rate) == first_symbols:  # the same compressor: the very same symbols
            r, fits = rate, True
        else:
            r, fits = _fit_codec_rate(codecs[name], img, budget)
            blob = None
        v = decode_views(codecs[name], img, r, steps, realism, blob=blob)
        v.update(fitted_rate=r, fits=fits and v["bytes"] <= budget, same_symbols=blob is not None)
        views[name] = v
    for name, m in (compressors or {}).items():
        r, fits = fit_rate(m, img, budget)
        v = rate_views(m, img, r)
        v.update(fitted_rate=r, fits=fits and v["bytes"] <= budget, detail_ratio=detail_ratio(img, v["image"]),
                 lf=lf_errors(img, v["image"]))
        views[name] = v
    for codec in classical:
        if codec not in baselines.CODECS:
            raise ValueError(f"unknown codec {codec!r}; known: {', '.join(baselines.CODECS)}")
        if codec in baselines.available_codecs():
            v = baseline_view(img, codec, budget)
            v.update(detail_ratio=detail_ratio(img, v["image"]), lf=lf_errors(img, v["image"]))
            views[codec] = v
    if identity is None:
        identity = face_metrics.is_available()
    if identity:
        for v in views.values():
            s = face_metrics.identity_similarity(img, v["image"])
            v["identity"] = {"cosine": s.cosine, "distance": s.distance, "same_person": s.same_person}
    return views


def summarize_ablations(per_face: list) -> "OrderedDict[str, dict]":
    """Mean of each number over faces: ``per_face`` is a list of :func:`compare_ablations` results."""
    if not per_face:
        raise ValueError("no results to summarise")
    out = OrderedDict()
    for name in per_face[0]:
        rows = [r[name] for r in per_face if name in r]
        s = {k: float(np.mean([r[k] for r in rows])) for k in ("bytes", "bpp", "psnr", "ms_ssim", "detail_ratio")}
        s["lf_psnr"] = float(np.mean([(r["lf"]["ll_psnr"] + r["lf"]["lp_psnr"]) / 2 for r in rows]))
        s["fits_pct"] = 100.0 * float(np.mean([bool(r.get("fits", True)) for r in rows]))
        if all("identity" in r for r in rows):
            s["identity_cosine"] = float(np.mean([r["identity"]["cosine"] for r in rows]))
            s["identity_distance"] = float(np.mean([r["identity"]["distance"] for r in rows]))
            s["same_person_pct"] = 100.0 * float(np.mean([r["identity"]["same_person"] for r in rows]))
        s["n"] = len(rows)
        out[name] = s
    return out


def format_ablations(summary: dict) -> str:
    """A plain-text table of :func:`summarize_ablations` (identity columns when measured)."""
    ident = all("identity_cosine" in s for s in summary.values())
    head = f"{'codec':14s} {'bytes':>6s} {'bpp':>6s} {'PSNR':>6s} {'MS-SSIM':>7s} {'LF dB':>6s} {'detail':>6s}"
    head += f" {'id cos':>6s} {'id dist':>7s} {'same%':>5s}" if ident else ""
    head += f" {'fits%':>5s}"
    lines = [head]
    for n, s in summary.items():
        line = (f"{n:14s} {s['bytes']:6.0f} {s['bpp']:6.3f} {s['psnr']:6.2f} {s['ms_ssim']:7.3f} "
                f"{s['lf_psnr']:6.2f} {s['detail_ratio']:6.2f}")
        if ident:
            line += f" {s['identity_cosine']:6.3f} {s['identity_distance']:7.3f} {s['same_person_pct']:5.0f}"
        lines.append(line + f" {s['fits_pct']:5.0f}")
    return "\n".join(lines)


def plot_ablations(views: dict, original=None, size: float = 1.9, title: str | None = None):
    """One row: the original, then every codec's decode with its bytes, PSNR (and identity cosine)."""
    items = ([("original", original, "")] if original is not None else [])
    for n, v in views.items():
        cap = f"{v['bytes']} B · {v['psnr']:.1f} dB"
        if "identity" in v:
            cap += f"\nid cos {v['identity']['cosine']:.3f}"
        if not v.get("fits", True):
            cap += " (over!)"
        items.append((n, v["image"], cap))
    fig, axes = plt.subplots(1, len(items), figsize=(size * len(items), size + 0.7), squeeze=False)
    for ax, (n, im, cap) in zip(axes[0], items):
        ax.imshow(im)
        ax.set_title(f"{n}\n{cap}" if cap else n, fontsize=7.5)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.88))
    else:
        fig.tight_layout()
    return fig


@torch.no_grad()
def realism_sweep(codec: FaSDiffCodec, faces, rate: float = 0.3, realisms=(0.0, 0.25, 0.5, 0.75, 1.0),
                  steps: int = DEFAULT_STEPS, identity: bool = False) -> list[dict]:
    """Decode the same bytes at each realism and average over ``faces``: the perception–distortion trade-off.

    Returns one dict per realism: ``realism``, ``psnr``, ``ms_ssim``, ``detail_ratio``, ``lf_psnr`` (mean of the
    LL and Fourier PSNRs), ``images`` (the first face's decode), and ``identity_cosine`` when ``identity``.
    """
    codec = check_codec(codec)
    faces = as_faces(faces)
    blobs = [codec.compress(data.to_tensor(f), check_rate(rate)) for f in faces]
    out = []
    for r in realisms:
        vs = [decode_views(codec, f, rate, steps, r, blob=b) for f, b in zip(faces, blobs)]
        row = {"realism": float(r), "psnr": float(np.mean([v["psnr"] for v in vs])),
               "ms_ssim": float(np.mean([v["ms_ssim"] for v in vs])),
               "detail_ratio": float(np.mean([v["detail_ratio"] for v in vs])),
               "lf_psnr": float(np.mean([(v["lf"]["ll_psnr"] + v["lf"]["lp_psnr"]) / 2 for v in vs])),
               "image": vs[0]["image"], "bytes": float(np.mean([v["bytes"] for v in vs]))}
        if identity:
            row["identity_cosine"] = float(np.mean([face_metrics.identity_similarity(f, v["image"]).cosine
                                                    for f, v in zip(faces, vs)]))
        out.append(row)
    return out


def plot_perception_distortion(sweeps: dict, ax=None):
    """Distortion (PSNR, x) against the detail ratio (y, 1 = as much texture as the original), one line per
    codec, one point per realism; ``sweeps``: name → :func:`realism_sweep` result."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, rows in sweeps.items():
        xs, ys = [r["psnr"] for r in rows], [r["detail_ratio"] for r in rows]
        ax.plot(xs, ys, "o-", color=CODEC_COLORS.get(name), label=name)
        for r, x, y in zip(rows, xs, ys):
            ax.annotate(f"{r['realism']:.2g}", (x, y), fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("PSNR (dB) → less distortion")
    ax.set_ylabel("detail ratio (1 = original's texture)")
    ax.set_title("perception–distortion: labels are the realism", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


class DecodeExplorer:
    """Controller behind :func:`decode_explorer`: widgets in ``.widget``; the latest views in ``.views``.

    Controls: ``face_picker``, ``codec_picker`` (only with several codecs), ``rate``, ``steps``, ``realism``
    (all ``continuous_update=False``). The file is re-encoded only when the face, codec or rate changes;
    steps and realism only re-decode the same bytes (as a real decoder would).
    """

    def __init__(self, codec, faces, labels=None, rate: float = 0.3, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
                 scale: int = 3):
        import ipywidgets as W

        if isinstance(codec, FaSDiffCodec):
            codecs = OrderedDict({codec.variant: codec})
        elif isinstance(codec, dict):
            codecs = OrderedDict(codec)
        else:
            raise ValueError(f"expected a FaSDiff codec (fasdiff_lite.models.codec.FaSDiffCodec) or a dict name → codec, "
                             f"got {type(codec).__name__}")
        if not codecs:
            raise ValueError("need a FaSDiff codec (or a dict name → codec)")
        for c in codecs.values():
            check_codec(c)
        self.codecs = codecs
        self.faces = as_faces(faces)
        self.labels = list(labels) if labels is not None else [f"face {i}" for i in range(len(self.faces))]
        if len(self.labels) != len(self.faces):
            raise ValueError(f"{len(self.labels)} labels for {len(self.faces)} faces")
        rate, steps, realism = check_rate(rate), check_steps(steps), check_realism(realism)
        self.scale = scale
        self._blobs: dict = {}
        self.views: dict = {}
        self.renders = 0
        self.face_picker = W.Dropdown(options=[(l, i) for i, l in enumerate(self.labels)], value=0, description="face")
        self.codec_picker = W.Dropdown(options=list(codecs), value=next(iter(codecs)), description="codec")
        slider = dict(continuous_update=False, layout=W.Layout(width="330px"))
        self.rate = W.FloatSlider(value=rate, min=0.0, max=1.0, step=0.01, description="rate", readout_format=".2f", **slider)
        self.steps = W.IntSlider(value=steps, min=1, max=MAX_STEPS, description="steps", **slider)
        self.realism = W.FloatSlider(value=realism, min=0.0, max=1.0, step=0.05, description="realism",
                                     readout_format=".2f", **slider)
        names = ("original", "fidelity", "decoded")
        self.images = {n: W.Image(format="png") for n in names}
        self.captions = {n: W.HTML() for n in names}
        tiles = [W.VBox([self.images[n], self.captions[n]], layout=W.Layout(align_items="center", margin="0 6px"))
                 for n in names]
        self.header = W.HTML()
        top = [self.face_picker] + ([self.codec_picker] if len(codecs) > 1 else [])
        self.widget = W.VBox([W.HBox(top), W.HBox([self.rate, self.steps, self.realism]),
                              W.HBox(tiles + [self.header])])
        self.widget.explorer = self
        for w in (self.face_picker, self.codec_picker, self.rate, self.steps, self.realism):
            w.observe(lambda _change: self.update(), names="value")
        self.update()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def update(self) -> dict:
        i, name = int(self.face_picker.value), self.codec_picker.value
        rate = check_rate(round(float(self.rate.value), 4))
        codec, face = self.codecs[name], self.faces[i]
        key = (i, name, rate)
        if key not in self._blobs:
            self._blobs[key] = codec.compress(data.to_tensor(face), rate)
        v = decode_views(codec, face, rate, int(self.steps.value), float(self.realism.value), blob=self._blobs[key])
        self.views = v
        h, w = face.shape[:2]
        self.images["original"].value = png(face, self.scale)
        self.captions["original"].value = f"<b>original</b><br>{w}×{h}, {3 * h * w} raw bytes"
        self.images["fidelity"].value = png(v["fidelity"], self.scale)
        self.captions["fidelity"].value = (f"<b>fidelity (realism 0)</b><br>{metrics.psnr(face, v['fidelity']):.2f} dB"
                                           f" · detail {detail_ratio(face, v['fidelity']):.2f}")
        self.images["decoded"].value = png(v["image"], self.scale)
        self.captions["decoded"].value = (
            f"<b>{name}: {v['steps']} steps, realism {v['realism']:.2f}</b><br>{v['bytes']} B · {v['bpp']:.3f} bpp<br>"
            f"{v['psnr']:.2f} dB · MS-SSIM {v['ms_ssim']:.3f}<br>LF {v['lf']['ll_psnr']:.1f}/{v['lf']['lp_psnr']:.1f} dB"
            f" · detail {v['detail_ratio']:.2f}<br>decoded in {1000 * v['decode_s']:.0f} ms")
        rows = "".join(f"<tr><td>{f}</td><td>{val}</td><td>{n}</td></tr>" for f, val, n in header_fields(v["blob"]))
        self.header.value = ("<div style='margin-left:12px;font-size:85%'><b>the .fsd file</b><table>"
                             f"<tr><th>field</th><th>value</th><th>bytes</th></tr>{rows}</table></div>")
        self.renders += 1
        return v


def decode_explorer(codec, faces, labels=None, **kwargs):
    """Compress → bytes → decode, with rate, steps and realism sliders (released to update). ``codec``: one
    FaSDiffCodec or a dict name → codec (adds a codec picker). Returns the ipywidgets box; its controller
    is ``box.explorer`` (set ``box.explorer.realism.value`` from Python to drive it)."""
    return DecodeExplorer(codec, faces, labels, **kwargs).widget

"""``fasdiff-lite demo``: the Gradio demo. Pick or upload a face, move the rate slider, compare codecs.

Side by side at one byte budget: the original, the high-frequency-sensitive compressor (its ``.fsd``
file sets the budget), the plain hyperprior, and JPEG / WebP / AVIF fitted to the same number of bytes,
with bytes, bpp, PSNR and MS-SSIM for each. The ``.fsd`` file can be downloaded, and any ``.fsd`` file
can be uploaded and decoded.

The callbacks (:func:`compare`, :func:`decode_file`) are plain functions: the tests call them
directly, and :func:`build_app` only wires them to widgets.
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np

from . import data
from .evaluation import baselines, metrics, realism
from .models import zoo

SIZES = (64, 128, 256)
KEEP_FILES = 50  # the demo's download folder keeps the newest .fsd files only
_folder: tempfile.TemporaryDirectory | None = None
LEARNED = ("hf-compressor", "hyperprior")
TABLE_COLUMNS = ["codec", "bytes", "bpp", "PSNR (dB)", "MS-SSIM", "detail ratio", "note"]


def available_learned() -> list[str]:
    return [n for n in LEARNED if n in zoo.available("compressor")]


def sample_choices() -> list[str]:
    return data.sample_names()


def _download_path(rate: float) -> Path:
    """A fresh path in the demo's one temporary folder (removed when the process exits), which keeps the newest
    :data:`KEEP_FILES` files: a long-running demo does not fill the disk with a folder per request."""
    import uuid

    global _folder
    if _folder is None:
        _folder = tempfile.TemporaryDirectory(prefix="fasdiff-demo-")
    folder = Path(_folder.name)
    old = sorted(folder.glob("*.fsd"), key=lambda f: f.stat().st_mtime)
    for f in old[: max(0, len(old) - KEEP_FILES + 1)]:
        f.unlink(missing_ok=True)
    return folder / f"face_rate{float(rate):.2f}_{uuid.uuid4().hex[:8]}.fsd"


def _input_face(image, sample: str | None, size: int, align: bool = True) -> np.ndarray:
    """The face to compress: a sample as it is, or an upload aligned like the training faces (``faces.prepare``:
    the largest face, eyes level; where dlib is not installed, or with ``align=False``, the centre square)."""
    from . import faces

    if image is None:
        names = data.sample_names()
        if sample not in names:
            raise ValueError(f"pick a sample face ({', '.join(names)}) or upload an image")
        return data.sample_faces(size)[names.index(sample)]
    try:
        return faces.prepare(image, size, align=align and faces.is_available())
    except faces.NoFaceFound:
        raise faces.NoFaceFound("no face found in the photo; untick 'align the face' to compress its centre square "
                                "instead") from None


def compare(image, sample: str | None = None, rate: float = 0.3, size: int = 64, out_dir: str | None = None,
            steps: int = 4, realism: float = 1.0, align: bool = True):
    """The demo's main callback.

    ``image``: an uploaded image (any array/PIL/path; ``None`` → use ``sample``), aligned like the training faces
    unless ``align`` is False (then its centre square is used). The shipped FaSDiff
    codecs decode with ``steps`` denoising steps at ``realism`` (0 = the compressor's fidelity output). Returns
    ``(gallery, table, fsd_path)``: a list of ``(image, caption)``, rows for :data:`TABLE_COLUMNS`, and the
    path of the high-frequency compressor's ``.fsd`` file (``None`` when no learned codec is shipped).
    """
    if int(size) not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size}")
    face = _input_face(image, sample, int(size), bool(align))
    h, w = face.shape[:2]
    gallery = [(face, f"original {w}×{h}")]
    rows: list[list] = []
    budget, fsd_path = None, None
    for name in available_learned():
        blob = zoo.cached(name).compress(data.to_tensor(face), rate=float(rate))
        img = data.to_image(zoo.cached(name).decompress(blob))
        if budget is None:  # the first learned codec's file sets the budget for everyone
            budget = len(blob)
            fsd_path = (Path(out_dir) / f"face_rate{float(rate):.2f}.fsd") if out_dir else _download_path(rate)
            fsd_path.write_bytes(blob)
        rows.append(_row(name, face, img, len(blob), "sets the byte budget" if len(rows) == 0 else ""))
        gallery.append((img, f"{name}: {len(blob)} B"))
    for name in zoo.available("codec"):
        codec = zoo.cached(name)
        blob = codec.compress(data.to_tensor(face), rate=float(rate))
        img = data.to_image(codec.decompress(blob, steps=int(steps), realism=float(realism)))
        rows.append(_row(name, face, img, len(blob), f"{int(steps)} steps, realism {float(realism):.2f}"))
        gallery.append((img, f"{name}: {len(blob)} B"))
    if budget is None:
        budget = 250
    for codec in baselines.available_codecs():
        res = baselines.fit_bytes(face, codec, budget)
        note = f"quality {res.quality}" + ("" if res.fits else ", cannot reach the budget")
        rows.append(_row(codec, face, res.decoded, res.num_bytes, note))
        gallery.append((res.decoded, f"{codec}: {res.num_bytes} B"))
    return gallery, rows, (str(fsd_path) if fsd_path else None)


def _row(codec: str, face, img, n_bytes: int, note: str) -> list:
    h, w = face.shape[:2]
    return [codec, n_bytes, round(metrics.bpp(n_bytes, h, w), 4), round(metrics.psnr(face, img), 2),
            round(metrics.ms_ssim(face, img), 4), round(realism.detail_ratio(face, img), 3), note]


def decode_file(path, steps: int = 4, realism: float = 1.0) -> tuple[np.ndarray, str]:
    """Decode an uploaded ``.fsd`` file with the shipped model its header names → (image, description)."""
    from .commands.decompress import decode
    from .commands.files import input_file

    if path is None:
        raise ValueError("upload a .fsd file first")
    blob = input_file(path, ".fsd file").read_bytes()
    img, packet = decode(blob, steps=int(steps), realism=float(realism))
    info = (f"{packet.width}×{packet.height} from {len(blob)} bytes "
            f"({metrics.bpp(len(blob), packet.height, packet.width):.4f} bpp), model {packet.model}, rate {packet.rate:.3f}")
    return img, info


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up once (``find_library`` runs ``ldconfig``: not on every request), or None."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def release_memory() -> None:
    """Hand freed memory back to the system after a request: a collection, then glibc's ``malloc_trim`` (where
    there is glibc), so a demo that has served many requests stays near its size after warm-up."""
    import gc

    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def build_app():
    import gradio as gr

    def on_compare(image, sample, rate, size, steps, realism, align):
        try:
            gallery, rows, fsd = compare(image, sample, rate, int(size), steps=int(steps), realism=float(realism),
                                         align=bool(align))
        except ValueError as e:  # ImageError, bad choices: shown to the user, not a stack trace
            raise gr.Error(str(e)) from None
        finally:
            release_memory()
        return gallery, rows, fsd

    def on_decode(file, steps, realism):
        try:
            return decode_file(file, steps, realism)
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(str(e)) from None
        finally:
            release_memory()

    with gr.Blocks(title="fasdiff-lite demo") as app:
        gr.Markdown("# fasdiff-lite: learned face compression at equal bytes\n"
                    "Pick a sample face or upload your own photo (its largest face is found and aligned like the "
                    "training faces). The high-frequency-"
                    "sensitive compressor sets the byte budget; every other codec gets the same number of bytes.")
        with gr.Row():
            with gr.Column(scale=1):
                # a file, not gr.Image: gradio would decode an upload itself (a decompression bomb included) and
                # answer a non-image with its generic error; data.load_image checks the header and says what is wrong
                image = gr.File(label="your face photo (optional)", file_types=["image"], type="filepath")
                align = gr.Checkbox(value=True, label="align the face (find it, eyes level, cropped like the "
                                    "training faces); untick for the centre square")
                names = sample_choices()
                sample = gr.Dropdown(names, value=names[0], label="or a sample face")
                rate = gr.Slider(0, 1, value=0.3, step=0.01, label="rate (0 = fewest bytes, 1 = best quality)")
                size = gr.Radio([str(s) for s in SIZES], value="64", label="size (pixels)")
                has_diffusion = bool(zoo.available("codec"))
                steps = gr.Slider(1, 50, value=4, step=1, label="FaSDiff: denoising steps", visible=has_diffusion)
                realism = gr.Slider(0, 1, value=1.0, step=0.05, label="FaSDiff: realism (0 = fidelity output)",
                                    visible=has_diffusion)
                go = gr.Button("compress", variant="primary")
            with gr.Column(scale=3):
                gallery = gr.Gallery(label="side by side", columns=6, height="auto", object_fit="contain")
                table = gr.Dataframe(headers=TABLE_COLUMNS, label="at equal bytes", interactive=False)
                fsd = gr.File(label="download the .fsd file")
        with gr.Accordion("decode a .fsd file", open=False):
            with gr.Row():
                upload = gr.File(label=".fsd file", file_types=[".fsd"], type="filepath")
                decoded = gr.Image(label="decoded", type="numpy")
            decoded_info = gr.Textbox(label="what was in the file")
            decode_btn = gr.Button("decode")
        inputs = [image, sample, rate, size, steps, realism, align]
        go.click(on_compare, inputs, [gallery, table, fsd], api_name="compare")
        for slider in (rate, steps, realism):
            slider.release(on_compare, inputs, [gallery, table, fsd], api_name=False)
        decode_btn.click(on_decode, [upload, steps, realism], [decoded, decoded_info], api_name="decode")
        app.load(on_compare, inputs, [gallery, table, fsd], api_name=False)
    return app


def add_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 to share on a network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="a public gradio.live link (needs internet)")


def main(args) -> int:
    build_app().launch(server_name=args.host, server_port=args.port, share=args.share)
    return 0

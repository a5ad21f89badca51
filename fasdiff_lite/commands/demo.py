"""``fasdiff-lite demo``: the Gradio app, and the server that runs it.

The work is done by :mod:`fasdiff_lite.demo` (:func:`~fasdiff_lite.demo.compare`, :func:`~fasdiff_lite.demo.rd_figure`,
:func:`~fasdiff_lite.demo.decode_file`: plain functions, each tested on its own); :func:`build_app` only lays out the
widgets and wires them to those callbacks, and :func:`main` serves it::

    fasdiff-lite demo                        # http://127.0.0.1:7860
    fasdiff-lite demo --host 0.0.0.0 --port 8080 --threads 2
    fasdiff-lite demo --share                # a public gradio.live link (needs internet)

After each request the server hands freed memory back to the system (:func:`release_memory`), so a demo that has
served many requests stays near its size after warm-up.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

from .. import data, settings
from ..demo import (SIZES, TABLE_COLUMNS, THREADS, available_codecs, compare, decode_file, default_codecs, enlarge,
                    figure_to_image, png_file, rd_figure, sample_choices)
from ..models import zoo
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, MAX_STEPS

SESSIONS = 200  # browser sessions whose state gradio keeps in memory


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up once (``find_library`` runs ``ldconfig``: not on every request), or None."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def release_memory() -> None:
    """Hand freed memory back to the system after a request: a collection, then glibc's ``malloc_trim`` (where
    there is glibc), so a demo that has served many requests stays near its size after warm-up."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


# ------------------------------------------------------------------------------------------ the app
INTRO = """# fasdiff-lite: learned face compression, side by side
Pick an example face, upload a photo or take one with your webcam (its largest face is found and aligned like
the training faces), choose a rate and the codecs, and compare. Every size shown is a real file; JPEG/WebP/AVIF
are fitted to the first learned codec's bytes. The shipped models are tiny (64-px faces, trained on a CPU and
briefly on a GPU): see the model cards for what they do and do not do well on 150 held-out faces."""


def build_app():
    """The Gradio Blocks app: every widget wired to one of :mod:`fasdiff_lite.demo`'s callbacks."""
    import gradio as gr  # optional (the demo extra), and 3 s to import: only when the app is built

    names = sample_choices()
    sample_files = [str(p) for p in data.sample_paths()]
    has_diffusion = bool(zoo.available("codec"))

    def on_compare(image, webcam, sample, rate, size, steps, realism_, align, codecs, paste):
        try:
            r = compare(image, sample, rate, int(size), steps=int(steps), realism=float(realism_), align=bool(align),
                        codecs=codecs, webcam=webcam, paste=bool(paste))
        except ValueError as e:  # ImageError, NoFaceFound, bad choices: shown to the user, not a stack trace
            raise gr.Error(str(e)) from None
        finally:
            release_memory()
        # plain values only (no gr.update): the API endpoint returns them as they are to gradio_client users
        return ([(png_file(im), cap) for im, cap in r.gallery()], r.rows(), r.fsd, r.heading(),
                png_file(enlarge(r.bit_map)), png_file(r.pasted))

    def on_rd(image, webcam, sample, size, steps, realism_, align, codecs):
        try:
            return png_file(figure_to_image(rd_figure(image, sample, int(size), int(steps), float(realism_),
                                                      bool(align), codecs, webcam)))
        except ValueError as e:
            raise gr.Error(str(e)) from None
        finally:
            release_memory()

    def on_decode(file, steps, realism_):
        try:
            img, info = decode_file(file, steps, realism_)
            return png_file(img), info
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(str(e)) from None
        finally:
            release_memory()

    def on_example(evt):
        return None, None, names[evt.index]

    on_example.__annotations__ = {"evt": gr.SelectData}  # gradio passes the click by this annotation

    # delete_cache: gradio's copies of the images and files it served, removed hourly once an hour old
    with gr.Blocks(title="fasdiff-lite demo", delete_cache=(3600, 3600)) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                examples = gr.Gallery(value=[(f, n) for f, n in zip(sample_files, names)], label="examples: click one",
                                      columns=max(1, len(names)), height=150, allow_preview=False, format="png",
                                      object_fit="contain", elem_id="examples")
                sample = gr.Dropdown(names, value=names[0], label="sample face (used when no photo is given)",
                                     elem_id="sample")
                # a file, not gr.Image: gradio would decode an upload itself (a decompression bomb included) and
                # answer a non-image with its generic error; data.load_image checks the header and says what is wrong
                image = gr.File(label="or upload a photo", file_types=["image"], type="filepath", elem_id="upload")
                webcam = gr.Image(sources=["webcam"], type="numpy", label="or take a photo with the webcam",
                                  format="png", height=180)
                align = gr.Checkbox(value=True, label="align the face (find it, eyes level, cropped like the "
                                    "training faces); untick for the centre square")
                rate = gr.Slider(0, 1, value=0.3, step=0.01, label="rate (0 = fewest bytes, 1 = best quality)")
                go = gr.Button("compress", variant="primary", elem_id="compress")
                size = gr.Radio([str(s) for s in SIZES], value="64", label="size (pixels; the models were trained at 64)")
                codecs = gr.CheckboxGroup(available_codecs(), value=default_codecs(), label="codecs", elem_id="codecs")
                steps = gr.Slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, visible=has_diffusion,
                                  label=f"FaSDiff: denoising steps ({DEFAULT_STEPS}: the setting the model card measures)")
                realism_ = gr.Slider(0, 1, value=DEFAULT_REALISM, step=0.05, visible=has_diffusion,
                                     label=f"FaSDiff: realism (0 = the compressor's fidelity output; "
                                           f"{DEFAULT_REALISM:g}: the setting the model card measures)")
                paste = gr.Checkbox(value=False, label="paste the decoded face back into the photo")
            with gr.Column(scale=3):
                heading = gr.Markdown(elem_id="heading")
                gallery = gr.Gallery(label="side by side (lossless PNG)", columns=6, height=230,
                                     object_fit="contain", format="png", elem_id="gallery")
                table = gr.Dataframe(headers=TABLE_COLUMNS, label="each codec's real file", interactive=False,
                                     elem_id="table")
                with gr.Row():
                    bit_map = gr.Image(label="where the bits go (hf-compressor; brighter = more bits)", format="png",
                                       interactive=False, height=220,
                                       elem_id="bitmap")
                    pasted = gr.Image(label="the decoded face back in the photo (tick 'paste' on the left)",
                                      format="png", interactive=False, height=220, elem_id="pasted")
                fsd = gr.File(label="download the .fsd file", elem_id="fsd")
                with gr.Accordion("rate–distortion of this face", open=False):
                    rd_btn = gr.Button("plot this face's curves (decodes 6 rates per learned codec)")
                    rd_plot = gr.Image(label="PSNR and identity against bits per pixel", format="png",
                                       interactive=False)
        with gr.Accordion("decode a .fsd file", open=False, elem_id="decode-panel"):
            with gr.Row():
                upload = gr.File(label=".fsd file", file_types=[".fsd"], type="filepath", elem_id="fsd-upload")
                decoded = gr.Image(label="decoded", type="numpy", format="png", interactive=False, elem_id="decoded")
            decoded_info = gr.Textbox(label="what was in the file", elem_id="decoded-info")
            decode_btn = gr.Button("decode", elem_id="decode")
        inputs = [image, webcam, sample, rate, size, steps, realism_, align, codecs, paste]
        outputs = [gallery, table, fsd, heading, bit_map, pasted]
        go.click(on_compare, inputs, outputs, api_name="compare")
        for slider in (rate, steps, realism_):
            slider.release(on_compare, inputs, outputs, api_name=False)
        examples.select(on_example, None, [image, webcam, sample], api_name=False).then(
            on_compare, inputs, outputs, api_name=False)
        rd_btn.click(on_rd, [image, webcam, sample, size, steps, realism_, align, codecs], rd_plot, api_name="rd")
        decode_btn.click(on_decode, [upload, steps, realism_], [decoded, decoded_info], api_name="decode")
        app.load(on_compare, inputs, outputs, api_name=False)
    return app


def add_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 to share on a network)")
    p.add_argument("--threads", type=int, default=THREADS, help=f"torch CPU threads (default {THREADS})")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="a public gradio.live link (needs internet)")


def main(args) -> int:
    settings.cpu_threads(args.threads)
    # gradio keeps each browser session's state in memory (10,000 sessions by default); the demo keeps none of its
    # own there (no gr.State), so a few hundred recent sessions are plenty
    build_app().launch(server_name=args.host, server_port=args.port, share=args.share,
                       state_session_capacity=SESSIONS)
    return 0

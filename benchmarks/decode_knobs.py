"""Can a decode-time setting keep the person at realism 1? Three knobs of a trained FaSDiff codec, each against its x_fid.

    python benchmarks/decode_knobs.py runs/d28-full-export --knob scale --values 0.5 1 1.5 2 --rates 0.1
    python benchmarks/decode_knobs.py runs/d28-full-export --knob band --values 2:0.25 1:0.5 1:0.35 --faces utkface
    python benchmarks/decode_knobs.py runs/d28-full-export --knob realism --values 0.5 1 --rates 0.1 0.15

At each rate every face is compressed once and decoded (4 steps) with each value of one knob, and every decode is
compared with the codec's own x_fid on the same bytes (paired bootstrap over the faces, as ``decoder_ci.py``):
re-identification rank-1, descriptor Fréchet distance, detail ratio and PSNR. The knobs:

- ``scale``: the control's residuals times a factor at every step (``steering.sample``'s ``scale``; 1 is the codec,
  0 the bare prior): does steering harder keep the person?
- ``band``: the LFE's low-frequency correction keeps x_fid below another band, ``LEVELS:CUTOFF`` (the wavelet LL
  level and the Fourier cut-off of ``lfe.lf_correct``; the codec's is ``2:0.25``): ``1:0.5`` keeps x_fid up to
  twice the frequency, so the diffusion draws only the finest detail; ``none``: no correction. LFE variants only.
- ``start``: where the denoising starts, as a share of the prior's timesteps (the codec starts at ``realism``: 1 is
  pure noise), with the fusion still at ``--realism``: does redrawing less of the face, while the fusion keeps
  asking for realism-1 detail, keep the person and the detail both?
- ``realism``: the slider itself, for comparison (the other knobs run at ``--realism``).
- ``lfe``: which of the LFE's two halves decode: ``both`` (the codec), ``film`` (its modulation of the control's
  residuals alone: the output correction off) or ``correction`` (x_fid's low band pasted under the output alone: the
  modulation off). LFE variants only; the fusion was trained behind both.

``--faces shared`` (default) takes the first ``--n`` faces of the fixed validation split of the shared faces;
``--faces utkface`` the first ``--n`` of UTKFace's validation split (never trained on either): choose a setting on
one set and report it on the other, so the choice is not fitted to the faces it is reported on. A knob that only
moves along the realism slider's own trade-off (less drawn detail, more identity) is not a better decoder.
Time: about 2 minutes a value and rate for 129 faces on one thread of this project's 2-core CPU beside other jobs.
"""
from __future__ import annotations

import argparse
import functools
import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fasdiff_lite import data, face_sets, settings
from fasdiff_lite.evaluation import face_metrics
from fasdiff_lite.evaluation.ablations import as_cells, pair_text, paired, side
from fasdiff_lite.models import lfe as lfe_module
from fasdiff_lite.models import steering, zoo
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.registry import DEFAULT_STEPS

KNOBS = ("scale", "band", "start", "realism", "lfe")
LFE_HALVES = ("both", "film", "correction")  # --knob lfe: which of the LFE's two halves decode (both: the codec)


def parse_value(knob: str, text: str):
    """``band``: ``LEVELS:CUTOFF`` → (int, float); ``lfe``: one of :data:`LFE_HALVES`; the other knobs: a float."""
    if knob == "lfe":
        if text not in LFE_HALVES:
            raise SystemExit(f"--knob lfe takes {', '.join(LFE_HALVES)}, got {text!r}")
        return text
    if knob == "band":
        try:
            return lfe_module.parse_band(text)
        except ValueError as e:
            raise SystemExit(f"--knob band: {e}") from None
    try:
        return float(text)
    except ValueError:
        raise SystemExit(f"--knob {knob} takes numbers, got {text!r}") from None


@contextmanager
def knob_set(codec: FaSDiffCodec, knob: str, value):
    """The codec decoding with ``knob`` at ``value`` inside the block (restored after it)."""
    if knob == "scale":
        original = steering.sample
        steering.sample = functools.partial(original, scale=float(value))
        try:
            yield
        finally:
            steering.sample = original
    elif knob == "band":  # the correction's band, as a codec trained with --lfe-band keeps it
        c = codec.lfe.config
        kept = c.correct_levels, c.correct_cutoff, c.correct_output
        c.correct_output = value is not None  # "none": no correction
        if value is not None:
            c.correct_levels, c.correct_cutoff = value
        try:
            yield
        finally:
            c.correct_levels, c.correct_cutoff, c.correct_output = kept
    elif knob == "lfe":
        kept = codec.lfe.config.correct_output
        if value == "film":  # the correction off: the output is the fusion's
            codec.lfe.config.correct_output = False
        elif value == "correction":  # the FiLM off: the control's residuals as they come
            codec.lfe.modulate = lambda residuals, features: residuals
        try:
            yield
        finally:
            codec.lfe.config.correct_output = kept
            codec.lfe.__dict__.pop("modulate", None)  # back to the class's method
    elif knob == "start":
        codec.timesteps = lambda steps, realism: type(codec).timesteps(codec, steps, float(value))
        try:
            yield
        finally:
            del codec.timesteps  # back to the class's method
    else:
        yield


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codec", help="a shipped FaSDiff codec name or a codec folder")
    ap.add_argument("--knob", choices=KNOBS, required=True)
    ap.add_argument("--values", nargs="+", required=True)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.15])
    ap.add_argument("--realism", type=float, default=1.0, help="the decode's realism for the other knobs")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--faces", choices=face_sets.VALIDATION_SETS, default="shared")
    ap.add_argument("--n", type=int, default=129, help="how many validation faces")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    values = [parse_value(args.knob, v) for v in args.values]
    settings.cpu_threads(args.threads)
    codec = zoo.load(args.codec)
    if not isinstance(codec, FaSDiffCodec):
        raise SystemExit(f"{args.codec} is not a diffusion codec: it has no decode-time knobs")
    if args.knob in ("band", "lfe") and codec.lfe is None:
        raise SystemExit(f"{args.codec} has no LFE, so no low-frequency correction to move")
    t0 = time.time()
    faces = face_sets.validation_faces(args.faces, args.n)
    gallery = face_metrics.descriptors(faces)
    rng = np.random.default_rng(0)
    print(f"{args.codec}: knob {args.knob}; {len(faces)} validation faces ({args.faces}); {args.steps} steps"
          f"{'' if args.knob == 'realism' else f', realism {args.realism:g}'}; each against its x_fid on the same "
          f"bytes, {args.draws} paired bootstrap draws, 95 % intervals\n")
    print(f"| rate | {args.knob} | re-id: decode / x_fid, A − B [95 %] | FD: decode / x_fid, A − B [95 %] | "
          "detail: decode / x_fid | PSNR A − B |")
    print("|---|---|---|---|---|---|")
    rows = []
    for rate in args.rates:
        blobs = [codec.compress(data.to_tensor(f), rate) for f in faces]
        x_fid = [data.to_image(codec.fidelity(b)[0][..., : f.shape[0], : f.shape[1]]) for b, f in zip(blobs, faces)]
        b_side = side(faces, gallery, x_fid)
        for text, value in zip(args.values, values):
            realism = value if args.knob == "realism" else args.realism
            with knob_set(codec, args.knob, value):
                decoded = [data.to_image(d) for d in codec.decompress_many(blobs, args.steps, realism)]
            r = paired(side(faces, gallery, decoded), b_side, gallery, args.draws, rng)
            rows.append({"rate": rate, "knob": args.knob, "value": text, "realism": realism, "steps": args.steps,
                         "faces": len(faces), "face_set": args.faces, "bytes": float(np.mean([len(b) for b in blobs])),
                         **as_cells(r)})
            print(f"| {rate:g} | {text} | {pair_text(r['reid'], '.3f')} | {pair_text(r['fd'], '.4f')} | "
                  f"{r['detail'][0]:.2f} / {r['detail'][1]:.2f} | {r['psnr'][2]:+.2f} dB |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\n{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

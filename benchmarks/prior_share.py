"""Whose detail is it? The diffusion prior's share of a FaSDiff decode, measured by taking the prior's face away.

    python benchmarks/prior_share.py                                    # the shipped fasdiff, rates 0 0.1 0.15 0.2 0.3
    python benchmarks/prior_share.py runs/f21-idall-export --rates 0.1 --faces 64

A FaSDiff decode (``FaSDiffCodec.decode_stages``) is: x_fid from the bytes; the prior's few-step face x_gen, steered
by the visual prompt and the LFE; then, in codecs with a fidelity fusion, ``fusion(x_gen, x_fid)``; then the LFE's
low-frequency correction. The suite says the *prior* draws the realistic detail. This script checks it, at each rate
on the same bytes:

- **A**: the codec as it decodes (4 steps, realism 1);
- **B**: the same decode with the prior's face replaced by x_fid itself (the fusion and the correction see x_fid
  where x_gen was: everything the diffusion drew is gone, every other part is unchanged;
  ``fasdiff_lite.evaluation.prior_share.without_prior``).

A − B (paired bootstrap over the faces, ``evaluation.ablations.paired``, as ``decoder_ci.py``) is what the prior's
face adds: re-id rank-1, descriptor FD, detail ratio, PSNR. Beside it, two direct readings of the pixels
(``prior_share.pixel_readings``):

- ``|A − B|``: the mean absolute pixel change the prior's face makes in the output, against ``|x_gen − x_fid|``, how
  far the prior's face is from x_fid (a decoder that passes the prior's face on moves as much as it);
- ``HF cos``: the cosine between the fine detail the decoder adds to x_fid, HP(A − x_fid), and the fine detail the
  prior's face has over x_fid, HP(x_gen − x_fid) (HP: the image minus its 5×5 box blur; mean over the faces): near 1
  when the added detail is the prior's, near 0 when the decoder draws its own.

A prior whose face can be taken away without changing re-id, FD or detail adds nothing the other parts lack, however
its face looks. A second table sets the prior's face itself (x_gen, before the fusion and the correction) against
x_fid on the same bytes: does the steered prior draw the person on its own? Time: about 1.5 minutes a rate for 129
faces on one thread of this project's 2-core CPU.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics
from fasdiff_lite.evaluation.ablations import FD_NOTE, as_cells, pair_text, paired, side
from fasdiff_lite.evaluation.prior_share import pixel_readings, without_prior
from fasdiff_lite.models import zoo
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.registry import DEFAULT_REALISM, DEFAULT_STEPS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codec", nargs="?", default="fasdiff", help="a shipped FaSDiff codec name or a codec folder")
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3])
    ap.add_argument("--faces", type=int, default=129, help="the first N faces of the shared validation split")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--realism", type=float, default=DEFAULT_REALISM)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    if not 0 < args.realism <= 1:
        raise SystemExit("--realism must be in (0, 1]: at realism 0 the decoder runs no diffusion")
    settings.cpu_threads(args.threads)
    codec = zoo.load(args.codec)
    if not isinstance(codec, FaSDiffCodec):
        raise SystemExit(f"{args.codec} is not a diffusion codec: it has no prior to take away")
    t0 = time.time()
    faces = data.load_faces("shared", split="val", limit=args.faces)
    gallery = face_metrics.descriptors(faces)
    rng = np.random.default_rng(0)
    print(f"{args.codec}: A = the codec, B = the same decode with the prior's face replaced by x_fid; {len(faces)} "
          f"held-out faces, {args.steps} steps, realism {args.realism:g}, {args.draws} paired draws, 95 % intervals "
          f"({FD_NOTE})\n")
    print("| rate | re-id A / B, A − B [95 %] | FD A / B, A − B [95 %] | detail A / B, A − B [95 %] | PSNR A − B | "
          "|A − B| / |x_gen − x_fid| | HF cos |")
    print("|---|---|---|---|---|---|---|")
    rows, own = [], []
    for rate in args.rates:
        blobs = [codec.compress(data.to_tensor(f), rate) for f in faces]
        stages = [codec.decode_stages(b, args.steps, args.realism) for b in blobs]
        with without_prior(codec):
            without = [codec.decompress(b, args.steps, args.realism) for b in blobs]
        decoded = [data.to_image(s["out"]) for s in stages]
        r = paired(side(faces, gallery, decoded), side(faces, gallery, [data.to_image(w) for w in without]),
                   gallery, args.draws, rng)
        g = paired(side(faces, gallery, [data.to_image(s["x_gen"]) for s in stages]),
                   side(faces, gallery, [data.to_image(s["x_fid"]) for s in stages]), gallery, args.draws, rng)
        own.append((rate, g))
        px = pixel_readings(stages, without)
        rows.append({"rate": rate, "codec": args.codec, "steps": args.steps, "realism": args.realism,
                     "faces": len(faces), **as_cells(r), **px, "x_gen_vs_x_fid": as_cells(g)})
        print(f"| {rate:g} | {pair_text(r['reid'], '.3f')} | {pair_text(r['fd'], '.4f')} | "
              f"{pair_text(r['detail'], '.3f')} | "
              f"{r['psnr'][2]:+.2f} dB | {px['change']:.4f} / {px['gen_vs_fid']:.4f} | {px['hf_cos']:+.3f} |",
              flush=True)
    print("\nThe prior's own face x_gen (before the fusion and the correction) against x_fid, the same bytes:\n")
    print("| rate | re-id x_gen / x_fid, A − B [95 %] | FD x_gen / x_fid, A − B [95 %] | detail x_gen / x_fid | PSNR A − B |")
    print("|---|---|---|---|---|")
    for rate, g in own:
        print(f"| {rate:g} | {pair_text(g['reid'], '.3f')} | {pair_text(g['fd'], '.4f')} | "
              f"{g['detail'][0]:.2f} / {g['detail'][1]:.2f} | {g['psnr'][2]:+.2f} dB |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\n{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

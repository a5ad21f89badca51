"""How sure are a decoder's gaps, to its own compressor or to another decoder? A paired bootstrap over the held-out faces.

    python benchmarks/decoder_ci.py                                      # the shipped fasdiff against its x_fid (~17 min)
    python benchmarks/decoder_ci.py --codec fasdiff-plain --rates 0.1 0.2
    python benchmarks/decoder_ci.py --codec runs/fasdiff28 --against runs/nolfe28 --rates 0 0.1 0.2   # an ablation
    python benchmarks/decoder_ci.py --realism 0.5                        # the middle of the slider against x_fid

``--codec`` A and ``--against`` B are shipped names or codec folders; B defaults to ``x_fid``, A's own compressor
decoding the same bytes. At each rate every face is compressed and decoded by both (4 steps, realism 1), and the
decoded faces described by dlib (``--steps`` and ``--realism`` set both decoders that are diffusion codecs; x_fid
has neither); then, ``--draws`` times, the same ``--faces`` faces are drawn with replacement and each
difference A − B recomputed on the draw: re-identification rank-1 (against the gallery of all the originals),
descriptor Fréchet distance (each set against the drawn originals: lower is more like real faces), detail ratio
(fine-detail energy ÷ the original's: 1 is as detailed) and PSNR. Prints each difference with its 95 % interval
(percentile; for FD the basic interval, ``ablations.INTERVAL``): an interval that holds 0 is a difference these faces cannot tell from none. The two sides' bytes per file
are printed too: an ablation is at equal bytes only when both use the same compressor (fasdiff against fasdiff-nolfe,
not against fasdiff-plain, whose hyperprior spends fewer bytes at the same rate: there ``--against-rates`` gives B's
rate for each of ``--rates``, chosen so that both files have the same size, e.g. fasdiff-nolfe at 0.1 / 0.15 against
fasdiff-plain at 0.15 / 0.2 for the wavelet branch's share at about 73 / 92 bytes). The faces: the first ``--faces`` of
the fixed validation split of the shared faces, or (``--face-set utkface``) of UTKFace's 1,000. ``--json`` also writes the rows (``benchmarks/ablation_table.py`` turns several into
one table and figure). The paired bootstrap is ``fasdiff_lite.evaluation.ablations.paired``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fasdiff_lite import data, face_sets, settings
from fasdiff_lite.evaluation import face_metrics
from fasdiff_lite.evaluation.ablations import FD_NOTE, as_cells, interval_text, paired, rate_text, side, side_arrays
from fasdiff_lite.models import zoo
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.registry import DEFAULT_REALISM, DEFAULT_STEPS


def decode_all(model, faces: np.ndarray, rate: float, **decode) -> tuple[list[np.ndarray], float]:
    """Each face compressed at ``rate`` and decoded by ``model`` (a diffusion codec with ``decode``'s steps and
    realism, or a compressor, which takes neither)."""
    decode = decode if isinstance(model, FaSDiffCodec) else {}
    out, sizes = [], []
    for f in faces:
        blob = model.compress(data.to_tensor(f), rate)
        sizes.append(len(blob))
        out.append(data.to_image(model.decompress(blob, **decode)))
    return out, float(np.mean(sizes))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default="fasdiff", help="decoder A: a shipped codec name or a codec folder")
    ap.add_argument("--against", default="x_fid", help="decoder B: 'x_fid' (A's compressor, the same bytes; default), "
                    "or another codec (name or folder)")
    ap.add_argument("--faces", type=int, default=150, help="how many validation faces (the first of the split)")
    ap.add_argument("--face-set", choices=face_sets.VALIDATION_SETS, default="shared", help="whose validation split: "
                    "the shared faces' (129 once near-duplicates are left out; default) or UTKFace's (1,000)")
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0])
    ap.add_argument("--against-rates", type=float, nargs="+", default=None,
                    help="B's rate at each of --rates (default: the same; for a B on another compressor, the rates "
                    "at which its files are as large as A's)")
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="sampler steps of the diffusion decoders")
    ap.add_argument("--realism", type=float, default=DEFAULT_REALISM, help="realism of the diffusion decoders (0–1)")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the rows here, and beside them (same name, .npz) every "
                    "face's numbers of both decoders, so that the intervals can be drawn again without decoding")
    args = ap.parse_args(argv)
    rates_b = args.against_rates or args.rates
    if len(rates_b) != len(args.rates):
        ap.error(f"--against-rates gives {len(rates_b)} rate(s) for {len(args.rates)} --rates: one for each")
    if args.against == "x_fid" and args.against_rates:
        ap.error("--against-rates needs --against: x_fid decodes A's own files")
    settings.cpu_threads(args.threads)
    t0 = time.time()
    faces = face_sets.validation_faces(args.face_set, args.faces)
    gallery = face_metrics.descriptors(faces)
    codec = zoo.load(args.codec)
    other = codec.compressor if args.against == "x_fid" else zoo.load(args.against)
    rng = np.random.default_rng(0)
    n = len(faces)
    b_name = f"{args.codec}'s x_fid" if args.against == "x_fid" else args.against
    print(f"A = {args.codec}, B = {b_name}; {args.steps} steps, realism {args.realism:g}; {n} held-out faces ({args.face_set}); {args.draws} paired bootstrap "
          f"draws; A − B with its 95 % interval (FD: lower is better; {FD_NOTE})\n")
    print(f"| rate{' A / B' if args.against_rates else ''} | bytes A / B | re-id A / B | re-id A − B [95 %] | FD A / B | FD A − B [95 %] | detail A / B | "
          "detail A − B [95 %] | PSNR A − B [95 %] |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows, per_face = [], {"gallery": gallery}
    decode = {"steps": args.steps, "realism": args.realism}
    for rate, rate_b in zip(args.rates, rates_b):
        (dec_a, bytes_a), (dec_b, bytes_b) = decode_all(codec, faces, rate, **decode), decode_all(other, faces, rate_b, **decode)
        sa, sb = side(faces, gallery, dec_a), side(faces, gallery, dec_b)
        per_face.update(side_arrays(sa, sb, rate))
        r = paired(sa, sb, gallery, args.draws, rng)
        rows.append({"rate": rate, **({"rate_b": rate_b} if rate_b != rate else {}), "a": args.codec, "b": b_name, **decode,
                     "bytes_a": bytes_a, "bytes_b": bytes_b, "faces": n, "face_set": args.face_set, **as_cells(r)})
        cell = lambda m, f: interval_text(r[m], f)  # noqa: E731
        print(f"| {rate_text(rows[-1])} | {bytes_a:.0f} / {bytes_b:.0f} | {r['reid'][0]:.3f} / {r['reid'][1]:.3f} | {cell('reid', '.3f')} | "
              f"{r['fd'][0]:.4f} / {r['fd'][1]:.4f} | {cell('fd', '.4f')} | {r['detail'][0]:.2f} / {r['detail'][1]:.2f} | "
              f"{cell('detail', '.3f')} | {cell('psnr', '.2f')} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
        np.savez_compressed(Path(args.json).with_suffix(".npz"), **per_face)
    print(f"\n{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

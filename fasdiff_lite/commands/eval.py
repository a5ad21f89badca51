"""``fasdiff-lite eval``: every codec on the same faces, for people and for machines, with BD-rates.

    fasdiff-lite eval                                   # the held-out faces (or the samples), all codecs here
    fasdiff-lite eval --data my_photos/ --limit 20      # your own face photos (each face found and aligned, 64×64)
    fasdiff-lite eval --codecs fasdiff hyperprior jpeg --rates 0 0.5 1 --steps 4 --realism 1

For each rate, the learned codecs (FaSDiff variants, ``hf-compressor``, ``hyperprior``) encode every face;
JPEG / WebP / AVIF get, per face, the best quality that fits the first learned codec's bytes. Measured:
real bytes and bpp, PSNR, MS-SSIM (LPIPS, FID/KID where installed), and with dlib the identity metrics
(``face_metrics``: identity similarity, same-person rate, re-identification rank-1, detection, landmark
NME). Then BD-rates against JPEG and the plain hyperprior on PSNR and identity. Writes to ``--out``:
rows.csv, summary.csv, bd_rate.csv, report.md, rd.png, identity.png. The work is :func:`fasdiff_lite.evaluation.run.run_eval`.
"""
from __future__ import annotations

import time

from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, check_realism


def add_arguments(p) -> None:
    p.add_argument("--data", default="auto",
                   help="a folder of face photos, an .npz, 'samples', or 'auto' (default: the held-out split of "
                        "../shared when present, else the shipped sample faces)")
    p.add_argument("--codecs", nargs="+", default=None, metavar="CODEC",
                   help="fasdiff, fasdiff-nolfe, fasdiff-plain, hf-compressor, hyperprior, jpeg, webp, avif "
                        "(default: all that are shipped or available here)")
    p.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.5, 1.0], metavar="R",
                   help="rates in [0, 1] for the learned codecs (default: 0 0.5 1)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"denoising steps for the FaSDiff decoders (default {DEFAULT_STEPS})")
    p.add_argument("--realism", type=float, default=DEFAULT_REALISM,
                   help=f"FaSDiff decoder realism, 0..1 (default {DEFAULT_REALISM:g}, as fasdiff-lite decompress)")
    p.add_argument("--limit", type=int, default=None, help="at most this many faces")
    p.add_argument("--no-align", dest="align", action="store_false",
                   help="--data folder: take each photo's centre square instead of finding and aligning its face")
    p.add_argument("--out", default="out/eval", help="output folder (default out/eval)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-identity", action="store_true", help="skip the dlib identity metrics (faster)")
    p.add_argument("--no-perceptual", action="store_true", help="do not try LPIPS / FID / KID")
    p.add_argument("--device", default="cpu")


def main(args) -> int:
    import torch

    from ..evaluation import run as evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    check_realism(args.realism)
    rates = evaluate.check_rates(args.rates)
    evaluate.resolve_codecs(args.codecs)  # unknown names fail here, before any face is loaded
    faces, what = evaluate.load_eval_faces(args.data, limit=args.limit, align=args.align)
    print(f"{what}; rates {rates}; FaSDiff decoded with {args.steps} steps, realism {args.realism}; "
          f"torch threads {torch.get_num_threads()}")
    t0 = time.perf_counter()
    result = evaluate.run_eval(faces, codecs=args.codecs, rates=rates, steps=args.steps, realism=args.realism,
                               identity=not args.no_identity, perceptual=not args.no_perceptual, device=args.device)
    print()
    print(result.table())
    print("\nBD-rate: % bytes for the same quality, against each anchor (negative = fewer bytes)")
    print(result.bd_table())
    for n in result.notes:
        print(f"- {n}")
    files = result.save(args.out)
    print(f"\nwrote {', '.join(str(p) for p in files.values())} ({time.perf_counter() - t0:.0f} s)")
    return 0

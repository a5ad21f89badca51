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

Face verification, as face-compression papers report machine vision (LFW's protocol: pairs of two different photos,
10 folds, each fold's threshold chosen on the other nine)::

    fasdiff-lite eval --pairs ../shared/faces/celeba_identity/pairs.txt --rates 0 0.1 0.2 0.3 0.5 1
    fasdiff-lite eval --pairs lfw/pairs.txt              # LFW itself: its pairs.txt beside its lfw/ photo folder
    fasdiff-lite eval --pairs lfw/pairs.txt --folds 2 --per-fold 50 --codecs hf-compressor jpeg   # a quick look

Each photo is aligned to ``--size`` px once (``faces.prepare``), coded by each codec at each rate (JPEG, WebP, AVIF:
at a sweep of qualities), described by dlib; printed per codec and rate: accuracy ± std over the folds, ROC AUC and
TAR at FAR 1 % and 0.1 %, beside the uncompressed reference at the same size, then BD-rates on verification
accuracy. Writes verification.json (resumed when the same command runs again), verification_distances.npz (each
row's per-pair distances, for paired comparisons of two rows), aligned_<size>px.npz (the aligned
photos, read back on a resume), verification.md and verification.png (rate–verification) to ``--out``. The work is :func:`fasdiff_lite.evaluation.verification.measure`.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from .. import face_sets
from ..evaluation import run as evaluate
from ..evaluation import bdrate, verification
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS, check_realism


def add_arguments(p) -> None:
    p.add_argument("--data", default="auto",
                   help="a folder of face photos, an .npz, 'samples', or 'auto' (default: the held-out split of "
                        "../shared when present, else the shipped sample faces)")
    p.add_argument("--codecs", nargs="+", default=None, metavar="CODEC",
                   help="fasdiff, fasdiff-nolfe, fasdiff-plain, hf-compressor, hyperprior, jpeg, webp, avif, or "
                        "the folder of a trained codec or compressor (a run's --export) (default: all that are "
                        "shipped or available here)")
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
    v = p.add_argument_group("face verification (instead of the faces of --data)")
    v.add_argument("--pairs", metavar="FILE", default=None,
                   help="a verification pairs file: LFW's own pairs.txt ('name i j' / 'name1 i name2 j') or this "
                        "project's 'a.jpg b.jpg 1|0' (../shared/faces/celeba_identity/pairs.txt)")
    v.add_argument("--images", metavar="DIR", default=None,
                   help="the folder or zip of the pairs' photos (default: beside the pairs file, e.g. LFW's lfw/)")
    v.add_argument("--folds", type=int, default=None, help="only the first N folds (at least 2)")
    v.add_argument("--per-fold", type=int, default=None, help="only the first N pairs of each kind in each fold")
    v.add_argument("--size", type=int, default=64, help="the side each photo is aligned to (default 64: the models')")


def main(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    check_realism(args.realism)
    rates = evaluate.check_rates(args.rates)
    evaluate.resolve_codecs(args.codecs)  # unknown names fail here, before any face is loaded
    if args.pairs:
        return verify(args, rates)
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


def verify(args, rates: list[float]) -> int:
    """``--pairs``: face verification of every codec at every rate (see the module docstring)."""
    if args.folds is not None and args.folds < 2:
        raise ValueError(f"--folds must be at least 2 (each fold's threshold comes from the others), got {args.folds}")
    if args.per_fold is not None and args.per_fold < 1:
        raise ValueError(f"--per-fold must be at least 1, got {args.per_fold}")
    if not Path(args.pairs).is_file():
        raise FileNotFoundError(f"no pairs file {args.pairs}")
    pairs = face_sets.read_pairs(args.pairs, args.images)
    if args.folds or args.per_fold:
        pairs = pairs.subset(range(min(args.folds or pairs.n_folds, pairs.n_folds)), args.per_fold)
    codecs, notes = evaluate.resolve_codecs(args.codecs)
    out = Path(args.out)
    store = out / "verification.json"
    about = {"pairs": str(Path(args.pairs).resolve()), "images": str(Path(pairs.image_dir).resolve()), "n_pairs": len(pairs),
             "size": args.size, "align": args.align, "steps": args.steps, "realism": args.realism}
    done = verification.load_rows(store, **about)
    print(f"{len(pairs)} pairs in {pairs.n_folds} folds from {args.pairs} (photos: {pairs.image_dir}), aligned to "
          f"{args.size} px; codecs {', '.join(codecs)}; rates {rates}; FaSDiff decoded with {args.steps} steps, "
          f"realism {args.realism}" + (f"; {len(done)} rows resumed from {store}" if done else ""))
    for n in notes:
        print(f"- {n}")
    t0 = time.perf_counter()

    def saved(row: dict) -> None:
        done.append(row)
        verification.save_rows(done, store, **about)
        print(verification.format_table([row]).splitlines()[-1], flush=True)

    rows = verification.measure(pairs, codecs, rates, size=args.size, align=args.align, steps=args.steps,
                                realism=args.realism, done=list(done), on_row=saved, device=args.device,
                                cache=out / f"aligned_{args.size}px.npz")
    table = verification.format_table(rows)
    bd = bdrate.format_bd_table(verification.bd_rows(rows)) if len(rows) > 2 else ""
    print("\n" + table)
    if bd:
        print("\nBD-rate on verification: % bytes for the same accuracy, against each anchor (negative = fewer bytes)")
        print(bd)
    (out / "verification.md").write_text(f"```\n{table}\n```\n\n{bd}\n")
    from matplotlib.figure import Figure  # only when a figure is drawn: every `fasdiff-lite eval` imports this module

    fig = Figure(figsize=(5.6, 3.6))
    verification.plot_rate_accuracy(rows, ax=fig.add_subplot())
    fig.tight_layout()
    fig.savefig(out / "verification.png", dpi=150)
    print(f"\nwrote {store}, {out / 'verification.md'}, {out / 'verification.png'} ({time.perf_counter() - t0:.0f} s)")
    return 0

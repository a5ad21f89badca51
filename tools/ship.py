"""Ship a trained run as one of the suite's models, and keep every codec loading on the prior it was trained on.

    python tools/ship.py prior runs/prior28                          # → fasdiff_lite/assets/prior/tiny
    python tools/ship.py codec runs/d28-full-export fasdiff           # → fasdiff_lite/assets/fasdiff/full
    python tools/ship.py pin runs/d28-oldprior-export [--prior DIR]   # record (or repoint) the prior a codec needs
    python tools/ship.py rows runs/verification_celeba/verification.json runs/d28-full-export=fasdiff ...
    python tools/ship.py merge checkpoints/verification_celeba/verification.json runs/verification_celeba/verification.json

``prior``: the run's exported prior replaces the shipped tiny one (its weights, configs, training facts and sample
grid; the model card stays, to be edited). The prior it replaces is kept in ``--keep`` (default
``runs/replaced-priors/tiny-<fingerprint>``): codecs trained on it still load from there (``pin --prior``).

``codec``: a run's exported codec becomes a shipped one. Its prior must be the shipped tiny prior by fingerprint (ship
the prior first) and its compressor a shipped one; its ``codec.json`` then names the prior ``"tiny"`` with that
prior's fingerprint, so if the tiny prior is ever replaced again, loading it says so instead of decoding with
weights it was not trained on. Checked after copying: the shipped folder loads, with the run's exact weights.

``pin``: write the fingerprint of the prior a codec folder names into its ``codec.json`` (a run exported before
fingerprints were recorded: do it before its prior is replaced), or with ``--prior`` point it at a prior folder
(one the ``prior`` command kept); refused when that prior's fingerprint is not the one already recorded.

``rows``: rename codecs in a verification sweep's rows (a run measured under its folder's path, shipped as a name:
the same weights), then ``python tools/refresh_verification.py`` puts them in the cards. ``merge``: add to a rows
file the rows another one has and it lacks (the committed sweep into a working copy; the same pairs and setting).

``--assets DIR`` writes into another assets folder (what the tests do).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fasdiff_lite import registry, settings  # noqa: E402
from fasdiff_lite.evaluation import verification  # noqa: E402
from fasdiff_lite.models.codec import CODEC_FILE, FaSDiffCodec, named_prior  # noqa: E402
from fasdiff_lite.models.prior import PRIOR_FILE  # noqa: E402
from fasdiff_lite.models.prior_loading import load_prior  # noqa: E402

PRIOR_FILES = (PRIOR_FILE, "context.safetensors", "vae", "unet", "scheduler", "train_prior.json",
               "train_autoencoder.json", "samples.png")  # what a shipped prior folder holds besides its card
KEPT = "MODEL_CARD.md"  # stays in the shipped folder when the weights change


def copy_items(src: Path, dest: Path, names) -> list[str]:
    """Copy the files and folders ``names`` that exist in ``src`` to ``dest`` (replacing what is there)."""
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names:
        s, d = src / name, dest / name
        if not s.exists():
            continue
        if d.is_dir():
            shutil.rmtree(d)
        elif d.exists():
            d.unlink()
        shutil.copytree(s, d) if s.is_dir() else shutil.copy2(s, d)
        copied.append(name)
    return copied


def ship_prior(src: Path, keep: Path | None = None) -> dict:
    if not (src / PRIOR_FILE).exists():
        raise SystemExit(f"{src}: no exported prior there ({PRIOR_FILE}); `fasdiff-lite train prior --export DIR` writes one")
    new = load_prior(src, device="cpu")
    if new.kind != "tiny":
        raise SystemExit(f"{src} holds a {new.kind!r} prior; only a tiny prior ships (as 'tiny')")
    dest = registry.folder("tiny")
    fingerprint, old = new.fingerprint(), None
    if (dest / PRIOR_FILE).exists():
        old = load_prior("tiny", device="cpu").fingerprint()
        if old == fingerprint:
            print(f"the shipped tiny prior already is {src} (fingerprint {fingerprint}); nothing to do")
            return {"fingerprint": fingerprint, "kept": None}
        keep = keep or ROOT / "runs" / "replaced-priors" / f"tiny-{old}"
        copy_items(dest, keep, PRIOR_FILES + (KEPT,))
        print(f"the tiny prior it replaces (fingerprint {old}) is kept in {keep}; a codec trained on it loads with\n"
              f"  python tools/ship.py pin CODEC_FOLDER --prior {keep}")
    copied = copy_items(src, dest, PRIOR_FILES)
    for stale in set(PRIOR_FILES) - set(copied):  # a file the new prior lacks must not stay from the old one
        s = dest / stale
        shutil.rmtree(s) if s.is_dir() else s.unlink(missing_ok=True)
    got = load_prior("tiny", device="cpu").fingerprint()
    if got != fingerprint:
        raise SystemExit(f"the shipped tiny prior loads with fingerprint {got}, not {fingerprint}: the copy failed")
    print(f"shipped {src} as the tiny prior ({dest}; fingerprint {fingerprint}); edit {dest / KEPT}")
    return {"fingerprint": fingerprint, "kept": str(keep) if old else None, "replaced": old}


def ship_codec(src: Path, name: str) -> dict:
    if name not in registry.names("codec"):
        raise SystemExit(f"unknown codec name {name!r}; choose from {', '.join(registry.names('codec'))}")
    meta = FaSDiffCodec.read_config(src)
    if meta["variant"] != name:
        raise SystemExit(f"{src} holds a {meta['variant']!r} codec, not {name!r}")
    if "shipped" not in meta["compressor"]:
        raise SystemExit(f"{src}'s compressor is not a shipped one ({meta['compressor']}); ship the compressor first")
    codec = FaSDiffCodec.from_pretrained(src, device="cpu")
    tiny = load_prior("tiny", device="cpu")
    trained_on, fingerprint = codec.prior.fingerprint(), tiny.fingerprint()  # about 0.3 s each: once
    if trained_on != fingerprint:
        raise SystemExit(f"{src} was trained on the prior {meta['prior']} (fingerprint {trained_on}), "
                         f"not on the shipped tiny prior ({fingerprint}): ship its prior first "
                         "(python tools/ship.py prior DIR)")
    dest = registry.folder(name)
    if dest.exists():
        shutil.rmtree(dest)
    own_prior = meta["prior"].get("folder")  # a prior saved inside the run's folder is the tiny one now
    copy_items(src, dest, [p.name for p in src.iterdir() if p.name not in (CODEC_FILE, own_prior)])
    meta["prior"] = {"load_prior": {"name": "tiny"}, "fingerprint": fingerprint}
    meta.setdefault("training", {})["shipped_from"] = str(src)
    (dest / CODEC_FILE).write_text(json.dumps(meta, indent=1))
    shipped = FaSDiffCodec.from_pretrained(dest, prior=tiny)
    a, b = codec.trainable_state(), shipped.trainable_state()
    if a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a):
        raise SystemExit(f"{dest} does not load the weights of {src}: the copy failed")
    print(f"shipped {src} as {name} ({dest}; prior 'tiny', fingerprint {fingerprint})")
    return meta


def pin(folder: Path, prior_dir: Path | None = None) -> str:
    meta = FaSDiffCodec.read_config(folder)
    recorded = meta["prior"].get("fingerprint")
    if prior_dir is not None:
        prior = load_prior(prior_dir.resolve(), device="cpu")
        meta["prior"] = {"load_prior": {"name": str(prior_dir.resolve())}}
    else:
        prior = named_prior(folder, meta, device="cpu")
    fingerprint = prior.fingerprint()
    if recorded is not None and recorded != fingerprint:
        raise SystemExit(f"{folder} was trained on the prior with fingerprint {recorded}; "
                         f"{prior_dir or meta['prior']} has {fingerprint}. Pass --prior with the folder of the right one.")
    meta["prior"]["fingerprint"] = fingerprint
    (folder / CODEC_FILE).write_text(json.dumps(meta, indent=1))
    print(f"{folder}: prior {meta['prior']['load_prior'] if 'load_prior' in meta['prior'] else meta['prior']['folder']}, "
          f"fingerprint {fingerprint}")
    return fingerprint


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--assets", type=Path, default=None, help="the assets folder to write (default: fasdiff_lite/assets)")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("prior", help="ship an exported prior as the tiny prior")
    a.add_argument("src", type=Path)
    a.add_argument("--keep", type=Path, default=None, help="where to keep the prior it replaces")
    a = sub.add_parser("codec", help="ship an exported codec under a codec name")
    a.add_argument("src", type=Path)
    a.add_argument("name", help=", ".join(registry.names("codec")))
    a = sub.add_parser("pin", help="record the fingerprint of a codec's prior (or point it at a prior folder)")
    a.add_argument("folder", type=Path)
    a.add_argument("--prior", type=Path, default=None)
    a = sub.add_parser("rows", help="rename codecs in a verification rows file: OLD=NEW ...")
    a.add_argument("rows", type=Path)
    a.add_argument("renames", nargs="+")
    a = sub.add_parser("merge", help="add to a verification rows file the rows another has and it lacks")
    a.add_argument("src", type=Path)
    a.add_argument("dest", type=Path)
    args = p.parse_args(argv)
    if args.assets is not None:
        settings.ASSETS_DIR = args.assets.resolve()
    if args.command == "prior":
        ship_prior(args.src, args.keep)
    elif args.command == "codec":
        ship_codec(args.src, args.name)
    elif args.command == "pin":
        pin(args.folder, args.prior)
    elif args.command == "merge":
        print(f"{args.dest}: {verification.merge_rows(args.src, args.dest)} row(s) added from {args.src}")
    else:
        bad = [r for r in args.renames if r.count("=") != 1 or not all(r.split("="))]
        if bad:
            raise SystemExit(f"renames are OLD=NEW, got {', '.join(bad)}")
        n = verification.rename_codecs(args.rows, dict(r.split("=") for r in args.renames))
        print(f"{args.rows}: {n} row(s) renamed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

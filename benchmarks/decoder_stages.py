"""Look at what each stage of a FaSDiff decode draws: a grid of held-out faces through one or more codecs.

    python benchmarks/decoder_stages.py runs/d28-full-export --out stages.png                   # x_fid, x_gen, fused, out
    python benchmarks/decoder_stages.py runs/a-export runs/b-export --stages x_gen out --out cmp.png
    python benchmarks/decoder_stages.py runs/d28-full-export --stages x_gen prior_x_gen --out decoders.png

Rows: the first ``--faces`` faces of the fixed validation split (the sample faces where ../shared is absent), each
compressed once per codec at ``--rate`` and decoded at ``--steps`` and ``--realism`` (``FaSDiffCodec.decode_stages``).
Columns: the original, then for each codec its ``--stages``: ``x_fid`` (the compressor's face), ``x_gen`` (the
diffusion's own face, by the codec's decoder), ``prior_x_gen`` (the same latent decoded by the prior's own VAE
decoder instead: a fine-tuned codec decoder's share shows as the difference), ``fused`` (after the fidelity fusion)
and ``out`` (the answer). Saves a PNG (``--scale`` pixels per pixel, nearest neighbour) and prints its path: the
FaSDiff card's "Session 17" looks are made this way. Numbers for the same stages: ``benchmarks/realism_slider.py``.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from fasdiff_lite import data, settings
from fasdiff_lite.models import zoo
from fasdiff_lite.registry import DEFAULT_STEPS

STAGES = ("x_fid", "x_gen", "prior_x_gen", "fused", "out")


def stages_of(codec, blob: bytes, steps: int, realism: float, wanted) -> dict[str, np.ndarray]:
    """The wanted stages of one decode as uint8 images (``prior_x_gen``: the final latent through the prior's VAE)."""
    s = codec.decode_stages(blob, steps=steps, realism=realism)
    out = {}
    for k in wanted:
        if k == "prior_x_gen":
            if "z" not in s:
                raise ValueError("realism 0 decodes no latent: prior_x_gen needs a realism above 0")
            h, w = s["out"].shape[-2:]
            im = codec.prior.decode(s["z"])[..., :h, :w]
        elif k not in s:
            raise ValueError(f"stage {k!r} is not in this decode (realism 0 has only x_fid and out)")
        else:
            im = s[k]
        out[k] = data.to_image(im[0] if im.dim() == 4 else im)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codecs", nargs="+", help="shipped FaSDiff codec names or codec folders")
    ap.add_argument("--faces", type=int, default=settings.pick(8, 2))
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--realism", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=["x_fid", "x_gen", "fused", "out"])
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="decoder_stages.png")
    args = ap.parse_args(argv)
    if args.realism == 0 and set(args.stages) - {"x_fid", "out"}:
        ap.error("at realism 0 the decode is x_fid itself: only the stages x_fid and out exist")
    torch.set_num_threads(args.threads)
    faces = data.load_faces("auto", 64, split="val", limit=args.faces)
    columns = [np.concatenate(list(faces), 0)]
    with torch.no_grad():
        for name in args.codecs:
            codec = zoo.load(name, device="cpu").eval()
            rows = []
            for f in faces:
                got = stages_of(codec, codec.compress(data.to_tensor(f), args.rate), args.steps, args.realism, args.stages)
                rows.append(np.concatenate([got[k] for k in args.stages], 1))
            columns.append(np.concatenate(rows, 0))
    grid = np.concatenate(columns, 1)
    img = Image.fromarray(grid)
    img.resize((img.width * args.scale, img.height * args.scale), Image.NEAREST).save(args.out, optimize=True)
    print(f"{args.out}: {len(faces)} faces × (original + {len(args.codecs)} codec(s) × {', '.join(args.stages)}), "
          f"rate {args.rate:g}, {args.steps} steps, realism {args.realism:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

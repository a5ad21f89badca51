"""The two held-out sets side by side: a few faces of each, decoded by the codecs with and without the LFE's parts.

    python checkpoints/measure28b/side_by_side.py OUT.png --codecs runs/v25-nolfe-export=nolfe \
        runs/v25-full-export=full runs/v28-film-export=film --rate 0 --n 6

Rows: the shared faces' validation split (loose centre crops), then UTKFace's (tight aligned crops), the first ``--n``
of each. Columns: the original, x_fid, each codec's output (4 steps, realism 1), and, per codec with an LFE, how much
of its output's energy lies in the correction's low band that differs from x_fid's (mean |LF(out) − LF(x_fid)|, the
part the correction would overwrite). Prints, per set, each codec's mean PSNR to the original and its LF gap.
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fasdiff_lite.face_sets import validation_faces  # noqa: E402
from fasdiff_lite.frequency import detail_energy, luminance as luma  # noqa: E402
from fasdiff_lite.models.codec import FaSDiffCodec  # noqa: E402
from fasdiff_lite.models.lfe import smooth_lowpass  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--codecs", nargs="+", required=True, metavar="FOLDER=NAME")
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--stats", type=int, default=64, help="faces per set for the printed means")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    codecs = [(name, FaSDiffCodec.from_pretrained(folder)) for folder, name in (c.split("=", 1) for c in args.codecs)]
    lf = lambda im: smooth_lowpass(im, "haar", 2, 0.25)  # noqa: E731  (the shipped correction's band)
    chroma = lambda im: im - luma(im)  # noqa: E731
    rows, labels = [], []
    for which in ("shared", "utkface"):
        faces = validation_faces(which, max(args.n, args.stats))
        x = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255
        stats = {}
        for i in range(len(x)):
            xi = x[i : i + 1]
            row = [xi]
            for name, codec in codecs:
                with torch.no_grad():
                    st = codec.decode_stages(codec.compress(xi, args.rate), steps=4, realism=1.0)
                if len(row) == 1:
                    row.append(st["x_fid"])
                row.append(st["out"])
                psnr = -10 * torch.log10(((st["out"] - xi) ** 2).mean()).item()
                gap = (lf(st["out"]) - lf(st["x_fid"])).abs().mean().item()
                energies = [detail_energy(f(im)).item() for f in (luma, chroma) for im in (st["out"], xi)]
                stats.setdefault(name, []).append((psnr, gap, *energies))
            if i < args.n:
                rows.append(row)
                labels.append(which)
        for name, vals in stats.items():
            v = np.array(vals)
            print(f"{which} ({len(v)} faces, rate {args.rate}): {name}: PSNR {v[:, 0].mean():.2f} dB, "
                  f"|LF(out) - LF(x_fid)| {v[:, 1].mean():.4f}, detail ratio (summed over the faces) luminance "
                  f"{v[:, 2].sum() / v[:, 3].sum():.2f} chroma {v[:, 4].sum() / v[:, 5].sum():.2f}")
    cols = ["original", "x_fid"] + [name for name, _ in codecs]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.6 * len(cols), 1.6 * len(rows)))
    for r, (row, which) in enumerate(zip(rows, labels)):
        for c, im in enumerate(row):
            ax = axes[r, c]
            ax.imshow(im[0].permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=8)
            if c == 0:
                ax.set_ylabel(which, fontsize=8)
    fig.suptitle(f"rate {args.rate}, 4 steps, realism 1", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

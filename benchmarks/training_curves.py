"""Training curves of the shipped models from their ``history.json`` (all runs, in order), for the model cards.

    python benchmarks/training_curves.py        # writes fasdiff_lite/assets/compressor/training.png, fasdiff_lite/assets/fasdiff/training.png
    python benchmarks/training_curves.py fasdiff    # only the FaSDiff codecs' (or: compressors)

Prints, per run, the steps and the last held-out measurement (compressors: the 150 held-out faces at rates 0, 0.5
and 1, entropy-model bpp and PSNR, logged by the trainer every 1000 steps). A grey line marks each new run; the
compressors' rate range changed between runs (``training_runs`` in config.json), so "rate 1" means a larger λ after
the line.
"""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fasdiff_lite import settings  # noqa: E402
from fasdiff_lite.train.loop import plot_history  # noqa: E402


def _history(folder):
    return json.loads((settings.ASSETS_DIR / folder / "history.json").read_text())


def _run_lines(ax, history):
    starts = {}
    for r in history:
        starts.setdefault(r.get("run", 1), r["step"])
    for run, step in sorted(starts.items())[1:]:
        ax.axvline(step, color="0.6", lw=0.8, ls="--")


def _report(name, history):
    runs = sorted({r.get("run", 1) for r in history})
    for run in runs:
        rows = [r for r in history if r.get("run", 1) == run]
        val = [r for r in rows if any(k.startswith("val_") for k in r)]
        last = val[-1] if val else {}
        vals = ", ".join(f"{k[4:]} {v:.3f}" for k, v in sorted(last.items()) if k.startswith("val_"))
        print(f"{name} run {run}: steps {rows[0]['step']}–{rows[-1]['step']}" + (f"; last held-out: {vals}" if vals else ""))


def compressors() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for folder, name in (("compressor/hf", "hf"), ("compressor/hyperprior", "plain")):
        h = _history(folder)
        _report(name, h)
        plot_history(h, "psnr", axes[0], smooth=20, label_prefix=f"{name} train ")
        plot_history(h, [f"val_psnr_r{r}" for r in (0, 0.5, 1)], axes[1], label_prefix=f"{name} ")
        plot_history(h, [f"val_bpp_r{r}" for r in (0, 0.5, 1)], axes[2], label_prefix=f"{name} ")
        _run_lines(axes[0], h)
    axes[0].set_title("train batch PSNR (dB, mixed rates)")
    axes[1].set_title("held-out PSNR (dB), 150 faces")
    axes[2].set_title("held-out bpp (entropy model), 150 faces")
    axes[2].set_yscale("log")
    fig.tight_layout()
    fig.savefig(settings.ASSETS_DIR / "compressor/training.png", dpi=110)


def fasdiff() -> None:
    keys = ("l1", "detail", "gen_detail", "id", "adv")  # terms a run does not log are left out of its panel
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.6))
    for v in ("full", "nolfe", "plain"):
        h = _history(f"fasdiff/{v}")
        _report(f"fasdiff {v}", h)
        for ax, k in zip(axes, keys):
            plot_history(h, k, ax, smooth=20, label_prefix=f"{v} ")
    for ax, k in zip(axes, keys):
        ax.set_title(f"train: {k} term")
        _run_lines(ax, _history("fasdiff/full"))
    fig.tight_layout()
    fig.savefig(settings.ASSETS_DIR / "fasdiff/training.png", dpi=110)


if __name__ == "__main__":
    import sys

    which = sys.argv[1:] or ["compressors", "fasdiff"]
    unknown = set(which) - {"compressors", "fasdiff"}
    if unknown:
        raise SystemExit(f"usage: training_curves.py [compressors] [fasdiff]; not {', '.join(sorted(unknown))}")
    for name in which:
        {"compressors": compressors, "fasdiff": fasdiff}[name]()
        print("wrote", settings.ASSETS_DIR / ("compressor" if name == "compressors" else "fasdiff") / "training.png")

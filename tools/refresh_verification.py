"""Put the verification sweep's rows into the model cards: the 10-fold table, the BD-rates on verification, the plot.

    python tools/refresh_verification.py                                   # from runs/verification_celeba (else checkpoints/)
    python tools/refresh_verification.py --rows checkpoints/verification_celeba/verification.json --check

The sweep (``fasdiff-lite eval --pairs ../shared/faces/celeba_identity/pairs.txt ... --out runs/verification_celeba``)
writes ``verification.json``; this writes, between the ``<!-- verification:… -->`` markers of
``assets/compressor/MODEL_CARD.md`` (every codec) and ``assets/fasdiff/MODEL_CARD.md`` (the FaSDiff codecs, their
compressors and the reference), the table of every measured row and the BD-rate table, and draws
``verification.png`` beside each card. Rows under a folder's name (a run measured before it is shipped) are left
out until ``tools/ship.py rows`` gives them their shipped name. ``--check`` changes nothing and fails when a card's table is not the rows'
(what a test runs, so a card never shows other numbers than the sweep measured).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fasdiff_lite.evaluation import bdrate, verification  # noqa: E402

CARDS = {  # card → which codecs its table holds (None: all)
    ROOT / "fasdiff_lite" / "assets" / "compressor" / "MODEL_CARD.md": None,
    ROOT / "fasdiff_lite" / "assets" / "fasdiff" / "MODEL_CARD.md": ("original", "hf-compressor", "hyperprior", "fasdiff",
                                                                     "fasdiff-nolfe", "fasdiff-plain"),
}
DEFAULT_ROWS = (ROOT / "runs" / "verification_celeba" / "verification.json",
                ROOT / "checkpoints" / "verification_celeba" / "verification.json")


def setting(r: dict) -> str:
    if r["kind"] == "reference":
        return f"uncompressed, {r['size']} px"
    return f"{r['kind']} {r['value']:g}"


def table(rows: list[dict]) -> str:
    out = ["| codec | setting | bpp | accuracy (mean ± std over 10 folds) | ROC AUC | TAR @ FAR 1 % | TAR @ FAR 0.1 % | seconds |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tar = {float(k): v for k, v in r["tar_at_far"].items()}
        bpp = "-" if r.get("bpp") is None else f"{r['bpp']:.3f}"
        out.append(f"| {r['codec']} | {setting(r)} | {bpp} | {r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f} | "
                   f"{r['auc']:.4f} | {tar[0.01]:.3f} | {tar[0.001]:.3f} | {r['seconds']:.0f} |")
    return "\n".join(out)


def bd_table(rows: list[dict]) -> str:
    bd = verification.bd_rows(rows)
    if not bd:
        return "(no BD-rate yet: it needs two codecs with at least two settings each, one of them an anchor)"
    return bdrate.format_bd_table(bd)


def block(rows: list[dict]) -> str:
    order = {c: i for i, c in enumerate(dict.fromkeys(r["codec"] for r in rows))}
    rows = sorted(rows, key=lambda r: (order[r["codec"]], r["value"]))
    n_codecs = len({r["codec"] for r in rows if r["kind"] != "reference"})
    return (f"{table(rows)}\n\n{len(rows)} rows, {n_codecs} codecs. BD-rate on verification (bytes at equal accuracy "
            f"and at equal AUC; negative: fewer bytes than the anchor):\n\n{bd_table(rows)}\n\n"
            f"![rate–verification](verification.png)")


def replace_block(text: str, new: str, card: Path) -> str:
    pattern = re.compile(r"(<!-- verification:begin[^>]*-->\n)(?:.*?\n)?(<!-- verification:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{card}: no <!-- verification:begin … --> / <!-- verification:end --> markers")
    return pattern.sub(lambda m: m.group(1) + new + "\n" + m.group(2), text, count=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=None, help="a sweep's verification.json (default: runs/, else checkpoints/)")
    ap.add_argument("--check", action="store_true", help="change nothing; fail if a card's table is not the rows'")
    a = ap.parse_args(argv)
    path = Path(a.rows) if a.rows else next((p for p in DEFAULT_ROWS if p.exists()), None)
    if path is None or not path.exists():
        raise SystemExit(f"no verification rows at {a.rows or ' or '.join(map(str, DEFAULT_ROWS))}")
    rows = verification.load_rows(path)
    unshipped = sorted({r["codec"] for r in rows if "/" in r["codec"] or "\\" in r["codec"]})
    if unshipped:  # a run's folder, measured before its reship (tools/ship.py rows renames them): not in the cards
        print(f"left out of the cards (rows under a folder's name, not yet shipped): {', '.join(unshipped)}")
        rows = [r for r in rows if r["codec"] not in unshipped]
    if not a.check:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    stale = []
    for card, keep in CARDS.items():
        mine = [r for r in rows if keep is None or r["codec"] in keep]
        text = card.read_text()
        new = replace_block(text, block(mine), card)
        if a.check:
            if new != text:
                stale.append(card.relative_to(ROOT))
            continue
        card.write_text(new)
        fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.6))
        verification.plot_rate_accuracy(mine, ax=axes[0])
        verification.plot_rate_accuracy(mine, ax=axes[1], metric="auc")
        for ax in axes:
            ax.set_xscale("log")
        fig.tight_layout()
        fig.savefig(card.parent / "verification.png", dpi=110)
        plt.close(fig)
        print(f"{card.relative_to(ROOT)}: {len(mine)} rows")
    if stale:
        print(f"stale verification tables (run python tools/refresh_verification.py --rows {path}): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

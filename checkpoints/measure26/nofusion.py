"""A codec folder with its fidelity fusion removed: the same control, LFE and decoder weights, the decoded face x_gen
as it leaves the decoder (the fusion's share at equal bytes: ``decoder_ci.py --codec A --against A-without-it``).

    python checkpoints/measure26/nofusion.py runs/v25-full-export runs/v25-nofusion-export
"""
from __future__ import annotations

import sys
from pathlib import Path

from fasdiff_lite.models.codec import FaSDiffCodec


def main(src: str, dest: str) -> None:
    meta = FaSDiffCodec.read_config(src)
    if not meta.get("fusion"):
        raise SystemExit(f"{src} has no fusion to remove")
    codec = FaSDiffCodec.from_pretrained(src)
    codec.fusion = None
    extra = {k: meta[k] for k in ("training", "history_tail") if k in meta}
    extra["derived"] = f"{src} with its fidelity fusion removed (checkpoints/measure26/nofusion.py)"
    codec.save_pretrained(dest, extra=extra)
    again = FaSDiffCodec.from_pretrained(dest)
    assert again.fusion is None and again.decoder is not None
    print(f"{dest}: {src} without its fusion")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])

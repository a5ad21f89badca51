"""``fasdiff-lite info``: versions, hardware, FAST mode, and which shipped models are present."""
from __future__ import annotations

from .. import settings

SHIPPED = {
    "compressor (high-frequency-sensitive)": "compressor/hf/model.safetensors",
    "compressor (plain hyperprior)": "compressor/hyperprior/model.safetensors",
    "tiny diffusion prior": "prior/tiny/unet",
}


def add_arguments(p) -> None:
    pass


def main(args) -> int:
    for k, v in settings.describe().items():
        print(f"{k:>14}: {v}")
    print("shipped models:")
    for name, rel in SHIPPED.items():
        print(f"{'':>14}  {'yes' if (settings.ASSETS_DIR / rel).exists() else 'no ':>3}  {name}")
    return 0

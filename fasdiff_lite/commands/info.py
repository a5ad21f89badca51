"""``fasdiff-lite info``: versions, hardware, FAST mode, and which shipped models are present."""
from __future__ import annotations

from .. import settings
from ..models import zoo


def add_arguments(p) -> None:
    pass


def main(args) -> int:
    for k, v in settings.describe().items():
        print(f"{k:>14}: {v}")
    print("shipped models:")
    here = set(zoo.available())
    for name in zoo.names():
        print(f"{'':>14}  {'yes' if name in here else 'no ':>3}  {name:14s} ({zoo.kind_of(name)}, {zoo.folder(name)})")
    return 0

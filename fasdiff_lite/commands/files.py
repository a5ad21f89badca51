"""Input and output paths for the commands, checked so that no command loses data or ends in a traceback.

- An input must be a regular file (not a folder, not a device such as ``/dev/zero``) of a sane size.
- An output never overwrites an existing file unless ``--force``; a folder, or a path whose folder does not exist,
  is refused with a message; default output names cannot collide with the input (``face.fsd`` → ``face.decoded.png``).
"""
from __future__ import annotations

from pathlib import Path

MAX_INPUT_BYTES = 256 << 20  # 256 MiB: bigger inputs are refused before they are read


def input_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a readable regular file of at most :data:`MAX_INPUT_BYTES`; else a clear error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a {what}")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file (a device or a pipe?); give a {what}")
    size = path.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"{path} is {size / 2**20:.0f} MiB; the most this command reads is {MAX_INPUT_BYTES >> 20} MiB")
    return path


def output_file(path: str | Path, force: bool = False, inputs: tuple[Path, ...] = ()) -> Path:
    """A path that is safe to write: not a folder, in a folder that exists, not one of ``inputs``, and not an
    existing file unless ``force``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give a file name for the output (e.g. {path / 'face.png'})")
    if path.parent.exists() and not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: {path.parent} is a file, not a folder")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise ValueError(f"{path} is the input itself: give another output name")
    if path.exists() and not force:
        raise ValueError(f"{path} exists; pass --force to overwrite it, or give another name with -o")
    return path

"""The ``fasdiff-lite`` command line.

    fasdiff-lite info                              versions, hardware, what is installed and shipped
    fasdiff-lite quickstart                        compress the sample faces with every shipped codec
    fasdiff-lite train {compressor,autoencoder,prior,fasdiff,identity} ...   train a model (progress bar, checkpoints, resume)
    fasdiff-lite compress face.png -o face.fsd --rate R
    fasdiff-lite decompress face.fsd -o out.png
    fasdiff-lite eval [--data DIR] [--codecs ...] [--rates ...]   every codec on the same faces, with BD-rates
    fasdiff-lite demo                              the Gradio demo

Each ``train`` target lives in ``fasdiff_lite/train/<name>.py`` and provides ``add_arguments(parser)``
and ``main(args)``; each other command lives in the module named in ``COMMANDS`` with the same two
functions. This file only wires them together, so adding a command never touches model code.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# command -> (module, help). Each module provides add_arguments(parser) and main(args).
COMMANDS = {
    "info": ("fasdiff_lite.commands.info", "show versions, hardware and shipped models"),
    "quickstart": ("fasdiff_lite.commands.quickstart", "run the main job on the embedded default"),
    "compress": ("fasdiff_lite.commands.compress", "compress an image to a .fsd file"),
    "decompress": ("fasdiff_lite.commands.decompress", "decode a .fsd file to an image"),
    "eval": ("fasdiff_lite.commands.eval", "evaluate every codec for people and machines, with BD-rates"),
    "demo": ("fasdiff_lite.commands.demo", "launch the Gradio demo"),
    "course": ("fasdiff_lite.commands.course", "teaching kit: list exercises, write student copies, build the course book"),
}
TRAIN_TARGETS = {
    "compressor": "train the high-frequency-sensitive compressor (or the plain hyperprior)",
    "autoencoder": "train the tiny prior's VAE",
    "prior": "train the tiny prior's denoising UNet",
    "fasdiff": "train a FaSDiff codec's visual-prompt control and low-frequency module (prior frozen)",
    "identity": "distil dlib's face descriptor into a small differentiable identity proxy (for an identity loss)",
}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # parent package not there yet
        return False


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser. Only the command named in ``argv`` imports its module (to add its options), so
    ``fasdiff-lite --help`` stays instant and a broken optional module cannot break the others."""
    argv = sys.argv[1:] if argv is None else argv
    words = [a for a in argv if not a.startswith("-")]
    p = argparse.ArgumentParser(
        prog="fasdiff-lite",
        description="Learned facial image compression with a diffusion prior (teaching suite after FaSDiff).",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(parent, name, module, help_, selected):
        if not _available(module):
            return
        sp = parent.add_parser(name, help=help_, description=help_)
        if selected:
            importlib.import_module(module).add_arguments(sp)
        sp.set_defaults(_module=module)

    first = words[0] if words else None
    for name, (module, help_) in COMMANDS.items():
        add(sub, name, module, help_, first == name)
    tp = sub.add_parser("train", help="train a model", description="train one of the suite's models")
    tsub = tp.add_subparsers(dest="target", metavar="MODEL")
    for name, help_ in TRAIN_TARGETS.items():
        add(tsub, name, f"fasdiff_lite.train.{name}", help_, first == "train" and words[1:2] == [name])
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        rc = importlib.import_module(args._module).main(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        # Our own errors (ImageError, BitstreamError, DataUnavailable, ...) are ValueError/RuntimeError
        # subclasses with messages written for people: print them without a traceback.
        print(f"fasdiff-lite: error: {e}", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())

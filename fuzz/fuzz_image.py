"""Coverage-guided fuzzing (atheris + libFuzzer) of the image loaders: ``data.load_image`` on file bytes (PNG, JPEG,
WebP, GIF, TIFF, BMP …, image modes, EXIF orientation), the CLI's centre crop, and ``load_image`` on arrays and
tensors (the demo's webcam input, the Python API). Pillow's Python code (its format plugins, the EXIF reader) is
instrumented too, so the fuzzer is guided through file headers. The target: ``fuzz/targets.py``.

    python fuzz/fuzz_image.py fuzz/corpus/image                 # until stopped; new inputs go into the corpus folder
    python fuzz/fuzz_image.py /tmp/work fuzz/corpus/image -runs=100000 -timeout=10
    python benchmarks/fuzz.py --atheris image                   # a million executions, with a report
"""
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
with atheris.instrument_imports(include=["fasdiff_lite", "PIL"]):
    from PIL import Image, ImageOps  # noqa: F401

    Image.init()  # every format plugin imported now, inside the instrumented block
    from fasdiff_lite import data  # noqa: F401
from fuzz import harness, targets  # noqa: E402

if __name__ == "__main__":
    harness.main(targets.image)

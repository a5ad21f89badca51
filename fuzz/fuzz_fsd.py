"""Coverage-guided fuzzing (atheris + libFuzzer) of everything that reads the bytes of a ``.fsd`` file: the container
parser (``bitstream.unpack``), the shipped compressors' decoders, and both rANS decoders (``rans.RansDecoder``,
``rans.Rans64Decoder``) on bare streams. The target and what counts as a finding: ``fuzz/targets.py``.

    python fuzz/fuzz_fsd.py fuzz/corpus/fsd                     # until stopped; new inputs go into the corpus folder
    python fuzz/fuzz_fsd.py /tmp/work fuzz/corpus/fsd -runs=100000 -timeout=10
    python fuzz/fuzz_fsd.py crash-1234abcd                      # re-run one input (a crash reproducer)
    python benchmarks/fuzz.py --atheris fsd                     # a million executions, with a report

Any libFuzzer flag works (``-help=1`` lists them). Slow inputs (over ``FUZZ_SLOW_S`` seconds, default 1) are printed
and, with ``FUZZ_SLOW_DIR`` set, saved there.
"""
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
with atheris.instrument_imports(include=["fasdiff_lite"]):
    from fasdiff_lite import bitstream, rans  # noqa: F401 - instrumented here, before the targets import them
    from fasdiff_lite.models import compressor  # noqa: F401
from fuzz import harness, targets  # noqa: E402

if __name__ == "__main__":
    targets.table_sets()  # load the models before the first input: not one slow unit
    harness.main(targets.fsd)

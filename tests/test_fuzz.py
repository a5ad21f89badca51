"""Hostile files: random mutations of real ``.fsd`` files never crash the decoder, never read outside the stream,
never take long, and never decode to an image (version 2: the coder's end state checks the header and every
symbol). Seeded, so a failure reproduces.

Then coverage-guided fuzzing (fuzz/): the seed corpus and crash reproducers replayed through the harnesses' targets
(always), a short atheris run of each harness (skipped where atheris is not installed), and one regression test per
bug the fuzzers and the property tests (tests/test_properties.py) found."""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fasdiff_lite import bitstream, data, rans, registry
from tests.test_compressor import tiny  # noqa: F401 - the small random compressor, as a fixture

N_MUTATIONS = 400


def test_mutated_files_are_refused_quickly(tiny):
    rng = random.Random(20251125)
    blobs = [tiny.compress(torch.rand(1, 3, h, w), r) for (h, w), r in (((64, 64), 0.0), ((64, 64), 0.7), ((50, 90), 0.4))]
    slowest = 0.0
    for i in range(N_MUTATIONS):
        blob = bitstream.mutate(blobs[i % len(blobs)], rng)
        t0 = time.perf_counter()
        try:
            x = tiny.decompress(blob)
        except bitstream.BitstreamError as e:
            assert str(e)
        else:  # only the unchanged file may decode (a mutation can leave the bytes as they were)
            assert blob in blobs, f"mutation {i} decoded: {blob.hex()}"
            assert torch.isfinite(x).all()
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < 3.0, f"a hostile file kept the decoder busy for {slowest:.1f} s"


# ---------------------------------------------------------------------------------- coverage-guided fuzzing
# The atheris harnesses of fuzz/ (fuzz_fsd.py: the container, the compressors' decoders and both rANS decoders;
# fuzz_image.py: the image loaders), their seed corpus and the crash reproducers kept beside it (fuzz/corpus/).
ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "fuzz"
HARNESSES = {"fsd": 2000, "image": 4000}  # executions of the short run in CI (a few seconds each)


def _targets():
    from fuzz import targets

    return targets


@pytest.mark.parametrize("harness", sorted(HARNESSES))
def test_the_seed_corpus_and_every_crash_reproducer_replay_cleanly(harness):
    """Every file of fuzz/corpus/<harness> through its target, without atheris: a crash reproducer that fails again
    is a regression. The valid .fsd seeds must still decode (else the shipped models changed: run
    fuzz/make_corpus.py)."""
    target = getattr(_targets(), harness)
    files = sorted((FUZZ / "corpus" / harness).iterdir())
    assert len(files) >= 15
    for f in files:
        try:
            target(f.read_bytes())
        except BaseException as e:
            raise AssertionError(f"{f.relative_to(ROOT)}: {type(e).__name__}: {e}") from e
    if harness == "fsd":
        models = _targets().compressors()
        for f in (f for f in files if f.suffix == ".fsd"):
            p = bitstream.unpack(f.read_bytes())
            x = models[registry.VARIANTS.get(p.model, (p.model,))[0]].decode_packet(p)[0]
            assert tuple(x.shape) == (1, 3, p.height, p.width), f.name


@pytest.mark.parametrize("harness", sorted(HARNESSES))
def test_a_short_atheris_run_finds_no_crash_and_no_hang(harness, tmp_path):
    """A few thousand coverage-guided executions of each harness from its corpus (``benchmarks/fuzz.py --atheris``
    runs a million): any unexpected exception, broken invariant or input over 10 s fails it."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris; Linux)")
    runs = HARNESSES[harness]
    cmd = [sys.executable, str(FUZZ / f"fuzz_{harness}.py"), str(tmp_path / "grown"), str(FUZZ / "corpus" / harness),
           f"-runs={runs}", "-seed=1", "-timeout=10", "-max_len=4096", "-rss_limit_mb=4096", "-max_total_time=300",
           f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"]
    (tmp_path / "grown").mkdir()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=420, cwd=ROOT,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", "FUZZ_SLOW_S": "10"})
    log = run.stdout + run.stderr
    found = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "slow-")))
    assert run.returncode == 0 and not found, f"{found}\n{log[-4000:]}"
    assert f"stat::number_of_executed_units: {runs}" in log, log[-2000:]


LEAK_PROBE = """
import collections, gc, sys
import atheris, torch
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
with atheris.instrument_imports(include=["probe_module"]):
    import probe_module
from fuzz import harness
n = [0]
def target(blob):
    n[0] += 1
    probe_module.compare(torch.arange(-8, 8))
    if n[0] == {runs}:
        gc.collect()
        print("ALIVE", sum(isinstance(o, torch.Tensor) for o in gc.get_objects()), flush=True)
    return "probed"
harness.main(target)
"""


def test_the_harness_keeps_tensor_comparisons_from_leaking(tmp_path):
    """atheris 3.0's comparison hook kept a reference to every non-bool comparison result (``a < 0`` on a tensor in
    the integer entropy parameters): the fsd harness grew 8-18 KB an execution and hit the memory limit after about
    865,000. The harness now computes such comparisons itself (``harness.guard_comparison_leak``): no tensor made
    by a probe's comparisons may outlive its execution. The same probe with atheris's own hook
    (``FUZZ_NATIVE_CMP=1``) must leak one per execution, or this atheris no longer has the bug (then: skipped)."""
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris; Linux)")
    runs = 200
    (tmp_path / "probe_module.py").write_text("def compare(a):\n    return int((a < 0).sum()) + int((a >= 3).sum())\n")
    (tmp_path / "probe.py").write_text(LEAK_PROBE.format(root=str(ROOT), here=str(tmp_path), runs=runs))

    def alive(native: bool) -> int:
        run = subprocess.run([sys.executable, str(tmp_path / "probe.py"), f"-runs={runs}", "-seed=1"],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path,
                             env={**os.environ, "PYTHONWARNINGS": "ignore", "FUZZ_NATIVE_CMP": "1" if native else "0"})
        found = [line for line in run.stdout.splitlines() if line.startswith("ALIVE")]
        assert run.returncode == 0 and found, run.stdout[-2000:] + run.stderr[-2000:]
        return int(found[0].split()[1])

    guarded = alive(native=False)
    assert guarded <= 2, f"{guarded} tensors outlived {runs} executions through the guarded harness"
    if alive(native=True) < runs:
        pytest.skip("this atheris's comparison hook no longer leaks (the guard is then not needed)")


# ------------------------------------------------------------- regressions: what the fuzzers and property tests found
def test_a_broken_file_pillow_chokes_on_is_one_image_error(tmp_path, monkeypatch):
    """Fuzzing: a corrupted AVIF made Pillow raise RuntimeError ("Decoding of color planes failed"), which escaped
    load_image. Pillow raises many kinds (its own fuzzers catch Exception): every one is now an ImageError."""
    crash = (FUZZ / "corpus" / "image" / "crash-avif-runtimeerror").read_bytes()
    with pytest.raises(data.ImageError, match="not a readable image"):
        data.load_image(crash)
    from PIL import Image, ImageFile

    def broken(self):
        raise RuntimeError("a decoder that fails its own way")

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken)
    png = tmp_path / "face.png"
    Image.new("RGB", (16, 16)).save(png)
    for src in (png, png.read_bytes(), Image.open(png)):
        with pytest.raises(data.ImageError, match="RuntimeError: a decoder that fails"):
            data.load_image(src)


@pytest.mark.parametrize("empty", [np.zeros((0, 16), np.float32), np.zeros((16, 0, 3), np.int32),
                                   np.zeros((0, 0, 4), np.float64), torch.zeros(3, 0, 16)])
def test_an_empty_array_is_an_image_error(empty):
    """Fuzzing: a 0×16 float tensor reached a.min() in load_image: ValueError 'zero-size array to reduction'."""
    with pytest.raises(data.ImageError, match="at least"):
        data.load_image(empty)


def test_an_overlong_varint_in_the_header_is_refused():
    """Fuzzing: unpack read a size written in more bytes than it needs (0x90 0x00 for 16), so a changed file parsed
    (pack() gave other bytes back) and, with a valid stream behind it, decoded: the check covers the header as the
    encoder wrote it, not its bytes. The shortest form is now the only one."""
    crash = (FUZZ / "corpus" / "fsd" / "crash-overlong-varint").read_bytes()
    with pytest.raises(bitstream.BitstreamError, match="shortest form"):
        bitstream.unpack(crash)
    blob = (FUZZ / "corpus" / "fsd" / "hf-compressor_16x16_r0.fsd").read_bytes()
    assert blob[4] == 16
    for changed in (blob[:4] + b"\x90\x00" + blob[5:], blob[:5] + b"\x90\x80\x00" + blob[6:]):
        with pytest.raises(bitstream.BitstreamError, match="shortest form"):
            bitstream.unpack(changed)
    assert bitstream.unpack(bitstream.pack(bitstream.Packet("hyperprior", 128, 16384, 0.5, (b"abcd",))))


def test_a_tiff_opened_from_its_path_is_turned_by_its_orientation(tmp_path):
    """Property test: an L or P TIFF with EXIF orientation 5-8 came back unturned from a path, turned from its bytes
    (Pillow maps a path's uncompressed pixels with mmap, which skips the TIFF plugin's orientation): load_image now
    opens a path as a file object, so both give the same pixels."""
    from PIL import Image

    a = np.arange(8 * 9 * 3, dtype=np.uint8).reshape(8, 9, 3)
    for mode in ("L", "P", "RGB"):
        exif = Image.Exif()
        exif[0x0112] = 6
        path = tmp_path / f"{mode}.tif"
        Image.fromarray(a).convert(mode).save(path, "TIFF", exif=exif.tobytes())
        from_path, from_bytes = data.load_image(path), data.load_image(path.read_bytes())
        assert from_path.shape == from_bytes.shape == (9, 8, 3), mode
        assert np.array_equal(from_path, from_bytes), mode


def test_the_rans_decoders_refuse_bare_garbage_with_their_own_error():
    """The raw-rANS part of the fsd harness, by hand: short, empty and random streams for both decoders."""
    tables = _targets().table_sets()[-1]
    rng = random.Random(3)
    for cls in (rans.RansDecoder, rans.Rans64Decoder):
        for n in (0, 1, 3, 7, 8, 12, 64):
            stream = bytes(rng.randrange(256) for _ in range(n))
            try:
                dec = cls(stream)
                dec.decode_stream([rng.randrange(len(tables[0])) for _ in range(20)], tables)
                dec.finish(b"")
            except rans.RansError as e:
                assert str(e)

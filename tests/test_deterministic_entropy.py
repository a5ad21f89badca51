"""A file made on one machine decodes on every other (issue 30): the entropy parameters of a version-3 file are
computed in integers (``models/integer_scales.py``), so the decoder picks each symbol's table the same way whatever
its floating point does.

"Another machine" is simulated three ways on the decoder's side (``evaluation/portability.py``): every floating-point output of the hyper-synthesis
(the entropy-parameter path) multiplied by 1 + U(−10⁻⁴, 10⁻⁴) and libm's exp/log moved by a few ulps (other CPU
kernels, GPU convolution algorithms, TF32); the whole decoder in float64; two torch threads instead of one. Under
each, every file must decode to the very same symbols it decodes to here. The same test on version-2 files (the
float path, as before session 13) must find files that do not: that is what the integer path is for, and it shows
the simulation is strong enough to catch the failure it guards against.
"""
import copy

import pytest
import torch

from fasdiff_lite import bitstream, data, settings
from fasdiff_lite.evaluation.portability import mismatches
from fasdiff_lite.models import compressor as compressor_module
from fasdiff_lite.models import zoo
from fasdiff_lite.models.integer_scales import IntegerScales, gain_fixed, gain_is_safe

SIZES = (64, 100, 128) if settings.is_fast() else (64, 72, 96, 100, 128)  # FAST (CI): 120 files, else 200
FASDIFF_MIN_PSNR = 40.0  # dB between two machines' decodes of one FaSDiff file (measured: benchmarks/deterministic_entropy.py)
RATES = tuple(i / 9 for i in range(10))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def shipped():
    if "hf-compressor" not in zoo.available():
        pytest.skip("needs the shipped hf-compressor")
    return zoo.load("hf-compressor")


def _views():
    """Two sample faces, mirrored or not, at five sizes (odd ones included: more than one ẑ position)."""
    for face in data.sample_faces(128):
        for flip in (False, True):
            img = face[:, ::-1] if flip else face
            for size in SIZES:
                yield data.to_tensor(data.face_crop(img.copy(), size))


def _files(model) -> list[bytes]:
    return [model.compress(x, r) for x in _views() for r in RATES]


@pytest.fixture(scope="module")
def v3_files(shipped):
    return _files(shipped)


@pytest.mark.parametrize("how", ["noise", "float64", "threads"])
def test_version_3_files_decode_to_the_same_symbols_on_another_machine(shipped, v3_files, how):
    assert len(v3_files) == 4 * len(SIZES) * len(RATES) and {bitstream.unpack(b).version for b in v3_files} == {3}
    assert mismatches(shipped, v3_files, how) == 0


def test_the_float_path_of_version_2_fails_the_same_simulation(shipped):
    """The simulation bites: the same faces and rates written as version 2 (tables from float scales) do not all
    decode to their symbols under the noise (measured in session 12 on 600 files: 8 at 10⁻⁶, 56 at 10⁻⁵)."""
    float_only = copy.deepcopy(shipped)
    float_only.int_scales = None
    files = _files(float_only)
    assert {bitstream.unpack(b).version for b in files} == {2}
    assert mismatches(float_only, files, "noise") > 0


def test_integer_convolutions_are_the_float_ones_on_integers():
    """The int64 transposed and plain convolutions compute exactly what torch's float64 ones do on integer data."""
    from fasdiff_lite.models.integer_scales import _int_conv2d

    g = torch.Generator().manual_seed(0)
    a = torch.randint(-3000, 3000, (1, 5, 3, 4), generator=g)
    for k, p, op in ((3, 1, 1), (5, 2, 1), (3, 1, 0)):
        w = torch.randint(-200, 200, (5, 6, k, k), generator=g)  # a transposed conv's weight: in × out × k × k
        ref = torch.nn.functional.conv_transpose2d(a.double(), w.double(), stride=2, padding=p, output_padding=op)
        up = torch.zeros(1, 5, 5, 7, dtype=torch.int64)
        up[:, :, ::2, ::2] = a
        wc = w.flip(-1, -2).transpose(0, 1).reshape(6, -1).contiguous()
        lo, hi = k - 1 - p, k - 1 - p + op
        got = _int_conv2d(up, wc, wc.double(), int(wc.abs().max()), k, (lo, hi, lo, hi))
        assert torch.equal(got, ref.long())
        w2 = torch.randint(-200, 200, (4, 5, k, k), generator=g)
        ref = torch.nn.functional.conv2d(a.double(), w2.double(), padding=p)
        got = _int_conv2d(a, w2.reshape(4, -1), w2.reshape(4, -1).double(), 200, k, (p, p, p, p))
        assert torch.equal(got, ref.long())


def test_the_integer_scales_follow_the_float_ones_and_travel_with_the_weights(shipped, tmp_path):
    """The integer σ matches h_s's own to a fraction of a table step (so it costs few bits); the fractions are
    saved with the weights and the integers derived from them at load, the same as built; a compressor without them writes version 2 and refuses version 3
    files with a clear error; the encoder only uses rates whose gain rounds the same everywhere."""
    c = shipped
    x = data.to_tensor(data.sample_faces(64)[0])
    with torch.no_grad():
        z = c.h_a(c.g_a(compressor_module.pad(x)))
        z_idx, z_med = c._z_indexes_medians(z.shape)
        z_sym = c.entropy_bottleneck.quantize(z, "symbols", z_med)
        scales = c.h_s(c.entropy_bottleneck.dequantize(z_sym, z_med)).chunk(2, 1)[0]
    s_int = c.int_scales.scales(z_sym).double() / 2.0 ** int(c.int_scales.fracs[-1])
    assert (s_int - scales.double()).abs().max() < 0.02 * scales.abs().max()
    again = copy.deepcopy(c)
    again.build_integer_scales()  # calibrated again: the same fractions, the same integers
    for k, v in again.int_scales.named_buffers():
        assert torch.equal(v, dict(c.int_scales.named_buffers())[k]), k
    assert list(c.int_scales.state_dict()) == ["fracs"]  # all that is saved: the rest is derived exactly at load
    c.save_pretrained(tmp_path / "c")
    loaded = type(c).from_pretrained(tmp_path / "c")
    assert isinstance(loaded.int_scales, IntegerScales)
    for k, v in loaded.int_scales.named_buffers():
        assert torch.equal(v, dict(c.int_scales.named_buffers())[k]), k
    blob = loaded.compress(x, 0.4)
    assert bitstream.unpack(blob).version == 3
    old = copy.deepcopy(loaded)
    old.int_scales = None
    assert bitstream.unpack(old.compress(x, 0.4)).version == 2
    with pytest.raises(bitstream.BitstreamError, match="integer scales"):
        old.decompress(blob)
    for r in RATES:
        q = c.safe_rate(r)
        assert abs(q - r) <= 8 / 65535 and gain_is_safe(c._interp(c.config.gains, q))
    assert gain_fixed(0.5) == 1 << 19


@pytest.mark.parametrize("how", ["noise", "float64"])
def test_a_fasdiff_file_decodes_on_another_machine_to_nearly_the_same_face(how):
    """A FaSDiff codec's version-3 file decodes on the simulated other machine to the same symbols, and its face
    (4 steps, realism 1) differs from this machine's by less than :data:`FASDIFF_MIN_PSNR` (the diffusion and the
    decoders stay in floating point: a last-bit difference may move a pixel, never the stream)."""
    from fasdiff_lite.evaluation import metrics
    from fasdiff_lite.evaluation.portability import decoded_symbols, other_machine

    if "fasdiff" not in zoo.available():
        pytest.skip("needs the shipped fasdiff codec")
    codec = zoo.load("fasdiff")
    blobs = [codec.compress(data.to_tensor(f), r) for f in data.sample_faces(64) for r in (0.1, 0.5)]
    faces: list = []
    here = [decoded_symbols(codec, b, faces) for b in blobs]  # the symbols, and each decoded face into faces
    with other_machine(codec, how) as other:
        for b, symbols, face in zip(blobs, here, faces):
            there: list = []
            assert decoded_symbols(other, b, there) == symbols
            assert metrics.psnr(data.to_image(face), data.to_image(there[0])) >= FASDIFF_MIN_PSNR


def test_the_cross_device_benchmark_counts_files_that_travel(capsys):
    """``benchmarks/cross_device.py`` (the GPU ↔ CPU check, for a session with a GPU) on one device: every file
    travels, and a broken decoder on the receiving side is counted, not hidden."""
    from tests.conftest import load_script

    bench = load_script("benchmarks/cross_device.py")
    xs = [data.to_tensor(f) for f in data.sample_faces(64)[:1]]
    row = bench.one_direction("hf-compressor", xs, "cpu", "cpu", 3)
    assert (row["files"], row["travelled"], row["refused"], row["other_symbols"]) == (len(bench.RATES), len(bench.RATES), 0, 0)
    real = bench._to

    def receiving_side_other_tables(model, device, version):  # the second copy made (the decoder) picks other tables
        m = real(model, device, version)
        receiving_side_other_tables.calls += 1
        if receiving_side_other_tables.calls == 2:
            m.int_scales.thresholds = m.int_scales.thresholds * 2
        return m
    receiving_side_other_tables.calls = 0
    bench._to = receiving_side_other_tables
    try:
        row = bench.one_direction("hf-compressor", xs, "cpu", "cpu", 3)
    finally:
        bench._to = real
    assert row["travelled"] < row["files"] and row["refused"] + row["other_symbols"] == row["files"] - row["travelled"]

import numpy as np
import pytest
import torch
from PIL import Image

from fasdiff_lite import bitstream, cli, data, settings
from fasdiff_lite.models import zoo
from fasdiff_lite.models.compressor import CompressorConfig, HFCompressor, hf_loss, rate_tables, rd_loss

SHIPPED = (settings.ASSETS_DIR / "compressor/hf/model.safetensors").exists()
requires_weights = pytest.mark.skipif(not SHIPPED, reason="shipped compressor weights not present")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    m = HFCompressor(CompressorConfig(N=16, M=16)).eval()
    m.update(force=True)
    return m


def test_rate_maps_continuously_onto_the_trained_levels(tiny):
    c = tiny.config
    lambdas, gains_table = rate_tables(c.lambda_min, c.lambda_max, c.levels)
    assert lambdas[0] == pytest.approx(c.lambda_min) and lambdas[-1] == pytest.approx(c.lambda_max)
    assert tiny.gain(0.0).item() == pytest.approx(gains_table[0], rel=1e-5)
    assert tiny.gain(1.0).item() == pytest.approx(gains_table[-1], rel=1e-5)
    gains = [tiny.gain(r).item() for r in np.linspace(0, 1, 50)]
    assert all(a < b for a, b in zip(gains, gains[1:]))  # strictly increasing: a smooth slider
    assert tiny.lmbda_at(0.0) == pytest.approx(c.lambda_min) and tiny.lmbda_at(1.0) == pytest.approx(c.lambda_max)
    wide = HFCompressor(CompressorConfig(N=16, M=16, lambda_min=1e-5, lambda_max=1.0))
    assert wide.gain(0.0).item() < tiny.gain(0.0).item() and wide.gain(1.0).item() > tiny.gain(1.0).item()
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="rate"):
            tiny.gain(bad)


def test_forward_gives_reconstruction_likelihoods_and_visual_prompt(tiny):
    tiny.train()
    x = torch.rand(2, 3, 64, 64)
    out = tiny.forward_rate(x, 0.5)
    tiny.eval()
    assert out["x_hat"].shape == x.shape
    assert out["y_hat"].shape == (2, 16, 4, 4)  # the visual prompt: M channels at 1/16
    losses = rd_loss(x, out, tiny.lmbda_at(0.5))
    assert losses["loss"].requires_grad and losses["bpp"] > 0
    assert hf_loss(x, x) == 0 and hf_loss(x, x.flip(-1)) > 0


def test_frequency_branch_switch():
    plain = HFCompressor(CompressorConfig(N=16, M=16, frequency_branch=False))
    hf = HFCompressor(CompressorConfig(N=16, M=16))
    assert not hasattr(plain.g_a, "freq") and hasattr(hf.g_a, "freq")
    x = torch.rand(1, 3, 64, 64)
    # the frequency branch really sees the detail bands: changing only them changes y
    from fasdiff_lite import frequency as fq

    coeffs = fq.dwt2(x, "haar", 1)
    coeffs[1] = tuple(torch.zeros_like(d) for d in coeffs[1])
    smooth = fq.idwt2(coeffs, "haar")
    with torch.no_grad():
        assert not torch.allclose(hf.g_a.freq(fq.high_bands(x)), hf.g_a.freq(fq.high_bands(smooth)))


@pytest.mark.parametrize("h, w", [(64, 64), (50, 70), (130, 64)])
def test_real_bitstream_round_trip_any_size_and_deterministic(tiny, h, w):
    x = torch.rand(1, 3, h, w)
    blob = tiny.compress(x, rate=0.4)
    assert isinstance(blob, bytes)
    p = bitstream.unpack(blob)
    assert (p.height, p.width, p.model) == (h, w, "hf-compressor") and abs(p.rate - 0.4) < 1e-4
    a, b = tiny.decompress(blob), tiny.decompress(blob)
    assert a.shape == (1, 3, h, w) and torch.equal(a, b)


def test_one_stream_decodes_exactly_what_the_model_computes(tiny):
    """z and y share one rANS stream; decoding it gives the same x̂ and ŷ as the model's own forward pass
    (eval mode rounds like the coder), so training, the entropy estimate and the real file agree."""
    x = torch.rand(1, 3, 64, 64)
    for rate in (0.0, 0.5, 1.0):
        streams, size = tiny.compress_tensor(x, rate)
        assert len(streams) == 1
        x_hat, y_hat = tiny.decompress_tensor(streams, size, rate)
        with torch.no_grad():
            ref = tiny.forward_rate(x, rate)
        assert torch.allclose(x_hat, ref["x_hat"].clamp(0, 1), atol=1e-5)
        assert torch.allclose(y_hat, ref["y_hat"], atol=1e-5)
    blob = tiny.compress(x, 0.5)
    p = bitstream.unpack(blob)
    two = bitstream.pack(bitstream.Packet(p.model, p.height, p.width, p.rate, p.streams + (b"x",), version=1))
    with pytest.raises(bitstream.BitstreamError, match="1 stream"):
        tiny.decompress(two)


def test_fp16_weights_load_and_decode_like_the_saved_model(tiny, tmp_path):
    """save_pretrained stores parameters as fp16 and rebuilds the CDF tables from the rounded weights: the
    reloaded model is the saved one, bit for bit, and the file is its parameters are stored as fp16."""
    m = HFCompressor(CompressorConfig(N=16, M=16)).eval()
    with pytest.raises(RuntimeError, match="update"):  # no tables yet: a clear error, not a crash in the coder
        m.compress(torch.rand(1, 3, 64, 64), 0.3)
    m.update(force=True)
    m.save_pretrained(tmp_path / "h")
    again = HFCompressor.from_pretrained(tmp_path / "h")
    again.save_pretrained(tmp_path / "h2")
    third = HFCompressor.from_pretrained(tmp_path / "h2")  # saving fp16 weights again changes nothing
    x = torch.rand(1, 3, 64, 64)
    blob = again.compress(x, 0.3)
    assert blob == third.compress(x, 0.3) and torch.equal(again.decompress(blob), third.decompress(blob))
    from safetensors import safe_open

    with safe_open(str(tmp_path / "h/model.safetensors"), "pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}
    params = {n for n, _ in m.named_parameters()}
    assert all(dtypes[k] == "F16" for k in params) and any(dtypes[k] == "I32" for k in dtypes)  # CDF tables stay int


@pytest.mark.parametrize("version", [2, 3])
def test_every_changed_bit_of_a_file_is_refused(tiny, version):
    """Versions 2 and 3 have no CRC: the coder's end state checks the header (its version byte too) and every
    symbol. Each single-bit flip of a real file (header or stream) raises BitstreamError; none decodes to an image."""
    import copy

    if version == 2:
        tiny = copy.deepcopy(tiny)
        tiny.int_scales = None  # a compressor without integer scales writes version 2
    blob = tiny.compress(torch.rand(1, 3, 64, 64), rate=0.0)
    assert bitstream.unpack(blob).version == version
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            with pytest.raises(bitstream.BitstreamError):
                tiny.decompress(bytes(bad))
    for n in range(len(blob)):  # and every truncation
        with pytest.raises(bitstream.BitstreamError):
            tiny.decompress(blob[:n])
    with pytest.raises(bitstream.BitstreamError, match="left"):
        tiny.decompress(blob + b"\0")


def _v1_stream(model, x, rate) -> bytes:
    """The stream a version-1 file held: z then y through CompressAI's own coder."""
    from compressai.ans import BufferedRansEncoder

    z_sym, z_idx, y_sym, y_idx = model.symbols(x, rate)
    enc = BufferedRansEncoder()
    enc.encode_with_indexes(z_sym, z_idx, *model._tables(model.entropy_bottleneck))
    enc.encode_with_indexes(y_sym, y_idx, *model._tables(model.gaussian_conditional))
    return enc.flush()


def test_version_1_files_still_decode(tiny):
    """Files written before the rANS coder changed (CompressAI's coder, version 1) decode as they did."""
    x = torch.rand(1, 3, 64, 64)
    old = bitstream.pack(bitstream.Packet("hf-compressor", 64, 64, 0.5, (_v1_stream(tiny, x, 0.5),), version=1))
    assert torch.equal(tiny.decompress(old), tiny.decompress(tiny.compress(x, 0.5)))


def test_decoder_refuses_other_models_bytes(tiny):
    blob = tiny.compress(torch.rand(1, 3, 64, 64), rate=0.5)
    p = bitstream.unpack(blob)
    foreign = bitstream.pack(bitstream.Packet("hyperprior", p.height, p.width, p.rate, p.streams))
    with pytest.raises(bitstream.BitstreamError, match="hyperprior"):
        tiny.decompress(foreign)
    with pytest.raises(ValueError, match="1×3×H×W"):
        tiny.compress_tensor(torch.rand(2, 3, 64, 64), 0.5)


def test_save_and_load_decode_identically(tiny, tmp_path):
    blob = tiny.compress(torch.rand(1, 3, 64, 64), rate=0.7)
    tiny.save_pretrained(tmp_path / "m", dtype=None)  # full precision: the very same model comes back
    again = HFCompressor.from_pretrained(tmp_path / "m")
    assert torch.equal(again.decompress(blob), tiny.decompress(blob))
    with pytest.raises(FileNotFoundError, match="train one"):
        HFCompressor.from_pretrained(tmp_path / "nothing")


def test_training_smoke_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("FASDIFF_FAST", "1")
    out, exp = tmp_path / "run", tmp_path / "exp"
    args = ["train", "compressor", "--faces", "samples", "--N", "16", "--M", "16", "--steps", "3", "--batch-size", "2",
            "--out", str(out), "--export", str(exp)]
    assert cli.main(args) == 0
    assert (out / "checkpoint" / "model.safetensors").exists() and (exp / "model.safetensors").exists()
    args[args.index("3")] = "5"
    assert cli.main(args) == 0  # resumes at step 3
    import json

    assert json.loads((out / "checkpoint" / "progress.json").read_text())["step"] == 5
    m = HFCompressor.from_pretrained(exp)
    assert m.decompress(m.compress(data.prepare(data.sample_faces(64)[0]), 0.5)).shape == (1, 3, 64, 64)


@requires_weights
@pytest.mark.parametrize("name", ["hf-compressor", "hyperprior"])
def test_shipped_models_trade_bytes_for_quality(name):
    from fasdiff_lite.evaluation import metrics

    model = zoo.load(name)
    faces = data.sample_faces(64)
    sizes, psnrs = [], []
    for rate in (0.0, 0.5, 1.0):
        blobs = [model.compress(data.to_tensor(f), rate) for f in faces]
        sizes.append(np.mean([len(b) for b in blobs]))
        psnrs.append(np.mean([metrics.psnr(f, data.to_image(model.decompress(b))) for f, b in zip(faces, blobs)]))
    assert sizes[0] < sizes[1] < sizes[2]
    assert psnrs[0] < psnrs[1] < psnrs[2]
    # A trained model, not noise: far better than painting each face its mean colour
    # (measured on the two sample faces: flat 11.3 dB, hf-compressor 20.2 dB, hyperprior 19.4 dB at rate 0).
    flat = np.mean([metrics.psnr(f, np.broadcast_to(f.reshape(-1, 3).mean(0).round().astype(np.uint8), f.shape)) for f in faces])
    assert psnrs[0] > flat + 5


@requires_weights
def test_cli_round_trip_on_odd_inputs(tmp_path, capsys):
    face = data.sample_faces(96)[0]
    inputs = {
        "rgb.png": face,
        "gray.png": face[..., 0],
        "rgba.png": np.concatenate([face, np.full(face.shape[:2] + (1,), 200, np.uint8)], -1),
        "odd.jpg": face[:77, :91],
    }
    for name, arr in inputs.items():
        src = tmp_path / name
        Image.fromarray(arr).save(src)
        fsd, out = tmp_path / f"{name}.fsd", tmp_path / f"{name}.out.png"
        assert cli.main(["compress", str(src), "-o", str(fsd), "--rate", "0.6", "--no-align"]) == 0
        assert "bpp" in capsys.readouterr().out
        assert cli.main(["decompress", str(fsd), "-o", str(out)]) == 0
        assert Image.open(out).size == Image.open(src).size


@requires_weights
def test_cli_clear_errors(tmp_path, capsys):
    bad = tmp_path / "bad.fsd"
    good = tmp_path / "good.fsd"
    Image.fromarray(data.sample_faces(64)[0]).save(tmp_path / "f.png")
    assert cli.main(["compress", str(tmp_path / "f.png"), "-o", str(good)]) == 0
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad.write_bytes(bytes(blob))
    assert cli.main(["decompress", str(bad)]) == 1
    assert "corrupt" in capsys.readouterr().err.lower()
    bad.write_bytes(good.read_bytes()[:5])
    assert cli.main(["decompress", str(bad)]) == 1
    (tmp_path / "x.txt").write_text("hi")
    assert cli.main(["compress", str(tmp_path / "x.txt")]) == 1
    assert "not a readable image" in capsys.readouterr().err
    assert cli.main(["compress", str(tmp_path / "f.png"), "--rate", "3"]) == 1
    assert cli.main(["decompress", str(tmp_path / "missing.fsd")]) == 1
    assert "no such file" in capsys.readouterr().err


@requires_weights
def test_cli_never_loses_data(tmp_path, capsys):
    """No command overwrites a file without --force, default names never collide with the input, and folders,
    devices and missing folders are refused with a message (issue: ``compress ec.png`` then ``decompress ec.fsd``
    overwrote the photo ec.png)."""
    src = tmp_path / "ec.png"
    Image.fromarray(data.sample_faces(64)[0]).save(src)
    original = src.read_bytes()
    assert cli.main(["compress", str(src)]) == 0 and (tmp_path / "ec.fsd").exists()
    assert cli.main(["decompress", str(tmp_path / "ec.fsd")]) == 0
    assert src.read_bytes() == original and (tmp_path / "ec.decoded.png").exists()
    capsys.readouterr()
    assert cli.main(["compress", str(src)]) == 1  # ec.fsd exists now
    assert "--force" in capsys.readouterr().err
    assert cli.main(["compress", str(src), "--force", "--rate", "0.1"]) == 0
    assert cli.main(["decompress", str(tmp_path / "ec.fsd"), "-o", str(src)]) == 1 and src.read_bytes() == original
    capsys.readouterr()
    for argv, message in ((["compress", str(src), "-o", str(tmp_path)], "folder"),
                          (["compress", str(src), "-o", str(tmp_path / "nope" / "x.fsd")], "does not exist"),
                          (["decompress", str(tmp_path)], "folder"),
                          (["decompress", str(tmp_path / "ec.fsd"), "-o", str(tmp_path / "ec.fsd")], "input itself")):
        assert cli.main(argv) == 1, argv
        assert message in capsys.readouterr().err, argv
    import os

    if os.path.exists("/dev/zero"):
        assert cli.main(["decompress", "/dev/zero"]) == 1
        assert "regular file" in capsys.readouterr().err


@requires_weights
def test_any_rate_decodes_like_the_model_sees_it():
    """Regression: the encoder used the exact rate while the decoder rebuilt the gain from the 16-bit rate
    in the header; at some rates the range decoder desynchronised (about 10 dB faces)."""
    from fasdiff_lite.evaluation import metrics
    from fasdiff_lite.models.compressor import pad

    model = zoo.load("hf-compressor")
    face = data.sample_faces(64)[0]
    x = data.to_tensor(face)
    for rate in np.linspace(0.01, 0.99, 25) + 1e-6:  # off the 16-bit grid
        decoded = data.to_image(model.decompress(model.compress(x, float(rate))))
        with torch.no_grad():
            reference = data.to_image(model.forward_rate(pad(x), float(rate))["x_hat"].clamp(0, 1))
        assert metrics.psnr(face, decoded) > metrics.psnr(face, reference) - 0.5, rate


@pytest.mark.parametrize("version", [1, 2])
def test_a_header_that_lies_about_the_size_is_refused_without_work(tiny, version):
    """A valid file relabelled to a larger image must not decode (the old C++ range decoder read past the end of
    the stream and crashed or leaked heap bytes into the image) and must not keep the decoder busy."""
    import time

    x = torch.rand(1, 3, 64, 64)
    streams = bitstream.unpack(tiny.compress(x, 0.3)).streams if version == 2 else (_v1_stream(tiny, x, 0.3),)
    for h, w in ((65, 64), (64, 200), (512, 512), (1024, 1024)):
        lie = bitstream.pack(bitstream.Packet("hf-compressor", h, w, 0.3, streams, version=version))
        t0 = time.perf_counter()
        with pytest.raises(bitstream.BitstreamError):
            tiny.decompress(lie)
        assert time.perf_counter() - t0 < 5, f"{h}×{w}: refused, but only after {time.perf_counter() - t0:.1f} s"
    with pytest.raises(bitstream.BitstreamError, match="MP"):
        tiny.decompress(bitstream.pack(bitstream.Packet("hf-compressor", 4096, 4096, 0.3, streams, version=version)))
    for cut in (1, 4, len(streams[0]) // 2):  # truncated streams
        short = bitstream.pack(bitstream.Packet("hf-compressor", 64, 64, 0.3, (streams[0][:-cut],), version=version))
        with pytest.raises(bitstream.BitstreamError):
            tiny.decompress(short)


def test_images_beyond_the_size_limit_are_refused_when_coding(tiny):
    from fasdiff_lite.models.compressor import MAX_PIXELS

    with pytest.raises(ValueError, match="MP"):
        tiny.compress_tensor(torch.zeros(1, 3, 1, MAX_PIXELS + 1), 0.5)


@requires_weights
def test_cli_compress_aligns_the_face_by_default(tmp_path, capsys):
    """``compress photo`` finds the largest face and codes an aligned 64-px crop (not the whole photo at full size);
    a photo without a face is refused with a message naming --no-align; --no-align codes the photo as it is."""
    from fasdiff_lite import faces

    if not faces.is_available():
        pytest.skip("dlib or its landmark model is not installed")
    photo = np.full((300, 400, 3), 90, np.uint8)
    photo[20:148, 250:378] = data.sample_faces(128)[0]
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert cli.main(["compress", str(tmp_path / "photo.png")]) == 0
    assert bitstream.read(tmp_path / "photo.fsd").height == 64
    assert cli.main(["compress", str(tmp_path / "photo.png"), "-o", str(tmp_path / "whole.fsd"), "--no-align"]) == 0
    assert (bitstream.read(tmp_path / "whole.fsd").height, bitstream.read(tmp_path / "whole.fsd").width) == (300, 400)
    Image.fromarray(np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))).save(tmp_path / "wall.png")
    capsys.readouterr()
    assert cli.main(["compress", str(tmp_path / "wall.png")]) == 1
    assert "--no-align" in capsys.readouterr().err and not (tmp_path / "wall.fsd").exists()

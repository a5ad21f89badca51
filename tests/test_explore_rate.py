"""The rate–distortion explorer: pure views, equal-byte fitting, notebook helpers, and the widget driven
from Python (its slider moves, the views follow, bytes grow with rate)."""
import math

import numpy as np
import pytest
import torch

from fasdiff_lite import bitstream, data, settings
from fasdiff_lite.explore import hf as hx
from fasdiff_lite.explore import rate as rx
from fasdiff_lite.models.compressor import CompressorConfig, HFCompressor, likelihood_bits

SHIPPED = all((settings.ASSETS_DIR / f"compressor/{k}/model.safetensors").exists() for k in ("hf", "hyperprior"))
requires_weights = pytest.mark.skipif(not SHIPPED, reason="shipped compressor weights not present")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    hf = HFCompressor(CompressorConfig(N=16, M=16)).eval()
    plain = HFCompressor(CompressorConfig(N=16, M=16, frequency_branch=False, model_id="hyperprior")).eval()
    for m in (hf, plain):  # untrained y is tiny and would round to zero at every rate: scale it up
        last = m.g_a.tail[-1] if hasattr(m.g_a, "tail") else m.g_a[-1]
        with torch.no_grad():
            last.weight.mul_(100)
            last.bias.mul_(100)
        m.update(force=True)
    return {"hf-compressor": hf, "hyperprior": plain}


@pytest.fixture(scope="module")
def faces():
    return data.sample_faces(64)


def test_rate_views_are_real_files_and_consistent(models, faces):
    v = rx.rate_views(models["hf-compressor"], faces[0], 0.5)
    assert v["image"].shape == (64, 64, 3) and v["image"].dtype == np.uint8
    assert v["bytes"] == len(v["blob"])
    p = bitstream.unpack(v["blob"])
    assert p.model == "hf-compressor" and abs(p.rate - 0.5) < 1e-4
    assert v["bytes"] == v["stream_bytes"] + v["header_bytes"] and v["header_bytes"] <= 16
    assert v["bpp"] == pytest.approx(8 * v["bytes"] / (64 * 64))
    assert v["estimated_bits"] > 0 and math.isfinite(v["overhead_pct"])
    assert 0 < v["ms_ssim"] <= 1 and math.isfinite(v["psnr"])
    # the decoded image is what decompress gives for the file: the views are pure and deterministic
    again = rx.rate_views(models["hf-compressor"], faces[0], 0.5)
    assert again["blob"] == v["blob"] and np.array_equal(again["image"], v["image"])


def test_bytes_grow_with_rate(models, faces):
    sizes = [rx.rate_views(models["hf-compressor"], faces[0], r)["bytes"] for r in (0.0, 0.5, 1.0)]
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), "high", None])
def test_bad_rate_is_a_clear_value_error(models, faces, bad):
    with pytest.raises(ValueError, match="rate"):
        rx.rate_views(models["hf-compressor"], faces[0], bad)


def test_bad_inputs_are_clear_value_errors(models, faces):
    with pytest.raises(ValueError, match="compressor"):
        rx.rate_views("not a model", faces[0], 0.5)
    with pytest.raises(ValueError, match="face"):
        rx.rate_views(models["hf-compressor"], None, 0.5)
    with pytest.raises(ValueError, match="at least one"):
        rx.compare_at_rate({}, faces[0], 0.5)
    with pytest.raises(ValueError, match="codec"):
        rx.compare_at_rate(models, faces[0], 0.5, codecs=("gif",))
    with pytest.raises(ValueError, match="max_bytes"):
        rx.fit_rate(models["hyperprior"], faces[0], 0)
    with pytest.raises(ValueError, match="probabilities"):
        likelihood_bits(torch.tensor([0.5, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        hx.subband_errors(faces[:1], faces[:1, :32, :32])


def test_fit_rate_meets_the_budget(models, faces):
    budget = rx.rate_views(models["hf-compressor"], faces[0], 0.6)["bytes"]
    r, fits = rx.fit_rate(models["hyperprior"], faces[0], budget)
    assert fits and len(models["hyperprior"].compress(data.to_tensor(faces[0]), r)) <= budget
    assert rx.fit_rate(models["hyperprior"], faces[0], 1) == (0.0, False)


def test_compare_at_rate_is_at_equal_bytes(models, faces):
    views = rx.compare_at_rate(models, faces[1], 0.7)
    budget = views["hf-compressor"]["bytes"]
    assert list(views)[:2] == ["hf-compressor", "hyperprior"]
    assert views["hyperprior"]["bytes"] <= budget and "fitted_rate" in views["hyperprior"]
    for codec in ("jpeg", "webp"):
        if codec in views and views[codec]["fits"]:
            assert views[codec]["bytes"] <= budget


def test_likelihood_bits():
    assert float(likelihood_bits(torch.full((8,), 0.5))) == pytest.approx(8.0)
    assert float(likelihood_bits({"y": torch.full((4,), 0.25), "z": torch.ones(3)})) == pytest.approx(8.0)
    p = torch.full((4,), 0.5, requires_grad=True)
    likelihood_bits([p]).backward()  # differentiable: the rate term of a loss
    assert p.grad is not None


def test_estimate_is_close_to_the_streams(models, faces):
    """The range coder spends about what −Σ log₂ p says (a few bytes per stream of overhead)."""
    m = models["hf-compressor"]
    v = rx.rate_views(m, faces[0], 0.8)
    est = rx.estimated_bits(m, faces[0], 0.8)
    assert est["total"] == pytest.approx(est["y"] + est["z"]) == pytest.approx(v["estimated_bits"])
    assert abs(8 * v["stream_bytes"] - est["total"]) < 0.25 * est["total"] + 64


def test_quantization_demo_noise_matches_rounding(models, faces):
    d = rx.quantization_demo(models["hf-compressor"], faces[0], 0.8)
    assert d["u"].shape == d["rounded"].shape == d["noisy"].shape
    assert np.all(np.abs(d["rounded"] - d["u"]) <= 0.5 + 1e-6) and np.all(np.abs(d["noisy"] - d["u"]) <= 0.5 + 1e-6)
    assert d["noise_mse"] == pytest.approx(1 / 12, abs=0.03)
    assert d["bits_noise"] > 0 and d["bits_rounding"] > 0


def test_bitstream_anatomy_adds_up(models, faces):
    blob = rx.rate_views(models["hf-compressor"], faces[0], 0.5)["blob"]
    rows = rx.bitstream_anatomy(blob)
    assert sum(b for _, b in rows) == len(blob)
    assert rows[0] == ("magic FA 5D", 2) and rows[-1][0].startswith("stream") and len(rows) == 7  # 6 header fields + stream
    with pytest.raises(bitstream.BitstreamError):
        rx.bitstream_anatomy(b"not a file")


def test_subband_errors_add_up_to_the_mse(faces, rng):
    noisy = np.clip(faces.astype(int) + rng.integers(-20, 21, faces.shape), 0, 255).astype(np.uint8)
    errs = hx.subband_errors(faces, noisy, levels=2)
    assert list(errs) == ["LL", "H2", "V2", "D2", "H1", "V1", "D1"]
    mse = np.mean((faces / 255.0 - noisy / 255.0) ** 2)
    assert sum(errs.values()) == pytest.approx(mse, rel=1e-4)
    assert all(v == 0 for v in hx.subband_errors(faces, faces).values())


def test_plots_draw(models, faces):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errs = {"a": hx.subband_errors(faces[:1], faces[:1] // 2 * 2), "b": hx.subband_errors(faces[:1], faces[:1] // 4 * 4)}
    ax = hx.plot_band_errors(errs)
    assert len(ax.patches) == 2 * 7
    fig = hx.plot_side_by_side(faces[0], {"x": faces[0]}, box=(10, 10, 24))
    assert len(fig.axes) == 4
    rx.plot_quantization(rx.quantization_demo(models["hf-compressor"], faces[0], 0.5))
    plt.close("all")


def test_widget_slider_drives_the_views(models, faces):
    ipywidgets = pytest.importorskip("ipywidgets")
    box = rx.rate_explorer(models, faces, codecs=("jpeg", "webp"), rate=0.1, curve_rates=[0.0, 1.0])
    assert isinstance(box, ipywidgets.VBox)
    ex = box.explorer
    low = {k: dict(v) for k, v in ex.views.items()}
    png_low = ex.images["hf-compressor"].value
    plot_low = ex.plot.value
    ex.slider.value = 0.9  # what a user's drag does
    high = ex.views
    assert high["hf-compressor"]["rate"] == pytest.approx(0.9, abs=1e-4)
    assert high["hf-compressor"]["bytes"] > low["hf-compressor"]["bytes"]
    assert high["hyperprior"]["bytes"] <= high["hf-compressor"]["bytes"]
    assert ex.images["hf-compressor"].value != png_low and ex.plot.value != plot_low
    assert f"{high['hf-compressor']['bytes']} B" in ex.captions["hf-compressor"].value
    ex.face_picker.value = 1  # another face: new views
    assert not np.array_equal(ex.views["hf-compressor"]["image"], high["hf-compressor"]["image"])
    ex.metric.value = "ms_ssim"
    assert ex.plot.value


def test_widget_rejects_bad_faces(models):
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="faces"):
        rx.rate_explorer(models, np.zeros((0, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="rate"):
        rx.rate_explorer(models, data.sample_faces(64), rate=2.0)


def test_missing_shipped_weights_say_so(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "ASSETS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="shipped weights"):
        rx.shipped_models()


@requires_weights
def test_shipped_models_in_the_explorer(faces):
    pytest.importorskip("ipywidgets")
    ex = rx.RateExplorer(None, faces, curve_rates=[0.0, 1.0], rate=0.2)
    small = ex.views["hf-compressor"]["bytes"]
    ex.slider.value = 0.8
    assert ex.views["hf-compressor"]["bytes"] > small
    assert ex.views["hf-compressor"]["psnr"] > 20


@requires_weights
def test_decoded_files_match_the_model_at_every_slider_rate(faces):
    """Regression: encoding at a rate off the header's 16-bit grid made the decoder rebuild a slightly
    different gain and desynchronise the range coder (garbage faces, ~10 dB, at these rates)."""
    m = rx.shipped_models(("hf-compressor",))["hf-compressor"]
    for r in (0.19, 0.27, 0.35, 0.41, 0.49, 0.71, 0.95):  # each desynchronised a sample face before
        for face in faces:
            v = rx.rate_views(m, face, r)
            with torch.no_grad():
                x_hat = m.forward_rate(data.to_tensor(face), v["rate"])["x_hat"].clamp(0, 1)
            assert abs(v["psnr"] - data_psnr(face, x_hat)) < 0.5, (r, v["psnr"])


def data_psnr(face, x_hat):
    from fasdiff_lite.evaluation import metrics

    return metrics.psnr(data.to_tensor(face), x_hat)


def test_bit_map_adds_up_to_the_file_and_lies_where_the_face_is(models, faces):
    """Where the bits go: the per-position maps add up to the entropy model's estimate (and so, within the
    coder's overhead, to the real stream); the map has one cell per 16 px of the image (64 px for z); the overlay
    is an image of the face's size."""
    m = models["hf-compressor"]
    bm = m.bit_map(faces[0], 0.8)
    est = rx.estimated_bits(m, faces[0], 0.8)
    assert bm["y"].shape == (4, 4) and bm["z"].shape == (1, 1) and bm["size"] == (64, 64)
    assert bm["y_bits"] == pytest.approx(est["y"], rel=1e-4) and bm["z_bits"] == pytest.approx(est["z"], rel=1e-4)
    assert float(bm["y"].sum()) == pytest.approx(bm["y_bits"]) and (bm["y"] >= 0).all()
    odd = m.bit_map(np.asarray(faces[0])[:40, :50], 0.8)  # padded to 64: only the image's own cells are kept
    assert odd["y"].shape == (3, 4) and odd["size"] == (40, 50)
    over = rx.bit_map_overlay(faces[0], bm["y"])
    assert over.shape == (64, 64, 3) and over.dtype == np.uint8
    with pytest.raises(ValueError, match="bits"):
        rx.bit_map_overlay(faces[0], np.full((4, 4), np.nan))


@requires_weights
def test_shipped_bit_map_spends_on_the_face_not_on_flat_areas():
    """With the shipped compressor: a flat grey square costs a fraction of a face's bits, and in a face pasted on a
    flat background the background's cells cost less than the face's."""
    from fasdiff_lite.models import zoo

    m = zoo.cached("hf-compressor")
    face = data.sample_faces(64)[0]
    on_face = m.bit_map(face, 0.5)
    assert m.bit_map(np.full((64, 64, 3), 128, np.uint8), 0.5)["y_bits"] < 0.5 * on_face["y_bits"]
    canvas = np.full((64, 128, 3), 128, np.uint8)
    canvas[:, 64:] = face
    half = m.bit_map(canvas, 0.5)["y"]
    assert half[:, :4].sum() < half[:, 4:].sum()

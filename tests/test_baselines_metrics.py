import math

import numpy as np
import pytest
import torch

from fasdiff_lite import data
from fasdiff_lite.evaluation import baselines, metrics


def test_available_codecs_include_jpeg_and_webp():
    assert {"jpeg", "webp"} <= set(baselines.available_codecs())


@pytest.mark.parametrize("codec", baselines.available_codecs())
def test_round_trip_and_quality_order(codec, sample_faces):
    face = sample_faces[0]
    lo, hi = baselines.CODECS[codec][1]
    small, big = baselines.encode(face, codec, lo + 5), baselines.encode(face, codec, hi - 5)
    assert len(small) < len(big)
    dec_small, dec_big = baselines.decode(small), baselines.decode(big)
    assert dec_big.shape == face.shape and dec_big.dtype == np.uint8
    assert metrics.psnr(face, dec_big) > metrics.psnr(face, dec_small)


@pytest.mark.parametrize("codec", baselines.available_codecs())
@pytest.mark.parametrize("budget", [300, 800, 2000])
def test_fit_bytes_is_best_fitting_quality(codec, budget, sample_faces):
    face = sample_faces[1]
    res = baselines.fit_bytes(face, codec, budget)
    assert res.num_bytes == len(res.data) and res.bpp() == pytest.approx(8 * res.num_bytes / 64**2)
    if res.fits:
        assert res.num_bytes <= budget
        hi = baselines.CODECS[codec][1][1]
        if res.quality < hi:  # one step up no longer fits (or the search kept the best it saw)
            assert len(baselines.encode(face, codec, res.quality + 1)) > budget or res.quality + 1 == hi
    else:
        assert res.quality == baselines.CODECS[codec][1][0] and res.num_bytes > budget


def test_fit_bytes_reports_unreachable_budget(sample_faces):
    res = baselines.fit_bytes(sample_faces[0], "jpeg", 50)  # JPEG headers alone exceed 50 bytes
    assert not res.fits and res.num_bytes > 50


def test_bad_codec_and_quality(sample_faces):
    with pytest.raises(ValueError, match="unknown codec"):
        baselines.encode(sample_faces[0], "gif", 50)
    with pytest.raises(ValueError, match="quality"):
        baselines.encode(sample_faces[0], "jpeg", 500)
    with pytest.raises(data.ImageError):
        baselines.decode(b"not an image")


def test_bpp_counts_whole_bytes():
    assert metrics.bpp(512, 64, 64) == 1.0
    with pytest.raises(ValueError):
        metrics.bpp(10, 0, 64)


def test_psnr_known_values(rng):
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert metrics.psnr(a, a) == math.inf
    b = a.astype(int).copy()
    b[..., 0] ^= 1  # flip the lowest bit of one channel: MSE = (1/255)² / 3
    assert metrics.psnr(a, b.astype(np.uint8)) == pytest.approx(10 * math.log10(3 * 255**2), rel=1e-4)


def test_ssim_identity_and_order(sample_faces, rng):
    a = sample_faces[0]
    noisy = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    noisier = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(a, a) == pytest.approx(1.0) and metrics.ms_ssim(a, a) == pytest.approx(1.0)
    assert 1 > metrics.ssim(a, noisy) > metrics.ssim(a, noisier) > 0
    assert 1 > metrics.ms_ssim(a, noisy) > metrics.ms_ssim(a, noisier) > 0


def test_ms_ssim_scales_by_size():
    assert [metrics.ms_ssim_scales(s) for s in (32, 64, 128, 160, 161, 256, 512)] == [2, 3, 4, 4, 5, 5, 5]
    with pytest.raises(ValueError):
        metrics.ms_ssim_scales(8)


def test_agrees_with_pytorch_msssim(rng):
    pm = pytest.importorskip("pytorch_msssim")
    a = torch.from_numpy(rng.random((2, 3, 256, 256), dtype=np.float32))
    b = (a + 0.1 * torch.from_numpy(rng.standard_normal((2, 3, 256, 256), dtype=np.float32))).clamp(0, 1)
    assert metrics.ssim(a, b) == pytest.approx(float(pm.ssim(a, b, data_range=1.0)), abs=1e-5)
    assert metrics.ms_ssim(a, b) == pytest.approx(float(pm.ms_ssim(a, b, data_range=1.0)), abs=1e-5)


def test_shape_mismatch_is_clear(sample_faces):
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(sample_faces[0], sample_faces[0][:32])


def test_summary(sample_faces):
    s = metrics.summary(sample_faces[0], sample_faces[1], num_bytes=256)
    assert set(s) == {"psnr", "ssim", "ms_ssim", "bytes", "bpp"} and s["bpp"] == 0.5

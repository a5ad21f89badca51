import numpy as np
import pytest
import pywt
import torch

from fasdiff_lite import frequency as fq


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4", "sym4", "coif1"])
@pytest.mark.parametrize("levels", [1, 3])
def test_dwt_matches_pywavelets_and_reconstructs(wavelet, levels):
    x = torch.rand(2, 3, 32, 64)
    coeffs = fq.dwt2(x, wavelet, levels)
    ref = pywt.wavedec2(x.numpy(), wavelet, mode="periodization", level=levels, axes=(-2, -1))
    assert np.abs(coeffs[0].numpy() - ref[0]).max() < 1e-5
    for ours, theirs in zip(coeffs[1:], ref[1:]):
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape and np.abs(a.numpy() - b).max() < 1e-5
    assert (fq.idwt2(coeffs, wavelet) - x).abs().max() < 1e-5


def test_dwt_is_differentiable_and_energy_preserving():
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    coeffs = fq.dwt2(x, "db2", 2)
    bands = fq.split_bands(coeffs)
    total = sum(b.pow(2).sum() for b in bands.values())
    assert torch.allclose(total, x.pow(2).sum(), rtol=1e-5)
    total.backward()
    assert torch.allclose(x.grad, 2 * x, atol=1e-5)  # d/dx ||Wx||² = 2x for orthogonal W


def test_band_names_and_keep_bands():
    assert fq.band_names(2) == ["LL", "H2", "V2", "D2", "H1", "V1", "D1"]
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(fq.keep_bands(x, fq.band_names(2), "haar", 2), x, atol=1e-6)
    ll_only = fq.keep_bands(x, ["LL"], "haar", 2)
    assert torch.allclose(ll_only, torch.nn.functional.interpolate(fq.low_band(x, "haar", 2), scale_factor=4, mode="nearest"), atol=1e-6)
    with pytest.raises(ValueError, match="unknown band"):
        fq.keep_bands(x, ["LL", "Q7"], "haar", 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="divisible"):
        fq.dwt2(torch.rand(1, 3, 30, 30), "haar", 2)
    with pytest.raises(ValueError, match="N×C×H×W"):
        fq.dwt2(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="unknown wavelet"):
        fq.dwt2(torch.rand(1, 1, 8, 8), "nope")
    with pytest.raises(ValueError, match="orthogonal"):
        fq.dwt2(torch.rand(1, 1, 8, 8), "bior2.2")


def test_high_and_low_bands_shapes():
    x = torch.rand(2, 3, 64, 64)
    assert fq.high_bands(x).shape == (2, 9, 32, 32)
    assert fq.low_band(x, levels=2).shape == (2, 3, 16, 16)
    flat = torch.full((1, 3, 16, 16), 0.5)
    assert fq.high_bands(flat).abs().max() < 1e-6  # a flat image has no detail
    assert torch.allclose(fq.low_band(flat, levels=2), torch.full((1, 3, 4, 4), 0.5), atol=1e-6)


def test_band_energy_sums_to_one_and_smooth_images_live_in_ll():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    smooth = torch.sin(2 * torch.pi * xx)[None, None].repeat(1, 3, 1, 1)
    e = fq.band_energy(smooth, "haar", 3)
    assert abs(sum(e.values()) - 1) < 1e-6
    assert e["LL"] > 0.9
    noise = torch.rand(1, 3, 64, 64)
    en = fq.band_energy(noise, "haar", 3)
    assert en["LL"] < 0.1 and sum(en[k] for k in ("H1", "V1", "D1")) > 0.6  # white noise: 3/4 in level 1


def test_fourier_split():
    x = torch.rand(2, 3, 32, 32)
    low, high = fq.fourier_split(x, 0.3)
    assert torch.allclose(low + high, x, atol=1e-6)
    assert torch.allclose(fq.fourier_split(x, 2.0)[0], x, atol=1e-5)  # everything passes
    low0, _ = fq.fourier_split(x, 0.0)
    assert torch.allclose(low0, x.mean(dim=(-2, -1), keepdim=True).expand_as(x), atol=1e-5)  # only DC
    g_low, _ = fq.fourier_split(x, 0.3, kind="gaussian")
    assert g_low.std() < x.std()
    with pytest.raises(ValueError):
        fq.fourier_split(x, 0.3, kind="square")


def test_radial_power_and_psnr_drop(sample_faces):
    from fasdiff_lite import data

    x = data.to_tensor(sample_faces)
    f, p = fq.radial_power(x, 32)
    assert len(f) == len(p) == 32 and p[0] > p[-1] * 100  # faces: power falls steeply with frequency
    drops = fq.band_psnr_drop(x, "haar", 3)
    vals = list(drops.values())
    assert vals[0] > vals[1] > vals[2] > 15  # losing more levels costs more


def test_pictures(sample_faces):
    import matplotlib

    matplotlib.use("Agg")
    from fasdiff_lite import data

    x = data.to_tensor(sample_faces)
    m = fq.mosaic(fq.dwt2(x[:1], "haar", 2))
    assert m.shape == (64, 64, 3) and 0 <= m.min() and m.max() <= 1
    assert fq.plot_subbands(x, "db2", 2) is not None
    assert fq.plot_band_energy(fq.band_energy(x)) is not None

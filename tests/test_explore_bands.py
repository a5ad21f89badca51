"""The notebook explorers: the pure view functions compute the right things, and the widgets recompute when
their controls are driven from code (no display needed)."""
import math

import numpy as np
import pytest
import torch

pytest.importorskip("ipywidgets")

from fasdiff_lite import data, frequency  # noqa: E402
from fasdiff_lite.evaluation import metrics  # noqa: E402
from fasdiff_lite.explore import bands as W  # noqa: E402
from fasdiff_lite.explore import common  # noqa: E402


@pytest.fixture(scope="module")
def face(sample_faces):
    return sample_faces[0]


# ------------------------------------------------------------------------------------ frequency_views
def test_views_shapes_and_types(face):
    v = W.frequency_views(face, "haar", 2, None, 0.25)
    for key in ("original", "reconstruction", "fourier_low", "fourier_high"):
        assert v[key].shape == (64, 64, 3) and v[key].dtype == np.uint8, key
    assert v["error"].shape == (64, 64) and v["fourier_mask"].shape == (64, 64)
    assert v["mosaic"].shape == (64, 64, 3) and 0 <= v["mosaic"].min() and v["mosaic"].max() <= 1
    assert v["bands"] == frequency.band_names(2) and v["keep"] == v["bands"]
    assert set(v["psnr"]) == {"wavelet", "fourier_low", "fourier_high"}
    assert np.array_equal(v["original"], face)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_keeping_every_band_is_lossless(face, wavelet):
    v = W.frequency_views(face, wavelet, 2, None, 0.25)
    assert math.isinf(v["psnr"]["wavelet"]) or v["psnr"]["wavelet"] > 50
    assert v["error"].max() <= 1 / 255 + 1e-6
    assert v["kept_energy"] == pytest.approx(1.0, abs=1e-6)


def test_reconstruction_matches_keep_bands(face):
    v = W.frequency_views(face, "db2", 3, ["LL", "H3", "V3", "D3"], 0.3)
    ref = data.to_image(frequency.keep_bands(data.to_tensor(face), ["LL", "H3", "V3", "D3"], "db2", 3).clamp(0, 1))
    assert np.array_equal(v["reconstruction"], ref)
    assert v["psnr"]["wavelet"] == pytest.approx(metrics.psnr(face, ref))
    e = frequency.band_energy(data.to_tensor(face), "db2", 3)
    assert v["kept_energy"] == pytest.approx(e["LL"] + e["H3"] + e["V3"] + e["D3"])


def test_dropping_bands_lowers_psnr_monotonically(face):
    names = frequency.band_names(3)
    psnrs = [W.frequency_views(face, "haar", 3, names[:n], 0.25)["psnr"]["wavelet"] for n in (10, 7, 4, 1)]
    assert all(a > b for a, b in zip(psnrs, psnrs[1:])), psnrs


def test_fourier_views(face):
    lo = W.frequency_views(face, "haar", 2, None, 0.1)
    hi = W.frequency_views(face, "haar", 2, None, 0.6)
    assert hi["psnr"]["fourier_low"] > lo["psnr"]["fourier_low"]  # a wider low-pass keeps more of the face
    assert hi["psnr"]["fourier_high"] < lo["psnr"]["fourier_high"]  # ... and leaves less in the high-pass
    assert hi["fourier_mask"].sum() > lo["fourier_mask"].sum()
    assert lo["fourier_mask"][32, 32] == 1.0  # DC sits in the middle after fftshift
    everything = W.frequency_views(face, "haar", 2, None, math.sqrt(2))
    assert np.abs(everything["fourier_low"].astype(int) - face.astype(int)).max() <= 1
    g = W.frequency_views(face, "haar", 2, None, 0.25, kind="gaussian")
    assert 0 < g["fourier_mask"].min() < g["fourier_mask"].max() == pytest.approx(1.0)


def test_views_accept_tensors_and_128_px():
    face = data.sample_faces(128)[1]
    v = W.frequency_views(data.to_tensor(face), "db4", 4, ["LL"], 0.5)
    assert v["original"].shape == (128, 128, 3) and v["keep"] == ["LL"]


def test_bad_arguments_raise_clear_errors(face):
    with pytest.raises(ValueError, match="unknown wavelet"):
        W.frequency_views(face, "nope", 2)
    with pytest.raises(ValueError, match="orthogonal"):
        W.frequency_views(face, "bior2.2", 2)
    with pytest.raises(ValueError, match="out of range.*1…3"):
        W.frequency_views(face, "db4", 4)  # a 64-px side is too short for 4 levels of an 8-tap filter
    with pytest.raises(ValueError, match="levels=0"):
        W.frequency_views(face, "haar", 0)
    with pytest.raises(ValueError, match="whole number"):
        W.frequency_views(face, "haar", 1.5)
    with pytest.raises(ValueError, match="out of range"):
        W.frequency_views(face, "haar", 7)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="cutoff"):
            W.frequency_views(face, "haar", 2, None, bad)
    with pytest.raises(ValueError, match="unknown band"):
        W.frequency_views(face, "haar", 2, ["LL", "H3"])
    with pytest.raises(ValueError, match="kind"):
        W.frequency_views(face, "haar", 2, None, 0.2, kind="box")
    with pytest.raises(ValueError, match="square"):
        W.frequency_views(np.zeros((64, 48, 3), np.uint8), "haar", 2)


def test_max_levels():
    assert W.max_levels(64, "haar") == 6
    assert W.max_levels(64, "db4") == 3
    assert W.max_levels(128, "db4") == 4
    assert W.max_levels(96, "haar") == 5  # 96 = 3·32: five halvings
    with pytest.raises(ValueError, match="unknown wavelet"):
        W.max_levels(64, "nope")


# ------------------------------------------------------------------------------------------- explorer
@pytest.fixture()
def explorer(sample_faces):
    return W.frequency_explorer(sample_faces, ["a", "b"], draw=False)


def test_explorer_builds_with_defaults():
    ex = W.frequency_explorer(draw=False)
    names = [label for label, _ in ex.face.options]
    assert names[: len(data.sample_names())] == [n.replace("_", " ") for n in data.sample_names()]
    assert ex.views is not None and ex.views["original"].shape == (64, 64, 3)
    assert set(ex.wavelet.options) >= {"haar", "db2", "db4"}
    assert "PSNR" in ex.info.value


def test_explorer_controls_drive_the_views(explorer, sample_faces):
    ex = explorer
    assert ex.keep == frequency.band_names(2) and math.isinf(ex.views["psnr"]["wavelet"])
    n = ex.renders

    ex.band_boxes["H1"].value = False
    assert ex.renders == n + 1 and "H1" not in ex.views["keep"]
    assert ex.views["psnr"]["wavelet"] < 60

    ex.set_keep(["LL"])
    assert ex.renders == n + 2 and ex.views["keep"] == ["LL"]
    expect = W.frequency_views(sample_faces[0], "haar", 2, ["LL"], 0.25)
    assert np.array_equal(ex.views["reconstruction"], expect["reconstruction"])

    before = ex.views["psnr"]["fourier_low"]
    ex.cutoff.value = 0.6
    assert ex.views["psnr"]["fourier_low"] > before and ex.views["cutoff"] == 0.6

    ex.face.value = 1
    assert np.array_equal(ex.views["original"], sample_faces[1])

    ex.kind.value = "gaussian"
    assert ex.views["kind"] == "gaussian"


def test_explorer_levels_rebuild_the_band_checkboxes(explorer):
    ex = explorer
    ex.band_boxes["D1"].value = False
    n = ex.renders
    ex.levels.value = 3
    assert ex.renders == n + 1  # one redraw, not one per new checkbox
    assert list(ex.band_boxes) == frequency.band_names(3)
    assert not ex.band_boxes["D1"].value and ex.band_boxes["H3"].value  # old choices kept, new bands ticked
    assert ex.views["levels"] == 3 and "D1" not in ex.views["keep"]
    ex.all_button.click()
    assert ex.keep == frequency.band_names(3)
    ex.ll_button.click()
    assert ex.keep == ["LL"]


def test_explorer_clamps_levels_to_wavelet_and_size(explorer):
    ex = explorer
    ex.levels.value = 5
    n = ex.renders
    ex.wavelet.value = "db4"
    assert ex.levels.max == 3 and ex.levels.value == 3 and ex.error is None
    assert ex.renders == n + 1 and ex.views["wavelet"] == "db4" and list(ex.band_boxes) == frequency.band_names(3)
    ex.size.value = 128
    assert ex.levels.max == 4 and ex.views["original"].shape == (128, 128, 3)
    ex.levels.value = 4
    ex.size.value = 64
    assert ex.levels.value == 3 and ex.views["original"].shape == (64, 64, 3)


def test_explorer_draws_into_its_output(sample_faces):
    ex = W.frequency_explorer(sample_faces[:1], draw=True)
    assert ex.renders == 1 and bytes(ex.out.value).startswith(b"\x89PNG")
    first = bytes(ex.out.value)
    ex.cutoff.value = 0.4
    assert ex.renders == 2 and bytes(ex.out.value).startswith(b"\x89PNG") and bytes(ex.out.value) != first


def test_explorer_argument_errors(sample_faces):
    with pytest.raises(ValueError, match="names"):
        W.frequency_explorer(sample_faces, ["only one"], draw=False)
    with pytest.raises(ValueError, match="empty"):
        W.frequency_explorer([], draw=False)
    with pytest.raises(ValueError, match="size"):
        W.frequency_explorer(sample_faces, size=100, draw=False)
    with pytest.raises(ValueError, match="unknown wavelet"):
        W.frequency_explorer(sample_faces, wavelet="nope", draw=False)
    with pytest.raises(ValueError, match="out of range"):
        W.frequency_explorer(sample_faces, wavelet="db4", levels=5, draw=False)
    with pytest.raises(ValueError, match="cutoff"):
        W.frequency_explorer(sample_faces, cutoff=1.2, draw=False)


def test_single_face_and_show_images(sample_faces):
    ex = W.frequency_explorer(sample_faces[0], draw=False)  # one H×W×3 image is a list of one
    assert [label for label, _ in ex.face.options] == ["face 0"]
    import matplotlib.pyplot as plt

    fig = common.show_images([sample_faces[0], torch.rand(1, 3, 8, 8), np.random.rand(8, 8)], ["a", "b", "c"], cmap="gray")
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "a"
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        common.show_images([sample_faces[0]], ["a", "b"])

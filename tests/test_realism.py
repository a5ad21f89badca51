"""Offline realism metrics: the detail ratio (per face) and the Fréchet distance between descriptor sets."""
import numpy as np
import pytest
import torch

from fasdiff_lite import data, frequency
from fasdiff_lite.evaluation import face_metrics, metrics, realism


def _faces(n=6, seed=0):
    rng = np.random.default_rng(seed)
    base = data.sample_faces(64)
    return np.stack([np.roll(base[i % len(base)], rng.integers(-4, 5), axis=1) for i in range(n)])


def _blur(faces):
    x = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255
    y = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(x, 2), scale_factor=2, mode="bilinear")
    return (y.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


def test_detail_ratio_is_one_for_the_original_below_for_blur_above_for_noise():
    faces = _faces()
    assert realism.detail_ratio(faces[0], faces[0]) == pytest.approx(1.0)
    blurred = realism.detail_ratio(faces, _blur(faces))
    assert blurred.shape == (len(faces),) and (blurred < 0.7).all()
    noisy = np.clip(faces + np.random.default_rng(1).normal(0, 12, faces.shape), 0, 255).astype(np.uint8)
    assert (realism.detail_ratio(faces, noisy) > 1.05).all()
    assert isinstance(realism.detail_ratio(faces[0], _blur(faces)[0]), float)
    with pytest.raises(ValueError, match="shape"):
        realism.detail_ratio(faces[:2], faces[:3])


def test_set_detail_ratio_compares_unpaired_sets():
    faces = _faces(6)
    assert realism.set_detail_ratio(faces, faces) == pytest.approx(1.0)
    assert realism.set_detail_ratio(_blur(faces[:4]), faces) < 0.7  # fewer and blurrier: still comparable
    paired = realism.detail_ratio(faces, _blur(faces))
    energy = frequency.detail_energy(torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255)
    assert realism.set_detail_ratio(_blur(faces), faces) == pytest.approx(float((paired * energy.numpy()).sum() / energy.sum()), rel=1e-4)


def test_detail_energy_is_differentiable_and_counts_only_detail():
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    e = frequency.detail_energy(x)
    e.sum().backward()
    assert e.shape == (2,) and x.grad is not None
    flat = torch.full((1, 3, 32, 32), 0.4)
    assert frequency.detail_energy(flat).item() == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    near = metrics.frechet_distance(a, rng.normal(size=(200, 8)))
    shifted = metrics.frechet_distance(a, rng.normal(size=(200, 8)) + 1.0)
    wide = metrics.frechet_distance(a, 2 * rng.normal(size=(200, 8)))
    assert 0 < near < shifted and near < wide
    assert shifted == pytest.approx(8.0, rel=0.3)  # ‖Δμ‖² = 8 dominates
    with pytest.raises(ValueError):
        metrics.frechet_distance(a, a[:, :4])
    with pytest.raises(ValueError):
        metrics.frechet_distance(a[:1], a)


@pytest.mark.skipif(not face_metrics.is_available(), reason="dlib or its models are not installed")
def test_descriptor_frechet_on_faces_grows_with_damage():
    faces = _faces(8)
    ref = face_metrics.descriptors(list(faces))
    mild = realism.descriptor_frechet(list(_blur(faces)), original_descriptors=ref)
    heavy = realism.descriptor_frechet(list(_blur(_blur(_blur(faces)))), original_descriptors=ref)
    assert realism.descriptor_frechet(list(faces), list(faces)) == pytest.approx(0.0, abs=1e-6)
    assert 0 < mild < heavy
    m = face_metrics.evaluate_identity(list(faces), list(_blur(faces)), landmarks=False)
    assert m["descriptor_fd"] == pytest.approx(mild, rel=1e-6)


def _tensor(faces):
    return torch.from_numpy(np.asarray(faces)).permute(0, 3, 1, 2).float() / 255


def test_transplant_detail_keeps_the_coarse_face_and_takes_the_donors_detail():
    faces = _tensor(_faces(4))
    blurred = _tensor(_blur(_faces(4)))
    oracle = realism.transplant_detail(blurred, faces)
    # the original's detail on the blurred face's LL: the detail ratio is back near 1, and the LL is the blur's
    assert np.allclose(realism.detail_ratio(faces, oracle), 1.0, atol=0.05)
    assert torch.allclose(frequency.low_band(oracle), frequency.low_band(blurred), atol=0.02)
    # its own detail back in its place changes nothing; gain 0 on top of its own changes nothing either
    assert torch.allclose(realism.transplant_detail(faces, faces), faces, atol=1e-5)
    assert torch.allclose(realism.transplant_detail(blurred, faces, keep_own=True, gain=0.0), blurred, atol=1e-5)
    # added on top, the energy grows with the gain
    lo, hi = (realism.detail_ratio(faces, realism.transplant_detail(blurred, faces[[1, 2, 3, 0]], keep_own=True,
                                                                      gain=g)).mean() for g in (0.3, 0.6))
    assert realism.detail_ratio(faces, blurred).mean() < lo < hi
    with pytest.raises(ValueError, match="shape"):
        realism.transplant_detail(blurred[:2], faces[:3])


def test_nearest_by_coarse_finds_the_look_alike_and_can_skip_the_face_itself():
    pool = _tensor(_faces(6))
    query = _tensor(_blur(_faces(6)))  # the same faces, blurred: each one's LL is nearest its own original
    assert realism.nearest_by_coarse(query, pool).tolist() == list(range(6))
    other = realism.nearest_by_coarse(query, pool, exclude=range(6))
    assert (other != torch.arange(6)).all()
    with pytest.raises(ValueError, match="one index per query"):
        realism.nearest_by_coarse(query, pool, exclude=[0])
    with pytest.raises(ValueError, match="shape"):
        realism.nearest_by_coarse(query[:, :, :32], pool)


def test_prior_detail_benchmark_reads_its_samples_against_real_faces(capsys):
    """``benchmarks/prior_detail.py``: one row per prior, the VAE's ratio and one cell per step count, three samplers
    each; nonsense arguments refused."""
    from tests.conftest import load_script

    try:
        data.load_faces("shared", split="val", limit=2)
    except data.DataUnavailable:
        pytest.skip("the shared faces are absent")
    bench = load_script("benchmarks/prior_detail.py")
    assert bench.main(["tiny", "--n", "3", "--steps", "1", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cells) == 4 and 0.5 < float(cells[1]) < 1.5
    assert all(len(c.split(" / ")) == 3 for c in cells[2:])
    with pytest.raises(SystemExit):
        bench.main(["tiny", "--n", "1"])

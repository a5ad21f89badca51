import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from fasdiff_lite import data, settings
from tests.conftest import requires_shared


def _png_bytes(arr, mode=None):
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def test_samples_always_available():
    faces = data.load_faces("samples", size=64)
    assert faces.shape == (len(data.sample_names()), 64, 64, 3) and faces.dtype == np.uint8
    assert len(faces) >= 2
    for size in data.SIZES:
        assert data.sample_faces(size).shape[1:] == (size, size, 3)


def test_one_path_round_trip(sample_faces):
    t = data.prepare(sample_faces[0], size=64)
    assert t.shape == (1, 3, 64, 64) and t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1
    assert np.array_equal(data.to_image(t), sample_faces[0])
    batch = data.to_tensor(sample_faces)
    assert batch.shape == (len(sample_faces), 3, 64, 64)
    assert np.array_equal(data.to_image(batch), sample_faces)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a[..., 0],  # grayscale H×W
        lambda a: a[..., :1],  # H×W×1
        lambda a: np.concatenate([a, np.full(a.shape[:2] + (1,), 255, np.uint8)], -1),  # RGBA opaque
        lambda a: a.astype(np.uint16) * 257,  # 16-bit
        lambda a: a.astype(np.float32) / 255,  # float in [0,1]
        lambda a: torch.from_numpy(a).permute(2, 0, 1).float() / 255,  # CHW tensor
        lambda a: Image.fromarray(a).convert("P"),  # palette
        lambda a: Image.fromarray(a[..., 0]).convert("I;16"),  # 16-bit PIL
        lambda a: _png_bytes(a),  # encoded bytes
    ],
)
def test_odd_inputs_are_converted(sample_faces, make):
    out = data.load_image(make(sample_faces[0]))
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[-1] == 3
    assert out.shape[:2] == (64, 64)


def test_rgba_transparent_becomes_white():
    a = np.zeros((16, 16, 4), np.uint8)
    assert (data.load_image(a) == 255).all()


@pytest.mark.parametrize(
    "bad, msg",
    [
        (np.zeros((4, 4, 3), np.uint8), "at least"),
        (np.zeros((3, 16, 16, 3), np.uint8), "shape"),
        (np.zeros((16, 16, 5), np.uint8), "shape"),
        (np.full((16, 16, 3), 2.0, np.float32), r"\[0, 1\]"),
        (np.full((16, 16, 3), np.nan, np.float32), "NaN"),
        (np.full((16, 16, 3), -5, np.int32), r"\[0, 255\]"),
        (b"definitely not an image", "not a readable image"),
        ({"a": 1}, "cannot read an image"),
    ],
)
def test_bad_inputs_raise_clear_errors(bad, msg):
    with pytest.raises(data.ImageError, match=msg):
        data.load_image(bad)


def test_bad_files(tmp_path):
    txt = tmp_path / "notes.png"
    txt.write_text("hello")
    with pytest.raises(data.ImageError, match="not a readable image file"):
        data.load_image(txt)
    with pytest.raises(data.ImageError, match="no such file"):
        data.load_image(tmp_path / "missing.png")
    with pytest.raises(data.ImageError, match="folder"):
        data.load_image(tmp_path)


def test_huge_image_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_PIXELS", 1000)
    with pytest.raises(data.ImageError, match="MP"):
        data.load_image(np.zeros((40, 40, 3), np.uint8))


def test_face_crop_is_square_and_centred():
    a = np.zeros((100, 200, 3), np.uint8)
    a[:, 50:150] = 255  # centre square is white
    c = data.face_crop(a, size=32)
    assert c.shape == (32, 32, 3) and c.min() > 200
    boxed = data.face_crop(a, size=None, box=(0, 0, 20, 20))
    assert boxed.shape == (32, 32, 3)  # 1.6 × 20, clipped at the image corner


def test_folder_and_npz_sources(tmp_path, sample_faces):
    for i, f in enumerate(sample_faces):
        Image.fromarray(f).save(tmp_path / f"face{i}.png")
    (tmp_path / "readme.txt").write_text("not an image")  # ignored by suffix
    (tmp_path / "broken.jpg").write_bytes(b"garbage")  # skipped with a warning
    with pytest.warns(UserWarning, match="skipped 1"):
        faces = data.load_faces(tmp_path, size=32)
    assert faces.shape == (len(sample_faces), 32, 32, 3)
    np.savez(tmp_path / "faces.npz", images=sample_faces)
    assert data.load_faces(tmp_path / "faces.npz", size=48).shape == (len(sample_faces), 48, 48, 3)
    with pytest.raises(data.DataUnavailable):
        data.load_faces(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split"):
        data.load_faces(tmp_path, split="val")


def test_hf_source_gives_clear_error_offline():
    with pytest.raises(data.DataUnavailable):
        data.load_faces("hf:some/faces", limit=2)


def test_shared_missing_is_clear(monkeypatch):
    monkeypatch.setattr(settings, "shared_dir", lambda: None)
    with pytest.raises(data.DataUnavailable, match="shared"):
        data.load_faces("shared")
    assert len(data.load_faces("auto")) == len(data.sample_names())


@requires_shared
def test_fixed_split_is_disjoint_and_129():
    """150 validation faces were drawn; the 21 that are near-duplicates of a training face or of another validation
    face are excluded from both splits (session 12), so training keeps its 680 faces."""
    spec = json.loads((settings.ASSETS_DIR / data.SPLIT_FILE).read_text())
    assert len(spec["val"]) == len(set(spec["val"])) == 129 and len(spec["excluded"]) == 21
    assert not set(spec["val"]) & set(spec["excluded"])
    tr, va = data.split_indices("train"), data.split_indices("val")
    assert len(va) == 129 and len(tr) == 680 and len(tr) + len(va) + len(spec["excluded"]) == spec["n_total"]
    assert not set(tr) & set(va)
    faces = data.load_faces("shared", size=64, split="val")
    assert faces.shape == (129, 64, 64, 3)
    assert data.load_faces("shared", size=128, split="val", limit=3).shape == (3, 128, 128, 3)


@requires_shared
def test_no_validation_face_has_a_near_duplicate_in_training_or_in_validation():
    """Measured before the fix: 16 of the 150 validation faces were the very photos of training faces (RMS 0-0.07
    grey levels), and 5 validation faces were there twice; every figure on them was partly measured on training
    faces. Each validation set is checked against every training set a model of this suite trains on."""
    from fasdiff_lite import face_sets

    train, val = data.load_faces("shared", 64, "train"), data.load_faces("shared", 64, "val")
    assert face_sets.near_duplicates(val, train) == []
    assert face_sets.near_duplicates(val) == []
    # and the check finds what it should: each excluded face has its twin among the faces kept
    everything = data.load_faces("shared", 64, "all")
    spec = json.loads((settings.ASSETS_DIR / data.SPLIT_FILE).read_text())
    with np.load(data.shared_faces_path()) as z:
        names = [str(n) for n in z["names"]]
    excluded = everything[[names.index(n) for n in spec["excluded"]]]
    kept = np.concatenate([train, val])
    assert sorted({i for i, _, _ in face_sets.near_duplicates(excluded, kept)}) == list(range(len(excluded)))


def test_face_dataset_augments(sample_faces):
    ds = data.FaceDataset(sample_faces, augment=True)
    torch.manual_seed(0)
    x = ds[0]
    assert x.shape == (3, 64, 64) and 0 <= x.min() and x.max() <= 1
    plain = data.FaceDataset(sample_faces, augment=False)[0]
    assert torch.allclose(plain, data.to_tensor(sample_faces[0])[0])


def test_cpu_threads_is_one_in_fast_mode_and_checks_its_input(monkeypatch):
    import torch

    from fasdiff_lite import settings

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(settings.FAST_ENV, "1")
        assert settings.cpu_threads() == 1 == torch.get_num_threads()
        assert settings.cpu_threads(2) == 2
        monkeypatch.setenv(settings.FAST_ENV, "0")
        assert settings.cpu_threads() == 2  # full size: left as it is
        with pytest.raises(ValueError, match="at least 1"):
            settings.cpu_threads(0)
    finally:
        torch.set_num_threads(before)


def test_an_image_bomb_is_refused_before_it_is_decoded(tmp_path):
    """A 20 KB PNG declaring 13000×13000 pixels used to be decoded (169 MP, 2.6 GB) before it was refused."""
    import io
    import time
    import warnings

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (13000, 13000)).save(buf, "PNG")
    (tmp_path / "bomb.png").write_bytes(buf.getvalue())
    assert len(buf.getvalue()) < 50_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's own DecompressionBombWarning
        for src in (tmp_path / "bomb.png", buf.getvalue()):
            t0 = time.perf_counter()
            with pytest.raises(data.ImageError, match="MP"):
                data.load_image(src)
            assert time.perf_counter() - t0 < 1.0
    with pytest.raises(data.ImageError, match="MP"):  # 100 MP exactly is over the limit too
        data._check_dims(10_000, 10_000)
    # a folder of photos (fasdiff-lite eval --data) holding only the bomb says why nothing could be read, and the
    # demo's compare refuses it with the same message
    with pytest.raises(data.DataUnavailable, match="169 MP"):
        data.load_faces(tmp_path)
    from fasdiff_lite import demo

    with pytest.raises(data.ImageError, match="169 MP"):
        demo.compare(str(tmp_path / "bomb.png"))

"""The UTKFace and CelebA-identity loaders and the pairs-file reader (fasdiff_lite.face_sets). The reader is tested on
small files written here; tests that read ../shared skip cleanly where it is absent."""
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from fasdiff_lite import data, face_sets, settings
from tests.conftest import requires_shared

MALFORMED = ["24_0_1_20170116220224657 .jpg", "39_1_20170116174525125.jpg", "55_0_0_20170116232725357jpg.chip.jpg",
             "61_1_20170109142408075.jpg", "61_1_20170109150557335.jpg"]


def write(tmp_path, text, name="pairs.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ no shared folder needed
def test_attributes_from_a_name():
    expected = {"age": 25, "gender": "female", "race": "Asian"}
    assert face_sets.utkface_attributes("25_1_2_20170116174525125.jpg") == expected
    assert face_sets.utkface_attributes("folder/100_0_4_1.jpg") == {"age": 100, "gender": "male", "race": "Others"}


@pytest.mark.parametrize("name", MALFORMED + ["25_2_0_2017.jpg", "25_0_5_2017.jpg", "x_0_0_2017.jpg"])
def test_malformed_names_are_refused_clearly(name):
    with pytest.raises(ValueError, match="not a UTKFace name"):
        face_sets.utkface_attributes(name)


def test_absent_sets_raise_data_unavailable(monkeypatch):
    monkeypatch.setattr(settings, "shared_dir", lambda: None)
    for find in (face_sets.utkface_path, face_sets.celeba_identity_dir, face_sets.celeba_pairs):
        with pytest.raises(data.DataUnavailable, match="not here"):
            find()


def test_split_draw_is_deterministic_stratified_and_needs_no_zip():
    names = [f"{age}_{g}_{r}_{i}.jpg" for i, (age, g, r) in
             enumerate((a, g, r) for a in (1, 25, 70) for g in (0, 1) for r in range(5) for _ in range(10))]
    one, two = face_sets.utkface_split(3, 30, names), face_sets.utkface_split(3, 30, names[::-1])
    assert one == two and len(one["val"]) == 30 == len(set(one["val"]))
    assert face_sets.utkface_split(4, 30, names)["val"] != one["val"]
    # 30 strata of 10 names each: a stratified draw of 30 takes exactly one from each
    strata = {face_sets._stratum(n) for n in one["val"]}
    assert len(strata) == 30
    with pytest.raises(ValueError, match="n_val"):
        face_sets.utkface_split(0, len(names), names)


def test_project_layout(tmp_path):
    lines = ["2 2", "a.jpg b.jpg 1", "c.jpg d.jpg 1", "a.jpg c.jpg 0", "b.jpg d.jpg 0", "",
             "e.jpg f.jpg 1", "g.jpg h.jpg 1", "e.jpg g.jpg 0", "a.jpg h.jpg 0"]
    p = face_sets.read_pairs(write(tmp_path, "\n".join(lines) + "\n"))
    assert (len(p), p.n_folds, p.per_fold, p.image_dir) == (8, 2, 2, tmp_path)
    assert p.same.tolist() == [True, True, False, False] * 2
    assert p.fold.tolist() == [0] * 4 + [1] * 4
    assert (p.a[2], p.b[2]) == ("a.jpg", "c.jpg")
    assert p.photos() == [f"{c}.jpg" for c in "abcdefgh"]  # each once, in order of first appearance
    sub = p.subset([1])
    assert (len(sub), sub.n_folds, sub.fold.tolist(), sub.a[0]) == (4, 1, [0] * 4, "e.jpg")
    few = p.subset([0, 1], per_fold=1)  # the first same and the first different pair of each fold
    assert (few.a, few.same.tolist(), few.fold.tolist(), few.per_fold) == (
        ["a.jpg", "a.jpg", "e.jpg", "e.jpg"], [True, False, True, False], [0, 0, 1, 1], 1)


def test_lfw_layout(tmp_path):
    text = "2\t1\nAlice\t1\t2\nAlice\t1\tBob\t3\nCarol 2 14\nDan 1 Eve_Ng 12\n"
    p = face_sets.read_pairs(write(tmp_path, text), image_dir=tmp_path / "lfw")
    assert p.a == ["Alice/Alice_0001.jpg", "Alice/Alice_0001.jpg", "Carol/Carol_0002.jpg", "Dan/Dan_0001.jpg"]
    assert p.b == ["Alice/Alice_0002.jpg", "Bob/Bob_0003.jpg", "Carol/Carol_0014.jpg", "Eve_Ng/Eve_Ng_0012.jpg"]
    assert p.same.tolist() == [True, False, True, False] and p.fold.tolist() == [0, 0, 1, 1]
    assert p.image_dir == tmp_path / "lfw"


def test_a_one_number_header_is_one_fold(tmp_path):
    p = face_sets.read_pairs(write(tmp_path, "1\nAl 1 2\nAl 1 Bo 1\n"))
    assert (p.n_folds, p.per_fold, p.fold.tolist()) == (1, 1, [0, 0])


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("ten 300\n", "line 1: expected the header"),
    ("1 1\na.jpg b.jpg 1\n", "promises 1 folds × 1 same \\+ 1 different = 2 pairs, but 1"),
    ("1 1\na.jpg b.jpg 1\na.jpg b.jpg 2\n", "line 3: expected 'a.jpg b.jpg 1\\|0'"),
    ("1 1\nAl 0 2\nAl 1 Bo 1\n", "line 2: photo number '0'"),
    ("1 1\nAl 1 2\nAl 1 Bo x\n", "line 3: photo number 'x'"),
    ("1 1\n\na.jpg b.jpg 0\nc.jpg d.jpg 1\n", "line 3: a different-person pair where fold 1's same-person"),
    ("1 1\nAl 1 2\nAl 1 3\n", "line 3: a same-person pair where fold 1's different-person"),
])
def test_malformed_pairs_files_name_the_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        face_sets.read_pairs(write(tmp_path, text))


def test_photos_load_from_a_folder_or_a_zip(tmp_path, sample_faces):
    buf = io.BytesIO()
    Image.fromarray(sample_faces[0]).save(buf, format="PNG")
    (tmp_path / "Al").mkdir()
    (tmp_path / "Al" / "Al_0001.jpg").write_bytes(buf.getvalue())
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as z:
        z.writestr("Al/Al_0001.jpg", buf.getvalue())
    pairs = write(tmp_path, "1 1\nAl 1 1\nAl 1 Bo 1\n")
    for where in (tmp_path, tmp_path / "photos.zip"):
        p = face_sets.read_pairs(pairs, image_dir=where)
        assert np.array_equal(p.load("Al/Al_0001.jpg"), sample_faces[0])
        with pytest.raises(data.ImageError):
            p.load("Bo/Bo_0001.jpg")


# ------------------------------------------------------------------ the shared sets
@requires_shared
def test_utkface_names_and_the_malformed_five():
    assert face_sets.utkface_malformed() == MALFORMED
    names = face_sets.utkface_names()
    assert len(names) == 23_317 - 5 and names == sorted(names)


@requires_shared
def test_shipped_split_is_what_write_utkface_split_draws(tmp_path):
    shipped = (settings.ASSETS_DIR / face_sets.UTKFACE_SPLIT_FILE).read_text()
    assert face_sets.write_utkface_split(path=tmp_path / "split.json").read_text() == shipped
    val, train = face_sets.utkface_split_names("val"), face_sets.utkface_split_names("train")
    spec = json.loads(shipped)
    assert len(val) == spec["n_val"] == 1000 and len(spec["excluded"]) == 1  # measured: one UTKFace photo twice
    assert not set(val) & set(train) and not set(spec["excluded"]) & (set(val) | set(train))
    assert sorted(val + train + list(spec["excluded"])) == face_sets.utkface_split_names("all")


@requires_shared
def test_no_validation_face_has_a_near_duplicate_in_any_training_set():
    """Every validation set of the suite (the shared faces' and UTKFace's) against every training set a model trains
    on (the shared train split and UTKFace's train split), at 64 px."""
    from fasdiff_lite import data

    utk_train, _ = face_sets.load_utkface(64, "train")
    utk_val, _ = face_sets.load_utkface(64, "val")
    shared_train, shared_val = data.load_faces("shared", 64, "train"), data.load_faces("shared", 64, "val")
    for val in (utk_val, shared_val):
        for train in (utk_train, shared_train):
            assert face_sets.near_duplicates(val, train) == []
    assert face_sets.near_duplicates(utk_val) == []


def test_validation_faces_refuse_a_set_they_do_not_know():
    with pytest.raises(ValueError, match="choose from shared, utkface"):
        face_sets.validation_faces("celeba_identity", 3)


@requires_shared
def test_validation_faces_are_each_sets_held_out_split(tmp_path, monkeypatch):
    """``validation_faces`` (what decoder_ci and decode_knobs measure on) gives each set's validation split, never
    its training faces."""
    monkeypatch.setenv("FASDIFF_CACHE", str(tmp_path))
    assert np.array_equal(face_sets.validation_faces("shared", 4), data.load_faces("shared", 64, "val")[:4])
    utk = face_sets.validation_faces("utkface", 4)
    assert np.array_equal(utk, face_sets.load_utkface(64, "val", limit=4)[0])
    assert not np.array_equal(utk, face_sets.load_utkface(64, "train", limit=4)[0])


@requires_shared
def test_load_utkface_with_a_limit_decodes_only_those(tmp_path, monkeypatch):
    monkeypatch.setenv("FASDIFF_CACHE", str(tmp_path))
    faces, names = face_sets.load_utkface(32, split="val", limit=3)
    assert faces.shape == (3, 32, 32, 3) and faces.dtype == np.uint8
    assert names == face_sets.utkface_split_names("val")[:3]
    assert not any(tmp_path.iterdir())  # a limited load caches nothing


@requires_shared
def test_the_cache_is_written_once_and_read_back(tmp_path, monkeypatch):
    few = face_sets.utkface_names()[:12]
    monkeypatch.setattr(face_sets, "utkface_names", lambda: few)  # a 12-face "set", to keep it quick
    monkeypatch.setenv("FASDIFF_CACHE", str(tmp_path))
    first, names = face_sets.load_utkface(16)
    assert first.shape == (12, 16, 16, 3) and names == few
    assert len(list((tmp_path / "utkface").glob("utkface_16px_*.npz"))) == 1

    def no_decoding(*args):
        raise AssertionError("the second call should read the cache")

    monkeypatch.setattr(face_sets, "_decode_many", no_decoding)
    again, _ = face_sets.load_utkface(16, limit=5)
    assert np.array_equal(again, first[:5])


@requires_shared
def test_celeba_identity_set_and_protocol():
    ids = face_sets.read_identities()
    assert len(ids) == 5996  # of 298 people; two of them have one photo and no pair
    with face_sets.load_celeba_identity(size=48) as photos:
        assert len(photos) == 5996 and set(photos) == set(ids)
        assert photos["000093.jpg"].shape == (48, 48, 3)
    pairs = face_sets.celeba_pairs()
    assert (len(pairs), pairs.n_folds, pairs.per_fold) == (6000, 10, 300)
    person_a, person_b = np.array([ids[n] for n in pairs.a]), np.array([ids[n] for n in pairs.b])
    assert np.array_equal(person_a == person_b, pairs.same)
    assert len(set(person_a) | set(person_b)) == 296
    fold_of = {}
    for person, fold in zip(np.r_[person_a, person_b], np.r_[pairs.fold, pairs.fold]):
        assert fold_of.setdefault(person, fold) == fold, "a person appears in two folds"


def test_near_duplicates_finds_the_same_photo_and_nothing_else():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    b[7] = np.clip(a[3].astype(int) + rng.integers(-2, 3, a[3].shape), 0, 255)  # a re-encoded copy: RMS ≈ 1.4
    b[9] = np.clip(a[5].astype(int) + 12, 0, 255)  # the same photo made brighter: another picture
    found = face_sets.near_duplicates(a, b)
    assert [(i, j) for i, j, _ in found] == [(3, 7)] and found[0][2] < 2
    a[20] = a[11]
    assert [(i, j) for i, j, _ in face_sets.near_duplicates(a)] == [(11, 20)]
    with pytest.raises(ValueError, match="one size"):
        face_sets.near_duplicates(a, b[:, :8])

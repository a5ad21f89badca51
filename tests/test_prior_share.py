"""fasdiff_lite.evaluation.prior_share (and benchmarks/prior_share.py): inside ``without_prior`` the fusion and the correction see x_fid where the prior's face
was (and nothing else changes), the codec decodes as before after it, and the HF cosine reads 1 for detail that is the
prior's and about 0 for detail that is not (a check that silently left x_gen in place would call the prior's share
zero)."""
import pytest
import torch

from fasdiff_lite import data
from fasdiff_lite.models import zoo
from tests.conftest import load_script, steered

from fasdiff_lite.evaluation import prior_share as share

bench = load_script("benchmarks/prior_share.py")


@pytest.fixture(scope="module")
def codec_and_blob():
    codec = steered(zoo.load("fasdiff", device="cpu").eval())
    return codec, codec.compress(data.to_tensor(data.sample_faces(64)[0]), 0.1)


def test_without_prior_feeds_x_fid_where_x_gen_was(codec_and_blob):
    codec, blob = codec_and_blob
    seen = []
    hook = codec.fusion.register_forward_hook(lambda m, args, kwargs_out: seen.append((args[0], args[1])))
    try:
        with torch.no_grad():
            stages = codec.decode_stages(blob, steps=2, realism=1.0)
            with share.without_prior(codec):
                without = codec.decompress(blob, steps=2, realism=1.0)
            again = codec.decompress(blob, steps=2, realism=1.0)
    finally:
        hook.remove()
    (gen_in, fid_in), (gen_out, fid_out), _ = seen
    assert not torch.allclose(gen_in, fid_in)  # the codec's own decode: the prior's face and x_fid
    assert torch.equal(gen_out, fid_out) and torch.allclose(fid_out, fid_in)  # without the prior: x_fid twice
    assert (without - stages["out"]).abs().max() > 1e-3
    assert torch.equal(again, stages["out"])  # restored


def test_hf_cosine_tells_the_prior_s_detail_from_other_detail():
    g = torch.Generator().manual_seed(0)
    x_fid = torch.rand(4, 3, 16, 16, generator=g)
    x_gen = x_fid + 0.1 * torch.randn(4, 3, 16, 16, generator=g)
    passed_on = [{"out": x_gen[i:i + 1], "x_gen": x_gen[i:i + 1], "x_fid": x_fid[i:i + 1]} for i in range(4)]
    own = [{"out": x_fid[i:i + 1] + 0.1 * torch.randn(1, 3, 16, 16, generator=g), "x_gen": x_gen[i:i + 1],
            "x_fid": x_fid[i:i + 1]} for i in range(4)]
    fid = [x_fid[i:i + 1] for i in range(4)]
    assert share.pixel_readings(passed_on, fid)["hf_cos"] == pytest.approx(1.0, abs=1e-5)
    assert abs(share.pixel_readings(own, fid)["hf_cos"]) < 0.2
    r = share.pixel_readings(passed_on, fid)
    assert r["change"] == pytest.approx(r["gen_vs_fid"])  # a decoder that passes the prior's face on moves as much


def test_refuses_what_has_no_prior():
    with pytest.raises(SystemExit, match="not a diffusion codec"):
        bench.main(["hyperprior", "--rates", "0.1"])
    with pytest.raises(SystemExit, match="realism"):
        bench.main(["fasdiff", "--realism", "0"])

"""benchmarks/decode_knobs.py: each knob changes what the decoder draws inside its block, and nothing after it (a knob
that silently did nothing would measure the codec's own decode and call it a setting)."""
import pytest
import torch

from fasdiff_lite import data
from fasdiff_lite.models import zoo
from tests.conftest import load_script, steered

knobs = load_script("benchmarks/decode_knobs.py")


@pytest.fixture(scope="module")
def codec_and_blob():
    codec = steered(zoo.load("fasdiff", device="cpu").eval())
    return codec, codec.compress(data.to_tensor(data.sample_faces(64)[0]), 0.1)


def decode(codec, blob):
    with torch.no_grad():
        return codec.decompress_many([blob], steps=2, realism=1.0)[0]


@pytest.mark.parametrize("knob, value, reference", [("scale", 0.0, 1.0), ("scale", 2.0, 1.0),
                                                     ("band", (1, 0.5), (2, 0.25)), ("start", 0.4, 1.0),
                                                     ("band", None, (2, 0.25)), ("lfe", "film", "both"),
                                                     ("lfe", "correction", "both")])
def test_a_knob_moves_the_decode_inside_its_block_only(codec_and_blob, knob, value, reference):
    codec, blob = codec_and_blob
    before = decode(codec, blob)
    with knobs.knob_set(codec, knob, reference):  # the codec's own setting: the codec's own decode
        assert torch.allclose(decode(codec, blob), before, atol=1e-6)
    with knobs.knob_set(codec, knob, value):
        moved = decode(codec, blob)
    assert (moved - before).abs().max() > 1e-3
    assert torch.equal(decode(codec, blob), before)  # restored


def test_band_none_is_the_film_alone(codec_and_blob):
    """``--knob band --values none`` and ``--knob lfe --values film`` are the one decode: the correction off."""
    codec, blob = codec_and_blob
    assert knobs.parse_value("band", "none") is None
    with knobs.knob_set(codec, "band", None):
        none = decode(codec, blob)
    with knobs.knob_set(codec, "lfe", "film"):
        assert torch.equal(decode(codec, blob), none)


def test_bad_values_and_codecs_are_refused():
    with pytest.raises(SystemExit, match="LEVELS:CUTOFF"):
        knobs.parse_value("band", "2-0.25")
    with pytest.raises(SystemExit, match="levels must be"):
        knobs.parse_value("band", "5:0.25")
    with pytest.raises(SystemExit, match="film, correction"):
        knobs.parse_value("lfe", "none")
    with pytest.raises(SystemExit, match="numbers"):
        knobs.parse_value("scale", "big")
    with pytest.raises(SystemExit, match="no LFE"):
        knobs.main(["fasdiff-plain", "--knob", "band", "--values", "1:0.5"])
    with pytest.raises(SystemExit, match="not a diffusion codec"):
        knobs.main(["hyperprior", "--knob", "scale", "--values", "1"])

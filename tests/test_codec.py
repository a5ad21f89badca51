"""FaSDiff codec pieces: the hybrid low-frequency module, the visual-prompt control, the codec, its trainer.

These run on a randomly initialised tiny prior and a small compressor (the plumbing, not the quality:
trained results are in the model cards)."""
import json

import pytest
import torch

from fasdiff_lite import bitstream, cli, settings
from fasdiff_lite.models import steering, zoo
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.models.compressor import CompressorConfig, HFCompressor
from fasdiff_lite.models.control import VisualPromptControl
from fasdiff_lite.models.lfe import (HybridLFE, LFEConfig, hybrid_lowpass, lf_consistency_loss, lf_correct, parse_band,
                                     smooth_lowpass)
from fasdiff_lite.models.prior import TinyPrior
from fasdiff_lite.train import fasdiff as fasdiff_train
from tests.conftest import steered


@pytest.fixture(scope="module")
def prior():
    torch.manual_seed(0)
    return TinyPrior.from_config().eval()


@pytest.fixture(scope="module")
def compressor():
    torch.manual_seed(0)
    m = HFCompressor(CompressorConfig(N=16, M=16)).eval()
    m.update(force=True)
    return m


def test_hybrid_lowpass_keeps_coarse_structure():
    x = torch.rand(2, 3, 64, 64)
    ll, lp = hybrid_lowpass(x)
    assert ll.shape == lp.shape == x.shape
    smooth = torch.nn.functional.avg_pool2d(x, 8).repeat_interleave(8, -1).repeat_interleave(8, -2)
    # a low-pass view is much closer to a blurred copy than the original is
    assert (ll - hybrid_lowpass(smooth)[0]).pow(2).mean() < (x - smooth).pow(2).mean()
    assert lf_consistency_loss(x, x) == 0
    # a change in fine detail only barely moves the low-frequency loss; a brightness shift moves it fully
    noise = 0.1 * torch.sign(torch.randn_like(x))
    assert lf_consistency_loss(x, x + noise) < 0.25 * lf_consistency_loss(x, x + 0.1)


def test_lfe_starts_as_identity_modulation():
    lfe = HybridLFE(LFEConfig(residual_channels=(8, 16)))
    res = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8)]
    feats = lfe.features(torch.rand(1, 3, 64, 64), (16, 16))
    out = lfe.modulate(res, feats)
    assert all(torch.equal(a, b) for a, b in zip(out, res))
    with pytest.raises(ValueError, match="modulates 2"):
        lfe.modulate(res[:1], feats)


def test_the_output_correction_takes_its_own_band():
    """``correct_levels/cutoff`` move the output correction only: the features are the same, the correction is
    lf_correct in that band, and a wider band leaves the output closer to x_fid in x_fid's mid frequencies."""
    x_gen, x_fid = torch.rand(2, 1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    own = HybridLFE(LFEConfig(residual_channels=(8,)))
    torch.nn.init.normal_(own.encoder[0].weight)
    wide = HybridLFE(LFEConfig(residual_channels=(8,), correct_levels=1, correct_cutoff=0.5))
    wide.load_state_dict(own.state_dict())
    assert own.config.correct_band() == (2, 0.25) and wide.config.correct_band() == (1, 0.5)
    assert torch.equal(wide.features(x_fid, (16, 16)), own.features(x_fid, (16, 16)))
    assert torch.equal(own.correct(x_gen, x_fid), lf_correct(x_gen, x_fid, "haar", 2, 0.25))
    assert torch.equal(wide.correct(x_gen, x_fid), lf_correct(x_gen, x_fid, "haar", 1, 0.5))
    mid = lambda im: smooth_lowpass(im, "haar", 1, 0.5)  # noqa: E731
    gap = lambda lfe: (mid(lfe.correct(x_gen, x_fid)) - mid(x_fid)).abs().mean()  # noqa: E731
    assert gap(wide) < 0.7 * gap(own)  # (clamping to [0, 1] keeps it from 0)
    with pytest.raises(ValueError, match="LEVELS:CUTOFF"):
        parse_band("1-0.5")
    # correct_output=False: no correction at all (the FiLM alone), the features unchanged
    off = HybridLFE(LFEConfig(residual_channels=(8,), correct_output=False))
    off.load_state_dict(own.state_dict())
    assert torch.equal(off.correct(x_gen, x_fid), x_gen) and not torch.equal(own.correct(x_gen, x_fid), x_gen)
    assert torch.equal(off.features(x_fid, (16, 16)), own.features(x_fid, (16, 16)))
    assert parse_band("none") is None and parse_band("None") is None


def test_zero_initialised_control_leaves_the_prior_unchanged(prior):
    control = VisualPromptControl(prior.unet, prompt_channels=16)
    z = torch.randn(2, 4, 16, 16)
    t = torch.tensor([10, 500])
    res = control(z, t, prior.context, torch.randn(2, 16, 4, 4))
    assert len(res) == len(control.residual_channels)
    assert all(r.abs().max() == 0 for r in res)
    with torch.no_grad():
        assert torch.allclose(prior.predict_noise(z, t, res[:-1], res[-1]), prior.predict_noise(z, t))
    with pytest.raises(ValueError, match="visual prompt"):
        control(z, t, prior.context, torch.randn(2, 5, 4, 4))


@pytest.mark.parametrize("variant", ["fasdiff", "fasdiff-nolfe"])
def test_codec_round_trip_any_size_deterministic(prior, compressor, variant):
    codec = FaSDiffCodec(compressor, prior, variant)
    x = torch.rand(1, 3, 50, 70)
    blob = codec.compress(x, 0.5)
    assert bitstream.unpack(blob).model == variant
    fid = codec.decompress(blob, realism=0)
    assert torch.equal(fid, compressor.decode_packet(bitstream.unpack(blob))[0])
    for steps, realism in ((1, 1.0), (3, 0.4)):
        a = codec.decompress(blob, steps=steps, realism=realism)
        assert a.shape == (1, 3, 50, 70) and 0 <= a.min() and a.max() <= 1
        assert torch.equal(a, codec.decompress(blob, steps=steps, realism=realism))
    for bad in ({"steps": 0}, {"realism": 1.5}, {"realism": float("nan")}):
        with pytest.raises(ValueError):
            codec.decompress(blob, **bad)
    other = "fasdiff-nolfe" if variant == "fasdiff" else "fasdiff"
    p = bitstream.unpack(blob)
    with pytest.raises(bitstream.BitstreamError, match=other):
        codec.decompress(bitstream.pack(bitstream.Packet(other, p.height, p.width, p.rate, p.streams)))


def test_decompress_many_gives_each_file_its_own_decode(prior):
    """Batched decoding (the verification sweep's) is decompress, file by file: each keeps its own noise, and files
    of other sizes or rates go in their own batches, returned in the order given."""
    codec = FaSDiffCodec(zoo.load("hf-compressor"), prior, "fasdiff")  # trained: other faces, other files
    torch.manual_seed(1)
    files = [codec.compress(torch.rand(1, 3, 50, 70), 0.5) for _ in range(3)]
    files += [codec.compress(torch.rand(1, 3, 50, 70), 0.1), codec.compress(torch.rand(1, 3, 64, 64), 0.5),
              codec.compress(torch.rand(1, 3, 50, 70), 0.5)]
    for steps, realism in ((2, 1.0), (3, 0.4), (1, 0.0)):
        one_by_one = [codec.decompress(b, steps=steps, realism=realism) for b in files]
        batched = codec.decompress_many(files, steps=steps, realism=realism, batch_size=2)
        assert len(batched) == len(files)
        for a, b in zip(one_by_one, batched):
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)
        if realism == 1.0:  # the files and their faces differ: a mix-up would be seen
            assert len(set(files)) == len(files) and all(f.std() > 1e-3 for f in one_by_one)
            assert not torch.allclose(one_by_one[0], one_by_one[1], atol=1e-3)
    with pytest.raises(ValueError, match="batch_size"):
        codec.decompress_many(files, batch_size=0)


@pytest.mark.parametrize("steps, realism", [(20, 0.33), (4, 1.0), (7, 0.5), (1, 0.05), (50, 0.9)])
def test_decode_runs_exactly_the_steps_asked(prior, compressor, steps, realism, monkeypatch):
    # regression: steps=20 at realism 0.33 once ran 21 UNet calls
    codec = FaSDiffCodec(compressor, prior, "fasdiff-nolfe")
    blob = codec.compress(torch.rand(1, 3, 32, 32), 0.5)
    calls = []
    real = steering.steered_output

    def counting(prior, control, lfe, z, t, *a, **k):
        calls.append(int(t))
        return real(prior, control, lfe, z, t, *a, **k)

    monkeypatch.setattr(steering, "steered_output", counting)
    codec.decompress(blob, steps=steps, realism=realism)
    assert len(calls) == steps
    assert max(calls) <= round(realism * 999) and calls == sorted(calls, reverse=True)
    with pytest.raises(ValueError, match="1 to 50"):
        codec.decompress(blob, steps=51)
    with pytest.raises(ValueError, match="whole number"):
        codec.decompress(blob, steps=2.5)


def test_low_frequency_correction_is_smooth_and_keeps_detail():
    from fasdiff_lite.explore.lowfreq import block_edge_ratio, correct_with

    lfe = HybridLFE(LFEConfig())
    g = torch.Generator().manual_seed(0)
    smooth = lambda x: torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)  # noqa: E731
    x_gen = smooth(torch.rand(1, 3, 64, 64, generator=g))
    x_fid = smooth(torch.rand(1, 3, 64, 64, generator=g))
    out = lfe.correct(x_gen, x_fid)
    # coarse structure moves to x_fid's, detail stays x_gen's, and no 4-px block grid appears
    lf = lfe.lf_image
    assert (lf(out) - lf(x_fid)).pow(2).mean() < 0.2 * (lf(x_gen) - lf(x_fid)).pow(2).mean()
    assert ((out - lf(out)) - (x_gen - lf(x_gen))).pow(2).mean() < 0.2 * ((x_fid - lf(x_fid)) - (x_gen - lf(x_gen))).pow(2).mean()
    blocks = correct_with(x_gen, x_fid, kind="hybrid-blocks")  # LL as the inverse transform's blocks
    assert block_edge_ratio(out) < 1.3 < block_edge_ratio(blocks)


def test_evaluation_measures_a_fasdiff_codec(prior, compressor):
    import numpy as np

    from fasdiff_lite.evaluation import run as evaluate

    codec = FaSDiffCodec(compressor, prior, "fasdiff")
    faces = (np.random.default_rng(0).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    rows = evaluate.measure_learned(codec, faces, [0.5], progress=False, keep_images=True, steps=2, realism=0.5)
    assert [r["codec"] for r in rows] == ["fasdiff", "fasdiff"]
    assert rows[0]["image"].shape == (32, 32, 3) and rows[0]["estimate_bytes"] > 0
    assert rows[0]["bytes"] == len(codec.compress(torch.from_numpy(faces[0]).permute(2, 0, 1)[None] / 255, 0.5))


def test_codec_save_and_load(prior, compressor, tmp_path, monkeypatch):
    codec = FaSDiffCodec(compressor, prior, "fasdiff")
    torch.nn.init.normal_(codec.lfe.film[0].weight, std=0.01)  # something non-trivial to save
    codec.save_pretrained(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "codec.json").read_text())
    assert meta["variant"] == "fasdiff" and meta["lfe"]["residual_channels"]
    state = codec.trainable_state()
    again = FaSDiffCodec(compressor, prior, "fasdiff", lfe=HybridLFE(LFEConfig(residual_channels=tuple(meta["lfe"]["residual_channels"]))))
    from safetensors.torch import load_file

    loaded = load_file(str(tmp_path / "c" / "control_lfe.safetensors"))
    assert set(loaded) == set(state)
    assert all(loaded[k].dtype == torch.float16 and torch.equal(loaded[k], state[k].half()) for k in state if state[k].is_floating_point())
    for name, module in again.trainable_modules().items():  # control, LFE and the codec's own decoder
        module.load_state_dict({k[len(name) + 1:]: v for k, v in loaded.items() if k.startswith(name + ".")})
    assert all(v.dtype == state[k].dtype and torch.equal(v, state[k].half().to(v.dtype)) for k, v in again.trainable_state().items())
    with pytest.raises(FileNotFoundError, match="train one"):
        FaSDiffCodec.from_pretrained(tmp_path / "nothing", prior=prior)


@pytest.mark.skipif(not (settings.ASSETS_DIR / "compressor/hf/model.safetensors").exists(), reason="needs the shipped compressor")
def test_training_smoke_and_resume(prior, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FASDIFF_FAST", "1")
    prior_dir = prior.save_pretrained(tmp_path / "prior", dtype=None)
    out, exp = tmp_path / "run", tmp_path / "exp"
    args = ["train", "fasdiff", "--prior", str(prior_dir), "--faces", "samples", "--steps", "2", "--batch-size", "2",
            "--out", str(out), "--export", str(exp), "--device", "cpu"]
    assert cli.main(args) == 0
    assert json.loads((out / "checkpoint" / "progress.json").read_text())["step"] == 2
    args[args.index("2")] = "3"
    assert cli.main(args) == 0
    assert json.loads((out / "checkpoint" / "progress.json").read_text())["step"] == 3
    codec = FaSDiffCodec.from_pretrained(exp, prior=prior)
    blob = codec.compress(torch.rand(1, 3, 64, 64), 0.3)
    assert codec.decompress(blob, steps=2).shape == (1, 3, 64, 64)
    assert codec.fusion is None
    # add a fusion and train it alone; continuing from that folder without --fusion keeps the fusion
    fused = tmp_path / "fused"
    base = [a for a in args if a not in ("--out", str(out), "--export", str(exp))]
    assert cli.main(base + ["--init", str(exp), "--fusion", "--train-parts", "fusion", "--no-resume",
                            "--out", str(tmp_path / "r2"), "--export", str(fused)]) == 0
    assert cli.main(base + ["--init", str(fused), "--no-resume", "--out", str(tmp_path / "r3"),
                            "--export", str(tmp_path / "again")]) == 0
    assert FaSDiffCodec.from_pretrained(tmp_path / "again", prior=prior).fusion is not None
    # --init-parts: take only the LFE and the fusion (on a new prior the control and the decoder are copies of the
    # old one's UNet and VAE); the rest start fresh, as a run without --init starts them
    part = tmp_path / "part"
    assert cli.main(base + ["--init", str(fused), "--init-parts", "lfe,fusion", "--lr", "0", "--no-resume",
                            "--out", str(tmp_path / "r4"), "--export", str(part)]) == 0
    src, got = (FaSDiffCodec.from_pretrained(f, prior=prior) for f in (fused, part))
    same = lambda a, b: all(torch.equal(x.half(), y.half()) for x, y in zip(a.state_dict().values(), b.state_dict().values()))  # noqa: E731
    assert same(src.lfe, got.lfe) and same(src.fusion, got.fusion)
    assert not same(src.control, got.control) and not same(src.decoder, got.decoder)
    assert same(prior.unet.down_blocks, got.control.controlnet.down_blocks)  # a fresh copy of the prior's UNet
    assert FaSDiffCodec.read_config(part)["training"]["init_parts"] == "lfe,fusion"
    capsys.readouterr()
    assert cli.main(base + ["--init", str(fused), "--init-parts", "vae", "--no-resume", "--out", str(tmp_path / "r5")]) != 0
    assert "--init-parts: choose from control, lfe, decoder, fusion" in capsys.readouterr().err
    # --lfe-band: the output correction's band is the run's, kept in the folder (the features keep theirs)
    banded = tmp_path / "banded"
    assert cli.main(base + ["--init", str(fused), "--lfe-band", "1:0.35", "--train-parts", "fusion", "--no-resume",
                            "--out", str(tmp_path / "r6"), "--export", str(banded)]) == 0
    lfe = FaSDiffCodec.from_pretrained(banded, prior=prior).lfe
    assert lfe.config.correct_band() == (1, 0.35) and (lfe.config.levels, lfe.config.cutoff) == (2, 0.25)
    assert cli.main(base + ["--init", str(banded), "--train-parts", "fusion", "--no-resume",  # kept by a run from it
                            "--out", str(tmp_path / "r8"), "--export", str(tmp_path / "again-banded")]) == 0
    assert FaSDiffCodec.from_pretrained(tmp_path / "again-banded", prior=prior).lfe.config.correct_band() == (1, 0.35)
    # --lfe-band none: no output correction (from a banded folder too), kept by a run from it; its output is the fusion's
    bare = tmp_path / "bare"
    assert cli.main(base + ["--init", str(banded), "--lfe-band", "none", "--train-parts", "fusion", "--no-resume",
                            "--out", str(tmp_path / "r9"), "--export", str(bare)]) == 0
    assert cli.main(base + ["--init", str(bare), "--train-parts", "fusion", "--no-resume",
                            "--out", str(tmp_path / "r10"), "--export", str(tmp_path / "again-bare")]) == 0
    for folder, corrected in ((banded, True), (bare, False), (tmp_path / "again-bare", False)):
        codec = FaSDiffCodec.from_pretrained(folder, prior=prior)
        assert codec.lfe.config.correct_output is corrected
        stages = codec.decode_stages(codec.compress(torch.rand(1, 3, 64, 64), 0.3), steps=2)
        assert torch.equal(stages["out"], stages["fused"]) is not corrected
    capsys.readouterr()
    assert cli.main(base + ["--variant", "fasdiff-nolfe", "--lfe-band", "1:0.35", "--no-resume",
                            "--out", str(tmp_path / "r7")]) != 0
    assert "no LFE" in capsys.readouterr().err


def test_a_codec_folder_describes_itself(prior, compressor, tmp_path):
    """A codec on a compressor and a prior that are not shipped (random, in memory): save_pretrained writes both
    into the folder, and from_pretrained(folder) alone rebuilds a codec that decodes bit-identically."""
    codec = steered(FaSDiffCodec(compressor, prior, "fasdiff"))
    folder = codec.save_pretrained(tmp_path / "codec", dtype=None)
    meta = json.loads((folder / "codec.json").read_text())
    assert meta["compressor"] == {"folder": "compressor"}
    assert meta["prior"] == {"folder": "prior", "fingerprint": prior.fingerprint()}
    assert meta["control"] == {"prompt_channels": 16, "adapter_channels": 64, "dense_channels": 4}
    assert meta["decoder"] is True
    again = FaSDiffCodec.from_pretrained(folder)
    assert again.compressor.config == compressor.config and again.lfe is not None
    x = torch.rand(1, 3, 48, 40, generator=torch.Generator().manual_seed(2))
    blob = codec.compress(x, 0.4)
    assert again.compress(x, 0.4) == blob
    for steps, realism in ((2, 1.0), (3, 0.5)):
        assert torch.equal(again.decompress(blob, steps=steps, realism=realism), codec.decompress(blob, steps=steps, realism=realism))


@pytest.mark.skipif(not (settings.ASSETS_DIR / "prior/tiny/prior.json").exists(), reason="needs the shipped prior")
def test_a_codec_names_shipped_parts_and_saves_the_others(compressor, tmp_path):
    from fasdiff_lite.models import zoo
    from fasdiff_lite.models.prior_loading import load_prior

    tiny = load_prior("tiny", device="cpu")
    codec = steered(FaSDiffCodec(compressor, tiny, "fasdiff-nolfe"))  # a small random compressor: not shipped
    folder = codec.save_pretrained(tmp_path / "codec", dtype=None)
    meta = json.loads((folder / "codec.json").read_text())
    assert meta["prior"] == {"load_prior": {"name": "tiny"}, "fingerprint": tiny.fingerprint()}
    assert meta["compressor"] == {"folder": "compressor"}
    assert not (folder / "prior").exists()
    blob = codec.compress(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3)), 0.3)
    assert torch.equal(FaSDiffCodec.from_pretrained(folder).decompress(blob, steps=2), codec.decompress(blob, steps=2))
    if "hf-compressor" in zoo.available("compressor"):
        shipped = FaSDiffCodec(zoo.load("hf-compressor"), tiny, "fasdiff-nolfe")
        meta = json.loads((shipped.save_pretrained(tmp_path / "on-shipped") / "codec.json").read_text())
        assert meta["compressor"] == {"shipped": "hf-compressor"} and not (tmp_path / "on-shipped" / "compressor").exists()


def test_shipped_codec_folders_rebuild_from_their_folder_alone():
    from fasdiff_lite.models import zoo

    for name in zoo.available("codec"):
        meta = FaSDiffCodec.read_config(zoo.folder(name))
        assert meta["format"] == 2 and "shipped" in meta["compressor"] and "load_prior" in meta["prior"]
        codec = zoo.cached(name)
        assert codec.variant == name and codec.control.config() == meta["control"]


def test_one_training_step_moves_every_trained_part_and_nothing_frozen(prior, compressor):
    """Regression: the codec's own decoder is a copy of the frozen prior's VAE decoder, and the copy inherited
    requires_grad=False, so a whole GPU training left it untouched. One step of ``training_loss`` must change the
    control, the LFE and the decoder, and leave the prior and the compressor exactly as they were."""
    from fasdiff_lite.models.adversarial import PatchDiscriminator

    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff")
    trained = codec.trainable_modules()
    assert set(trained) == {"control", "lfe", "decoder"}
    assert all(p.requires_grad for m in trained.values() for p in m.parameters())
    before = {k: v.clone() for k, v in codec.trainable_state().items()}
    frozen = {k: v.clone() for k, v in {**prior.state_dict(), **compressor.state_dict()}.items() if v.is_floating_point()}
    opt = torch.optim.SGD([p for m in trained.values() for p in m.parameters()], lr=1e-2)
    losses = codec.training_loss(torch.rand(2, 3, 64, 64), 0.5, steps=2, realism=1.0, discriminator=PatchDiscriminator())
    losses["loss"].backward()
    opt.step()
    after = codec.trainable_state()
    for part in trained:
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(part + ".")), f"{part} did not train"
    now = {**prior.state_dict(), **compressor.state_dict()}
    assert all(torch.equal(v, now[k]) for k, v in frozen.items())


def test_a_fidelity_fusion_starts_as_the_identity_and_trains_alone(prior, compressor, tmp_path):
    """models/fusion.py: a codec that gains a fusion decodes exactly as before (its last layer is zero); with only
    the fusion trained, one step moves the fusion and nothing else (the diffusion runs without gradients); a folder
    with a fusion rebuilds it, and a codec without one still loads a folder that has none."""
    from fasdiff_lite.models.adversarial import PatchDiscriminator
    from fasdiff_lite.models.fusion import FidelityFusion

    torch.manual_seed(0)
    plain = FaSDiffCodec(compressor, prior, "fasdiff")
    plain.save_pretrained(tmp_path / "before", dtype=None)
    fused = FaSDiffCodec(compressor, prior, "fasdiff", fusion=True)
    fused.load_trainable(tmp_path / "before", missing_ok=("fusion",))
    with pytest.raises(ValueError, match="fusion"):
        FaSDiffCodec(compressor, prior, "fasdiff", fusion=True).load_trainable(tmp_path / "before")
    blob = plain.compress(torch.rand(1, 3, 64, 64), 0.5)
    assert torch.equal(fused.decompress(blob, steps=2), plain.decompress(blob, steps=2))
    with pytest.raises(ValueError, match="same shape"):
        FidelityFusion()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))

    parts = fused.trainable_modules()
    assert set(parts) == {"control", "lfe", "decoder", "fusion"}
    for name, m in parts.items():
        m.requires_grad_(name == "fusion")
    before = {k: v.clone() for k, v in fused.trainable_state().items()}
    opt = torch.optim.SGD(parts["fusion"].parameters(), lr=1e-1)
    losses = fused.training_loss(torch.rand(2, 3, 64, 64), 0.5, steps=2, realism=1.0, discriminator=PatchDiscriminator())
    assert float(losses["diffusion"]) == 0.0  # not computed: nothing it could train is trainable
    losses["loss"].backward()
    opt.step()
    after = fused.trainable_state()
    moved = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert moved == {"fusion"}
    fused.save_pretrained(tmp_path / "after", dtype=None)
    again = FaSDiffCodec.from_pretrained(tmp_path / "after", prior=prior, compressor=compressor)
    assert again.fusion is not None and again.fusion.config() == fused.fusion.config()
    assert torch.equal(again.decompress(blob, steps=2), fused.eval().decompress(blob, steps=2))
    assert FaSDiffCodec.from_pretrained(tmp_path / "before", prior=prior, compressor=compressor).fusion is None


def test_training_the_decoder_and_fusion_runs_the_diffusion_without_gradients(prior, compressor):
    """With the control and the LFE frozen, one step moves the decoder and the fusion and nothing else, the
    diffusion builds no graph (no diffusion loss, no UNet gradients), and a step that trains the decoder too
    gets gradients to it through the decoded face."""
    from fasdiff_lite.models.adversarial import PatchDiscriminator

    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff", fusion=True)
    parts = codec.trainable_modules()
    for name, m in parts.items():
        m.requires_grad_(name in ("decoder", "fusion"))
    before = {k: v.clone() for k, v in codec.trainable_state().items()}
    opt = torch.optim.SGD([p for n in ("decoder", "fusion") for p in parts[n].parameters()], lr=1e-1)
    losses = codec.training_loss(torch.rand(2, 3, 64, 64), 0.2, steps=2, realism=1.0,
                                 weights={"split": 1.0}, discriminator=PatchDiscriminator())
    assert float(losses["diffusion"]) == 0.0
    losses["loss"].backward()
    assert all(p.grad is None for p in codec.control.parameters())
    opt.step()
    after = codec.trainable_state()
    assert {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])} == {"decoder", "fusion"}


def test_pixel_share_splits_fidelity_by_rate(prior, compressor):
    """split 0 asks every pixel at every rate (the old objective); split 1 asks a share equal to the rate, and at
    rate 0 the fidelity term is blind to detail that keeps the low-pass (so blur is no longer the safe answer)."""
    from fasdiff_lite.models.codec import fidelity_l1, pixel_share
    from fasdiff_lite.models.lfe import smooth_lowpass

    assert [pixel_share(r, 0.0) for r in (0, 0.5, 1)] == [1.0, 1.0, 1.0]
    assert [pixel_share(r, 1.0) for r in (0, 0.5, 1)] == [0.0, 0.5, 1.0]
    assert pixel_share(0.0, 0.5) == 0.5
    assert [pixel_share(r, 1.0, below=0.5) for r in (0, 0.25, 0.5, 0.8)] == [0.0, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="upper rate"):
        pixel_share(0.5, 1.0, below=0.0)
    with pytest.raises(ValueError, match="split"):
        pixel_share(0.5, 1.5)
    # a face and the same face plus fine texture: the share-0 term (rate 0, split 1) barely tells them apart,
    # the share-1 term (split 0) does; both see a change of the face's coarse structure
    torch.manual_seed(0)
    x = smooth_lowpass(torch.rand(1, 3, 64, 64))
    textured = x + 0.1 * torch.sign(torch.randn(1, 3, 64, 64))
    darker = x - 0.1
    assert float(fidelity_l1(textured, x, 0.0)) < 0.02 < 0.09 < float(fidelity_l1(textured, x, 1.0))
    assert float(fidelity_l1(darker, x, 0.0)) > 0.09 and float(fidelity_l1(darker, x, 1.0)) > 0.09


def test_a_rate_aware_fusion_starts_as_the_fusion_it_came_from(prior, compressor, tmp_path):
    """``FidelityFusion.add_rate_input`` adds the file's rate as an input with zero weights: the codec decodes the
    same bytes to the same pixels until it is trained; then the rate changes the output, the folder records it and
    rebuilds it; a rate-aware fusion refuses to run without a rate."""
    import torch.nn as nn

    from fasdiff_lite.models.fusion import FidelityFusion

    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff", fusion=True)
    nn.init.normal_(codec.fusion.out.weight, std=0.01)  # a "trained" fusion: not the identity
    blob = codec.compress(torch.rand(1, 3, 64, 64), 0.5)
    before = codec.decompress(blob, steps=2)
    codec.fusion.add_rate_input()
    assert codec.fusion.rate_input and codec.fusion.config()["rate_input"]
    assert torch.equal(codec.decompress(blob, steps=2), before)
    with pytest.raises(ValueError, match="rate"):
        codec.fusion(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="rate"):
        codec.fusion(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), rate=1.5)
    with torch.no_grad():
        codec.fusion.body[0].weight[:, 6].fill_(0.5)
    x, fid = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    assert not torch.equal(codec.fusion(x, fid, 0.0), codec.fusion(x, fid, 1.0))
    codec.save_pretrained(tmp_path / "rate", dtype=None)
    again = FaSDiffCodec.from_pretrained(tmp_path / "rate", prior=prior, compressor=compressor)
    assert isinstance(again.fusion, FidelityFusion) and again.fusion.rate_input
    assert torch.equal(again.decompress(blob, steps=2), codec.eval().decompress(blob, steps=2))


def test_a_wider_split_band_pins_the_mid_frequencies():
    """levels=1 (½ Nyquist) keeps asking for a mid-frequency pattern (period 5 px, where identity lives) that the
    default band (¼ Nyquist) lets go, while both stay blind to pixel-level texture."""
    from fasdiff_lite.models.codec import fidelity_l1

    torch.manual_seed(0)
    x = torch.full((1, 3, 64, 64), 0.5)
    xs = torch.arange(64, dtype=torch.float32)
    mid = x + 0.1 * torch.sin(2 * torch.pi * xs / 5)[None, None, None, :]
    fine = x + 0.1 * torch.tensor([1.0, -1.0]).repeat(32)[None, None, None, :]
    wide, narrow = float(fidelity_l1(mid, x, 0.0, levels=1)), float(fidelity_l1(mid, x, 0.0, levels=2))
    assert wide > 2.5 * narrow, (wide, narrow)
    assert float(fidelity_l1(fine, x, 0.0, levels=1)) < 0.25 * wide
    with pytest.raises(ValueError, match="levels"):
        fidelity_l1(mid, x, 0.0, levels=0)


def test_a_fid_anchored_fusion_starts_as_the_compressor_alone(prior, compressor, tmp_path):
    """``FidelityFusion(anchor="fid")`` adds its residual to x_fid: untrained, the codec decodes a file to the
    compressor's own reconstruction; a gen-anchored one to the VAE's face; the folder records the anchor and
    rebuilds it."""
    from fasdiff_lite.models.fusion import FidelityFusion

    with pytest.raises(ValueError, match="anchor"):
        FidelityFusion(anchor="x")
    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff-nolfe", fusion=FidelityFusion(anchor="fid", rate_input=True))
    blob = codec.compress(torch.rand(1, 3, 64, 64), 0.5)
    x_fid = codec.fidelity(blob)[0][..., :64, :64].clamp(0, 1)
    assert torch.allclose(codec.decompress(blob, steps=2), x_fid, atol=1e-6)
    gen = FaSDiffCodec(compressor, prior, "fasdiff-nolfe", fusion=True, control=codec.control, decoder=codec.decoder)
    assert not torch.allclose(gen.decompress(blob, steps=2), x_fid, atol=1e-3)
    codec.save_pretrained(tmp_path / "fid", dtype=None)
    assert FaSDiffCodec.read_config(tmp_path / "fid")["fusion"]["anchor"] == "fid"
    assert FaSDiffCodec.from_pretrained(tmp_path / "fid", prior=prior, compressor=compressor).fusion.anchor == "fid"


@pytest.mark.skipif(not (settings.ASSETS_DIR / "compressor/hf/model.safetensors").exists(), reason="needs the shipped compressor")
def test_training_with_another_fusion_anchor_starts_a_fresh_fusion(prior, tmp_path, monkeypatch, capsys):
    """``train fasdiff --init <codec with a gen-anchored fusion> --fusion-anchor fid``: a fresh (zero) fid-anchored,
    rate-aware fusion; every other trained part loaded from --init."""
    from fasdiff_lite import cli
    from fasdiff_lite.models import zoo

    monkeypatch.setenv("FASDIFF_FAST", "1")
    prior_dir = prior.save_pretrained(tmp_path / "prior", dtype=None)
    torch.manual_seed(0)
    gen = FaSDiffCodec(zoo.load("hf-compressor"), prior, "fasdiff-nolfe", fusion=True)
    torch.nn.init.normal_(gen.fusion.out.weight, std=0.01)
    gen.save_pretrained(tmp_path / "gen", dtype=None)
    assert cli.main(["train", "fasdiff", "--prior", str(prior_dir), "--faces", "samples", "--steps", "1",
                     "--batch-size", "1", "--variant", "fasdiff-nolfe", "--init", str(tmp_path / "gen"),
                     "--fusion-anchor", "fid", "--fusion-rate", "--train-parts", "fusion", "--no-resume", "--lr", "0",
                     "--fusion-channels", "8", "--fusion-dilations", "1,3",
                     "--device", "cpu", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "new")]) == 0
    new = FaSDiffCodec.from_pretrained(tmp_path / "new", prior=prior)
    assert new.fusion.anchor == "fid" and new.fusion.rate_input
    assert new.fusion.channels == 8 and new.fusion.dilations == (1, 3)  # the fresh fusion's shape, saved and loaded
    # a kept fusion (the same anchor as --init's) cannot change shape: refused, not silently ignored
    assert cli.main(["train", "fasdiff", "--prior", str(prior_dir), "--faces", "samples", "--steps", "1",
                     "--batch-size", "1", "--variant", "fasdiff-nolfe", "--init", str(tmp_path / "new"),
                     "--fusion-channels", "16", "--no-resume", "--device", "cpu", "--out", str(tmp_path / "run2")]) != 0
    assert "fresh fusion only" in capsys.readouterr().err
    for bad in ("1,x", "0,2"):
        with pytest.raises(ValueError, match="dilations"):
            fasdiff_train.fusion_shape(fasdiff_train.Config(fusion_dilations=bad))
    assert not new.fusion.out.weight.any()  # fresh: the init's weights were not loaded (lr 0: not moved)
    for name in ("control", "decoder"):
        a, b = gen.trainable_modules()[name].state_dict(), new.trainable_modules()[name].state_dict()
        assert all(torch.equal(a[k].half(), b[k].half()) for k in a), name


def test_the_identity_term_needs_a_proxy_and_trains_the_decoder(prior, compressor):
    """``training_loss`` with an ``id`` weight: refused without a proxy; with one (models/identity.py, frozen) the
    term is reported and its gradient reaches the codec's decoder."""
    from fasdiff_lite.models.identity import IdentityNet

    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff-nolfe")
    x = torch.rand(2, 3, 64, 64)
    with pytest.raises(ValueError, match="identity"):
        codec.training_loss(x, 0.2, steps=1, weights={"id": 1.0})
    net = IdentityNet().eval().requires_grad_(False)
    losses = codec.training_loss(x, 0.2, steps=1, weights={"id": 1.0, "l1": 0.0, "hf": 0.0, "detail": 0.0},
                                 identity=net)
    assert "id" in losses and float(losses["id"]) > 0
    losses["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in codec.decoder.parameters())
    assert all(p.grad is None for p in net.parameters())


def test_training_loss_is_the_few_step_latent_then_the_decoded_loss(prior, compressor):
    """``training_loss`` = ``few_step_latent`` (the frozen compressor, the diffusion and its loss) + ``decoded_loss``
    (the decoder, the fusion, the LF correction and the terms on the decoded face): with the same random draws the
    two halves give the same loss, so a trainer that caches the latent (train/latent_cache.py) optimises exactly
    the uncached objective."""
    from fasdiff_lite.models.adversarial import PatchDiscriminator
    from fasdiff_lite.models.codec import LOSS_WEIGHTS, SPLIT_BELOW, SPLIT_LEVELS

    codec = steered(FaSDiffCodec(compressor, prior, "fasdiff", fusion=True))
    disc = PatchDiscriminator()
    x = torch.rand(2, 3, 64, 64)
    w = {**LOSS_WEIGHTS, "split_levels": SPLIT_LEVELS, "split_below": SPLIT_BELOW, "split": 0.5, "adv": 0.1}
    torch.manual_seed(3)
    whole = codec.training_loss(x, 0.3, steps=2, realism=0.8, weights=w, discriminator=disc)
    torch.manual_seed(3)
    z, x_fid, diffusion = codec.few_step_latent(x, 0.3, steps=2, realism=0.8, diffusion_loss=codec.steers())
    halves = codec.decoded_loss(x, z, x_fid, 0.3, w, disc)
    assert codec.steers() and float(diffusion) > 0
    assert torch.allclose(whole["loss"], halves["loss"] + diffusion)
    assert torch.allclose(whole["x_hat"], halves["x_hat"])
    # a generator makes the latent reproducible without touching the global RNG
    a = codec.few_step_latent(x, 0.3, 2, 0.8, generator=torch.Generator().manual_seed(5))[0]
    b = codec.few_step_latent(x, 0.3, 2, 0.8, generator=torch.Generator().manual_seed(5))[0]
    c = codec.few_step_latent(x, 0.3, 2, 0.8, generator=torch.Generator().manual_seed(6))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_latent_cache_is_built_once_checked_and_refused_when_stale(prior, compressor, tmp_path):
    """train/latent_cache.py: a cache holds each group's views, x_fid and few-step latent at one drawn rate and decode
    setting; decoding a cached group gives what the codec gives for the same draws; a cache made from other frozen
    weights is refused, not reused."""
    from fasdiff_lite.models.codec import LOSS_WEIGHTS, SPLIT_BELOW, SPLIT_LEVELS
    from fasdiff_lite.train import latent_cache

    codec = steered(FaSDiffCodec(compressor, prior, "fasdiff", fusion=True)).eval()
    faces = (torch.rand(5, 128, 128, 3) * 255).to(torch.uint8).numpy()
    draws = iter([(0.0, 2, 1.0), (0.7, 1, 0.5)])
    cache = latent_cache.build(codec, faces, 2, 3, lambda g: next(draws), seed=0, progress=False)
    assert cache["z"].shape == (2, 3, 4, 16, 16) and cache["x"].shape == cache["x_fid"].shape == (2, 3, 3, 64, 64)
    assert cache["rate"].tolist() == [0.0, pytest.approx(0.7)] and cache["steps"].tolist() == [2, 1]
    groups = latent_cache.Groups(cache)
    assert len(groups) == 2
    x, z, x_fid, rate, realism = groups.group(1)
    _, fid_again, _ = codec.few_step_latent(x, rate, 1, 0.5)
    assert (x_fid - fid_again).abs().max() < 2e-3  # stored as float16
    w = {**LOSS_WEIGHTS, "split_levels": SPLIT_LEVELS, "split_below": SPLIT_BELOW}
    assert torch.isfinite(codec.decoded_loss(x, z, x_fid, rate, w)["loss"])

    made_from = {"frozen": latent_cache.frozen_fingerprint(codec), "groups": 2}
    path = latent_cache.save(cache, tmp_path / latent_cache.FILE, made_from)
    calls = []
    again = latent_cache.load_or_build(path, made_from, lambda: calls.append(1))
    assert not calls and torch.equal(again["z"], cache["z"])
    with torch.no_grad():
        next(codec.control.parameters()).add_(0.1)
    other = {**made_from, "frozen": latent_cache.frozen_fingerprint(codec)}
    assert other["frozen"] != made_from["frozen"]
    with pytest.raises(ValueError, match="frozen"):
        latent_cache.load_or_build(path, other, lambda: calls.append(1))


@pytest.mark.skipif(not (settings.ASSETS_DIR / "compressor/hf/model.safetensors").exists(), reason="needs the shipped compressor")
def test_training_on_a_latent_cache(prior, tmp_path, monkeypatch, capsys):
    """``train fasdiff --latent-cache G``: refused while the control or the LFE trains (and ``--gen-frozen`` refused
    while they do not: its terms would train nothing); with them frozen it builds the
    cache in the run folder, trains the fusion on it, and resumes on the same cache."""
    monkeypatch.setenv("FASDIFF_FAST", "1")
    prior_dir = prior.save_pretrained(tmp_path / "prior", dtype=None)
    base = ["train", "fasdiff", "--prior", str(prior_dir), "--faces", "samples", "--batch-size", "2", "--device", "cpu",
            "--fusion-anchor", "fid", "--fusion-rate", "--latent-cache", "2", "--lr", "1e-2", "--warmup", "0"]
    assert cli.main(base + ["--steps", "1", "--out", str(tmp_path / "bad")]) == 1
    assert "--train-parts decoder,fusion" in capsys.readouterr().err
    uncached = base[:base.index("--latent-cache")] + ["--train-parts", "fusion", "--gen-frozen", "--steps", "1"]
    assert cli.main(uncached + ["--out", str(tmp_path / "bad2")]) == 1  # the gen terms would train nothing
    assert "--train-parts fusion trains neither" in capsys.readouterr().err
    run, exp = tmp_path / "run", tmp_path / "exp"
    args = base + ["--train-parts", "fusion", "--steps", "2", "--out", str(run), "--export", str(exp)]
    assert cli.main(args) == 0
    cache = run / "latent_cache.safetensors"
    assert cache.exists()
    stamp = cache.stat().st_mtime_ns
    codec = FaSDiffCodec.from_pretrained(exp, prior=prior)
    assert codec.fusion.anchor == "fid" and codec.fusion.out.weight.any()  # trained on the cache
    args[args.index("--steps") + 1] = "3"
    assert cli.main(args) == 0
    assert json.loads((run / "checkpoint" / "progress.json").read_text())["step"] == 3
    assert cache.stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_a_realism_aware_fusion_starts_out_the_same_and_then_follows_the_slider(prior, compressor, tmp_path):
    """``FidelityFusion.add_realism_input`` adds the decode's realism as a scale and shift of the hidden layers
    (FiLM) that start at zero: the codec decodes as before until trained; then the realism the reader asks for reaches the fusion at decode time
    (``decompress(realism=)``), the folder records it and rebuilds it; such a fusion refuses to run without one."""
    import torch.nn as nn

    from fasdiff_lite.models.fusion import FidelityFusion

    torch.manual_seed(0)
    codec = FaSDiffCodec(compressor, prior, "fasdiff", fusion=FidelityFusion(rate_input=True, anchor="fid"))
    nn.init.normal_(codec.fusion.out.weight, std=0.01)
    blob = codec.compress(torch.rand(1, 3, 64, 64), 0.5)
    before = codec.decompress(blob, steps=2, realism=1.0)
    fid = codec.decompress(blob, realism=0.0)
    codec.fusion.add_realism_input()
    assert codec.fusion.config()["realism_input"] and codec.fusion.body[0].in_channels == 7  # no plane: FiLM
    assert torch.equal(codec.decompress(blob, steps=2, realism=1.0), before)
    # below 1 the realism blends x_fid with the fusion's answer: continuous from realism 0 (x_fid itself)
    x_gen, x_f = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    answer = codec.fusion(x_gen, x_f, 0.5, 1.0)
    assert torch.allclose(codec.fusion(x_gen, x_f, 0.5, 0.25), x_f + 0.25 * (answer - x_f), atol=1e-6)
    assert torch.allclose(codec.fusion(x_gen, x_f, 0.5, 0.0), x_f)
    near = codec.decompress(blob, steps=2, realism=0.01)
    assert (near - fid).abs().mean() < (before - fid).abs().mean() / 5
    with pytest.raises(ValueError, match="realism"):
        codec.fusion(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), rate=0.5)
    seen = []
    forward = codec.fusion.forward
    codec.fusion.forward = lambda *a, **k: (seen.append(a[3] if len(a) > 3 else k.get("realism")), forward(*a, **k))[1]
    with torch.no_grad():
        nn.init.normal_(codec.fusion.film[-1].weight, std=0.5)  # as if trained: β scales and shifts the layers
    x, fid = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    answer = lambda b: fid + (forward(x, fid, 0.5, b) - fid) / b  # noqa: E731  (the blend undone: FiLM's part)
    assert not torch.allclose(answer(0.2), answer(1.0))
    codec.decompress(blob, steps=2, realism=0.3)
    assert seen == [0.3]  # the slider's value, not a default
    del codec.fusion.forward
    codec.save_pretrained(tmp_path / "multi", dtype=None)
    again = FaSDiffCodec.from_pretrained(tmp_path / "multi", prior=prior, compressor=compressor)
    assert again.fusion.realism_input and again.fusion.rate_input
    assert torch.equal(again.decompress(blob, steps=2, realism=0.3), codec.eval().decompress(blob, steps=2, realism=0.3))


@pytest.mark.skipif(not (settings.ASSETS_DIR / "compressor/hf/model.safetensors").exists(), reason="needs the shipped compressor")
def test_training_with_multi_realism_gives_a_realism_aware_fusion(prior, tmp_path, monkeypatch):
    """``train fasdiff --multi-realism``: the exported codec's fusion reads the realism, its training facts say so,
    and the latent-cache path (which trains on stored groups) hands each group's realism to the loss."""
    from fasdiff_lite import cli
    from fasdiff_lite.models.codec import FaSDiffCodec as Codec
    from fasdiff_lite.train import fasdiff as train_fasdiff

    monkeypatch.setenv("FASDIFF_FAST", "1")
    prior_dir = prior.save_pretrained(tmp_path / "prior", dtype=None)
    seen = []
    decoded_loss = Codec.decoded_loss
    monkeypatch.setattr(Codec, "decoded_loss", lambda self, *a, **k: (seen.append(a[7]), decoded_loss(self, *a, **k))[1])
    assert cli.main(["train", "fasdiff", "--prior", str(prior_dir), "--faces", "samples", "--steps", "2",
                     "--batch-size", "1", "--variant", "fasdiff-nolfe", "--fusion", "--fusion-rate", "--multi-realism",
                     "--train-parts", "decoder,fusion", "--latent-cache", "2", "--no-resume", "--lr", "0",
                     "--device", "cpu", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "new")]) == 0
    new = Codec.from_pretrained(tmp_path / "new", prior=prior)
    assert new.fusion.realism_input and new.fusion.rate_input
    assert Codec.read_config(tmp_path / "new")["training"]["multi_realism"] is True
    assert len(seen) == 2 and all(0.05 <= r <= 1.0 for r in seen)
    assert train_fasdiff.decode_setting(torch.Generator().manual_seed(0), low=0.05)[1] >= 0.05


def test_the_trainers_weight_flags_are_the_loss_terms():
    """``train fasdiff`` offers a ``--<term>-weight`` for each loss term of LOSS_WEIGHTS (underscores as hyphens), and
    none for its settings (LOSS_SETTINGS: ``split``, ``multi_realism``, ``gen_pixel``, ``gen_frozen``, ``detail_space``,
    ``lf_fused`` have their own flags: a ``--multi_realism-weight`` once appeared beside them)."""
    import argparse

    from fasdiff_lite.models.codec import LOSS_SETTINGS, LOSS_WEIGHTS

    parser = argparse.ArgumentParser()
    fasdiff_train.add_arguments(parser)
    flags = {a for action in parser._actions for a in action.option_strings}
    weights = {f[2:-len("-weight")] for f in flags if f.endswith("-weight")}
    assert weights == {k.replace("_", "-") for k in LOSS_WEIGHTS if k not in LOSS_SETTINGS}  # --gen-detail-weight
    assert set(LOSS_SETTINGS) == {"split", "multi_realism", "gen_pixel", "gen_frozen", "detail_space", "lf_fused"}
    assert {"--split", "--multi-realism", "--gen-pixel", "--gen-frozen", "--detail-space", "--lf-fused"} <= flags

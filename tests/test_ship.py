"""Shipping a run as a model (``tools/ship.py``): the shipped folder loads the run's exact weights, the prior it
replaces is kept, and a codec never decodes silently on a prior other than the one it was trained on (the prior's
fingerprint). Random tiny priors in a temporary assets folder; the shipped compressor is linked in."""
import json
import re

import pytest
import torch

from fasdiff_lite import settings
from fasdiff_lite.evaluation import verification
from fasdiff_lite.models.codec import FaSDiffCodec, PriorMismatch
from fasdiff_lite.models.compressor import HFCompressor
from fasdiff_lite.models.prior import TinyPrior
from fasdiff_lite.models.prior_loading import load_prior
from tests.conftest import load_script, steered

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REAL_ASSETS = settings.ASSETS_DIR
needs_compressor = pytest.mark.skipif(not (REAL_ASSETS / "compressor/hf/model.safetensors").exists(),
                                      reason="needs the shipped compressor")


@pytest.fixture()
def ship():
    return load_script("tools/ship.py")


@pytest.fixture()
def assets(tmp_path, monkeypatch):
    """An assets folder with the shipped compressors and a random tiny prior ("A") as the shipped one."""
    folder = tmp_path / "assets"
    (folder / "prior").mkdir(parents=True)
    (folder / "compressor").symlink_to(REAL_ASSETS / "compressor")
    torch.manual_seed(1)
    TinyPrior.from_config(seed=1).save_pretrained(folder / "prior" / "tiny")
    (folder / "prior" / "tiny" / "MODEL_CARD.md").write_text("the card of prior A\n")
    monkeypatch.setattr(settings, "ASSETS_DIR", folder)
    return folder


def decode(codec: FaSDiffCodec, blob: bytes) -> torch.Tensor:
    return codec.decompress(blob, steps=1)


def test_a_fingerprint_names_the_weights(tmp_path):
    torch.manual_seed(0)
    a = TinyPrior.from_config(seed=0)
    folder = a.save_pretrained(tmp_path / "a")
    loaded, again = load_prior(folder, device="cpu"), load_prior(folder, device="cpu")
    assert loaded.fingerprint() == again.fingerprint() == a.fingerprint()  # saved at fp16: the same at fp16
    with torch.no_grad():
        next(again.unet.parameters()).view(-1)[0] += 0.01
    assert again.fingerprint() != loaded.fingerprint()
    with torch.no_grad():
        next(again.unet.parameters()).view(-1)[0] -= 0.01
        again.empty_prompt.context.mul_(-1)  # the prompt is part of what the prior draws
    assert again.fingerprint() != loaded.fingerprint()


@needs_compressor
def test_shipping_a_prior_and_a_codec_keeps_every_codec_on_its_own_prior(assets, tmp_path, ship, capsys):
    hf = HFCompressor.shipped("hf-compressor", device="cpu")
    old_prior = load_prior("tiny", device="cpu")
    old = steered(FaSDiffCodec(hf, old_prior, "fasdiff"))
    old.save_pretrained(tmp_path / "old-export", dtype=None)
    assert json.loads((tmp_path / "old-export" / "codec.json").read_text())["prior"] == {
        "load_prior": {"name": "tiny"}, "fingerprint": old_prior.fingerprint()}

    torch.manual_seed(3)
    TinyPrior.from_config(seed=3).save_pretrained(tmp_path / "prior-b")
    new_prior = load_prior(tmp_path / "prior-b", device="cpu")
    new = steered(FaSDiffCodec(hf, new_prior, "fasdiff"))
    new.save_pretrained(tmp_path / "new-export")
    blob = new.compress(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(4)), 0.3)
    want_old, want_new = decode(old, blob), decode(FaSDiffCodec.from_pretrained(tmp_path / "new-export"), blob)

    with pytest.raises(SystemExit, match="ship its prior first"):
        ship.main(["codec", str(tmp_path / "new-export"), "fasdiff"])
    ship.main(["prior", str(tmp_path / "prior-b"), "--keep", str(tmp_path / "kept")])
    assert load_prior("tiny", device="cpu").fingerprint() == new_prior.fingerprint() != old_prior.fingerprint()
    assert (assets / "prior" / "tiny" / "MODEL_CARD.md").read_text() == "the card of prior A\n"  # the card stays
    assert load_prior(tmp_path / "kept", device="cpu").fingerprint() == old_prior.fingerprint()

    # the codec trained on the replaced prior refuses the new "tiny" instead of decoding with it ...
    with pytest.raises(PriorMismatch, match="tools/ship.py pin"):
        FaSDiffCodec.from_pretrained(tmp_path / "old-export")
    with pytest.raises(SystemExit, match="Pass --prior"):
        ship.main(["pin", str(tmp_path / "old-export")])
    # ... and decodes as before once pointed at the kept one
    ship.main(["pin", str(tmp_path / "old-export"), "--prior", str(tmp_path / "kept")])
    assert torch.equal(decode(FaSDiffCodec.from_pretrained(tmp_path / "old-export"), blob), want_old)

    with pytest.raises(SystemExit, match="not 'fasdiff-nolfe'"):
        ship.main(["codec", str(tmp_path / "new-export"), "fasdiff-nolfe"])
    ship.main(["codec", str(tmp_path / "new-export"), "fasdiff"])
    meta = json.loads((assets / "fasdiff" / "full" / "codec.json").read_text())
    assert meta["prior"] == {"load_prior": {"name": "tiny"}, "fingerprint": new_prior.fingerprint()}
    assert torch.equal(decode(FaSDiffCodec.from_pretrained(assets / "fasdiff" / "full"), blob), want_new)
    assert "shipped" in capsys.readouterr().out


@needs_compressor
def test_a_codec_saved_before_fingerprints_loads_and_can_be_pinned(assets, tmp_path, ship):
    codec = FaSDiffCodec(HFCompressor.shipped("hf-compressor", device="cpu"), load_prior("tiny", device="cpu"), "fasdiff")
    folder = codec.save_pretrained(tmp_path / "c")
    meta = json.loads((folder / "codec.json").read_text())
    del meta["prior"]["fingerprint"]
    (folder / "codec.json").write_text(json.dumps(meta))
    FaSDiffCodec.from_pretrained(folder)  # nothing to check against: it loads
    ship.main(["pin", str(folder)])
    assert FaSDiffCodec.read_config(folder)["prior"]["fingerprint"] == codec.prior.fingerprint()


def row(codec, value, d, acc=0.9):
    """A verification sweep's row (``fasdiff-lite eval --pairs``) with its per-pair distances."""
    return {"codec": codec, "kind": "rate", "value": value, "accuracy_mean": acc, "tar_at_far": {0.01: 0.5},
            "distances": d}


def test_rows_renamed_with_their_distances(tmp_path, ship):
    path = tmp_path / "verification.json"
    verification.save_rows([row("/runs/d28-full-export", 0.1, [0.1, 0.2]), row("/runs/d28-full-export", 0.2, [0.3, 0.4]),
                            row("fasdiff-plain", 0.1, [0.5, 0.6])], path, pairs="p.txt")
    ship.main(["rows", str(path), "/runs/d28-full-export=fasdiff"])
    rows = {verification.row_key(r): r for r in verification.load_rows(path, pairs="p.txt")}
    assert sorted(rows) == ["fasdiff-plain|rate|0.1", "fasdiff|rate|0.1", "fasdiff|rate|0.2"]
    assert list(rows["fasdiff|rate|0.2"]["distances"]) == pytest.approx([0.3, 0.4])
    before = path.read_text()
    with pytest.raises(ValueError, match=re.escape("fasdiff-plain|rate|0.1")):
        verification.rename_codecs(path, {"fasdiff": "fasdiff-plain"})
    assert path.read_text() == before
    with pytest.raises(SystemExit, match="OLD=NEW"):
        ship.main(["rows", str(path), "fasdiff"])


def test_renaming_onto_the_same_measurement_keeps_one_row(tmp_path, ship):
    """A sweep that started before a rename writes the old name back beside the new one (the same numbers): renaming
    again drops the copy instead of refusing, and keeps the distances."""
    path = tmp_path / "verification.json"
    verification.save_rows([row("fasdiff-plain", 0.1, [0.5, 0.6]), row("/runs/d28-plain-export", 0.1, [0.5, 0.6]),
                            row("/runs/d28-plain-export", 0.2, [0.7, 0.8])], path, pairs="p.txt")
    assert verification.rename_codecs(path, {"/runs/d28-plain-export": "fasdiff-plain"}) == 1  # 0.2; 0.1 was a copy
    rows = {verification.row_key(r): r for r in verification.load_rows(path, pairs="p.txt")}
    assert sorted(rows) == ["fasdiff-plain|rate|0.1", "fasdiff-plain|rate|0.2"]
    assert list(rows["fasdiff-plain|rate|0.1"]["distances"]) == pytest.approx([0.5, 0.6])
    assert list(rows["fasdiff-plain|rate|0.2"]["distances"]) == pytest.approx([0.7, 0.8])


def test_merge_adds_only_the_missing_rows_with_their_distances(tmp_path, ship):
    kept, work = tmp_path / "kept" / "verification.json", tmp_path / "work" / "verification.json"
    verification.save_rows([row("fasdiff-plain", 0.1, [0.5, 0.6]), row("fasdiff", 0.1, [0.1, 0.2], acc=0.8)], kept,
                           pairs="p.txt")
    verification.save_rows([row("fasdiff", 0.1, [0.7, 0.8], acc=0.7), row("/runs/x-export", 0.2, [0.3, 0.4])], work,
                           pairs="p.txt")
    ship.main(["merge", str(kept), str(work)])
    rows = {verification.row_key(r): r for r in verification.load_rows(work, pairs="p.txt")}
    assert sorted(rows) == ["/runs/x-export|rate|0.2", "fasdiff-plain|rate|0.1", "fasdiff|rate|0.1"]
    assert rows["fasdiff|rate|0.1"]["accuracy_mean"] == 0.7  # the working copy's own row is not replaced
    assert list(rows["fasdiff-plain|rate|0.1"]["distances"]) == pytest.approx([0.5, 0.6])
    assert list(rows["/runs/x-export|rate|0.2"]["distances"]) == pytest.approx([0.3, 0.4])
    assert verification.merge_rows(kept, work) == 0  # nothing left to add
    fresh = tmp_path / "fresh" / "verification.json"
    assert verification.merge_rows(kept, fresh) == 2
    other = tmp_path / "other.json"
    verification.save_rows([row("jpeg", 0.1, [0.1, 0.1])], other, pairs="q.txt")
    before = work.read_text()
    with pytest.raises(ValueError, match="pairs"):
        verification.merge_rows(other, work)
    assert work.read_text() == before

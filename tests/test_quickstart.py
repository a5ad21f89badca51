"""The README's main job: `fasdiff-lite quickstart` on the embedded default, offline."""
import numpy as np
import pytest

from fasdiff_lite import cli
from fasdiff_lite.models import zoo
from fasdiff_lite.commands import quickstart


def test_quickstart_writes_figure_and_files_and_every_codec_decodes(tmp_path, capsys):
    rows = quickstart.run(rate=0.3, source="samples", limit=1, out=tmp_path, steps=2, realism=0.5)
    codecs = [r["codec"] for r in rows]
    assert {"jpeg", "webp"} <= set(codecs)
    if "fasdiff" in zoo.available("codec"):
        assert codecs[0] == "fasdiff"  # the method itself comes first, and sets the baselines' byte budget
    for r in rows:
        assert r["bytes"] > 0 and np.isfinite(r["psnr"]) and 0 < r["ms_ssim"] <= 1
    assert (tmp_path / "quickstart.png").stat().st_size > 10_000
    assert len(list(tmp_path.glob("*.fsd"))) == len([c for c in codecs if c not in ("jpeg", "webp")])
    assert "figure:" in capsys.readouterr().out


def test_quickstart_cli_refuses_bad_steps(tmp_path, capsys):
    if "fasdiff" not in zoo.available("codec"):
        pytest.skip("no shipped FaSDiff codec: quickstart does not use --steps")
    assert cli.main(["quickstart", "--limit", "1", "--out", str(tmp_path), "--steps", "0"]) != 0
    assert "steps" in capsys.readouterr().err

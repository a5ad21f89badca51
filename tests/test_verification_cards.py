"""The model cards' verification tables are the sweep's rows (``tools/refresh_verification.py``): a card never shows
other numbers than ``checkpoints/verification_celeba/verification.json`` holds, and the check notices one changed
figure."""
import json

import pytest

from tests.conftest import ROOT, load_script

ROWS = ROOT / "checkpoints" / "verification_celeba" / "verification.json"


def _tool():
    return load_script("tools/refresh_verification.py")


def test_the_cards_hold_the_committed_rows():
    assert _tool().main(["--rows", str(ROWS), "--check"]) == 0


def test_the_check_notices_a_changed_figure(tmp_path):
    saved = json.loads(ROWS.read_text())
    shown = [r for r in saved["rows"] if "/" not in r["codec"]]  # (a folder's rows are not in the cards)
    shown[-1]["accuracy_mean"] += 0.01
    changed = tmp_path / "verification.json"
    changed.write_text(json.dumps(saved))
    assert _tool().main(["--rows", str(changed), "--check"]) == 1


def test_rows_under_a_folders_name_wait_for_their_shipped_name(tmp_path, capsys):
    """A run measured before its reship (its rows named by its folder) is not in the cards: they still hold exactly
    the shipped codecs' rows."""
    saved = json.loads(ROWS.read_text())
    extra = dict(next(r for r in saved["rows"] if r["codec"] == "hf-compressor"), codec="/somewhere/runs/d28-x-export")
    saved["rows"].append(extra)
    with_run = tmp_path / "verification.json"
    with_run.write_text(json.dumps(saved))
    assert _tool().main(["--rows", str(with_run), "--check"]) == 0
    assert "d28-x-export" in capsys.readouterr().out


def test_a_card_without_markers_is_an_error(tmp_path):
    tool = _tool()
    with pytest.raises(SystemExit, match="markers"):
        tool.replace_block("# a card\n", "table", tmp_path / "MODEL_CARD.md")

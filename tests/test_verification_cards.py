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
    saved["rows"][-1]["accuracy_mean"] += 0.01
    changed = tmp_path / "verification.json"
    changed.write_text(json.dumps(saved))
    assert _tool().main(["--rows", str(changed), "--check"]) == 1


def test_a_card_without_markers_is_an_error(tmp_path):
    tool = _tool()
    with pytest.raises(SystemExit, match="markers"):
        tool.replace_block("# a card\n", "table", tmp_path / "MODEL_CARD.md")

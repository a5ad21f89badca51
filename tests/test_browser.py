"""The demo in a real browser: Debian's Chromium driven by Playwright for Python (its own browser download is not
used). CI installs the ``chromium`` package (see ``.ci/run``); elsewhere this skips with the reason.

The test does what a presenter does: open the demo, upload a photo with an off-centre face, click compress, wait
for the results, check the table's codecs and bytes against the callback's own numbers, download the ``.fsd`` file,
decode it in the decode panel, and save a screenshot (``out/browser/demo.png``, or ``$FASDIFF_SCREENSHOTS``).
"""
import os
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fasdiff_lite import bitstream, data, demo, settings
from fasdiff_lite.commands import demo as demo_app

CHROMIUM = os.environ.get("FASDIFF_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 90_000

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _missing(why: str):
    """Skip where the browser is not installed (a user's laptop); fail in CI, which sets FASDIFF_REQUIRE_BROWSER."""
    if os.environ.get("FASDIFF_REQUIRE_BROWSER"):
        pytest.fail(f"{why}; CI must run the browser test (.ci/run installs Debian's chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api as sync
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium)")
    with sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url():
    pytest.importorskip("gradio")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = demo_app.build_app()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def _photo(path: Path) -> Path:
    """A 400×300 photo with a sample face off-centre on a grey wall."""
    photo = np.full((300, 400, 3), 90, np.uint8)
    photo[20:148, 250:378] = data.sample_faces(128)[0]
    Image.fromarray(photo).save(path)
    return path


def _table(page) -> list[list[str]]:
    rows = page.locator("#table [role=row]").filter(has=page.locator("[role=gridcell]"))
    return [[c.strip() for c in rows.nth(i).locator("[role=gridcell]").all_inner_texts()] for i in range(rows.count())]


@pytest.mark.skipif(not demo.available_learned(), reason="shipped compressor weights not present")
def test_a_presenter_compresses_a_photo_downloads_and_decodes_it(browser, app_url, tmp_path):
    shots = Path(os.environ.get("FASDIFF_SCREENSHOTS", settings.REPO_DIR / "out" / "browser"))
    shots.mkdir(parents=True, exist_ok=True)
    photo = _photo(tmp_path / "portrait.png")
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.wait_for_selector("#table [role=gridcell]")  # the page's first compare (the first sample face) has arrived

    page.locator("#upload input[type=file]").set_input_files(str(photo))
    page.wait_for_function("() => document.querySelector('#upload').innerText.includes('portrait.png')")
    page.click("#compress")
    page.wait_for_function("() => document.querySelector('#heading').innerText.includes('upload, face found and aligned')")

    # the table in the page is the callback's own result for this photo: the same codecs and the same bytes
    expected = demo.compare(str(photo), None, rate=0.3, size=64)
    table = _table(page)
    assert [row[0] for row in table] == [row[0] for row in expected.rows()]
    assert [int(row[1]) for row in table] == [row[1] for row in expected.rows()]
    assert f"{expected.budget} B" in page.inner_text("#heading")
    gallery_imgs = page.locator("#gallery img")
    assert gallery_imgs.count() >= len(table) + 1
    src = gallery_imgs.first.get_attribute("src") or ""
    assert ".png" in src.lower() or "image/png" in src, f"the gallery is not shown losslessly: {src[:80]}"

    # download the .fsd file the page offers, then decode it in the decode panel
    with page.expect_download() as info:
        page.locator("#fsd a").first.click()
    fsd = tmp_path / "downloaded.fsd"
    info.value.save_as(fsd)
    blob = fsd.read_bytes()
    assert len(blob) == expected.budget and bitstream.unpack(blob).model == expected.fsd_codec

    page.get_by_text("decode a .fsd file").click()
    page.locator("#fsd-upload input[type=file]").set_input_files(str(fsd))
    page.wait_for_function("() => document.querySelector('#fsd-upload').innerText.includes('downloaded.fsd')")
    page.click("#decode")
    page.wait_for_function("() => (document.querySelector('#decoded-info textarea') || {}).value?.includes('bytes')")
    text = page.locator("#decoded-info textarea").input_value()
    assert re.search(rf"64×64 from {len(blob)} bytes .* model {expected.fsd_codec}", text), text
    assert page.locator("#decoded img").count() == 1

    page.screenshot(path=str(shots / "demo.png"), full_page=True)
    assert (shots / "demo.png").stat().st_size > 10_000
    page.close()

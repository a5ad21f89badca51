"""The Gradio demo: callbacks as plain functions, and the launched app driven through gradio_client."""
import socket

import numpy as np
import pytest

from fasdiff_lite import bitstream, data, demo
from fasdiff_lite.models import zoo

gr = pytest.importorskip("gradio")


def test_compare_on_a_sample_face(tmp_path):
    gallery, rows, fsd = demo.compare(None, demo.sample_choices()[0], rate=0.3, size=64, out_dir=str(tmp_path))
    codecs = [r[0] for r in rows]
    assert gallery[0][0].shape == (64, 64, 3) and len(gallery) == len(rows) + 1
    assert {"jpeg", "webp"} <= set(codecs)
    learned = demo.available_learned()
    assert codecs[:len(learned)] == learned
    if learned:  # every classical codec was fitted to the learned file's byte budget
        budget = rows[0][1]
        assert bitstream.unpack(open(fsd, "rb").read()).height == 64 and len(open(fsd, "rb").read()) == budget
        for r in rows:
            if r[0] in ("jpeg", "webp", "avif"):
                assert r[1] <= budget or "cannot reach" in r[-1]
    if "fasdiff" in zoo.available("codec"):  # same compressor streams: exactly the same bytes
        assert dict((r[0], r[1]) for r in rows)["fasdiff"] == rows[0][1]
    for r in rows:
        assert r[2] == pytest.approx(8 * r[1] / 64**2, abs=1e-4) and 5 < r[3] < 60 and 0 < r[4] <= 1
        assert dict(zip(demo.TABLE_COLUMNS, r))["detail ratio"] > 0  # the offline realism number, per codec


def test_compare_on_an_uploaded_odd_image():
    rgba = np.dstack([data.sample_faces(128)[1][:100, :120], np.full((100, 120), 255, np.uint8)])
    gallery, rows, _ = demo.compare(rgba, None, rate=0.8, size=64)
    assert all(img.shape == (64, 64, 3) for img, _ in gallery)


def test_compare_rejects_bad_input():
    with pytest.raises(ValueError, match="sample"):
        demo.compare(None, "nobody", 0.5)
    with pytest.raises(ValueError, match="size"):
        demo.compare(None, demo.sample_choices()[0], 0.5, size=65)
    with pytest.raises(ValueError):
        demo.compare(np.zeros((3, 3), np.uint8), None, 0.5)  # too small to be a face


@pytest.mark.skipif(not demo.available_learned(), reason="shipped compressor weights not present")
def test_decode_file_round_trip_and_errors(tmp_path):
    _, rows, fsd = demo.compare(None, demo.sample_choices()[0], rate=0.5, out_dir=str(tmp_path))
    img, info = demo.decode_file(fsd)
    assert img.shape == (64, 64, 3) and f"{rows[0][1]} bytes" in info
    bad = tmp_path / "bad.fsd"
    bad.write_bytes(b"hello world, not a face")
    with pytest.raises(bitstream.BitstreamError, match="magic"):
        demo.decode_file(str(bad))
    with pytest.raises(ValueError, match="upload"):
        demo.decode_file(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_launched_app_answers_gradio_client(tmp_path):
    from gradio_client import Client, handle_file

    app = demo.build_app()
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
        gallery, table, fsd = client.predict(None, demo.sample_choices()[1], 0.4, "64", 2, 1.0, True, api_name="/compare")
        codecs = [row[0] for row in table["data"]]
        assert {"jpeg", "webp"} <= set(codecs) and len(gallery) == len(codecs) + 1
        if demo.available_learned():
            decoded, info = client.predict(handle_file(fsd), 2, 1.0, api_name="/decode")
            assert "64×64" in info
        # an upload that is not an image, and a hostile .fsd file: the demo's own one-line message, not gradio's
        # generic "upstream app raised an exception"
        fake = tmp_path / "photo.png"
        fake.write_bytes(b"this is not an image" * 10)
        with pytest.raises(Exception, match="not a readable image"):
            client.predict(handle_file(str(fake)), None, 0.4, "64", 2, 1.0, True, api_name="/compare")
        bad = tmp_path / "bad.fsd"
        bad.write_bytes(b"hello world, not a face")
        with pytest.raises(Exception, match="magic"):
            client.predict(handle_file(str(bad)), 2, 1.0, api_name="/decode")
    finally:
        app.close()


def test_downloads_share_one_folder_and_are_pruned():
    """Every compare used to leave a temporary folder behind (106 after ~110 requests)."""
    folders = set()
    for i in range(demo.KEEP_FILES + 15):
        p = demo._download_path(0.3)
        p.write_bytes(b"x")
        folders.add(p.parent)
    assert len(folders) == 1
    assert len(list(folders.pop().glob("*.fsd"))) <= demo.KEEP_FILES


def test_an_uploaded_photo_is_aligned_or_refused_with_a_clear_message():
    """An off-centre face in a larger photo is found and aligned (the crop looks like the training faces, not like
    the photo's centre square); a photo without a face says how to get a centre crop instead; align=False keeps
    the centre square."""
    from fasdiff_lite import faces

    if not faces.is_available():
        pytest.skip("dlib or its landmark model is not installed")
    photo = np.full((300, 400, 3), 90, np.uint8)
    photo[20:148, 250:378] = data.sample_faces(128)[0]
    gallery, rows, _ = demo.compare(photo, None, rate=0.5, size=64)
    aligned = gallery[0][0]
    assert aligned.shape == (64, 64, 3)
    assert abs(float(aligned.mean()) - float(data.sample_faces(64)[0].mean())) < 25  # the face, not the grey wall
    centre = demo.compare(photo, None, rate=0.5, size=64, align=False)[0][0][0]
    assert float(np.abs(centre.astype(float) - 90).mean()) < float(np.abs(aligned.astype(float) - 90).mean())
    gradient = np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))
    with pytest.raises(ValueError, match="untick"):
        demo.compare(gradient, None, rate=0.5)

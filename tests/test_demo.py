"""The Gradio demo: callbacks as plain functions (``demo``), and the launched app (``commands/demo``) driven through
gradio_client."""
import socket
from pathlib import Path

import numpy as np
import pytest

from fasdiff_lite import bitstream, data, demo
from fasdiff_lite.commands import demo as demo_app
from fasdiff_lite.models import zoo

gr = pytest.importorskip("gradio")


def test_compare_on_a_sample_face(tmp_path):
    r = demo.compare(None, demo.sample_choices()[0], rate=0.3, size=64, out_dir=str(tmp_path))
    rows = [dict(zip(demo.TABLE_COLUMNS, row)) for row in r.rows()]
    codecs = [row["codec"] for row in rows]
    assert codecs == demo.default_codecs() and {"jpeg", "webp"} <= set(codecs)
    gallery = r.gallery()
    assert gallery[0][0].shape == (64, 64, 3) and len(gallery) == len(rows) + 1
    for (img, caption), row in zip(gallery[1:], rows):  # each caption carries that codec's real file size
        assert caption == f"{row['codec']}: {row['bytes']} B" and img.shape == (64, 64, 3)
    learned = [c for c in codecs if c not in ("jpeg", "webp", "avif")]
    if learned:
        budget = r.budget
        assert r.budget_codec == learned[0] and dict(zip(codecs, [x["bytes"] for x in rows]))[learned[0]] == budget
        blob = open(r.fsd, "rb").read()
        assert len(blob) == budget and bitstream.unpack(blob).height == 64
        assert bitstream.unpack(blob).model == ("fasdiff" if "fasdiff" in codecs else learned[0])
        heading = r.heading()
        assert f"**{budget} B**" in heading
        for row in rows:
            if row["codec"] in ("jpeg", "webp", "avif"):  # fitted to the budget, or says it cannot be
                assert row["bytes"] <= budget or "cannot get down" in row["note"]
                fits = row["bytes"] <= budget
                listed = heading.split("At equal bytes")[1].split(".")[0] if "At equal bytes" in heading else ""
                assert (row["codec"] in listed) == fits, heading
            elif row["codec"] != r.budget_codec and row["bytes"] != budget:  # never called "equal bytes"
                assert "its own bytes" in row["note"] and f"{row['codec']} {row['bytes']} B" in heading
    if "fasdiff" in zoo.available("codec") and "hf-compressor" in codecs:  # same compressor streams: same bytes
        assert dict(zip(codecs, [x["bytes"] for x in rows]))["fasdiff"] == dict(zip(codecs, [x["bytes"] for x in rows]))["hf-compressor"]
    for row in rows:
        assert row["bpp"] == pytest.approx(8 * row["bytes"] / 64**2, abs=1e-4) and 5 < row["PSNR (dB)"] < 60
        assert 0 < row["MS-SSIM"] <= 1 and row["detail ratio"] > 0
        assert row["identity cosine"] is None or 0.5 < row["identity cosine"] <= 1.0
    if "hf-compressor" in demo.available_learned():
        assert r.bit_map.shape == (64, 64, 3) and "bits" in r.bit_caption


def test_only_what_changed_is_coded_again(monkeypatch):
    """A realism change re-runs only the diffusion decoder; the same setting twice codes nothing."""
    if "fasdiff" not in zoo.available("codec"):
        pytest.skip("no shipped FaSDiff codec")
    calls = {"fit": 0, "decode": 0}
    from fasdiff_lite.evaluation import baselines

    fit = baselines.fit_bytes
    monkeypatch.setattr(baselines, "fit_bytes", lambda *a, **k: calls.__setitem__("fit", calls["fit"] + 1) or fit(*a, **k))
    codec = zoo.cached("fasdiff")
    dec = codec.decompress
    monkeypatch.setattr(codec, "decompress", lambda *a, **k: calls.__setitem__("decode", calls["decode"] + 1) or dec(*a, **k))
    demo.clear_cache()
    sample = demo.sample_choices()[0]
    first = demo.compare(None, sample, rate=0.41)
    assert calls == {"fit": 2, "decode": 1}
    demo.compare(None, sample, rate=0.41)
    assert calls == {"fit": 2, "decode": 1}
    other = demo.compare(None, sample, rate=0.41, realism=0.5)
    assert calls == {"fit": 2, "decode": 2}
    assert other.rows()[1:] == first.rows()[1:] and other.rows()[0] != first.rows()[0]


def test_compare_on_an_uploaded_odd_image():
    rgba = np.dstack([data.sample_faces(128)[1][:100, :120], np.full((100, 120), 255, np.uint8)])
    r = demo.compare(rgba, None, rate=0.8, size=64, align=False, codecs=["hyperprior", "webp"])
    assert all(img.shape == (64, 64, 3) for img, _ in r.gallery())
    assert r.budget_codec == "hyperprior" and "centre square" in r.heading()


def test_compare_rejects_bad_input():
    sample = demo.sample_choices()[0]
    with pytest.raises(ValueError, match="sample"):
        demo.compare(None, "nobody", 0.5)
    with pytest.raises(ValueError, match="size"):
        demo.compare(None, sample, 0.5, size=65)
    with pytest.raises(ValueError):
        demo.compare(np.zeros((3, 3), np.uint8), None, 0.5)  # too small to be a face
    with pytest.raises(ValueError, match="rate"):
        demo.compare(None, sample, 1.5)
    with pytest.raises(ValueError, match="not available here: nocodec"):
        demo.compare(None, sample, 0.5, codecs=["webp", "nocodec"])
    with pytest.raises(ValueError, match="at least one"):
        demo.compare(None, sample, 0.5, codecs=[])


def test_classical_codecs_alone_get_the_given_budget():
    r = demo.compare(None, demo.sample_choices()[0], 0.5, codecs=["webp"], budget=400)
    assert r.budget_codec is None and r.fsd is None and r.rows()[0][1] <= 400 and "400 B" in r.heading()


@pytest.mark.skipif(not demo.available_learned(), reason="shipped compressor weights not present")
def test_decode_file_round_trip_and_errors(tmp_path):
    r = demo.compare(None, demo.sample_choices()[0], rate=0.5, out_dir=str(tmp_path))
    img, info = demo.decode_file(r.fsd)
    assert img.shape == (64, 64, 3) and f"{r.budget} bytes" in info and f"model {r.fsd_codec}" in info
    bad = tmp_path / "bad.fsd"
    bad.write_bytes(b"hello world, not a face")
    with pytest.raises(bitstream.BitstreamError, match="magic"):
        demo.decode_file(str(bad))
    with pytest.raises(ValueError, match="upload"):
        demo.decode_file(None)


def test_rate_distortion_of_one_face():
    codecs = [c for c in ("hf-compressor", "webp") if c in demo.available_codecs()]
    pts = demo.rd_points(data.sample_faces(64)[0], codecs)
    assert list(pts) == codecs
    for c, v in pts.items():
        bpp = [p[0] for p in v]
        assert bpp == sorted(bpp) and len(v) >= (len(demo.RD_RATES) if c == "hf-compressor" else 5)
        assert v[-1][1] > v[0][1] + 3, f"{c}: more bits did not buy quality"
    img = demo.figure_to_image(demo.rd_figure(None, demo.sample_choices()[0], codecs=codecs))
    assert img.ndim == 3 and img.shape[2] == 3 and img.shape[1] > 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_launched_app_answers_gradio_client(tmp_path):
    from gradio_client import Client, handle_file

    app = demo_app.build_app()
    port = _free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
        gallery, table, fsd, heading, bit_map, pasted = client.predict(
            None, None, demo.sample_choices()[1], 0.4, "64", 2, 1.0, True, demo.default_codecs(), True,
            api_name="/compare")
        codecs = [row[0] for row in table["data"]]
        assert {"jpeg", "webp"} <= set(codecs) and len(gallery) == len(codecs) + 1 and "real file" in heading
        if demo.available_learned():
            decoded, info = client.predict(handle_file(fsd), 2, 1.0, api_name="/decode")
            assert "64×64" in info
        # an upload that is not an image, and a hostile .fsd file: the demo's own one-line message, not gradio's
        # generic "upstream app raised an exception"
        fake = tmp_path / "photo.png"
        fake.write_bytes(b"this is not an image" * 10)
        with pytest.raises(Exception, match="not a readable image"):
            client.predict(handle_file(str(fake)), None, None, 0.4, "64", 2, 1.0, True, ["webp"], False,
                           api_name="/compare")
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
    the photo's centre square) and can be pasted back into the photo; a photo without a face says how to get a
    centre crop instead; align=False keeps the centre square."""
    from fasdiff_lite import faces

    if not faces.is_available():
        pytest.skip("dlib or its landmark model is not installed")
    photo = np.full((300, 400, 3), 90, np.uint8)
    photo[20:148, 250:378] = data.sample_faces(128)[0]
    r = demo.compare(photo, None, rate=0.5, size=64, paste=True, codecs=["hyperprior", "webp"])
    aligned = r.face
    assert aligned.shape == (64, 64, 3) and "aligned" in r.input.what
    assert abs(float(aligned.mean()) - float(data.sample_faces(64)[0].mean())) < 25  # the face, not the grey wall
    pasted = r.pasted  # the decoded face, back where it was, in the photo downscaled to 256 px wide
    assert pasted.shape == (192, 256, 3)
    wall = np.abs(pasted.astype(float) - 90).max(-1) <= 1
    assert wall[:, :140].mean() > 0.98 and wall[15:90, 165:240].mean() < 0.2  # the wall stays; the face is there
    centre = demo.compare(photo, None, rate=0.5, size=64, align=False, codecs=["webp"]).face
    assert float(np.abs(centre.astype(float) - 90).mean()) < float(np.abs(aligned.astype(float) - 90).mean())
    gradient = np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))
    with pytest.raises(ValueError, match="untick"):
        demo.compare(gradient, None, rate=0.5)


def test_a_webcam_picture_is_used_when_nothing_is_uploaded():
    """The webcam frame (an array from gr.Image) comes before the sample, after an upload."""
    frame = np.full((240, 320, 3), 60, np.uint8)
    frame[40:168, 100:228] = data.sample_faces(128)[1]
    r = demo.compare(None, demo.sample_choices()[0], 0.5, webcam=frame, align=False, codecs=["webp"])
    assert r.input.what.startswith("webcam photo") and r.input.photo.shape == (240, 320, 3)
    upload = data.sample_faces(128)[0]
    r = demo.compare(upload, demo.sample_choices()[0], 0.5, webcam=frame, align=False, codecs=["webp"])
    assert r.input.what.startswith("upload")


def test_images_go_to_gradio_as_png_files_written_once():
    """demo.png_file: lossless, named by content, written once (gradio rewrites an array's cache file on every
    use, which served half-written images to concurrent requests)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    a = demo.png_file(img)
    first = Path(a).stat().st_mtime_ns
    assert demo.png_file(img.copy()) == a and Path(a).stat().st_mtime_ns == first
    assert np.array_equal(np.asarray(Image.open(a)), img)
    other = demo.png_file(img[::-1].copy())
    assert other != a and demo.png_file(None) is None
    assert not list(Path(a).parent.glob("*.part"))

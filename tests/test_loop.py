"""The shared training loop: the wall-clock budget stops training, and the history and checkpoint it leaves
count every step that ran (a model card reads its step count from them)."""
import json
import time

import numpy as np
import torch

from fasdiff_lite.train import loop


def test_budget_stop_logs_and_checkpoints_every_step_done(tmp_path):
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    cfg = loop.TrainConfig(steps=10_000, batch_size=2, lr=0.1, warmup=0, min_lr=0.1, out=str(tmp_path / "run"),
                           checkpoint_every=10_000, minutes=0.02, resume=False, device="cpu")
    calls = []

    def step_fn(x, step):
        calls.append(step)
        return {"loss": model(x.float().flatten(1)[:, :3]).pow(2).mean()}

    history = loop.run(cfg, torch.rand(8, 3), {"model": model}, opt, step_fn)
    done = len(calls)
    assert 0 < done < cfg.steps  # stopped by the clock, not by the step count
    assert history[-1]["step"] == done  # the last row is written at the stop, not at the last multiple of log_every
    progress = json.loads((tmp_path / "run" / "checkpoint" / "progress.json").read_text())
    assert progress["step"] == done


def test_training_time_survives_a_resume_and_an_export_only_rerun(tmp_path):
    """A resumed process starts its own clock at 0; the exported training time adds the stretches. Re-running a finished
    run only to export it (``--steps <its step> --export DIR``) trains nothing and must not report 0 s."""
    model = torch.nn.Linear(3, 1)

    def run(steps):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        cfg = loop.TrainConfig(steps=steps, batch_size=2, lr=0.1, warmup=0, min_lr=0.1, out=str(tmp_path / "run"),
                               checkpoint_every=1, log_every=1, device="cpu")

        def step_fn(x, step):
            if step < 4:
                time.sleep(0.05)
            return {"loss": model(x.float()).pow(2).mean()}

        return loop.run(cfg, torch.rand(8, 3), {"model": model}, opt, step_fn)

    first = run(2)
    resumed = run(4)  # resumes at step 2 with a fresh clock
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[2]["time_s"] < resumed[1]["time_s"]  # the second process's clock started again
    total = loop.training_seconds(resumed)
    assert total == round(first[-1]["time_s"] + resumed[-1]["time_s"], 1)
    assert total >= 0.2  # four steps of at least 50 ms
    export_only = run(4)  # nothing left to train
    assert export_only == resumed
    facts = loop.training_facts(loop.TrainConfig(steps=4, batch_size=2, lr=0.1, seed=0), export_only, 8, time.time())
    assert facts["wall_time_s"] == total and facts["wall_time_s_this_run"] < 0.1
    assert loop.training_seconds([]) == 0.0


def test_a_portable_checkpoint_resumes_elsewhere_with_the_same_weights_and_step(tmp_path):
    """``portable_checkpoint``: fp16 weights and progress only (small enough to commit); a run pointed at it resumes
    at its step with those weights (to fp16 precision) and a fresh optimizer."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)

    def run(out, steps):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        cfg = loop.TrainConfig(steps=steps, batch_size=2, lr=0.01, warmup=0, min_lr=0.1, out=str(out),
                               checkpoint_every=1, log_every=1, device="cpu")
        return loop.run(cfg, torch.rand(8, 3), {"model": model}, opt, lambda x, s: {"loss": model(x.float()).pow(2).mean()})

    run(tmp_path / "here", 3)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    ck = loop.portable_checkpoint(tmp_path / "here", tmp_path / "committed")
    assert sorted(p.name for p in ck.iterdir()) == ["model.safetensors", "progress.json"]
    with torch.no_grad():
        model.weight.zero_()  # another machine: a fresh model
    history = run(tmp_path / "committed", 3)  # nothing left to train: it only loads
    assert [r["step"] for r in history] == [1, 2, 3]
    assert all(torch.allclose(model.state_dict()[k], v, atol=1e-3) for k, v in trained.items())
    assert [r["step"] for r in run(tmp_path / "committed", 5)] == [1, 2, 3, 4, 5]  # and trains on from there


def test_a_limit_on_utkface_draws_across_the_set_not_its_first_names(monkeypatch):
    """UTKFace's files sort by age ("1_…", "10_…", "100_…"), so its first N faces are the youngest and oldest: a
    --limit draws N at random (seeded) instead, in the set's order, the same N each time."""
    from fasdiff_lite import face_sets

    n = 1000
    ordered = np.arange(n, dtype=np.uint16)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint16)
    monkeypatch.setattr(face_sets, "load_utkface", lambda size, split: (ordered, [f"{i}_0_0_x.jpg" for i in range(n)]))
    cfg = loop.TrainConfig(faces="utkface", limit=100, seed=3).resolved()
    cfg.limit = 100  # FAST mode may have lowered it
    picked = loop.training_faces(cfg)[:, 0, 0, 0]
    assert len(picked) == 100 and len(set(picked)) == 100 and (np.diff(picked) > 0).all()
    assert picked.max() > 0.8 * n and picked.min() < 0.2 * n  # spread over the whole set, not its first 100
    assert (loop.training_faces(cfg)[:, 0, 0, 0] == picked).all()
    cfg.limit = None
    assert len(loop.training_faces(cfg)) == n

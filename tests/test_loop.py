"""The shared training loop: the wall-clock budget stops training, and the history and checkpoint it leaves
count every step that ran (a model card reads its step count from them)."""
import json

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

"""Resumable training: a run stopped in the middle of an epoch and started again with its resume
file ends with the same bytes as a run that was never stopped."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from ncdss_core.train.loaders import epoch_batches, seeded_loader
from ncdss_core.train.loop import fit
from ncdss_core.train.resume import ResumeFile
from ncdss_core.train.schedules import PolySchedule

EPOCHS = 4


class Stop(Exception):
    pass


class Step:
    """MSE of a model with dropout (draws from the global torch RNG), a stop point, and a state of
    its own (an EMA copy, like EUMS's teacher) that must be saved too."""

    def __init__(self, model: nn.Module, stop_at: tuple[int, int] | None = None):
        self.stop_at, self.iteration = stop_at, {}
        self.ema = [p.detach().clone() for p in model.parameters()]

    def __call__(self, model, batch, epoch):
        count = self.iteration[epoch] = self.iteration.get(epoch, -1) + 1
        if self.stop_at == (epoch, count):
            raise Stop()
        with torch.no_grad():
            for e, p in zip(self.ema, model.parameters()):
                e.mul_(0.9).add_(p, alpha=0.1)
        x, y = batch
        return ((model(x) - y) ** 2).mean()

    def state_dict(self):
        return {"ema": [e.clone() for e in self.ema]}

    def load_state_dict(self, state):
        self.ema = [e.clone() for e in state["ema"]]


def run(resume: ResumeFile | None, stop_at=None):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 1))
    data = TensorDataset(torch.randn(40, 4), torch.randn(40, 1))
    data.epoch = 0
    loader = seeded_loader(data, 8, seed=3, workers=0, drop_last=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    step = Step(model, stop_at)
    result = fit(model, optimizer, PolySchedule(1e-2, EPOCHS, 0.9), EPOCHS, epoch_batches(loader), step,
                 select=lambda m: -float(m[0].weight.detach().abs().sum()), resume=resume, amp=False)
    return model, step, result


def without_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_a_stopped_run_resumes_to_the_same_bytes(tmp_path):
    model, step, result = run(None)
    resume = ResumeFile(tmp_path / ".model.resume", key="run-a")
    with pytest.raises(Stop):
        run(resume, stop_at=(2, 3))  # in the middle of the third epoch
    assert resume.path.is_file()
    assert len(ResumeFile(resume.path, key="run-a").load()["history"]) == 2
    again, again_step, again_result = run(resume)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert all(torch.equal(a, b) for a, b in zip(step.ema, again_step.ema))
    assert without_seconds(result.history) == without_seconds(again_result.history)
    assert result.selected_epoch == again_result.selected_epoch
    assert all(torch.equal(result.selected_state[k], again_result.selected_state[k]) for k in result.selected_state)


def test_the_resume_file_of_another_run_is_ignored(tmp_path):
    resume = ResumeFile(tmp_path / ".model.resume", key="run-a")
    with pytest.raises(Stop):
        run(resume, stop_at=(2, 0))
    model, _, result = run(None)
    other, _, other_result = run(ResumeFile(resume.path, key="run-b"))
    assert len(other_result.history) == EPOCHS
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in model.state_dict().items())


def test_the_saved_rng_state_is_what_makes_the_resume_exact(tmp_path):
    """The state that is saved is the state that is used: drop the RNG state and the bytes differ."""
    resume = ResumeFile(tmp_path / ".model.resume", key="run-a")
    with pytest.raises(Stop):
        run(resume, stop_at=(2, 1))
    saved = resume.load()
    saved["rng"]["torch"] = torch.manual_seed(99).get_state()
    resume.save(saved)
    model, _, _ = run(None)
    broken, _, _ = run(resume)
    assert not all(torch.equal(v, broken.state_dict()[k]) for k, v in model.state_dict().items())

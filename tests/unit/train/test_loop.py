"""The one epoch loop: records, loss parts, selection, hooks, and its stop on a non-finite loss."""

import math

import pytest
import torch
from torch import nn

from ncdss_core.train.loop import fit
from ncdss_core.train.schedules import PolySchedule, StepSchedule

torch.set_num_threads(1)


def _problem(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(3, 1)
    x = torch.randn(12, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    batches = lambda epoch: [(x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]
    optimizer = torch.optim.SGD([{"params": model.parameters(), "lr_mult": 1.0}], lr=0.1)
    return model, optimizer, batches


def mse(model, batch, epoch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def test_records_hold_the_schedule_rate_iterations_and_the_mean_loss():
    model, optimizer, batches = _problem()
    result = fit(model, optimizer, StepSchedule(0.1, [0], 0.1), 3, batches, mse,
                 measure=lambda epoch: {"probe": epoch * 2}, amp=False)
    first = result.history[0]
    assert list(first) == ["epoch", "lr", "iterations", "seconds", "loss", "probe"]
    assert [r["lr"] for r in result.history] == [0.1, pytest.approx(0.01), pytest.approx(0.01)]
    assert first["iterations"] == 3 and result.history[2]["probe"] == 4
    assert result.history[-1]["loss"] < first["loss"]
    assert result.selected_epoch == 2 and result.selected_state is None  # no selection: the last epoch


def test_named_parts_are_averaged_and_the_step_state_comes_first():
    class PartsStep:
        def __call__(self, model, batch, epoch):
            loss = mse(model, batch, epoch)
            return loss, {"fit": float(loss.detach()), "const": 2.0}

        def epoch_fields(self, model):
            return {"weight": 0.5}

    model, optimizer, batches = _problem()
    history = fit(model, optimizer, PolySchedule(0.1, 2, 0.9), 2, batches, PartsStep(), amp=False).history
    assert list(history[0]) == ["epoch", "lr", "iterations", "seconds", "weight", "loss_fit", "loss_const"]
    assert history[0]["loss_const"] == 2.0 and "loss" not in history[0]
    assert history[1]["lr"] == pytest.approx(0.1 * 0.5 ** 0.9)


def test_selection_keeps_the_best_state_and_the_hook_runs_before_each_epoch():
    model, optimizer, batches = _problem()
    started, scores = [], iter([0.2, 0.7, 0.3])
    kept = {}

    def select(m):
        score = next(scores)
        if score == 0.7:
            kept.update({k: v.clone() for k, v in m.state_dict().items()})
        return score

    result = fit(model, optimizer, StepSchedule(0.1, [], 0.1), 3, batches, mse, select=select,
                 on_epoch_start=started.append, amp=False)
    assert started == [0, 1, 2] and result.selected_epoch == 1
    assert all(torch.equal(result.selected_state[k], v) for k, v in kept.items())
    assert [r["select_score"] for r in result.history] == [0.2, 0.7, 0.3]


def test_a_non_finite_loss_stops_at_once_naming_where_and_the_last_finite_loss():
    model, optimizer, batches = _problem()
    seen = []

    def step(model, batch, epoch):
        loss = mse(model, batch, epoch)
        seen.append(float(loss.detach()))
        return loss * math.nan if (epoch, len(seen)) == (1, 5) else loss

    measured = []
    with pytest.raises(FloatingPointError) as error:
        fit(model, optimizer, StepSchedule(0.1, [], 0.1), 3, batches, step, label="toy",
            measure=lambda epoch: measured.append(epoch) or {}, amp=False)
    message = str(error.value)
    assert message.startswith("toy: loss nan at epoch 1, iteration 1; last finite loss ")
    assert message.endswith(repr(seen[3]))
    assert measured == [0]                               # epoch 1 never finished
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no update with the bad loss


def test_schedules_honour_group_multipliers_with_the_methods_arithmetic():
    params = [nn.Parameter(torch.zeros(1)) for _ in range(3)]
    optimizer = torch.optim.SGD([{"params": [params[0]], "lr_mult": 1.0}, {"params": [params[1]], "lr_mult": 0.01},
                                 {"params": [params[2]]}], lr=1.0)
    step = StepSchedule(0.1, [15], 0.1)
    assert step.apply(optimizer, 15) == 0.1                               # strict ">"
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.1 * 0.01 * 1.0, 0.1]
    step.apply(optimizer, 16)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1 * 1.0 * 0.1, 0.1 * 0.01 * 0.1, 0.1 * 1.0 * 0.1]
    poly = PolySchedule(1.0e-3, 4, 0.9)
    rate = poly.apply(optimizer, 2)
    assert rate == 1.0e-3 * 0.5 ** 0.9
    assert [g["lr"] for g in optimizer.param_groups] == [rate, rate * 0.01, rate]

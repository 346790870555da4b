"""compute.max_iterations_per_epoch: 0 runs every batch (config.yaml's value, today's behaviour);
N > 0 ends each epoch after N iterations and changes nothing else of the training (make rehearsal)."""

import pytest
import torch
from torch import nn

from ncdss_core.config import read_yaml
from ncdss_core.train import loop
from ncdss_core.train.loop import cap_iterations, fit
from ncdss_core.train.schedules import StepSchedule
from conftest import REPO

torch.set_num_threads(1)


def _train(cap: int):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(16, 3)
    y = x.sum(1, keepdim=True)
    seen = []

    def batches(epoch):
        for i in range(0, 16, 4):
            seen.append((epoch, i))
            yield x[i:i + 4], y[i:i + 4]

    optimizer = torch.optim.SGD([{"params": model.parameters(), "lr_mult": 1.0}], lr=0.1)
    cap_iterations(cap)
    try:
        history = fit(model, optimizer, StepSchedule(0.1, [], 0.1), 2, batches,
                      lambda m, b, e: ((m(b[0]) - b[1]) ** 2).mean(), amp=False).history
    finally:
        cap_iterations(0)
    return history, seen, model.weight.detach().clone()


def test_config_yaml_keeps_every_batch():
    assert read_yaml(REPO / "config.yaml")["compute"]["max_iterations_per_epoch"] == 0


def test_no_cap_runs_every_batch_and_a_cap_ends_each_epoch_after_n_iterations():
    full, seen_full, _ = _train(0)
    assert [r["iterations"] for r in full] == [4, 4] and len(seen_full) == 8
    capped, seen, weights = _train(1)
    assert [r["iterations"] for r in capped] == [1, 1]
    assert seen == [(0, 0), (1, 0)]  # the first batch of each epoch, no batch drawn beyond the cap
    # the same first update as the uncapped run: the cap only shortens
    one_update = _train(1)[2]
    assert torch.equal(weights, one_update)
    assert loop._iteration_cap == 0


def test_a_negative_cap_is_refused():
    with pytest.raises(ValueError, match="max_iterations_per_epoch"):
        cap_iterations(-1)

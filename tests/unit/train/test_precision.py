"""Mixed precision (`compute.amp`): auto means cuda only; off is the plain float32 step to the
bit; on, the step's forward pass runs under autocast (bfloat16 on CPU, where it can be tested
here), every training's operators accept it, a non-finite loss still stops naming where, and the
precision's state travels in the resume file."""

import numpy as np
import pytest
import torch
from config_defaults import section
from torch import nn

from ncdss_core.train.loop import fit, to_device
from ncdss_core.train.precision import Precision, use_amp
from ncdss_core.train.resume import ResumeFile
from ncdss_core.train.schedules import StepSchedule
from ncdss_core.weak.trainer import ICDTrainData, TrainConfig, build_icd_net, train_icd

torch.set_num_threads(1)


def test_auto_is_on_for_cuda_only_and_other_values_are_refused():
    assert use_amp("auto", "cuda") and use_amp("auto", "cuda:1")
    assert not use_amp("auto", "cpu")
    assert use_amp(True, "cpu") and not use_amp(False, "cuda")
    with pytest.raises(ValueError, match="compute.amp: unknown value 'yes'"):
        use_amp("yes", "cpu")


def _problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 1))
    x = torch.randn(12, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    batches = lambda epoch: [(x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)]
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), batches


def mse(model, batch, epoch):
    x, y = batch
    return ((model(x).float() - y) ** 2).mean()


def test_amp_off_is_the_plain_float32_step_to_the_bit():
    model, optimizer, batches = _problem()
    fit(model, optimizer, StepSchedule(0.1, [], 0.1), 2, batches, mse, amp=False)
    plain, plain_optimizer, _ = _problem()
    for epoch in range(2):
        for batch in batches(epoch):
            loss = mse(plain, batch, epoch)
            plain_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            plain_optimizer.step()
    for a, b in zip(model.state_dict().values(), plain.state_dict().values()):
        assert torch.equal(a, b)


def test_amp_on_runs_the_forward_pass_under_autocast():
    seen = []

    def step(model, batch, epoch):
        seen.append((torch.is_autocast_enabled("cpu"), model[0](batch[0]).dtype))
        return mse(model, batch, epoch)

    model, optimizer, batches = _problem()
    history = fit(model, optimizer, StepSchedule(0.1, [], 0.1), 2, batches, step, amp=True).history
    assert set(seen) == {(True, torch.bfloat16)} and np.isfinite(history[-1]["loss"])
    reference, reference_optimizer, _ = _problem()
    fit(reference, reference_optimizer, StepSchedule(0.1, [], 0.1), 2, batches, mse, amp=False)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))


def test_a_non_finite_loss_still_stops_under_amp_naming_where():
    model, optimizer, batches = _problem()
    calls = []

    def step(model, batch, epoch):
        calls.append(epoch)
        loss = mse(model, batch, epoch)
        return loss * float("inf") if len(calls) == 5 else loss

    with pytest.raises(FloatingPointError, match="toy: loss inf at epoch 1, iteration 1"):
        fit(model, optimizer, StepSchedule(0.1, [], 0.1), 3, batches, step, label="toy", amp=True)


def test_the_precision_state_is_saved_in_the_resume_file(tmp_path):
    model, optimizer, batches = _problem()
    resume = ResumeFile(tmp_path / "r", "key")
    fit(model, optimizer, StepSchedule(0.1, [], 0.1), 2, batches, mse, amp=True, resume=resume)
    assert resume.load()["parts"]["precision"] == {}  # CPU autocast: bfloat16 needs no scaler
    model, optimizer, batches = _problem()
    plain = ResumeFile(tmp_path / "o", "k")
    fit(model, optimizer, StepSchedule(0.1, [], 0.1), 2, batches, mse, amp=False, resume=plain)
    assert "precision" not in plain.load()["parts"]


def test_without_cuda_the_scaler_is_absent_and_batches_stay_put():
    precision = Precision("cpu", True)
    assert precision.scaler is None and precision.dtype == torch.bfloat16
    batch = {"image": torch.ones(2), "meta": [torch.zeros(1), "id"]}
    moved = to_device(batch, "cpu")
    assert moved["image"] is batch["image"] and moved["meta"][1] == "id"


def test_icd_training_runs_under_autocast():
    rng = np.random.default_rng(0)
    images = {f"i{i}": rng.integers(0, 255, (41, 41, 3)).astype(np.uint8) for i in range(8)}
    superpixels = {key: (np.arange(41 * 41).reshape(41, 41) // 300).astype(np.int32) for key in images}
    labels = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    cfg = TrainConfig.from_params({**section("weak.model", init="random", width=4, head_channels=8),
                                   **section("weak.train", epochs=2, batch_size=4, crop=41)})
    torch.manual_seed(0)
    model = build_icd_net(cfg, 2)
    data = ICDTrainData(list(images), labels, images.__getitem__, superpixels.__getitem__, cfg, seed=0)
    history = train_icd(model, data, cfg, seed=0, amp=True)
    assert all(np.isfinite(value) for record in history for key, value in record.items()
               if key.startswith("loss_"))
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_eums_trains_under_autocast(tmp_path):
    """Teacher, EMA, strong view and reassignment accept a bfloat16 forward pass."""
    from ncdss_fixtures import base_run, finetune_inputs, finetune_run, make_voc_dataset

    from ncdss_core.data.datasets import open_dataset
    from ncdss_core.data.files import write_label_png
    from ncdss_core.discovery.finetuning import train_finetune_model

    dataset = open_dataset("generated", make_voc_dataset(tmp_path / "voc", n_train=16, n_val=2))
    ids = list(dataset.ids("trainaug"))
    for image_id in ids[8:]:
        label = dataset.read_label(image_id)
        write_label_png(tmp_path / "pseudo" / f"{image_id}.png", np.where(label == 255, 0, np.minimum(label, 20)))
    model_cfg = section("model", input_size=32, widths=[8, 8, 16, 16], head_channels=8, atrous_rates=[1, 2, 3])
    finetune = section("finetune", epochs=2, batch_size=2, decay_epochs=[0], reassign_epochs=[1],
                       selection="last")
    result = train_finetune_model(dataset, finetune_run("eums", 5, model_cfg, finetune, 3, amp=True),
                                  finetune_inputs(ids[:8], ids[8:], [], tmp_path / "pseudo", clean_ids=ids[8:12],
                                                  unclean_ids=ids[12:]),
                                  tmp_path / "eums", "cpu", None)
    assert all(np.isfinite(record["loss"]) for record in result.history)

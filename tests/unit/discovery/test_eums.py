import math

import pytest
import torch
from config_defaults import section

from ncdss_core.discovery.eums import EUMSStep, clean_step, ema_update, make_teacher, rampup_weight, reassign
from ncdss_core.discovery.losses import cross_entropy
from ncdss_core.models.segmodel import ModelSpec, build_model

torch.set_num_threads(1)
SPEC = ModelSpec.from_config(section("model", widths=[8, 8, 16, 16], head_channels=8, atrous_rates=[1, 2, 3]),
                             num_classes=5)
FINETUNE = section("finetune")


def test_rampup_values_match_the_reference():
    expected = [0.0067, 0.0408, 0.1653, 0.4493, 0.8187, 1.0, 1.0]
    assert [round(rampup_weight(e, 1.0, 5), 4) for e in range(7)] == expected
    assert rampup_weight(2, 0.5, 5) == pytest.approx(0.5 * math.exp(-5 * 0.6 ** 2))
    assert rampup_weight(0, 1.0, 0) == 1.0


def test_ema_update_formula_on_parameters_not_buffers():
    torch.manual_seed(0)
    student = build_model(SPEC)
    teacher = make_teacher(student, reinit=True)
    assert all(not p.requires_grad for p in teacher.parameters())
    # independent re-initialisation: same backbone, different heads
    assert torch.equal(teacher.backbone.layer3[0].conv1.weight, student.backbone.layer3[0].conv1.weight)
    assert not torch.equal(teacher.classifier[-1].weight, student.classifier[-1].weight)
    before = [p.clone() for p in teacher.parameters()]
    teacher.classifier[2].running_mean.fill_(7.0)
    ema_update(teacher, student, 0.99)
    for old, new, s in zip(before, teacher.parameters(), student.parameters()):
        assert torch.allclose(new, 0.99 * old + 0.01 * s)
    assert torch.all(teacher.classifier[2].running_mean == 7.0)


def test_eums_step_trains_student_on_teacher_labels_with_rampup():
    torch.manual_seed(0)
    student = build_model(SPEC)
    teacher = make_teacher(student, reinit=True)
    step = EUMSStep(teacher=teacher, momentum=0.99, threshold=FINETUNE["confidence_threshold"],
                    rampup_coefficient=FINETUNE["rampup_coefficient"], rampup_length=FINETUNE["rampup_length"])
    x = torch.randn(2, 3, 16, 16)
    y = torch.randint(0, 5, (2, 16, 16))
    batch = {"base": {"image": x, "label": y}, "clean": {"image": x, "label": y},
             "unclean": {"image": x, "strong": x + 0.1, "label": y}}
    student.train()
    head_before = teacher.classifier[-1].weight.clone()
    loss_e0 = step(student, batch, 0)
    assert not torch.equal(head_before, teacher.classifier[-1].weight)  # EMA ran before the teacher pass
    loss_e0.backward()
    assert student.classifier[-1].weight.grad is not None
    # without self-training the loss is the supervised half-sum only
    student.eval()
    other = {"image": x.flip(-1), "label": y}
    expected = 0.5 * (cross_entropy(student(x), y) + cross_entropy(student(x.flip(-1)), y))
    assert torch.equal(clean_step(student, {"base": batch["base"], "clean": other}, 9), expected)


def test_reassignment_keeps_the_lower_entropy_half():
    scores = {"a": 0.5, "b": 0.1, "c": 0.9, "d": 0.3, "e": 0.7}
    clean, moved = reassign(["a", "b", "c", "d", "e"], scores, 0.5)
    assert clean == ["b", "d"] and sorted(moved) == ["a", "c", "e"]
    assert moved == ["a", "e", "c"]

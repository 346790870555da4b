import math

import numpy as np
import pytest
import torch
from config_defaults import section

import copy

from ncdss_core.discovery.eums import (
    EUMSStep,
    TeacherRecord,
    clean_step,
    ema_update,
    make_teacher,
    rampup_weight,
    SELF_TRAINING_CLASSES,
    reads_pseudo_labels,
    reassign,
    self_training_target,
)
from ncdss_core.discovery.losses import cross_entropy
from ncdss_core.models.segmodel import ModelSpec, build_model

torch.set_num_threads(1)
SPEC = ModelSpec.from_params(section("model", widths=[8, 8, 16, 16], head_channels=8, atrous_rates=[1, 2, 3]),
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
                    rampup_coefficient=FINETUNE["rampup_coefficient"], rampup_length=FINETUNE["rampup_length"],
                    num_base=2, classes="all")
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


def test_teacher_record_shares_scores_and_loss_terms_of_an_epoch():
    # B = 2 base, N = 2 novel, k = 3 clusters: teacher labels 0 bg, 1-2 base, 3-5 clusters
    record = TeacherRecord(num_base=2, num_novel=2, k=3, matching="majority", with_truth=True)
    truth = torch.tensor([[[0, 1, 3, 3], [4, 4, 3, 255]]])   # ground truth: 0, base 1, novel 3 and 4
    target = torch.tensor([[[0, 1, 3, 0], [5, 5, 2, 4]]])    # the teacher's labels
    record.add(target, truth, supervised=1.0, self_training=0.5)
    record.add(target, truth, supervised=3.0, self_training=1.5)
    fields = record.fields()
    assert fields["loss_supervised"] == 2.0 and fields["loss_self_training"] == 1.0
    assert fields["teacher_background"] == pytest.approx(2 / 8)
    assert fields["teacher_base"] == pytest.approx(2 / 8)
    assert fields["teacher_novel"] == pytest.approx(4 / 8)
    # novel truth pixels (ignore excluded): 3 of class 3 (one called bg, one base), 2 of class 4
    assert fields["teacher_novel_as_background"] == pytest.approx(1 / 5)
    assert fields["teacher_novel_as_base"] == pytest.approx(1 / 5)
    # majority matching: cluster 3 -> novel class 3 (IoU 1/3), cluster 5 -> novel class 4 (IoU 1)
    assert fields["teacher_novel_miou"] == pytest.approx((1 / 3 + 1.0) / 2)
    assert fields["teacher_base_miou"] == pytest.approx((1.0 + 0.0) / 2)
    # read once per epoch: the next epoch starts from nothing
    empty = record.fields()
    assert empty["loss_supervised"] == 0.0 and empty["teacher_novel"] == 0.0


def test_the_unclean_ground_truth_never_reaches_the_loss_or_the_teacher():
    torch.manual_seed(0)
    student = build_model(SPEC)
    teacher = make_teacher(student, reinit=True)
    x = torch.randn(2, 3, 16, 16)
    y = torch.randint(0, 5, (2, 16, 16))
    losses, teachers = [], []
    for unclean_label, record in ((torch.zeros_like(y), None),
                                  (torch.randint(0, 5, (2, 16, 16)), TeacherRecord(1, 2, 3, "auto", True))):
        s, t = copy.deepcopy(student), copy.deepcopy(teacher)
        step = EUMSStep(teacher=t, momentum=0.99, threshold=0.0, rampup_coefficient=1.0, rampup_length=0,
                        num_base=1, classes="all", record=record)
        torch.manual_seed(1)  # the same dropout in both runs
        batch = {"base": {"image": x, "label": y}, "clean": {"image": x, "label": y},
                 "unclean": {"image": x, "strong": x + 0.1, "label": unclean_label}}
        s.train()
        losses.append(step(s, batch, 3))
        teachers.append(t.state_dict())
    assert torch.equal(losses[0], losses[1])
    assert all(torch.equal(teachers[0][key], teachers[1][key]) for key in teachers[0])
    # and the record of the second run says what its teacher did
    assert np.isfinite(step.epoch_fields(student)["teacher_novel_miou"])


def test_no_base_self_training_ignores_the_teachers_base_labels():
    labels = torch.tensor([[0, 1, 2, 3, 4, 255]])
    assert torch.equal(self_training_target(labels, 2, "all"), labels)
    assert self_training_target(labels, 2, "no_base").tolist() == [[0, 255, 255, 3, 4, 255]]
    with pytest.raises(ValueError, match="self_training_classes"):
        self_training_target(labels, 2, "novel_only")


def test_novel_self_training_relabels_only_the_pseudo_labels_novel_pixels():
    # 2 base classes: pseudo 0 background, 1-2 base, 3-4 novel clusters
    teacher = torch.tensor([[0, 1, 2, 3, 4, 255, 3, 0]])
    pseudo = torch.tensor([[3, 3, 4, 0, 1, 3, 2, 255]])
    assert self_training_target(teacher, 2, "novel", pseudo).tolist() == [[0, 1, 2, 0, 1, 255, 2, 255]]
    with pytest.raises(ValueError, match="pseudo-labels"):
        self_training_target(teacher, 2, "novel")


@pytest.mark.parametrize("classes", SELF_TRAINING_CLASSES)
def test_the_runner_reads_pseudo_labels_exactly_when_the_target_needs_them(classes):
    teacher = torch.tensor([[0, 1, 2, 3]])
    if reads_pseudo_labels(classes):
        with pytest.raises(ValueError, match="pseudo-labels"):
            self_training_target(teacher, 2, classes)
    else:
        assert self_training_target(teacher, 2, classes).shape == teacher.shape
    assert reads_pseudo_labels(classes) == (classes == "novel")


def test_the_class_restriction_changes_the_loss_but_not_the_teachers_record():
    x = torch.randn(2, 3, 16, 16)
    y = torch.randint(0, 5, (2, 16, 16))
    batch = {"base": {"image": x, "label": y}, "clean": {"image": x, "label": y},
             "unclean": {"image": x, "strong": x + 0.1, "label": y, "pseudo": torch.zeros_like(y)}}
    losses, counts = {}, {}
    for classes in ("all", "no_base", "novel"):
        torch.manual_seed(0)
        student = build_model(SPEC)
        teacher = make_teacher(student, reinit=True)
        record = TeacherRecord(num_base=2, num_novel=2, k=2, matching="auto", with_truth=False)
        step = EUMSStep(teacher=teacher, momentum=0.99, threshold=0.0, rampup_coefficient=1.0, rampup_length=0,
                        num_base=2, classes=classes, record=record)
        student.eval()  # no student dropout: the two runs differ only in the target
        losses[classes] = float(step(student, batch, 5))
        counts[classes] = record.counts.clone()
    # the record holds the teacher's own labels
    assert torch.equal(counts["all"], counts["no_base"]) and torch.equal(counts["all"], counts["novel"])
    assert int(counts["all"][1:3].sum()) > 0  # the teacher did say base somewhere
    assert losses["all"] != losses["no_base"]
    # a pseudo-label without novel pixels: the target is all background, whatever the teacher says
    assert losses["novel"] != losses["all"] and losses["novel"] != losses["no_base"]

"""EUMS: entropy-based uncertainty modeling and self-training (reference ncdss.md §6).

Student g_q and EMA teacher g_k (m = 0.99, parameters only, updated every iteration before the
teacher's forward pass). Loss = ½ [CE(base) + CE(clean)] + w(e) · CE(g_q(strong unclean), ŷ) with
ŷ the teacher's hard prediction on the pixel-aligned weak view (masked to 255 below a confidence
threshold, 0 in the reference so nothing is masked) and w(e) = λ exp(-5 (1 - clip(e, 0, T)/T)²).
By default ŷ replaces the image's clustering pseudo-label only where that says novel
(`finetune.self_training_classes`; the reference replaces it everywhere).
Dynamic reassignment: at the start of the listed epochs, the student scores the clean split by
entropy; the lower-entropy half stays clean and the rest joins the unclean split.

Every part can be switched off, giving the ablation rows of §8.1: without self-training the
unclean split is simply not used; without reassignment the clean split is fixed.

Per epoch, `TeacherRecord` says what self-training did (history.json): the mean supervised and
weighted self-training terms of the loss, the shares of background, base and novel pixels in the
teacher's labels and, given the ground truth of the unclean images (diagnostics only; it never
reaches the loss), the teacher labels' novel and base mIoU after matching and the share of novel
ground-truth pixels the teacher calls background or base.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from ncdss_core.data.folds import IGNORE
from ncdss_core.discovery.losses import cross_entropy
from ncdss_core.discovery.ranking import rank_ascending
from ncdss_core.discovery.settings import SelfTrainingSettings
from ncdss_core.evaluation.metrics import ConfusionMatrix, discovery_scores
from ncdss_core.models.segmodel import SegModel, reinit_head


def rampup_weight(epoch: int, coefficient: float, length: int) -> float:
    """Sigmoid ramp-up: λ exp(-5 (1 - clip(e, 0, T)/T)²); λ from epoch T on (and at once if T = 0)."""
    if length <= 0:
        return float(coefficient)
    t = min(max(float(epoch), 0.0), float(length)) / length
    return float(coefficient * math.exp(-5.0 * (1.0 - t) ** 2))


@torch.no_grad()
def ema_update(teacher: torch.nn.Module, student: torch.nn.Module, momentum: float) -> None:
    """θ_k ← m θ_k + (1 - m) θ_q over parameters; buffers (BN statistics) are not averaged."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(momentum).add_(s.detach(), alpha=1.0 - momentum)


def make_teacher(student: SegModel, reinit: bool) -> SegModel:
    """The teacher starts as a copy of the student (no gradients); with `reinit`, the decoder and
    head of both are re-initialised independently (reference `_initialize_params`), so the two
    share the backbone but not the head."""
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad = False
    if reinit:
        reinit_head(student)
        reinit_head(teacher)
    return teacher


@torch.no_grad()
def teacher_labels(teacher: SegModel, weak: torch.Tensor, threshold: float) -> torch.Tensor:
    """Hard pseudo-labels of the teacher on the weak view. The teacher's head stays in train mode
    (batch-statistics BN, dropout on), as in the reference; its backbone BN is frozen."""
    teacher.train()
    probs = torch.softmax(teacher(weak), dim=1)
    confidence, labels = probs.max(dim=1)
    return torch.where(confidence < threshold, torch.full_like(labels, IGNORE), labels)


SELF_TRAINING_CLASSES = ("all", "no_base", "novel")


def reads_pseudo_labels(classes: str) -> bool:
    """Whether `self_training_target` needs the unclean images' clustering pseudo-labels."""
    return classes == "novel"


def self_training_target(labels: torch.Tensor, num_base: int, classes: str,
                         pseudo: torch.Tensor | None = None) -> torch.Tensor:
    """What the student learns on the unclean images: all of the teacher's labels (`all`, the
    reference); background and novel clusters only, the base-class pixels ignored (`no_base`: the
    base stream has their ground truth); or (`novel`) the teacher's labels only where the image's
    clustering pseudo-label `pseudo` says novel, background and base elsewhere as in that
    pseudo-label (the labels the basic framework learns; the default). On the generated benchmark
    `all` costs base mIoU between base and background, `no_base` costs more, and `novel` keeps
    basic's base mIoU and EUMS's novel gain (docs/results.md)."""
    if classes == "all":
        return labels
    if classes == "no_base":
        is_base = (labels >= 1) & (labels <= num_base)
        return torch.where(is_base, torch.full_like(labels, IGNORE), labels)
    if reads_pseudo_labels(classes):
        if pseudo is None:
            raise ValueError("finetune.self_training_classes novel needs the unclean images' pseudo-labels")
        return torch.where((pseudo > num_base) & (pseudo != IGNORE), labels, pseudo)
    raise ValueError(f"finetune.self_training_classes: unknown value {classes!r} "
                     f"({', '.join(SELF_TRAINING_CLASSES)})")


def clean_step(model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
    """½ [CE(base) + CE(clean)]: the supervised half of EUMS, the whole loss of the ranking rows
    without self-training."""
    return 0.5 * (cross_entropy(model(batch["base"]["image"]), batch["base"]["label"])
                  + cross_entropy(model(batch["clean"]["image"]), batch["clean"]["label"]))


class TeacherRecord:
    """One epoch of the teacher's labels on the unclean stream, and the two terms of the loss; read
    (and reset) by `fields` after each epoch. `with_truth`: the unclean batches' `label` holds the
    ground truth in the fine-tuning label space (labels.truth_reader)."""

    def __init__(self, num_base: int, num_novel: int, k: int, matching: str, with_truth: bool):
        self.num_base, self.num_novel, self.k = num_base, num_novel, k
        self.matching, self.with_truth = matching, with_truth
        self.reset()

    def reset(self) -> None:
        self.terms = {"supervised": 0.0, "self_training": 0.0}
        self.iterations = 0
        self.counts = torch.zeros(self.num_base + 1 + self.k, dtype=torch.int64)
        self.confusion = ConfusionMatrix(self.num_base + 1 + self.num_novel, self.num_base + 1 + self.k)

    @torch.no_grad()
    def add(self, target: torch.Tensor, truth: torch.Tensor | None, supervised: float, self_training: float) -> None:
        self.terms["supervised"] += supervised
        self.terms["self_training"] += self_training
        self.iterations += 1
        labels = target[target != IGNORE].cpu()
        self.counts += torch.bincount(labels, minlength=self.counts.numel())[: self.counts.numel()]
        if self.with_truth and truth is not None:
            self.confusion.update(truth.cpu().numpy(), target.cpu().numpy())

    def fields(self) -> dict[str, float]:
        total = max(int(self.counts.sum()), 1)
        out = {f"loss_{name}": value / max(self.iterations, 1) for name, value in self.terms.items()}
        out.update({"teacher_background": float(self.counts[0]) / total,
                    "teacher_base": float(self.counts[1:self.num_base + 1].sum()) / total,
                    "teacher_novel": float(self.counts[self.num_base + 1:].sum()) / total})
        if self.with_truth:
            scores = discovery_scores(self.confusion, self.num_base, self.num_novel, self.k, self.matching)
            novel_rows = self.confusion.matrix[self.num_base + 1:]
            novel_pixels = max(int(novel_rows.sum()), 1)
            out.update({"teacher_novel_miou": scores.novel_miou, "teacher_base_miou": scores.base_miou,
                        "teacher_novel_as_background": float(novel_rows[:, 0].sum()) / novel_pixels,
                        "teacher_novel_as_base": float(novel_rows[:, 1:self.num_base + 1].sum()) / novel_pixels})
        self.reset()
        return out


@dataclass
class EUMSStep:
    """The per-iteration loss of EUMS with self-training on the unclean stream (finetune.* keys);
    with a `record`, what the teacher labelled (history fields via `epoch_fields`)."""

    teacher: SegModel
    momentum: float
    threshold: float
    rampup_coefficient: float
    rampup_length: int
    num_base: int  # background is 0, base classes 1..num_base, novel clusters above
    classes: str  # finetune.self_training_classes (its default lives in config.yaml)
    record: TeacherRecord | None = None

    @classmethod
    def from_settings(cls, teacher: SegModel, settings: SelfTrainingSettings, num_base: int,
                      record: TeacherRecord | None) -> "EUMSStep":
        """The step the `finetune` self-training keys describe."""
        return cls(teacher=teacher, momentum=settings.ema_momentum, threshold=settings.confidence_threshold,
                   rampup_coefficient=settings.rampup_coefficient, rampup_length=settings.rampup_length,
                   num_base=num_base, classes=settings.self_training_classes, record=record)

    def __call__(self, model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
        supervised = clean_step(model, batch, epoch)
        ema_update(self.teacher, model, self.momentum)
        labels = teacher_labels(self.teacher, batch["unclean"]["image"], self.threshold)
        target = self_training_target(labels, self.num_base, self.classes, batch["unclean"].get("pseudo"))
        weight = rampup_weight(epoch, self.rampup_coefficient, self.rampup_length)
        self_training = weight * cross_entropy(model(batch["unclean"]["strong"]), target)
        if self.record is not None:  # what the teacher said, before the class restriction
            self.record.add(labels, batch["unclean"].get("label"), float(supervised.detach()),
                            float(self_training.detach()))
        return supervised + self_training

    def epoch_fields(self, model: SegModel) -> dict[str, float]:
        return self.record.fields() if self.record is not None else {}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The teacher: what a resumed training needs of this step."""
        return self.teacher.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.teacher.load_state_dict(state)


def reassign(clean: Sequence[str], scores: Mapping[str, float], keep: float) -> tuple[list[str], list[str]]:
    """Dynamic reassignment: (still clean, moved to unclean). The floor(keep · N) lowest-entropy
    clean images stay; ties by id, NaN scores (no novel pixel) move."""
    ordered = rank_ascending(scores, clean)
    count = int(math.floor(keep * len(ordered)))
    return ordered[:count], ordered[count:]

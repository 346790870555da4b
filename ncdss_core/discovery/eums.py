"""EUMS: entropy-based uncertainty modeling and self-training (reference ncdss.md §6).

Student g_q and EMA teacher g_k (m = 0.99, parameters only, updated every iteration before the
teacher's forward pass). Loss = ½ [CE(base) + CE(clean)] + w(e) · CE(g_q(strong unclean), ŷ) with
ŷ the teacher's hard prediction on the pixel-aligned weak view (masked to 255 below a confidence
threshold, 0 in the reference so nothing is masked) and w(e) = λ exp(-5 (1 - clip(e, 0, T)/T)²).
Dynamic reassignment: at the start of the listed epochs, the student scores the clean split by
entropy; the lower-entropy half stays clean and the rest joins the unclean split.

Every part can be switched off, giving the ablation rows of §8.1: without self-training the
unclean split is simply not used; without reassignment the clean split is fixed.
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


def clean_step(model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
    """½ [CE(base) + CE(clean)]: the supervised half of EUMS, the whole loss of the ranking rows
    without self-training."""
    return 0.5 * (cross_entropy(model(batch["base"]["image"]), batch["base"]["label"])
                  + cross_entropy(model(batch["clean"]["image"]), batch["clean"]["label"]))


@dataclass
class EUMSStep:
    """The per-iteration loss of EUMS with self-training on the unclean stream (finetune.* keys)."""

    teacher: SegModel
    momentum: float
    threshold: float
    rampup_coefficient: float
    rampup_length: int

    def __call__(self, model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
        supervised = clean_step(model, batch, epoch)
        ema_update(self.teacher, model, self.momentum)
        target = teacher_labels(self.teacher, batch["unclean"]["image"], self.threshold)
        weight = rampup_weight(epoch, self.rampup_coefficient, self.rampup_length)
        return supervised + weight * cross_entropy(model(batch["unclean"]["strong"]), target)

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

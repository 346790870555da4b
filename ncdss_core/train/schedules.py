"""Learning-rate schedules, set once per epoch on every parameter group.

A group may carry `lr_mult` (1 when absent): the backbone's factor of the segmentation models, ICD's
x10 on fc8 and conv_ft. Each schedule keeps the arithmetic of the method it comes from, so that a
group's rate is the same float as in the reference code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch


class Schedule(Protocol):
    def rate(self, epoch: int) -> float:
        """The base learning rate of `epoch` (before group multipliers); the history records it."""

    def apply(self, optimizer: torch.optim.Optimizer, epoch: int) -> float:
        """Set every group's rate for `epoch`; returns `rate(epoch)`."""


def _multiplier(group: dict) -> float:
    return group.get("lr_mult", 1.0)


@dataclass(frozen=True)
class StepSchedule:
    """NCDSS (reference ncdss.md §2.2): lr(e) = base_lr * gamma^#{d in decay_epochs : e > d}, with
    0-indexed epochs and a strict '>'. A group's rate is (base_lr * lr_mult) * factor."""

    base_lr: float
    decay_epochs: Sequence[int]
    gamma: float

    def factor(self, epoch: int) -> float:
        return self.gamma ** sum(1 for d in self.decay_epochs if epoch > d)

    def rate(self, epoch: int) -> float:
        return self.base_lr * self.factor(epoch)

    def apply(self, optimizer: torch.optim.Optimizer, epoch: int) -> float:
        factor = self.factor(epoch)
        for group in optimizer.param_groups:
            group["lr"] = self.base_lr * _multiplier(group) * factor
        return self.rate(epoch)


@dataclass(frozen=True)
class PolySchedule:
    """ICD (reference icd.md §2): lr(e) = base_lr * (1 - e / epochs)^power. A group's rate is
    lr(e) * lr_mult."""

    base_lr: float
    epochs: int
    power: float

    def rate(self, epoch: int) -> float:
        return self.base_lr * (1.0 - epoch / self.epochs) ** self.power

    def apply(self, optimizer: torch.optim.Optimizer, epoch: int) -> float:
        rate = self.rate(epoch)
        for group in optimizer.param_groups:
            group["lr"] = rate * _multiplier(group)
        return rate

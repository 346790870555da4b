"""The supervised per-pixel loss of NCDSS and the step of base training and the basic framework."""

from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

from ncdss_core.data.folds import IGNORE
from ncdss_core.models.segmodel import SegModel


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pixel-wise CE, 255 ignored, averaged over valid pixels (0 if none are valid)."""
    if not (labels != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=IGNORE)


def supervised_step(model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
    """Base training: CE on one stream; basic framework: ½ (CE_base + CE_novel), separate forward
    passes so the head BN sees each batch on its own (reference §4)."""
    losses = [cross_entropy(model(b["image"]), b["label"]) for b in batch.values()]
    return sum(losses) / len(losses)

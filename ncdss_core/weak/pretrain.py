"""Pretraining of the small ICD trunk: the stand-in for the paper's ImageNet initialisation.

ICD's bottom-up discriminator (reference icd.md §3.4) is the leading direction of the features of
one class's images, thresholded at zero. It separates object from background only when the trunk
already tells objects from their surroundings: the paper gets that from ImageNet-pretrained VGG16.
No weights can be downloaded here, so the small trunk learns it first by multi-label
classification of generated images of *other* object classes (`generated.PRETRAIN_CLASSES`: body
families and part shapes combined as no class of the generated dataset combines them). No image and no
label of the generated dataset, base or novel, is used.

The classifier is a 1x1 convolution averaged over the image (a CAM head): it is thrown away, only
the trunk's state dict is kept and loaded by `weak.model.init: pretrained`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ncdss_core.models.trunks import Trunk
from ncdss_core.weak.trainer import _worker_init, augment, normalize_image, poly_lr


@dataclass
class PretrainConfig:
    images: int = 3000
    holdout: float = 0.1
    epochs: int = 12
    batch_size: int = 32
    crop: int = 97
    scales: Sequence[float] = (0.75, 1.0, 1.25)
    flip: bool = True
    lr: float = 1.0e-3
    weight_decay: float = 1.0e-4
    poly_power: float = 0.9
    num_workers: int = 0

    @classmethod
    def from_params(cls, params: dict) -> "PretrainConfig":
        return cls(**{k: v for k, v in params.items() if k in cls.__dataclass_fields__})


class PretrainNet(nn.Module):
    """Trunk, then a 1x1 classifier averaged over the grid (multi-label logits)."""

    def __init__(self, trunk: Trunk, num_classes: int):
        super().__init__()
        self.trunk = trunk.features
        self.classifier = nn.Conv2d(trunk.channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.trunk(x)).mean((2, 3))


class PretrainData(Dataset):
    """Augmented crops (random scale, flip, mean-colour pad, crop) with their multi-hot labels."""

    def __init__(self, images: Sequence[np.ndarray], labels: np.ndarray, cfg: PretrainConfig, seed: int):
        self.images, self.labels = list(images), labels.astype(np.float32)
        self.cfg, self.seed = cfg, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        rgb = self.images[index]
        # randomness from (seed, epoch, index): the same whatever the worker count
        rng = np.random.default_rng((self.seed, self.epoch, index))
        no_superpixels = np.zeros(rgb.shape[:2], np.int32)
        rgb, _ = augment(rgb, no_superpixels, self.cfg.crop, self.cfg.scales, self.cfg.flip, rng)
        return normalize_image(rgb), torch.from_numpy(self.labels[index])


def split_holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out images (a seeded permutation)."""
    order = np.random.default_rng((seed, 7)).permutation(n)
    n_hold = int(round(n * fraction))
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])


@torch.no_grad()
def mean_average_precision(model: PretrainNet, images: Sequence[np.ndarray], labels: np.ndarray,
                           device: str = "cpu") -> float:
    """Mean over classes of the average precision on whole images (no augmentation)."""
    if len(images) == 0:
        return float("nan")
    model.eval()
    scores = np.stack([model(normalize_image(rgb)[None].to(device))[0].cpu().numpy() for rgb in images])
    present = labels.sum(0) > 0
    return float(average_precision_score(labels[:, present], scores[:, present], average="macro"))


def pretrain_trunk(trunk: Trunk, images: Sequence[np.ndarray], labels: np.ndarray, cfg: PretrainConfig,
                   seed: int, device: str = "cpu",
                   logger: logging.Logger | None = None) -> tuple[PretrainNet, list[dict]]:
    """Train trunk + classifier with Adam and a per-epoch poly learning rate; returns the network
    (moved back to the CPU) and one record per epoch (loss, held-out mAP, seconds)."""
    logger = logger or logging.getLogger("ncdss.pretrain")
    torch.manual_seed(seed)
    model = PretrainNet(trunk, labels.shape[1]).to(device)
    train_idx, hold_idx = split_holdout(len(images), cfg.holdout, seed)
    data = PretrainData([images[i] for i in train_idx], labels[train_idx], cfg, seed)
    hold_images, hold_labels = [images[i] for i in hold_idx], labels[hold_idx]
    drop_last = len(data) >= cfg.batch_size
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, drop_last=drop_last,
                        num_workers=cfg.num_workers, worker_init_fn=_worker_init,
                        generator=torch.Generator().manual_seed(seed))
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.Adam([{"params": decay, "weight_decay": cfg.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    history = []
    for epoch in range(cfg.epochs):
        data.epoch = epoch
        lr = poly_lr(cfg.lr, epoch, cfg.epochs, cfg.poly_power)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        total, count, start = 0.0, 0, time.monotonic()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            # summed over classes, averaged over the batch (the ICD CAM loss's scaling)
            loss = loss_fn(model(x), y) / x.shape[0]
            if not torch.isfinite(loss):
                raise FloatingPointError(f"trunk pretraining diverged at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            count += 1
        record = {"epoch": epoch, "lr": lr, "loss": total / max(count, 1),
                  "holdout_map": mean_average_precision(model, hold_images, hold_labels, device),
                  "seconds": round(time.monotonic() - start, 2)}
        history.append(record)
        logger.info("pretrain epoch %d/%d lr %.2e loss %.4f held-out mAP %.3f (%.1fs)", epoch + 1, cfg.epochs,
                    lr, record["loss"], record["holdout_map"], record["seconds"])
    return model.cpu(), history

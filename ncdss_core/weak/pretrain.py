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
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from torch import nn
from torch.utils.data import Dataset

from ncdss_core.data.transforms import normalize_image
from ncdss_core.models.trunks import Trunk
from ncdss_core.settings import Settings
from ncdss_core.train.loaders import epoch_batches, seeded_loader
from ncdss_core.train.loop import fit
from ncdss_core.train.resume import ResumeFile
from ncdss_core.train.schedules import PolySchedule
from ncdss_core.weak.trainer import augment

# the images are decoded in memory already: the main process augments them
WORKERS = 0


@dataclass
class PretrainConfig(Settings):
    """The weak.pretrain section."""
    SECTION = "weak.pretrain"

    images: int
    holdout: float
    epochs: int
    batch_size: int
    crop: int
    scales: Sequence[float]
    flip: bool
    lr: float
    weight_decay: float
    poly_power: float


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


@torch.inference_mode()
def mean_average_precision(model: PretrainNet, images: Sequence[np.ndarray], labels: np.ndarray,
                           device: str = "cpu") -> float:
    """Mean over classes of the average precision on whole images (no augmentation)."""
    if len(images) == 0:
        return float("nan")
    model.eval()
    scores = np.stack([model(normalize_image(rgb)[None].to(device))[0].cpu().numpy() for rgb in images])
    present = labels.sum(0) > 0
    return float(average_precision_score(labels[:, present], scores[:, present], average="macro"))


class PretrainStep:
    """Multi-label BCE summed over classes, averaged over the batch (the ICD CAM loss's scaling)."""

    def __init__(self) -> None:
        self.loss = nn.BCEWithLogitsLoss(reduction="sum")

    def __call__(self, model: PretrainNet, batch: Sequence[torch.Tensor], epoch: int) -> torch.Tensor:
        x, y = batch
        return self.loss(model(x), y) / x.shape[0]


def pretrain_trunk(trunk: Trunk, images: Sequence[np.ndarray], labels: np.ndarray, cfg: PretrainConfig,
                   seed: int, device: str = "cpu", logger: logging.Logger | None = None,
                   resume: ResumeFile | None = None) -> tuple[PretrainNet, list[dict]]:
    """Train trunk + classifier with Adam and a per-epoch poly learning rate; returns the network
    (moved back to the CPU) and one record per epoch (loss, held-out mAP, seconds)."""
    torch.manual_seed(seed)
    model = PretrainNet(trunk, labels.shape[1]).to(device)
    train_idx, hold_idx = split_holdout(len(images), cfg.holdout, seed)
    data = PretrainData([images[i] for i in train_idx], labels[train_idx], cfg, seed)
    hold_images, hold_labels = [images[i] for i in hold_idx], labels[hold_idx]
    loader = seeded_loader(data, cfg.batch_size, seed, WORKERS, drop_last=len(data) >= cfg.batch_size)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.Adam([{"params": decay, "weight_decay": cfg.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    result = fit(model, optimizer, PolySchedule(cfg.lr, cfg.epochs, cfg.poly_power), cfg.epochs,
                 epoch_batches(loader), PretrainStep(),
                 measure=lambda epoch: {"holdout_map": mean_average_precision(model, hold_images, hold_labels,
                                                                              device)},
                 device=device, label="pretrain", logger=logger or logging.getLogger("ncdss.pretrain"),
                 resume=resume, amp=False)  # full precision: compute.amp is for ICD, base and fine-tuning
    return model.cpu(), result.history

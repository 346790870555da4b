"""Joint training of the CAM and ICD branches (reference icd.md §2, §3.7, §3.8).

One iteration: CAM loss; bottom-up loss on detached features (W only); under no_grad the sign state
update (EMA of mean ReLU(CAM) on each side of the discriminator), the sign-resolved scores, the
superpixel refinement and the top-down targets; then the masked top-down loss weighted by the
warm-up. SGD with momentum, poly learning rate stepped per epoch, lr x10 on fc8 and conv_ft.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ncdss_core.weak import operators as layers
from ncdss_core.models.trunks import MEAN, STD, build_trunk
from ncdss_core.weak.network import ICDNet

PAD_RGB = tuple(int(round(255 * m)) for m in MEAN)


@dataclass
class TrainConfig:
    backbone: str = "small"
    weights: str = ""
    width: int = 32
    head_channels: int = 0
    dropout: float = 0.5
    head_norm: bool = False
    epochs: int = 20
    batch_size: int = 16
    crop: int = 113
    scales: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5)
    flip: bool = True
    optimizer: str = "sgd"
    lr: float = 1.0e-3
    lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5.0e-4
    poly_power: float = 0.9
    bu_grad_scale: float = 10.0
    td_margin: float = 0.2
    sign_momentum: float = 0.9
    warmup_epochs: float = 2.0
    num_workers: int = 0

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def build_model(cfg: TrainConfig, num_classes: int) -> ICDNet:
    trunk = build_trunk(cfg.backbone, cfg.weights, cfg.width, cfg.head_channels)
    model = ICDNet(trunk, num_classes, cfg.dropout, cfg.head_norm)
    model.fast_lr_mult = cfg.lr_mult
    return model


def normalize_image(rgb: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(MEAN)[:, None, None]
    std = torch.tensor(STD)[:, None, None]
    return (x - mean) / std


def compact_ids(sp: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(sp, return_inverse=True)
    return inverse.reshape(sp.shape).astype(np.int64)


def augment(rgb: np.ndarray, sp: np.ndarray, crop: int, scales: Sequence[float], flip: bool,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random scale (image bilinear, superpixels nearest), flip, pad (mean colour / new id), crop."""
    scale = float(scales[rng.integers(len(scales))])
    h, w = sp.shape
    nh, nw = max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5))
    if (nh, nw) != (h, w):
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
        sp = cv2.resize(sp.astype(np.int32), (nw, nh), interpolation=cv2.INTER_NEAREST)
    if flip and rng.random() < 0.5:
        rgb, sp = rgb[:, ::-1], sp[:, ::-1]
    ph, pw = max(crop - nh, 0), max(crop - nw, 0)
    if ph or pw:
        rgb = cv2.copyMakeBorder(np.ascontiguousarray(rgb), 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=PAD_RGB)
        sp = np.pad(sp, ((0, ph), (0, pw)), constant_values=int(sp.max()) + 1)
    y0 = int(rng.integers(sp.shape[0] - crop + 1))
    x0 = int(rng.integers(sp.shape[1] - crop + 1))
    return (np.ascontiguousarray(rgb[y0:y0 + crop, x0:x0 + crop]),
            np.ascontiguousarray(sp[y0:y0 + crop, x0:x0 + crop]))


class ICDTrainData(Dataset):
    """(image, multi-hot label, stride-8 superpixel ids) samples; files are read on demand."""

    def __init__(self, ids: Sequence[str], labels: np.ndarray, read_image: Callable[[str], np.ndarray],
                 read_superpixels: Callable[[str], np.ndarray], cfg: TrainConfig, seed: int):
        if cfg.crop % 8 != 1:
            raise ValueError(f"weak.train.crop must be 8m+1 (stride-8 alignment, like 321), got {cfg.crop}")
        self.ids, self.labels = list(ids), labels.astype(np.float32)
        self.read_image, self.read_superpixels = read_image, read_superpixels
        self.cfg, self.seed = cfg, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int):
        # augmentation randomness from (seed, epoch, index): identical whatever the worker count
        rng = np.random.default_rng((self.seed, self.epoch, index))
        image_id = self.ids[index]
        rgb, sp = augment(self.read_image(image_id), self.read_superpixels(image_id), self.cfg.crop,
                          self.cfg.scales, self.cfg.flip, rng)
        return normalize_image(rgb), torch.from_numpy(self.labels[index]), torch.from_numpy(compact_ids(sp[::8, ::8]))


def _worker_init(worker_id: int) -> None:
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    torch.set_num_threads(1)


def poly_lr(base: float, epoch: int, epochs: int, power: float) -> float:
    return base * (1.0 - epoch / epochs) ** power


def make_optimizer(model: ICDNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the paper), or Adam (momentum as beta1) for training from scratch."""
    groups = model.param_groups(cfg.lr, cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999))
    raise ValueError(f"weak.train.optimizer: unknown optimizer {cfg.optimizer!r} (sgd or adam)")


def train_step(model: ICDNet, batch, cfg: TrainConfig, warmup: int) -> tuple[torch.Tensor, dict]:
    """Forward and the three losses of one iteration (updates the sign state)."""
    x, y, sp = batch
    out = model(x)
    loss_cls = layers.cam_loss(out["cam"], y)
    loss_bu = layers.bottom_up_loss(out["bottom_up"], y, cfg.bu_grad_scale)
    with torch.no_grad():
        stat, present = layers.sign_statistics(out["bottom_up"], out["cam"], y)
        model.sign_state.copy_(layers.update_sign_state(model.sign_state, stat, present, cfg.sign_momentum))
        signed = out["bottom_up"] * layers.signs(model.sign_state)[None, :, None, None]
        refined = layers.sp_refine(signed, y, sp)
        target, mask = layers.top_down_targets(refined, cfg.td_margin)
    omega = layers.warmup_weight(int(model.step), warmup)
    loss_td = layers.top_down_loss(out["top_down"], target, mask, y, omega)
    total = loss_cls + loss_bu + loss_td
    return total, {"cls": loss_cls.item(), "bu": loss_bu.item(), "td": loss_td.item(), "omega": omega}


def train_icd(model: ICDNet, data: ICDTrainData, cfg: TrainConfig, seed: int, device: str = "cpu",
              logger: logging.Logger | None = None) -> list[dict]:
    logger = logger or logging.getLogger("ncdss.icd")
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    drop_last = len(data) >= cfg.batch_size
    loader = DataLoader(data, batch_size=cfg.batch_size, shuffle=True, drop_last=drop_last,
                        num_workers=cfg.num_workers, generator=generator, worker_init_fn=_worker_init,
                        persistent_workers=False)
    per_epoch = max(1, len(data) // cfg.batch_size) if drop_last else 1
    warmup = int(math.floor(cfg.warmup_epochs * per_epoch))
    optimizer = make_optimizer(model, cfg)
    history = []
    for epoch in range(cfg.epochs):
        data.epoch = epoch
        lr = poly_lr(cfg.lr, epoch, cfg.epochs, cfg.poly_power)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]
        model.train()
        sums = {"cls": 0.0, "bu": 0.0, "td": 0.0}
        count, start = 0, time.monotonic()
        for batch in loader:
            batch = [t.to(device) for t in batch]
            loss, parts = train_step(model, batch, cfg, warmup)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"ICD training diverged at epoch {epoch} (losses {parts})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            model.step += 1
            for key in sums:
                sums[key] += parts[key]
            count += 1
        record = {"epoch": epoch, "lr": lr, "iterations": count, "seconds": round(time.monotonic() - start, 2),
                  "omega": layers.warmup_weight(int(model.step), warmup),
                  **{f"loss_{k}": v / max(count, 1) for k, v in sums.items()},
                  "signs": layers.signs(model.sign_state).tolist()}
        history.append(record)
        logger.info("epoch %d/%d lr %.2e cls %.4f bu %.4f td %.4f (%.1fs)", epoch + 1, cfg.epochs, lr,
                    record["loss_cls"], record["loss_bu"], record["loss_td"], record["seconds"])
    return history

"""Joint training of the CAM and ICD branches (reference icd.md §2, §3.7, §3.8).

One iteration: CAM loss; bottom-up loss on detached features (W only); under no_grad the sign state
update (EMA of mean ReLU(CAM) on each side of the discriminator), the sign-resolved scores, the
superpixel refinement and the top-down targets; then the masked top-down loss weighted by the
warm-up. SGD with momentum, poly learning rate stepped per epoch, lr x10 on fc8 and conv_ft.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ncdss_core.data.decoded import DecodedArrays
from ncdss_core.data.transforms import MEAN_RGB, normalize_image
from ncdss_core.models.trunks import build_trunk
from ncdss_core.settings import Settings
from ncdss_core.train.loaders import epoch_batches, seeded_loader
from ncdss_core.train.resume import ResumeFile
from ncdss_core.train.loop import fit
from ncdss_core.train.precision import device_type, use_amp
from ncdss_core.train.schedules import PolySchedule
from ncdss_core.weak import operators as layers
from ncdss_core.weak.network import ICDNet

# keys of the weak.model section the rule resolves (init: which trunk weights become `weights`)
RULE_KEYS = ("init",)


@dataclass
class TrainConfig(Settings):
    """The weak.model and weak.train sections (stored in the ICD checkpoint)."""
    SECTION = "weak.model/weak.train"

    backbone: str
    weights: str
    width: int
    head_channels: int
    dropout: float
    head_norm: bool
    epochs: int
    batch_size: int
    crop: int
    scales: Sequence[float]
    flip: bool
    optimizer: str
    lr: float
    lr_mult: float
    momentum: float
    weight_decay: float
    poly_power: float
    bu_grad_scale: float
    td_margin: float
    sign_momentum: float
    warmup_epochs: float
    num_workers: int

    @classmethod
    def from_params(cls, params: dict) -> "TrainConfig":
        """From weak.model + weak.train merged (or a checkpoint's stored config)."""
        own = {k: v for k, v in params.items() if k not in RULE_KEYS}
        return super().from_params(own)


def build_icd_net(cfg: TrainConfig, num_classes: int) -> ICDNet:
    trunk = build_trunk(cfg.backbone, cfg.weights, cfg.width, cfg.head_channels)
    model = ICDNet(trunk, num_classes, cfg.dropout, cfg.head_norm)
    model.fast_lr_mult = cfg.lr_mult
    return model


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
        rgb = cv2.copyMakeBorder(np.ascontiguousarray(rgb), 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=MEAN_RGB)
        sp = np.pad(sp, ((0, ph), (0, pw)), constant_values=int(sp.max()) + 1)
    y0 = int(rng.integers(sp.shape[0] - crop + 1))
    x0 = int(rng.integers(sp.shape[1] - crop + 1))
    return (np.ascontiguousarray(rgb[y0:y0 + crop, x0:x0 + crop]),
            np.ascontiguousarray(sp[y0:y0 + crop, x0:x0 + crop]))


class ICDTrainData(Dataset):
    """(image, multi-hot label, stride-8 superpixel ids) samples; files are read on demand, and
    kept for the next epoch (`data.decoded`)."""

    def __init__(self, ids: Sequence[str], labels: np.ndarray, read_image: Callable[[str], np.ndarray],
                 read_superpixels: Callable[[str], np.ndarray], cfg: TrainConfig, seed: int):
        if cfg.crop % 8 != 1:
            raise ValueError(f"weak.train.crop must be 8m+1 (stride-8 alignment, like 321), got {cfg.crop}")
        self.ids, self.labels = list(ids), labels.astype(np.float32)
        self.read_image, self.read_superpixels = read_image, read_superpixels
        self.cfg, self.seed = cfg, seed
        self.epoch = 0
        self.decoded = DecodedArrays()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int):
        # augmentation randomness from (seed, epoch, index): identical whatever the worker count
        rng = np.random.default_rng((self.seed, self.epoch, index))
        image_id = self.ids[index]
        rgb, sp = augment(self.decoded.read(self.read_image, image_id),
                          self.decoded.read(self.read_superpixels, image_id), self.cfg.crop,
                          self.cfg.scales, self.cfg.flip, rng)
        return normalize_image(rgb), torch.from_numpy(self.labels[index]), torch.from_numpy(compact_ids(sp[::8, ::8]))


def make_optimizer(model: ICDNet, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the paper), or Adam (momentum as beta1) for training from scratch."""
    groups = model.param_groups(cfg.lr, cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999))
    raise ValueError(f"weak.train.optimizer: unknown optimizer {cfg.optimizer!r} (sgd or adam)")


def train_step(model: ICDNet, batch, cfg: TrainConfig, warmup: int) -> tuple[torch.Tensor, dict[str, float]]:
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
    return total, {"cls": loss_cls.item(), "bu": loss_bu.item(), "td": loss_td.item()}


@dataclass
class ICDStep:
    """One ICD iteration for the epoch loop; counts the iterations (the warm-up's clock)."""

    cfg: TrainConfig
    warmup: int

    def __call__(self, model: ICDNet, batch: Any, epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        loss, parts = train_step(model, batch, self.cfg, self.warmup)
        model.step += 1
        return loss, parts

    def epoch_fields(self, model: ICDNet) -> dict[str, float]:
        return {"omega": layers.warmup_weight(int(model.step), self.warmup)}


def train_icd(model: ICDNet, data: ICDTrainData, cfg: TrainConfig, seed: int, device: str = "cpu",
              logger: logging.Logger | None = None, resume: ResumeFile | None = None, *,
              amp: str | bool) -> list[dict]:
    """Train the CAM and ICD branches jointly; returns the history (one record per epoch).
    `amp`: the `compute.amp` setting (auto: on for cuda)."""
    model.to(device)
    drop_last = len(data) >= cfg.batch_size
    loader = seeded_loader(data, cfg.batch_size, seed, cfg.num_workers, drop_last,
                           pin_memory=device_type(device) == "cuda")
    per_epoch = max(1, len(data) // cfg.batch_size) if drop_last else 1
    warmup = int(math.floor(cfg.warmup_epochs * per_epoch))
    result = fit(model, make_optimizer(model, cfg), PolySchedule(cfg.lr, cfg.epochs, cfg.poly_power), cfg.epochs,
                 epoch_batches(loader), ICDStep(cfg, warmup),
                 measure=lambda epoch: {"signs": layers.signs(model.sign_state).tolist()},
                 device=device, label="icd", logger=logger or logging.getLogger("ncdss.icd"), resume=resume,
                 amp=use_amp(amp, device))
    return result.history

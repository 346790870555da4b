"""One training loop for the base model, the basic framework and EUMS (reference §2, §4, §6).

The loop zips one DataLoader per stream ("base", "novel", or "base", "clean", "unclean"), so an
epoch lasts as long as the shortest stream (reference pitfall §9.2.13), sets the step learning rate
once per epoch, calls a stage-specific `step` that returns the loss, and after every epoch scores
the model with `select` (higher is better) to keep the selected checkpoint next to the last one.

Determinism on CPU: no worker processes by default, a seeded torch.Generator per (stream, epoch) for
the shuffling, and a numpy Generator per (seed, stream, epoch, sample) for the augmentation.
"""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ncdss_core.data.folds import IGNORE, to_base_labels
from ncdss_core.data.files import read_label_png
from ncdss_core.runtime import get_logger
from ncdss_core.models.segmodel import SegModel, param_groups, step_lr
from ncdss_core.data.transforms import Augment, Jitter, color_jitter, to_tensor, train_pair

ImageReader = Callable[[str], np.ndarray]
LabelReader = Callable[[str], np.ndarray]


@dataclass
class TrainSettings:
    """Optimisation settings shared by every stage (reference §2.2; CPU-sized epochs in config)."""

    epochs: int
    batch_size: int
    input_size: int
    lr: float = 0.1
    backbone_lr_factor: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1.0e-4
    decay_epochs: list[int] = field(default_factory=list)
    seed: int = 0
    workers: int = 0
    epoch_length: str = "shortest"  # shortest stream (reference) | longest stream, others cycled

    @classmethod
    def from_config(cls, section: Mapping[str, Any], model_cfg: Mapping[str, Any], seed: int) -> "TrainSettings":
        return cls(epochs=int(section["epochs"]), batch_size=int(section["batch_size"]),
                   input_size=int(model_cfg["input_size"]), lr=float(section["lr"]),
                   backbone_lr_factor=float(model_cfg["backbone_lr_factor"]),
                   momentum=float(model_cfg["momentum"]), weight_decay=float(model_cfg["weight_decay"]),
                   decay_epochs=[int(e) for e in section["decay_epochs"]], seed=int(seed),
                   workers=int(model_cfg.get("workers", 0)),
                   epoch_length=str(section.get("epoch_length", "shortest")))


class SegTrainSet(Dataset):
    """Images + labels of one stream with the train augmentation; optionally a strong view too."""

    def __init__(self, ids: Sequence[str], read_image: ImageReader, read_label: LabelReader | None,
                 size: int, seed: int, stream: int, strong: Jitter | None = None,
                 augment: Augment = Augment()):
        self.ids = list(ids)
        self.read_image, self.read_label = read_image, read_label
        self.size, self.seed, self.stream = size, seed, stream
        self.strong, self.augment = strong, augment
        self.epoch = 0
        self.cycle = 0  # pass over the stream within an epoch (when streams are cycled)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image_id = self.ids[index]
        image = self.read_image(image_id)
        label = (self.read_label(image_id) if self.read_label is not None
                 else np.zeros(image.shape[:2], np.uint8))
        keys = [self.seed, self.stream, self.epoch, index] + ([self.cycle] if self.cycle else [])
        rng = np.random.default_rng(keys)
        image, label = train_pair(image, label, self.size, rng, self.augment)
        item = {"image": to_tensor(image), "label": torch.from_numpy(label.astype(np.int64)),
                "index": index}
        if self.strong is not None:
            # Same weakly augmented pixels, colour only: the two views stay pixel-aligned (§6.2).
            item["strong"] = to_tensor(color_jitter(image, rng, self.strong))
        return item


def make_loader(dataset: SegTrainSet, settings: TrainSettings, epoch: int, cycle: int = 0) -> DataLoader:
    """Seeded shuffling per (seed, stream, epoch, pass over the stream)."""
    dataset.epoch, dataset.cycle = epoch, cycle
    generator = torch.Generator().manual_seed(settings.seed * 7919 + dataset.stream * 104729 + epoch
                                              + cycle * 1_000_003)
    return DataLoader(dataset, batch_size=settings.batch_size, shuffle=True, drop_last=True,
                      generator=generator, num_workers=settings.workers)


def epoch_batches(streams: dict[str, SegTrainSet], settings: TrainSettings, epoch: int) -> Iterator[tuple]:
    """Zipped batches of all streams: as long as the shortest stream (the reference, §9.2.13), or
    as long as the longest, the shorter streams reshuffled whenever they run out (so that runs
    whose streams differ in size, basic and EUMS, get the same number of updates)."""
    sizes = [len(ds) // settings.batch_size for ds in streams.values()]
    if min(sizes) == 0:
        raise ValueError(f"a stream has fewer images than one batch "
                         f"({ {n: len(d) for n, d in streams.items()} }, batch {settings.batch_size})")
    if settings.epoch_length == "shortest":
        yield from zip(*(make_loader(ds, settings, epoch) for ds in streams.values()))
        return
    if settings.epoch_length != "longest":
        raise ValueError(f"epoch_length: unknown value {settings.epoch_length!r} (shortest, longest)")

    def cycled(ds: SegTrainSet) -> Iterator[dict]:
        for cycle in itertools.count():
            yield from make_loader(ds, settings, epoch, cycle)

    yield from itertools.islice(zip(*(cycled(ds) for ds in streams.values())), max(sizes))


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pixel-wise CE, 255 ignored, averaged over valid pixels (0 if none are valid)."""
    if not (labels != IGNORE).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=IGNORE)


Step = Callable[[SegModel, Mapping[str, Mapping[str, torch.Tensor]], int], torch.Tensor]
Select = Callable[[SegModel], float]
EpochHook = Callable[[int, dict[str, SegTrainSet]], None]


@dataclass
class TrainResult:
    last_state: dict[str, torch.Tensor]
    selected_state: dict[str, torch.Tensor]
    selected_epoch: int
    history: list[dict[str, Any]]


def train(model: SegModel, streams: dict[str, SegTrainSet], step: Step, settings: TrainSettings,
          select: Select | None = None, on_epoch_start: EpochHook | None = None,
          device: str = "cpu", label: str = "train") -> TrainResult:
    """Train `model` in place. Without `select`, the selected checkpoint is the last epoch."""
    logger = get_logger("training")
    model.to(device)
    optimizer = torch.optim.SGD(param_groups(model, settings.lr, settings.backbone_lr_factor),
                                lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    history: list[dict[str, Any]] = []
    best_score, best_epoch, best_state = -np.inf, -1, None
    for epoch in range(settings.epochs):
        if on_epoch_start is not None:
            on_epoch_start(epoch, streams)
        step_lr(optimizer, epoch, settings.decay_epochs)
        model.train()
        started, losses = time.monotonic(), []
        for batches in epoch_batches(streams, settings, epoch):
            batch = {name: {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in b.items()}
                     for name, b in zip(streams, batches)}
            loss = step(model, batch, epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        record: dict[str, Any] = {"epoch": epoch, "iterations": len(losses),
                                  "loss": float(np.mean(losses)),
                                  "lr": [g["lr"] for g in optimizer.param_groups],
                                  "stream_sizes": {n: len(d) for n, d in streams.items()},
                                  "seconds": round(time.monotonic() - started, 2)}
        if select is not None:
            score = float(select(model))
            record["select_score"] = score
            if np.isfinite(score) and score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
        history.append(record)
        logger.info("%s epoch %d/%d: %d iterations, loss %.4f%s, %.1fs", label, epoch + 1,
                    settings.epochs, len(losses), record["loss"],
                    f", selection score {record['select_score']:.4f}" if "select_score" in record else "",
                    record["seconds"])
    last_state = copy.deepcopy(model.state_dict())
    if best_state is None:
        best_state, best_epoch = last_state, settings.epochs - 1
    return TrainResult(last_state=last_state, selected_state=best_state, selected_epoch=best_epoch,
                       history=history)


# --- stage steps -------------------------------------------------------------------------------

def supervised_step(model: SegModel, batch: Mapping[str, Mapping[str, torch.Tensor]], epoch: int) -> torch.Tensor:
    """Base training: CE on one stream; basic framework: ½ (CE_base + CE_novel), separate forward
    passes so the head BN sees each batch on its own (reference §4)."""
    losses = [cross_entropy(model(b["image"]), b["label"]) for b in batch.values()]
    return sum(losses) / len(losses)


# --- label readers ------------------------------------------------------------------------------

def base_label_reader(dataset: Any, fold: int, supervision: str,
                      weak_labels: str | Path | None = None) -> LabelReader:
    """Base-training labels (0 bg incl. novel pixels, 1..B base, 255): ground truth (`full`) or the
    CRF-refined ICD seeds (`weak`), both stored as dataset labels and re-indexed the same way."""
    if supervision == "full":
        return lambda i: to_base_labels(dataset.read_label(i, "trainaug"), dataset.kind, fold)
    if supervision == "weak":
        if weak_labels is None:
            raise ValueError("base.supervision weak needs the weak labels directory")
        root = Path(weak_labels)
        return lambda i: to_base_labels(read_label_png(root / f"{i}.png"), dataset.kind, fold)
    raise ValueError(f"base.supervision: unknown value {supervision!r} (full, weak)")


def pseudo_label_reader(directory: str | Path) -> LabelReader:
    root = Path(directory)
    return lambda i: read_label_png(root / f"{i}.png")


def image_reader(dataset: Any, split: str = "trainaug") -> ImageReader:
    return lambda i: dataset.read_image(i, split)

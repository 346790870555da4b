"""Readers of the images and label maps a segmentation training reads, by image id.

They are small picklable objects rather than closures, so that DataLoader workers get them under
any start method (fork, spawn, forkserver); the dataset they read may be seen through its array
store (`data.store`), which they do not need to know.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ncdss_core.data.files import id_path, read_label_png
from ncdss_core.data.folds import to_base_labels, to_finetune_labels

ImageReader = Callable[[str], np.ndarray]
LabelReader = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class _Images:
    dataset: Any
    split: str

    def __call__(self, image_id: str) -> np.ndarray:
        return self.dataset.read_image(image_id, self.split)


@dataclass(frozen=True)
class _BaseLabels:
    """Ground truth of the dataset (`root` None) or label PNGs in `root`, re-indexed to the base
    label space of `fold`."""

    dataset: Any
    fold: int
    root: Path | None

    def __call__(self, image_id: str) -> np.ndarray:
        labels = (self.dataset.read_label(image_id, "trainaug") if self.root is None
                  else read_label_png(id_path(self.root, image_id, ".png")))
        return to_base_labels(labels, self.dataset.kind, self.fold)


@dataclass(frozen=True)
class _FinetuneTruth:
    dataset: Any
    fold: int

    def __call__(self, image_id: str) -> np.ndarray:
        return to_finetune_labels(self.dataset.read_label(image_id, "trainaug"), self.dataset.kind, self.fold)


@dataclass(frozen=True)
class _PngLabels:
    root: Path

    def __call__(self, image_id: str) -> np.ndarray:
        return read_label_png(id_path(self.root, image_id, ".png"))


def image_reader(dataset: Any, split: str = "trainaug") -> ImageReader:
    return _Images(dataset, split)


def base_label_reader(dataset: Any, fold: int, supervision: str,
                      weak_labels: str | Path | None = None) -> LabelReader:
    """Base-training labels (0 bg incl. novel pixels, 1..B base, 255): ground truth (`full`) or the
    CRF-refined ICD seeds (`weak`), both stored as dataset labels and re-indexed the same way."""
    if supervision == "full":
        return _BaseLabels(dataset, fold, None)
    if supervision == "weak":
        if weak_labels is None:
            raise ValueError("base.supervision weak needs the weak labels directory")
        return _BaseLabels(dataset, fold, Path(weak_labels))
    raise ValueError(f"base.supervision: unknown value {supervision!r} (full, weak)")


def truth_reader(dataset: Any, fold: int) -> LabelReader:
    """Ground truth in the fine-tuning label space (0 bg, 1..B base, B+1..B+N novel), for
    diagnostics only (the EUMS teacher's accuracy): never a training target."""
    return _FinetuneTruth(dataset, fold)


def pseudo_label_reader(directory: str | Path) -> LabelReader:
    """Label maps stored as `<id>.png` in one directory (pseudo-labels)."""
    return _PngLabels(Path(directory))

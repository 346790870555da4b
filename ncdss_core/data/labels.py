"""Readers of the images and label maps a segmentation training reads, by image id."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ncdss_core.data.files import read_label_png
from ncdss_core.data.folds import to_base_labels

ImageReader = Callable[[str], np.ndarray]
LabelReader = Callable[[str], np.ndarray]


def image_reader(dataset: Any, split: str = "trainaug") -> ImageReader:
    return lambda image_id: dataset.read_image(image_id, split)


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
    """Label maps stored as `<id>.png` in one directory (pseudo-labels)."""
    root = Path(directory)
    return lambda i: read_label_png(root / f"{i}.png")

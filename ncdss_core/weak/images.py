"""Which images and which image-level labels the ICD model sees, per mode.

- mode `all` (the ICD paper): every trainaug image, every class; output channels = classes 1..C.
- mode `base` (discovery): the fold's base_train images, labels restricted to the fold's base
  classes; novel labels are never read into the label matrix, and images without a base class are
  excluded. Output channels = the base classes in increasing id order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ncdss_core.data.files import read_ids
from ncdss_core.data.folds import base_classes, novel_classes, num_classes
from ncdss_core.data.index import class_presence


def output_classes(kind: str, mode: str, fold: str | int) -> list[int]:
    """Dataset class ids of the network's output channels (mode all goes with fold 'all')."""
    if (mode == "all") != (str(fold) == "all"):
        raise ValueError(f"weak.mode {mode} and fold {fold!r} do not match (mode all uses fold 'all')")
    if mode == "all":
        return list(range(1, num_classes(kind) + 1))
    if mode == "base":
        return base_classes(kind, int(fold))
    raise ValueError(f"weak.mode: unknown mode {mode!r} (base or all)")


def excluded_classes(kind: str, mode: str, fold: str | int) -> list[int]:
    """Classes the seeds never label (novel in base mode), i.e. background for seed evaluation."""
    return [] if mode == "all" else novel_classes(kind, int(fold))


def fold_image_ids(mode: str, trainaug: Sequence[str], splits_dir: str | Path | None) -> list[str]:
    """The images seeds are made for: trainaug (all) or the fold's base_train list (base)."""
    if mode == "all":
        return list(trainaug)
    if splits_dir is None:
        raise ValueError("weak.mode base needs the fold's splits directory")
    return read_ids(Path(splits_dir) / "base_train.txt")


def fold_images(index: str | Path, mode: str,
                splits: Sequence[str | Path]) -> tuple[list[str], dict[str, list[int]]]:
    """The images of `fold_image_ids` and the image-level labels of every trainaug image, read from
    the dataset index. `splits` holds the fold's splits artifact in mode base, nothing in mode all."""
    if len(splits) > 1:
        raise ValueError(f"expected at most one splits artifact, got {len(splits)}")
    image_labels = class_presence(index, "trainaug", "image_labels")
    return fold_image_ids(mode, list(image_labels), splits[0] if splits else None), image_labels


def label_matrix(ids: Sequence[str], image_labels: Mapping[str, Sequence[int]],
                 classes: Sequence[int]) -> tuple[list[str], np.ndarray]:
    """Multi-hot (N, K) over `classes`; images with none of them are dropped."""
    column = {c: i for i, c in enumerate(classes)}
    kept, rows = [], []
    for image_id in ids:
        row = np.zeros(len(classes), np.float32)
        for c in image_labels[image_id]:
            if c in column:
                row[column[c]] = 1.0
        if row.any():
            kept.append(image_id)
            rows.append(row)
    return kept, np.stack(rows) if rows else np.zeros((0, len(classes)), np.float32)


def present_channels(labels: Sequence[int], classes: Sequence[int]) -> tuple[list[int], list[int]]:
    """(output indices, dataset ids) of an image's labels that the model has, ascending."""
    column = {c: i for i, c in enumerate(classes)}
    chosen = sorted(c for c in set(labels) if c in column)
    return [column[c] for c in chosen], chosen

"""Class names, PASCAL-5^i and COCO-20^i folds, and the label re-indexings of NCDSS (reference §1.2).

Label spaces:
- dataset labels: 0 background, 1..C classes (C = 20 VOC, 80 COCO), 255 ignore;
- base labels (base training): 0 background (novel pixels too), 1..B base classes in increasing
  original order, 255 kept;
- fine-tuning / evaluation labels: 0 background, 1..B base, B+1..B+N novel classes in increasing
  original order (ground truth), or B+1..B+k novel clusters (pseudo-labels).
"""

from __future__ import annotations

import numpy as np

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

IGNORE = 255


def class_names(kind: str) -> tuple[str, ...]:
    """Class names (index 0 = class id 1) of a dataset kind; the generated dataset uses VOC's."""
    if kind in ("voc", "generated"):
        return VOC_CLASSES
    if kind == "coco":
        return COCO_CLASSES
    raise ValueError(f"dataset.kind: unknown dataset kind {kind!r}")


def num_classes(kind: str) -> int:
    return len(class_names(kind))


def valid_folds(kind: str) -> tuple[int, ...]:
    return (0, 1, 2, 3, 4) if kind in ("voc", "generated") else (0, 1, 2, 3)


def novel_classes(kind: str, fold: int) -> list[int]:
    """Novel class ids (dataset numbering) of a fold: contiguous blocks, plus PASCAL's extra fold 4."""
    if fold not in valid_folds(kind):
        raise ValueError(f"fold {fold} does not exist for dataset kind {kind!r} (valid: {valid_folds(kind)})")
    if kind == "coco":
        return list(range(20 * fold + 1, 20 * fold + 21))
    if fold == 4:
        return [8, 10, 12, 13, 17]
    return list(range(5 * fold + 1, 5 * fold + 6))


def base_classes(kind: str, fold: int) -> list[int]:
    novel = set(novel_classes(kind, fold))
    return [c for c in range(1, num_classes(kind) + 1) if c not in novel]


def label_space(kind: str, fold: int) -> tuple[int, int]:
    """(B, N): number of base and novel classes of a fold."""
    return len(base_classes(kind, fold)), len(novel_classes(kind, fold))


def _lookup(kind: str, fold: int, novel_value: int | None) -> np.ndarray:
    """A 256-entry table mapping dataset labels to base or fine-tuning labels."""
    table = np.zeros(256, dtype=np.uint8)
    base = base_classes(kind, fold)
    for new, old in enumerate(base, start=1):
        table[old] = new
    for offset, old in enumerate(novel_classes(kind, fold)):
        table[old] = 0 if novel_value is None else len(base) + 1 + offset
    table[IGNORE] = IGNORE
    return table


def to_base_labels(labels: np.ndarray, kind: str, fold: int) -> np.ndarray:
    """Dataset labels → base-training labels (novel pixels become background)."""
    return _lookup(kind, fold, None)[labels]


def to_finetune_labels(labels: np.ndarray, kind: str, fold: int) -> np.ndarray:
    """Dataset labels → 0 bg, 1..B base, B+1..B+N novel (evaluation ground truth)."""
    return _lookup(kind, fold, 0)[labels]

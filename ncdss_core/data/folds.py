"""Class names, PASCAL-5^i and COCO-20^i folds, and the label re-indexings of NCDSS (reference §1.2).

Label spaces:
- dataset labels: 0 background, 1..C classes (C = 20 VOC, 80 COCO), 255 ignore;
- base labels (base training): 0 background (novel pixels too), 1..B base classes in increasing
  original order, 255 kept;
- fine-tuning / evaluation labels: 0 background, 1..B base, B+1..B+N novel classes in increasing
  original order (ground truth), or B+1..B+k novel clusters (pseudo-labels).
"""

from __future__ import annotations

from typing import Any, Mapping

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


# Folds defined by class list (config key custom_folds): fold id -> sorted novel class ids. Set once
# per process from the validated config (the Snakefile) or a rule's params (`stage.Stage`), so that
# every caller below sees the same table; a fold id missing from it is refused, never guessed.
_CUSTOM_FOLDS: dict[int, tuple[int, ...]] = {}


def standard_folds(kind: str) -> tuple[int, ...]:
    """PASCAL-5^i folds 0-3 plus the extra fold 4; COCO-20^i folds 0-3."""
    return (0, 1, 2, 3, 4) if kind in ("voc", "generated") else (0, 1, 2, 3)


def custom_fold_problems(kind: str, custom: Any) -> list[str]:
    """What is wrong with a `custom_folds` mapping (fold id -> novel class ids) for dataset `kind`,
    each problem naming the key."""
    if custom is None:
        return []
    if not isinstance(custom, Mapping):
        return [f"config key custom_folds: a mapping of fold id to novel class ids, got {type(custom).__name__}"]
    problems = []
    total = num_classes(kind)
    for raw_id, classes in custom.items():
        key = f"config key custom_folds.{raw_id}"
        fold = _fold_id(raw_id)
        if fold is None:
            problems.append(f"{key}: a fold id is a non-negative integer, got {raw_id!r}")
            continue
        if fold in standard_folds(kind):
            problems.append(f"{key}: fold {fold} is a standard fold of dataset kind {kind} "
                            f"({', '.join(map(str, standard_folds(kind)))}); pick another id")
        if not isinstance(classes, (list, tuple)) or not classes:
            problems.append(f"{key}: an empty or missing class list (give the novel class ids, 1..{total})")
            continue
        bad = [c for c in classes if not isinstance(c, int) or isinstance(c, bool) or not 1 <= c <= total]
        if bad:
            problems.append(f"{key}: unknown class id(s) {', '.join(map(repr, bad))} "
                            f"(dataset kind {kind} has classes 1..{total})")
        repeated = sorted({c for c in classes if list(classes).count(c) > 1}, key=repr)
        if repeated:
            problems.append(f"{key}: duplicate class id(s) {', '.join(map(repr, repeated))}")
        if not bad and len(set(classes)) >= total:
            problems.append(f"{key}: every class is novel; a fold needs at least one base class")
    return problems


def _fold_id(raw: Any) -> int | None:
    """A fold id as written in YAML (10) or given through --config ("10")."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


def normalise_custom_folds(custom: Mapping[Any, Any] | None) -> dict[int, list[int]]:
    """`custom_folds` with integer fold ids and sorted class lists (the label order)."""
    return {int(fold): sorted(int(c) for c in classes) for fold, classes in (custom or {}).items()}


def set_custom_folds(kind: str, custom: Mapping[Any, Any] | None) -> None:
    """Replace the table of folds defined by class list (ValueError naming the key if invalid)."""
    problems = custom_fold_problems(kind, custom)
    if problems:
        raise ValueError("; ".join(problems))
    _CUSTOM_FOLDS.clear()
    _CUSTOM_FOLDS.update({fold: tuple(classes) for fold, classes in normalise_custom_folds(custom).items()})


def custom_folds() -> dict[int, list[int]]:
    """The folds defined by class list in this process."""
    return {fold: list(classes) for fold, classes in _CUSTOM_FOLDS.items()}


def is_custom_fold(fold: int | str) -> bool:
    return str(fold).isdigit() and int(fold) in _CUSTOM_FOLDS


def valid_folds(kind: str) -> tuple[int, ...]:
    """The standard folds of `kind` and the folds defined by class list."""
    return standard_folds(kind) + tuple(sorted(_CUSTOM_FOLDS))


def novel_classes(kind: str, fold: int) -> list[int]:
    """Novel class ids (dataset numbering, increasing) of a fold: contiguous blocks, PASCAL's extra
    fold 4, or a fold defined by class list (custom_folds)."""
    if fold in _CUSTOM_FOLDS and fold not in standard_folds(kind):
        classes = list(_CUSTOM_FOLDS[fold])
        if classes[-1] > num_classes(kind):
            raise ValueError(f"custom_folds.{fold}: class {classes[-1]} does not exist for dataset kind {kind!r}")
        return classes
    if fold not in standard_folds(kind):
        raise ValueError(f"fold {fold} does not exist for dataset kind {kind!r} (valid: {valid_folds(kind)}; "
                         f"other folds are defined by class list under custom_folds)")
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

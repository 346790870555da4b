"""Fold image lists (reference ncdss.md §1.3) and a held-out model-selection split.

From the class presence of every label map (the dataset index), for fold f:
- select.txt      held-out trainaug ids for checkpoint selection (the original code selects on the
                  evaluation set; we never do). Chosen once with the seed, identical for every fold.
- select_base.txt the held-out ids holding at least one base class (base-model selection).
- base_train.txt  trainaug minus select, images holding at least one base class (base training;
                  novel pixels become background there).
- base.txt        trainaug minus select, images holding no novel class (base-only).
- novel.txt       trainaug minus select, images holding at least one novel class.
- base_val.txt    val images holding at least one base class (kept for compatibility; not used for
                  selection).
base.txt and novel.txt partition trainaug minus select.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ncdss_core.data.folds import base_classes, novel_classes
from ncdss_core.data.files import write_ids

LISTS = ("base_train", "base_val", "base", "novel", "select", "select_base")


def selection_ids(trainaug: Sequence[str], fraction: float, seed: int) -> list[str]:
    """A seeded random subset of trainaug, independent of list order."""
    if not 0 < fraction < 0.5:
        raise ValueError(f"splits.selection_fraction must lie in (0, 0.5), got {fraction}")
    ordered = sorted(trainaug)
    count = max(1, int(round(fraction * len(ordered))))
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(ordered))[:count]
    return sorted(ordered[i] for i in chosen)


def build_fold_lists(
    kind: str,
    fold: int,
    classes: Mapping[str, Sequence[int]],
    trainaug: Sequence[str],
    val: Sequence[str],
    selection_fraction: float,
    seed: int,
) -> dict[str, list[str]]:
    """The lists of one fold. `classes[id]` = class ids present in the id's label map."""
    base = set(base_classes(kind, fold))
    novel = set(novel_classes(kind, fold))
    select = selection_ids(trainaug, selection_fraction, seed)
    held_out = set(select)
    lists: dict[str, list[str]] = {name: [] for name in LISTS}
    lists["select"] = select
    lists["select_base"] = [i for i in select if base & set(classes[i])]
    for image_id in trainaug:
        if image_id in held_out:
            continue
        present = set(classes[image_id])
        if present & base:
            lists["base_train"].append(image_id)
        (lists["novel"] if present & novel else lists["base"]).append(image_id)
    lists["base_val"] = [i for i in val if base & set(classes[i])]
    return lists


def write_fold_lists(directory: str | Path, lists: Mapping[str, Sequence[str]]) -> dict[str, int]:
    directory = Path(directory)
    for name in LISTS:
        write_ids(directory / f"{name}.txt", lists[name])
    return {name: len(lists[name]) for name in LISTS}

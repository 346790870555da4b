"""Labelled base-class prototypes ("probes") for the base_probes estimate of the number of novel
classes (`k_estimation`).

A probe is the prototype of one base class's region in one base-only image (no novel class), made
exactly as a novel prototype is (`base_removal.prototype`: masked mean of the same backbone features,
L2-normalised), so probes and novel prototypes live in one space. Its label is the base class. The
region comes from the base labels of the run's supervision (`data.labels.base_label_reader`): the
ground-truth masks under full supervision, the ICD seeds under weak supervision, never a mask there.
At most `per_class` images give a probe of each base class, visited in a seeded order, so the cost
stays small on any dataset.

Artifact base_probes/: probes.npz (ids, labels: base labels 1..B, vectors) and summary.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ncdss_core.data.folds import IGNORE
from ncdss_core.data.transforms import resize_label, val_image
from ncdss_core.discovery.base_removal import prototype
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.models.segmodel import SegModel
from ncdss_core.runtime import get_logger


@dataclass
class Probes:
    ids: list[str]          # the image of each probe
    labels: np.ndarray      # (P,) base label 1..B
    vectors: np.ndarray     # (P, D) float32, L2-normalised

    def save(self, out_dir: str | Path) -> None:
        np.savez_compressed(Path(out_dir) / "probes.npz", ids=np.array(self.ids, dtype=str),
                            labels=self.labels.astype(np.int64), vectors=self.vectors.astype(np.float32))

    @classmethod
    def load(cls, directory: str | Path) -> "Probes":
        with np.load(Path(directory) / "probes.npz") as data:
            return cls([str(i) for i in data["ids"]], data["labels"].astype(np.int64), data["vectors"])


def probe_order(ids: Sequence[str], seed: int) -> list[str]:
    """The images in a seeded order that does not depend on the list's order."""
    ordered = sorted(ids)
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]


@torch.no_grad()
def collect_probes(model: SegModel, read_image: Callable[[str], np.ndarray],
                   read_base_labels: Callable[[str], np.ndarray], ids: Sequence[str], num_base: int,
                   size: int, per_class: int, seed: int) -> Probes:
    """One probe per (image, base class present), until every base class has `per_class` of them.
    `read_base_labels` gives base labels (0 background, 1..B base, 255 ignore) of an image."""
    model.eval()
    device = next(model.parameters()).device
    counts = np.zeros(num_base + 1, dtype=np.int64)
    out_ids, labels, vectors = [], [], []
    for image_id in probe_order(ids, seed):
        if (counts[1:] >= per_class).all():
            break
        small = resize_label(np.asarray(read_base_labels(image_id), dtype=np.uint8), size)
        wanted = [c for c in np.unique(small) if c not in (0, IGNORE) and c <= num_base and counts[c] < per_class]
        if not wanted:
            continue
        features = model.features(val_image(read_image(image_id), size).unsqueeze(0).to(device))[0].cpu()
        for c in wanted:
            vectors.append(prototype(features, (small == c).astype(np.uint8)))
            labels.append(int(c))
            out_ids.append(image_id)
            counts[c] += 1
    short = [c for c in range(1, num_base + 1) if counts[c] < per_class]
    if short:
        get_logger("discovery").info("base probes: fewer than %d for base labels %s", per_class, short)
    dim = model.feature_channels
    return Probes(out_ids, np.array(labels, dtype=np.int64),
                  np.array(vectors, dtype=np.float32).reshape(len(labels), dim))


def write_probes(probes: Probes, out_dir: str | Path) -> dict[str, Any]:
    probes.save(out_dir)
    classes, counts = np.unique(probes.labels, return_counts=True)
    summary = {"probes": len(probes.ids), "images": len(set(probes.ids)),
               "per_base_label": {str(int(c)): int(n) for c, n in zip(classes, counts)}}
    atomic_write_json(Path(out_dir) / "summary.json", summary)
    return summary


def probe_image_ids(splits_dir: str | Path) -> list[str]:
    """The run's base-only images (base.txt: no novel class) that base training also labels
    (base_train.txt, whose images the ICD labels cover under weak supervision)."""
    from ncdss_core.data.files import read_ids

    base_train = set(read_ids(Path(splits_dir) / "base_train.txt"))
    return [i for i in read_ids(Path(splits_dir) / "base.txt") if i in base_train]

"""A tiny hand-made VOC-layout dataset for the discovery/fine-tuning tests (no generator needed).

Each image holds one or two objects (squares/discs) whose colour is a function of the class id, on a
noisy grey background; saliency marks every object. Small enough for tests that train for seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ncdss_core.data.files import write_ids, write_label_png


def class_colour(c: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + c)
    return rng.integers(30, 226, size=3)


def make_image(rng: np.random.Generator, classes: list[int], size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    image = rng.normal(128, 10, size=(size, size, 3))
    label = np.zeros((size, size), np.uint8)
    for n, c in enumerate(classes):
        s = int(rng.integers(16, 24))
        y0 = int(rng.integers(0, size - s))
        x0 = int(rng.integers(0, size // 2 - s)) + (size // 2 if n % 2 else 0)
        image[y0:y0 + s, x0:x0 + s] = class_colour(c) + rng.normal(0, 6, size=(s, s, 3))
        label[y0:y0 + s, x0:x0 + s] = c
    return np.clip(image, 0, 255).astype(np.uint8), label


def write_tiny_voc(root: Path, n_train: int = 40, n_val: int = 12, seed: int = 0,
                   classes: tuple[int, ...] = (1, 2, 6, 7, 11, 16)) -> Path:
    """VOC layout under root; classes drawn from `classes` (fold 0 novel: 1, 2; base: the rest)."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for sub in ("images", "SegmentationClassAug", "SegmentationClass", "saliency_supervised_model", "sets"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    splits = {"trainaug": [], "val": []}
    for split, count in (("trainaug", n_train), ("val", n_val)):
        for i in range(count):
            image_id = f"{split[:2]}{i:04d}"
            k = 1 + int(rng.random() < 0.3)
            chosen = [int(c) for c in rng.choice(classes, size=k, replace=False)]
            image, label = make_image(rng, chosen)
            Image.fromarray(image).save(root / "images" / f"{image_id}.jpg", quality=95)
            write_label_png(root / "SegmentationClassAug" / f"{image_id}.png", label)
            if split == "val":
                write_label_png(root / "SegmentationClass" / f"{image_id}.png", label)
            Image.fromarray(((label > 0) * 255).astype(np.uint8)).save(
                root / "saliency_supervised_model" / f"{image_id}.png")
            splits[split].append(image_id)
    for split, ids in splits.items():
        write_ids(root / "sets" / f"{split}.txt", ids)
    return root

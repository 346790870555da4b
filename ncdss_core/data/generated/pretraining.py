"""Pretraining images: drawn by the generator of the generated dataset, but of the pretraining classes
(PRETRAIN_CLASSES, none a class of the dataset), the stand-in for ImageNet on which the small ICD trunk
is pretrained."""

from __future__ import annotations

import numpy as np

from ncdss_core.data.generated.catalogue import PRETRAIN_CLASSES
from ncdss_core.data.generated.composition import make_image, primary_order
from ncdss_core.data.generated.streams import PRETRAINING, image_rng, order_rng


def pretraining_images(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """n images of the pretraining classes (PRETRAIN_CLASSES, none a class of the generated dataset) and their
    image-level labels (n x 20 multi-hot, non-difficult objects; an image whose objects are all
    difficult keeps them, as VOC's reader does). Built in memory; the same (n, seed), the same arrays."""
    if n < 1:
        raise ValueError(f"pretrain.images: must be >= 1, got {n}")
    # a stream of its own, never one of the dataset splits
    primaries = primary_order(order_rng(seed, PRETRAINING), n, len(PRETRAIN_CLASSES))
    images, labels = [], np.zeros((n, len(PRETRAIN_CLASSES)), np.float32)
    for index, primary in enumerate(primaries):
        rec = make_image(image_rng(seed, PRETRAINING, index), primary, PRETRAIN_CLASSES)
        present = {a["cls"] for a in rec["annotations"] if not a["difficult"]} or {a["cls"] for a in rec["annotations"]}
        labels[index, [c - 1 for c in present]] = 1.0
        images.append(rec["image"])
    return images, labels

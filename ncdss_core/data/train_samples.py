"""Segmentation training samples of one stream: image and label, train-augmented (reference
ncdss.md §2.3), optionally with the pixel-aligned strong view of EUMS (§6.2) and a second label
map warped with the same draws (the pseudo-labels of EUMS's unclean images, beside their ground
truth).

The augmentation of a sample draws from a numpy Generator seeded by (seed, stream, epoch, index[,
pass over the stream]), so a sample is the same bytes whatever the worker count or the order.
Decoded images and label maps are kept for the next epoch (`data.decoded`; one store may serve
every stream of a training).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ncdss_core.data.decoded import DecodedArrays
from ncdss_core.data.labels import ImageReader, LabelReader
from ncdss_core.data.transforms import Augment, Jitter, color_jitter, normalize_image, train_pair


class SegTrainSet(Dataset):
    """Images + labels of one stream (`read_label` None: no labels, zeros) with the train
    augmentation; with `strong`, a colour-jittered copy of the augmented image too; with
    `read_pseudo`, a second label map (item "pseudo") pixel-aligned with the first. `decoded`: where
    decoded arrays are kept across epochs (a store of its own when not given)."""

    def __init__(self, ids: Sequence[str], read_image: ImageReader, read_label: LabelReader | None,
                 size: int, seed: int, stream: int, strong: Jitter | None = None,
                 augment: Augment = Augment(), read_pseudo: LabelReader | None = None,
                 decoded: DecodedArrays | None = None):
        self.ids = list(ids)
        self.read_image, self.read_label, self.read_pseudo = read_image, read_label, read_pseudo
        self.decoded = decoded if decoded is not None else DecodedArrays()
        self.size, self.seed, self.stream = size, seed, stream
        self.strong, self.augment = strong, augment
        self.epoch = 0
        self.cycle = 0  # pass over the stream within an epoch (when streams are cycled)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image_id = self.ids[index]
        image = self.decoded.read(self.read_image, image_id)
        label = (self.decoded.read(self.read_label, image_id) if self.read_label is not None
                 else np.zeros(image.shape[:2], np.uint8))
        keys = [self.seed, self.stream, self.epoch, index] + ([self.cycle] if self.cycle else [])
        rng = np.random.default_rng(keys)
        if self.read_pseudo is None:
            image, label = train_pair(image, label, self.size, rng, self.augment)
            pseudo = None
        else:  # both maps as channels of one array: one warp, the same random draws as without
            pair = np.stack([label, self.decoded.read(self.read_pseudo, image_id)], axis=-1)
            image, pair = train_pair(image, pair, self.size, rng, self.augment)
            label, pseudo = pair[..., 0], pair[..., 1]
        item = {"image": normalize_image(image), "label": torch.from_numpy(label.astype(np.int64)),
                "index": index}
        if pseudo is not None:
            item["pseudo"] = torch.from_numpy(pseudo.astype(np.int64))
        if self.strong is not None:
            # Same weakly augmented pixels, colour only: the two views stay pixel-aligned (§6.2).
            item["strong"] = normalize_image(color_jitter(image, rng, self.strong))
        return item

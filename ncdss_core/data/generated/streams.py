"""The random streams of the generated dataset: one stream per image, keyed by the seed, the generator
version, the image set and the image's index, so that one image never depends on another's draws.

The same (size, seed) gives the same bytes; bump `GENERATOR_VERSION` whenever output bytes change
(it is part of every stream's key, so a bump also changes every image).
"""

from __future__ import annotations

import numpy as np

GENERATOR_VERSION = 2

# Image sets, each a stream of its own: the two dataset splits, and the pretraining images (which
# must never repeat a dataset image).
TRAINAUG = 0
VAL = 1
PRETRAINING = 2


def order_rng(seed: int, image_set: int) -> np.random.Generator:
    """The stream that orders the primary classes of an image set."""
    return np.random.default_rng([seed, GENERATOR_VERSION, image_set, 0])


def image_rng(seed: int, image_set: int, index: int) -> np.random.Generator:
    """The stream that draws image `index` of an image set."""
    return np.random.default_rng([seed, GENERATOR_VERSION, image_set, 1, index])

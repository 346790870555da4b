"""Decoded images and label maps kept from one epoch of a training to the next.

A training reads every image of its streams once per epoch (ICD: 20 epochs, the base model 16):
decoding the same JPEG and PNG files again is 5-8 % of a CPU training step. `DecodedArrays` keeps
what a reader returned, keyed by (reader, image id), so a later epoch gets the same array without
decoding it again. It changes no number: the array is the reader's own, made read-only so that
no consumer can alter what the next epoch reads.

Memory stays bounded as the dataset grows: once `limit` bytes are held, further arrays are read
each time as before. Only a training's main process fills it: DataLoader worker processes (started
anew each epoch) read as before and keep nothing, so a run with workers holds no more memory than
without; a pickled copy (a worker under the spawn start method) starts empty.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

import numpy as np
from torch.utils.data import get_worker_info

# what one training may hold: the default generated dataset's streams need about 0.1 GB, PASCAL
# VOC trainaug about 8 GB (kept in part, the rest decoded each epoch as before)
LIMIT_BYTES = 1 << 30


class DecodedArrays:
    """Arrays read once and kept, within `limit` bytes (see the module doc)."""

    def __init__(self, limit: int = LIMIT_BYTES):
        self.limit = int(limit)
        self.held = 0
        self._arrays: dict[tuple[Hashable, str], np.ndarray] = {}

    def read(self, reader: Callable[[str], np.ndarray], image_id: str) -> np.ndarray:
        """`reader(image_id)`, from memory when an earlier call kept it."""
        key = (reader, image_id)
        array = self._arrays.get(key)
        if array is not None:
            return array
        array = reader(image_id)
        if get_worker_info() is None and self.held + array.nbytes <= self.limit:
            array.flags.writeable = False
            self._arrays[key] = array
            self.held += array.nbytes
        return array

    def __len__(self) -> int:
        return len(self._arrays)

    def __getstate__(self) -> dict[str, Any]:
        return {"limit": self.limit, "held": 0, "_arrays": {}}

"""Deterministic assignment of images to shards.

A shard is a fixed slice of the dataset processed by one job. The assignment uses a stable hash of
the image id (crc32), not Python's randomised `hash`, so it is the same on every machine and does
not move images around when other ids are added or removed.
"""

from __future__ import annotations

import zlib
from typing import Iterable


def shard_of(image_id: str, n_shards: int) -> int:
    if n_shards < 1:
        raise ValueError(f"dataset.shards must be >= 1, got {n_shards}")
    return zlib.crc32(image_id.encode("utf-8")) % n_shards


def shard_ids(ids: Iterable[str], shard: int, n_shards: int) -> list[str]:
    """The ids of one shard, in their given order."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} outside 0..{n_shards - 1}")
    return [i for i in ids if shard_of(i, n_shards) == shard]


def shard_name(shard: int) -> str:
    return f"{shard:03d}"

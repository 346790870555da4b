"""HDF5 files of the pipeline (the array, score and superpixel stores), written and read one way.

Writing: `create_file` and `write_array` fix the settings that make a store reproducible: no
creation order tracked, no timestamps, and either one uncompressed chunk per array (`gzip=False`,
read in one go) or gzip level 4 with automatic chunks, optionally byte-shuffled first. The same
arrays written in the same order give the same bytes.

Reading: `LazyFile` opens its file in the process that reads, on first use, and again in a forked
DataLoader worker (HDF5 handles must not cross a fork); pickling it (spawned workers) drops the
handle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

GZIP_LEVEL = 4


def create_file(path: str | os.PathLike, mode: str = "w") -> h5py.File:
    """Open `path` for writing (or reading, `mode="r"`) without creation-order tracking."""
    return h5py.File(path, mode, track_order=False)


def write_array(handle: h5py.File, name: str, array: np.ndarray, *, gzip: bool = True,
                shuffle: bool = False) -> None:
    """Dataset `name` holding `array`: gzip-compressed (optionally shuffled) in automatic chunks,
    or with `gzip=False` uncompressed as one chunk; no timestamps either way."""
    if gzip:
        layout = {"compression": "gzip", "compression_opts": GZIP_LEVEL, "shuffle": shuffle}
    else:
        layout = {"chunks": array.shape}
    handle.create_dataset(name, data=array, track_times=False, **layout)


class LazyFile:
    """A read handle on one HDF5 file, opened in the process that reads: `handle()`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():  # a forked worker opens its own
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_file": None, "_pid": None}

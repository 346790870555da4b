"""The score store of the ICD inference, readable without torch (the seed rules run in the CPU env)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ncdss_core.io.hdf5 import create_file, write_array


class ScoreStore:
    """HDF5 shard: datasets `<id>/cam` and `<id>/icd` (|L| x g x g) with attrs classes, height, width,
    size on `<id>/cam`. Flat names and no timestamps, so equal scores give equal bytes."""

    def __init__(self, path: str | os.PathLike, mode: str = "r"):
        self.path = Path(path)
        self._file = create_file(self.path, mode)

    def __enter__(self) -> "ScoreStore":
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def write(self, image_id: str, scores: dict[str, Any], classes: list[int]) -> None:
        for key in ("cam", "icd"):
            write_array(self._file, f"{image_id}.{key}", scores[key])
        attrs = self._file[f"{image_id}.cam"].attrs
        attrs["classes"] = np.asarray(classes, dtype=np.int64)
        for key in ("height", "width", "size"):
            attrs[key] = int(scores[key])

    def read(self, image_id: str) -> dict[str, Any]:
        out = {key: np.asarray(self._file[f"{image_id}.{key}"][()], np.float32) for key in ("cam", "icd")}
        attrs = self._file[f"{image_id}.cam"].attrs
        out["classes"] = [int(c) for c in attrs["classes"]]
        for key in ("height", "width", "size"):
            out[key] = int(attrs[key])
        return out

    def ids(self) -> list[str]:
        return sorted(name[:-4] for name in self._file.keys() if name.endswith(".cam"))

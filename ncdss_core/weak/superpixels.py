"""Superpixels for ICD (reference icd.md §1): Felzenszwalb-Huttenlocher, optional feature-guided merge.

- `felzenszwalb(rgb, sigma, k, min_size)`: FH graph segmentation (skimage; the config's sigma 0.8,
  k 75, min size 75 as the reference binary), labels compacted to 0..S-1 in raster order of first
  appearance, like the FH reference binary.
- `merge_regions(labels, features, max_regions)`: the greedy merge of §1.2 (cosine similarity of
  region mean features + a small-region bonus, no adjacency constraint) down to at most
  `max_regions` regions. It works on an (h, w) map throughout, so non-square images keep their
  layout (the public script scrambles them by reshaping a transposed array).
- `SuperpixelStore`: one HDF5 file per shard, one compressed int32 dataset per image id;
  `superpixel_shard` fills one for a shard of images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from skimage.segmentation import felzenszwalb as _sk_felzenszwalb

from ncdss_core.io.hdf5 import LazyFile, create_file, write_array
from ncdss_core.settings import Settings
from ncdss_core.runtime import get_logger, progress

SUPERPIXELS = "superpixels.h5"


@dataclass(frozen=True)
class SuperpixelParams(Settings):
    """The `superpixels` config section."""
    SECTION = "superpixels"
    sigma: float
    k: float
    min_size: int
    merge: bool
    max_regions: int


def compact_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber ids to 0..S-1 in raster order of first appearance (int32)."""
    flat = labels.ravel()
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # unique value index sorted by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse].reshape(labels.shape).astype(np.int32)


def felzenszwalb(rgb: np.ndarray, sigma: float, k: float, min_size: int) -> np.ndarray:
    """FH over-segmentation of an RGB uint8 image; (h, w) int32 ids 0..S-1.

    skimage works on floats in [0, 1] and divides `scale` by 255 internally, so `k` is on the same
    0..255 scale as the FH reference code's threshold constant.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (h, w, 3), got shape {rgb.shape}")
    labels = _sk_felzenszwalb(rgb, scale=float(k), sigma=float(sigma), min_size=int(min_size))
    return compact_labels(labels)


def region_means(labels: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-region mean of an (h, w, C) feature map and region sizes, via bincount (no one-hots)."""
    n = int(labels.max()) + 1
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n).astype(np.float64)
    feats = features.reshape(-1, features.shape[-1]).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=feats[:, c], minlength=n) for c in range(feats.shape[1])], 1)
    return sums / np.maximum(sizes, 1.0)[:, None], sizes


def merge_regions(labels: np.ndarray, features: np.ndarray, max_regions: int) -> np.ndarray:
    """Greedy feature-guided merge (§1.2) of an (h, w) id map down to at most `max_regions` regions.

    sim(i, j) = cos(f_i, f_j) + (1 - (|R_i| + |R_j|) / hw); the most similar pair is merged (j into i,
    i < j), the merged mean is size-weighted, and i's similarities are recomputed. `features` is an
    (h, w, C) map at image resolution. Returns compact ids 0..K-1 (raster order), shape (h, w).
    """
    if features.shape[:2] != labels.shape:
        raise ValueError(f"features {features.shape[:2]} and labels {labels.shape} differ in size")
    labels = compact_labels(labels)
    means, sizes = region_means(labels, features)
    n = len(sizes)
    if n <= max_regions:
        return labels
    total = float(labels.size)
    norms = np.linalg.norm(means, axis=1)
    unit = means / np.maximum(norms, 1e-12)[:, None]
    sim = unit @ unit.T + (1.0 - (sizes[:, None] + sizes[None, :]) / total)
    alive = np.ones(n, dtype=bool)
    iu = np.tril_indices(n)  # only pairs i < j are candidates
    sim[iu] = -np.inf
    parent = np.arange(n)
    count = n
    while count > max_regions:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        parent[parent == j] = i
        means[i] = (sizes[i] * means[i] + sizes[j] * means[j]) / (sizes[i] + sizes[j])
        sizes[i] += sizes[j]
        alive[j] = False
        count -= 1
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        u = means[i] / max(np.linalg.norm(means[i]), 1e-12)
        unit[i] = u
        row = unit @ u + (1.0 - (sizes + sizes[i]) / total)
        row[~alive] = -np.inf
        row[i] = -np.inf
        # keep the upper-triangle convention: pair (min, max)
        sim[i, i + 1:] = row[i + 1:]
        sim[:i, i] = row[:i]
    return compact_labels(parent[labels])


def color_features(rgb: np.ndarray) -> np.ndarray:
    """A cheap dense feature for merging without a network: Lab colour scaled to comparable ranges."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    # centre the chroma so that cosine similarity measures hue rather than the constant offset
    lab[..., 1:] -= 128.0
    return lab


class SuperpixelStore:
    """HDF5 shard of superpixel maps: dataset `<id>` holds an (h, w) int32 map, gzip-compressed."""

    def __init__(self, path: str | os.PathLike, mode: str = "r"):
        self.path = Path(path)
        self._file = create_file(self.path, mode)

    def __enter__(self) -> "SuperpixelStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def write(self, image_id: str, labels: np.ndarray) -> None:
        write_array(self._file, image_id, np.asarray(labels, dtype=np.int32), shuffle=True)

    def read(self, image_id: str) -> np.ndarray:
        return np.asarray(self._file[image_id][()], dtype=np.int32)

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._file

    def ids(self) -> list[str]:
        return sorted(self._file.keys())


class SuperpixelReader:
    """Read superpixel maps of any image from a set of shard files (opened lazily, per process)."""

    def __init__(self, paths: list[str | os.PathLike]):
        self.paths = [Path(p) for p in paths]
        self._files = [LazyFile(p) for p in self.paths]

    @classmethod
    def from_shards(cls, shard_dirs: Sequence[str | os.PathLike]) -> "SuperpixelReader":
        """A reader over the superpixels.h5 of each shard artifact."""
        return cls([Path(d) / SUPERPIXELS for d in shard_dirs])

    def read(self, image_id: str) -> np.ndarray:
        for file in self._files:
            handle = file.handle()
            if image_id in handle:
                return np.asarray(handle[image_id][()], dtype=np.int32)
        raise KeyError(f"no superpixels for image {image_id} in {[str(p) for p in self.paths]}")


def superpixels_of(rgb: np.ndarray, params: SuperpixelParams) -> np.ndarray:
    """FH, then the colour-guided merge when `params.merge` is on."""
    labels = felzenszwalb(rgb, params.sigma, params.k, params.min_size)
    if params.merge:
        labels = merge_regions(labels, color_features(rgb), params.max_regions)
    return labels


def superpixel_shard(dataset: Any, ids: Sequence[str], out_dir: str | os.PathLike,
                     params: SuperpixelParams) -> dict[str, Any]:
    """Superpixels of `ids` into out_dir/superpixels.h5; region-count metrics."""
    counts = []
    with SuperpixelStore(Path(out_dir) / SUPERPIXELS, "w") as store:
        for image_id in progress(ids, label="superpixels", logger=get_logger("superpixels")):
            labels = superpixels_of(dataset.read_image(image_id), params)
            store.write(image_id, labels)
            counts.append(int(labels.max()) + 1)
    return {"images": len(ids), "mean_regions": float(np.mean(counts)) if counts else 0.0,
            "max_regions": max(counts, default=0)}

"""Saliency masks: MaskContrast post-processing of imported maps, and a built-in estimator.

Post-processing (MaskContrast, reference ncdss.md §1.5): threshold the soft map at 0.5, remove every
connected component smaller than 1 % of the image, and drop the image (no mask) when what remains
covers less than 1 % of it. Each drop is recorded with its reason.

Built-in estimator (for datasets that ship no maps): boundary-prior colour contrast over the FH
superpixels. It uses no labels of any class (no image-level, no pixel-level, base or novel): its only
supervision is the prior that the image border is mostly background. Per image, a superpixel's
saliency is its Lab-colour distance to the border superpixels, taken on the side it differs least
from (robust to an object touching one border), times a mild centre prior, scaled to [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np
from PIL import Image

from ncdss_core.settings import Settings
from ncdss_core.data.files import id_path
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.runtime import get_logger, progress
from ncdss_core.weak.superpixels import SuperpixelReader, region_means

SOURCES = ("import", "estimate")


@dataclass(frozen=True)
class PostProcess(Settings):
    SECTION = "saliency post-processing"
    threshold: float
    min_component: float  # fraction of the image below which a component is removed
    min_total: float  # fraction of the image below which the whole image is dropped


@dataclass(frozen=True)
class SaliencyParams(Settings):
    """The `saliency` config section."""
    SECTION = "saliency"
    source: str  # import: the dataset's maps; estimate: the built-in estimator
    threshold: float
    min_component: float
    min_total: float
    center_sigma: float  # estimator only

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "SaliencyParams":
        made = super().from_params(params)
        if made.source not in SOURCES:
            raise ValueError(f"saliency.source: {made.source!r} is not one of {', '.join(SOURCES)}")
        return made

    @property
    def post(self) -> PostProcess:
        return PostProcess(self.threshold, self.min_component, self.min_total)


def postprocess(soft: np.ndarray, params: PostProcess) -> tuple[np.ndarray | None, dict]:
    """Binary mask (uint8 0/255) or None when the image is dropped, plus a record of what happened.

    `soft` is uint8 0..255 or float 0..1. A pixel is salient when its value is >= threshold (0.5,
    i.e. >= 128 on the 0..255 scale, so an already binary 0/255 map passes through unchanged).
    """
    soft = np.asarray(soft)
    value = soft.astype(np.float64) / 255.0 if soft.dtype == np.uint8 else soft.astype(np.float64)
    binary = (value >= params.threshold).astype(np.uint8)
    area = binary.size
    info: dict = {"salient_after_threshold": float(binary.sum()) / area}
    count, comp, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    sizes = stats[:, cv2.CC_STAT_AREA]
    keep[1:] = sizes[1:] >= params.min_component * area
    info["components"] = int(count - 1)
    info["components_removed"] = int((~keep[1:]).sum())
    mask = keep[comp]
    fraction = float(mask.sum()) / area
    info["salient_fraction"] = fraction
    if fraction < params.min_total:
        if count == 1:
            info["reason"] = f"no pixel at or above the threshold {params.threshold}"
        elif not keep[1:].any():
            info["reason"] = (f"all {count - 1} components are smaller than {params.min_component:.0%} "
                              f"of the image")
        else:
            info["reason"] = f"salient area {fraction:.2%} is below {params.min_total:.0%} of the image"
        return None, info
    return (mask.astype(np.uint8) * 255), info


def estimate_saliency(rgb: np.ndarray, superpixels: np.ndarray, center_sigma: float) -> np.ndarray:
    """Unsupervised boundary-prior contrast saliency in [0, 1] (float32, image size)."""
    h, w = superpixels.shape
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float64)
    means, sizes = region_means(superpixels, lab)
    n = len(sizes)
    sides = [np.unique(superpixels[0]), np.unique(superpixels[-1]),
             np.unique(superpixels[:, 0]), np.unique(superpixels[:, -1])]
    dist = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=2)  # (n, n)
    per_side = np.stack([dist[:, s].mean(1) for s in sides], 1)  # (n, 4)
    # the border side a region resembles most decides: a region touching one border is not background
    # because of that border alone, and an object differs from the three others
    contrast = np.sort(per_side, axis=1)[:, 1]  # second smallest: robust to one side being object
    ys, xs = np.mgrid[0:h, 0:w]
    cy = np.bincount(superpixels.ravel(), ys.ravel(), n) / np.maximum(sizes, 1)
    cx = np.bincount(superpixels.ravel(), xs.ravel(), n) / np.maximum(sizes, 1)
    d2 = ((cy / h - 0.5) ** 2 + (cx / w - 0.5) ** 2) / (2 * center_sigma ** 2)
    score = contrast * np.exp(-d2)
    score = score / max(score.max(), 1e-12)
    return score[superpixels].astype(np.float32)


def saliency_shard(dataset: Any, ids: Sequence[str], out_dir: str | os.PathLike, params: SaliencyParams,
                   superpixels: str | os.PathLike | None = None) -> dict[str, Any]:
    """Binary masks `<id>.png` of `ids` into out_dir, and dropped.json with the reason for every
    image without one. The estimator reads the shard's superpixels artifact `superpixels`."""
    out = Path(out_dir)
    if params.source == "estimate" and superpixels is None:
        raise ValueError("saliency.source estimate works on superpixels; none were given")
    reader = SuperpixelReader.from_shards([superpixels]) if params.source == "estimate" else None
    dropped: dict[str, dict] = {}
    for image_id in progress(ids, label="saliency", logger=get_logger("saliency")):
        if reader is None:
            if not dataset.has_saliency(image_id):
                dropped[image_id] = {"reason": "the dataset ships no saliency map for this image"}
                continue
            soft = dataset.read_saliency(image_id)
        else:
            soft = estimate_saliency(dataset.read_image(image_id), reader.read(image_id), params.center_sigma)
        mask, info = postprocess(soft, params.post)
        if mask is None:
            dropped[image_id] = info
            continue
        Image.fromarray(mask).save(id_path(out, image_id, ".png"))
    atomic_write_json(out / "dropped.json", dropped)
    return {"images": len(ids), "kept": len(ids) - len(dropped), "dropped": len(dropped)}

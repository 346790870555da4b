"""Seeds (pseudo-masks) from CAM and ICD scores (reference icd.md §4.2, §4.4), plus a CAM baseline.

Scores come at grid resolution for the image's present classes; `upsample` resizes them with
cv2 bilinear to the square inference canvas and crops the image (§4.2 step 1). Labels in the output
are dataset class ids (0 background, 255 ignore).

Variants:
- cam: the standard CAM baseline (not in the ICD code): ReLU(CAM) divided by its per-class maximum;
  background where every present class is below `cam_bg_threshold`, else the argmax class.
- icd: §4.2; fg where a present class has a positive top-down logit, bg where all are negative, ties
  and conflicts resolved with the jointly min-max normalised ReLU(CAM), both/neither -> 255.
- icd_sal: §4.4; background replaced by saliency background (S < 0.01), and-ed with the ICD
  background when the salient area is below 1 % (or the image has no saliency mask).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ncdss_core.data.files import id_path, read_grey_png, read_ids, write_label_png
from ncdss_core.data.folds import IGNORE
from ncdss_core.settings import Settings
from ncdss_core.runtime import get_logger, progress
from ncdss_core.weak.scores import ScoreStore

EPS = 1e-5


@dataclass(frozen=True)
class SeedParams(Settings):
    """The thresholds of the `seeds` config section."""
    SECTION = "seeds"
    cam_bg_threshold: float
    sal_bg_threshold: float
    sal_min_fraction: float


def upsample(scores: np.ndarray, size: int, height: int, width: int) -> np.ndarray:
    """(L, g, g) -> (L, height, width): cv2 bilinear to size x size, crop the top-left image."""
    if scores.shape[0] == 0:
        return np.zeros((0, height, width), np.float32)
    hwc = np.ascontiguousarray(scores.transpose(1, 2, 0))
    big = cv2.resize(hwc, (size, size), interpolation=cv2.INTER_LINEAR)
    if big.ndim == 2:
        big = big[:, :, None]
    return np.ascontiguousarray(big[:height, :width].transpose(2, 0, 1))


def cam_seed(cam: np.ndarray, classes: list[int], params: SeedParams) -> np.ndarray:
    """CAM baseline seed from upsampled CAMs (L, h, w)."""
    h, w = cam.shape[1:]
    if not classes:
        return np.zeros((h, w), np.uint8)
    relu = np.maximum(cam, 0)
    norm = relu / np.maximum(relu.reshape(len(classes), -1).max(1), EPS)[:, None, None]
    lut = np.asarray(classes, np.uint8)
    seed = lut[norm.argmax(0)]
    seed[(norm < params.cam_bg_threshold).all(0)] = 0
    return seed


def icd_seed(cam: np.ndarray, icd: np.ndarray, classes: list[int], params: SeedParams,
             saliency: np.ndarray | None = None, use_saliency: bool = False) -> np.ndarray:
    """ICD seed (§4.2) from upsampled CAM A and top-down logits Z, both (L, h, w).

    With `use_saliency`, `saliency` is the binary/soft map in [0, 1] (None: no mask, e.g. dropped by
    the post-processing) and replaces the ICD background (§4.4).
    """
    n, h, w = icd.shape
    if n == 0:
        return np.zeros((h, w), np.uint8)
    flat_z = icd.reshape(n, -1)
    zpos = np.maximum(icd, 0) / np.maximum(flat_z.max(1), EPS)[:, None, None]
    zneg = np.minimum(icd, 0) / np.minimum(flat_z.min(1), -EPS)[:, None, None]
    prop = zpos > EPS
    relu = np.maximum(cam, 0)
    lo, hi = relu.min(), relu.max()
    cam_norm = (relu - lo) / max(hi - lo, EPS)  # jointly over classes and pixels
    weighted = cam_norm * zpos
    if n == 1:
        cand = np.zeros((h, w), np.int64)
    else:
        cand = prop.argmax(0)  # first proposing class
        conflict = prop.sum(0) > 1
        cand = np.where(conflict, weighted.argmax(0), cand)
    fg = prop.any(0)
    bg = (zneg > EPS).all(0)
    if use_saliency:
        sal_bg = np.ones((h, w), bool) if saliency is None else saliency < params.sal_bg_threshold
        if 1.0 - sal_bg.mean() < params.sal_min_fraction:
            sal_bg &= bg
        bg = sal_bg
    undef = ~(bg ^ fg)
    if n > 1:
        undef |= fg & (weighted.max(0) - weighted.min(0) <= EPS)
    lut = np.asarray(classes, np.uint8)
    seed = np.where(fg, lut[cand], 0).astype(np.uint8)
    seed[undef] = IGNORE
    return seed


def make_seed(variant: str, scores: dict, params: SeedParams,
              saliency: np.ndarray | None = None) -> np.ndarray:
    """Seed of one image from its stored scores (see weak.scores.ScoreStore.read)."""
    size, h, w, classes = scores["size"], scores["height"], scores["width"], scores["classes"]
    cam = upsample(scores["cam"], size, h, w)
    if variant == "cam":
        return cam_seed(cam, classes, params)
    icd = upsample(scores["icd"], size, h, w)
    if variant == "icd":
        return icd_seed(cam, icd, classes, params)
    if variant == "icd_sal":
        return icd_seed(cam, icd, classes, params, saliency, use_saliency=True)
    raise ValueError(f"unknown seed variant {variant!r} (cam, icd, icd_sal)")


def seed_shard(variant: str, scores_dir: str | os.PathLike, out_dir: str | os.PathLike, params: SeedParams,
               saliency_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Seeds `<id>.png` of every image of a scores shard; icd_sal reads the saliency shard's masks
    (an image the saliency stage dropped has none)."""
    if variant == "icd_sal" and saliency_dir is None:
        raise ValueError("seed variant icd_sal needs the saliency masks of its shard")
    out = Path(out_dir)
    ids = read_ids(Path(scores_dir) / "ids.txt")
    labelled = total = 0
    with ScoreStore(Path(scores_dir) / "scores.h5") as store:
        for image_id in progress(ids, label=f"seeds {variant}", logger=get_logger("seeds")):
            saliency = None
            mask = id_path(saliency_dir, image_id, ".png") if saliency_dir is not None else None
            if mask is not None and mask.is_file():
                saliency = read_grey_png(mask).astype(np.float32) / 255.0
            seed = make_seed(variant, store.read(image_id), params, saliency)
            write_label_png(id_path(out, image_id, ".png"), seed)
            labelled += int((seed != IGNORE).sum())
            total += seed.size
    return {"images": len(ids), "labelled_fraction": labelled / max(total, 1)}


def collect_labels(shard_dirs: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> dict[str, int]:
    """The label maps of seed (or CRF) shards copied, byte for byte, into one folder."""
    count = 0
    for directory in shard_dirs:
        for path in sorted(Path(directory).glob("*.png")):
            shutil.copyfile(path, Path(out_dir) / path.name)
            count += 1
    return {"images": count}

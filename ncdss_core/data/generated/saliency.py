"""Saliency maps of the generated dataset, simulated with the errors a real saliency model makes."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ncdss_core.data.generated.objects import PlacedObject


def simulate_saliency(rng: np.random.Generator, owner: np.ndarray, keep: list[int], objects: list[PlacedObject],
                      clutter: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, dict[str, int]]:
    """A soft saliency map with a real model's errors: misses small objects, bleeds past borders,
    fires on some clutter, drops parts of objects, is blurry. `owner` holds the index of the object each
    pixel shows (-1: none); returns the map (uint8) and the counts of missed objects and false regions."""
    sal = np.zeros((h, w), np.float32)
    area = h * w
    missed = 0
    for k in keep:
        mask = (owner == k).astype(np.uint8)
        frac = mask.sum() / area
        p_miss = 0.65 if frac < 0.012 else 0.2 if frac < 0.03 else 0.04
        if rng.random() < p_miss:
            conf = rng.uniform(0.2, 0.45)
            missed += 1
        else:
            conf = rng.uniform(0.7, 1.0)
        bleed = int(rng.integers(0, 4))
        if bleed:
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * bleed + 1,) * 2))
        field = np.full((h, w), conf, np.float32)
        if rng.random() < 0.2:  # a weak side: part of the object fades out
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            a = rng.uniform(0, 2 * math.pi)
            cx, cy = objects[k].centre
            proj = ((xx - cx) * math.cos(a) + (yy - cy) * math.sin(a)) / max(objects[k].size, 1)
            field = field * np.clip(1.2 - np.maximum(proj, 0) * rng.uniform(0.8, 1.6), 0.15, 1)
        sal = np.maximum(sal, mask * field)
    false_pos = 0
    for alpha in clutter:
        if rng.random() < 0.3:
            sal = np.maximum(sal, (alpha >= 0.5) * rng.uniform(0.55, 0.9))
            false_pos += 1
    if rng.random() < 0.08:  # a diffuse false blob on the background
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.08, 0.2) * w, rng.uniform(0.08, 0.2) * h
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        blob = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
        sal = np.maximum(sal, blob * rng.uniform(0.5, 0.8))
        false_pos += 1
    sal = cv2.GaussianBlur(sal, (0, 0), rng.uniform(1.0, 2.5))
    sal = sal + rng.normal(0, 0.01, sal.shape) * (sal > 0.02)
    return (np.clip(sal, 0, 1) * 255).round().astype(np.uint8), {"missed": missed, "false_positive": false_pos}


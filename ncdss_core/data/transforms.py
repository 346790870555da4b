"""Joint image/label transforms of NCDSS (reference ncdss.md §2.3, §6.2).

Train: horizontal flip (p 0.5), one affine warp with rotation U[-5, 5] degrees and scale U[0.75, 1.25]
about the centre keeping the canvas (zero padding; label padding 0 = background, not 255), then a fixed
resize (image bicubic, label nearest), ImageNet normalisation. No random crop.
Validation: fixed resize + normalisation. Strong view (EUMS): colour jitter of the already weakly
augmented image, so the weak and strong views are pixel-aligned.

Randomness comes from an explicit `numpy.random.Generator` per sample (seeded from seed, epoch, index),
so results do not depend on worker count or on the global RNG state.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torchvision.transforms.functional as TF

# torchvision's ImageNet normalisation, for every network of the workflow (ICD and NCDSS alike)
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
_MEAN = np.array(MEAN, dtype=np.float32)
_STD = np.array(STD, dtype=np.float32)
# the mean colour as uint8 RGB: padding with it normalises to (almost) zero
MEAN_RGB = tuple(int(round(255 * m)) for m in MEAN)


@dataclass(frozen=True)
class Augment:
    """Train-time geometry (reference values as defaults)."""

    flip: float = 0.5
    max_rotation: float = 5.0
    scale_min: float = 0.75
    scale_max: float = 1.25


@dataclass(frozen=True)
class Jitter:
    """Strong view: torchvision ColorJitter semantics (finetune.strong_jitter)."""

    brightness: float
    contrast: float
    saturation: float
    hue: float


def flip_scale_rotate(image: np.ndarray, label: np.ndarray, rng: np.random.Generator,
                      aug: Augment = Augment()) -> tuple[np.ndarray, np.ndarray]:
    """Flip, then one affine warp (rotation and scale about the centre) on the original canvas;
    `label` (H, W) or several label maps as channels (H, W, C)."""
    if rng.random() < aug.flip:
        image, label = image[:, ::-1], label[:, ::-1]
    angle = (2 * rng.random() - 1) * aug.max_rotation
    scale = aug.scale_min + (aug.scale_max - aug.scale_min) * rng.random()
    h, w = label.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    image = cv2.warpAffine(np.ascontiguousarray(image), matrix, (w, h), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    label = cv2.warpAffine(np.ascontiguousarray(label), matrix, (w, h), flags=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return image, label


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_CUBIC)


def resize_label(label: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Nearest resize; `size` is a square side or (height, width)."""
    h, w = (size, size) if isinstance(size, int) else size
    return cv2.resize(np.ascontiguousarray(label), (w, h), interpolation=cv2.INTER_NEAREST)


# the normalised value of each uint8 level per channel, computed as normalize_image's formula
# computes it per pixel (the same float32 operations): (3, 256)
_LEVELS = np.ascontiguousarray(((np.arange(256, dtype=np.float32)[:, None] / 255.0 - _MEAN) / _STD).T)


def normalize_image(image: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 RGB -> normalised float32 CxHxW (contiguous): (x / 255 - mean) / std in float32,
    looked up per channel in a table of the 256 levels (three times faster, the same bytes)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        x = (image.astype(np.float32) / 255.0 - _MEAN) / _STD
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
    out = np.empty((3, *image.shape[:2]), np.float32)
    for channel in range(3):
        np.take(_LEVELS[channel], image[..., channel], out=out[channel])
    return torch.from_numpy(out)


def train_pair(image: np.ndarray, label: np.ndarray, size: int, rng: np.random.Generator,
               aug: Augment = Augment()) -> tuple[np.ndarray, np.ndarray]:
    """The weak (train) view as uint8 arrays at size x size."""
    image, label = flip_scale_rotate(image, label, rng, aug)
    return resize_image(image, size), resize_label(label, size)


def val_image(image: np.ndarray, size: int) -> torch.Tensor:
    return normalize_image(resize_image(image, size))


def color_jitter(image: np.ndarray, rng: np.random.Generator, jitter: Jitter) -> np.ndarray:
    """ColorJitter with factors and order drawn from `rng`; geometry untouched."""
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    ops = []
    if jitter.brightness > 0:
        f = rng.uniform(max(0.0, 1 - jitter.brightness), 1 + jitter.brightness)
        ops.append(lambda t, f=f: TF.adjust_brightness(t, f))
    if jitter.contrast > 0:
        f = rng.uniform(max(0.0, 1 - jitter.contrast), 1 + jitter.contrast)
        ops.append(lambda t, f=f: TF.adjust_contrast(t, f))
    if jitter.saturation > 0:
        f = rng.uniform(max(0.0, 1 - jitter.saturation), 1 + jitter.saturation)
        ops.append(lambda t, f=f: TF.adjust_saturation(t, f))
    if jitter.hue > 0:
        f = rng.uniform(-jitter.hue, jitter.hue)
        ops.append(lambda t, f=f: TF.adjust_hue(t, f))
    for i in rng.permutation(len(ops)):
        x = ops[i](x)
    return x.numpy().transpose(1, 2, 0).copy()

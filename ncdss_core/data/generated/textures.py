"""Texture sources of the generated dataset: scikit-image's bundled photographs and textures (offline
files only, nothing is downloaded; crops avoid VOC-class objects), and the random crops, colourings and
colour jitter that backgrounds, objects and clutter are painted with."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# name: (file, crop box (x0, y0, x1, y1) or None)
_GREY_SOURCES = {
    "brick": ("brick.png", None), "grass": ("grass.png", None), "gravel": ("gravel.png", None),
    "moon": ("moon.png", None), "cell": ("cell.png", None), "clock": ("clock_motion.png", None),
    "coins": ("coins.png", None), "page": ("page.png", None), "text": ("text.png", None),
    "retina_grey": ("retina.jpg", (300, 300, 1100, 1100)),
}
_RGB_SOURCES = {
    "wood": ("coffee.png", (480, 0, 600, 400)),
    "garage_wall": ("motorcycle_left.png", (0, 0, 741, 100)),
    "garage_floor": ("motorcycle_left.png", (0, 310, 100, 500)),
    "ihc": ("ihc.png", None),
    "retina": ("retina.jpg", (300, 300, 1100, 1100)),
    "hubble": ("hubble_deep_field.jpg", None),
}


def _data_dir() -> Path:
    import skimage

    return Path(skimage.__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def load_textures() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """Grey textures (float32 0..1), RGB textures (float32 0..255) and the source files' digests."""
    root = _data_dir()
    grey, rgb, digests = {}, {}, {}

    def load(file: str, box, mode: str) -> np.ndarray:
        path = root / file
        if not path.is_file():
            raise FileNotFoundError(f"{path}: scikit-image data file missing (the generated dataset needs the "
                                    f"files bundled with scikit-image; nothing is downloaded)")
        digests[file] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        with Image.open(path) as image:
            array = np.asarray(image.convert(mode), dtype=np.float32)
        if box is not None:
            x0, y0, x1, y1 = box
            array = array[y0:y1, x0:x1]
        return array

    for name, (file, box) in sorted(_GREY_SOURCES.items()):
        g = load(file, box, "L")
        lo, hi = np.percentile(g, (1, 99))
        grey[name] = np.clip((g - lo) / max(hi - lo, 1.0), 0, 1).astype(np.float32)
    for name, (file, box) in sorted(_RGB_SOURCES.items()):
        rgb[name] = load(file, box, "RGB")
    return grey, rgb, dict(sorted(digests.items()))


def crop(rng: np.random.Generator, src: np.ndarray, h: int, w: int, scale: tuple[float, float],
         aniso: float = 1.0) -> np.ndarray:
    """A random crop of `src` resized to (h, w); `scale` = output px per source px; flips."""
    sh, sw = src.shape[:2]
    s = rng.uniform(*scale)
    sx, sy = s * aniso, s / aniso
    ch, cw = h / sy, w / sx
    if ch > sh or cw > sw:  # source too small: zoom in until it fits
        f = max(ch / sh, cw / sw)
        ch, cw = ch / f, cw / f
    ch, cw = max(int(round(ch)), 2), max(int(round(cw)), 2)
    y0 = int(rng.integers(0, sh - ch + 1))
    x0 = int(rng.integers(0, sw - cw + 1))
    patch = src[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    if aniso == 1.0 and rng.random() < 0.5:
        patch = patch[::-1]
    interp = cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(patch), (w, h), interpolation=interp)


def colourise(t: np.ndarray, lo, hi) -> np.ndarray:
    """A grey texture (0..1) mapped linearly onto the colours lo..hi."""
    lo = np.asarray(lo, np.float32)
    hi = np.asarray(hi, np.float32)
    return lo + (hi - lo) * t[..., None]


def jitter(rng: np.random.Generator, colour, amount: float) -> np.ndarray:
    """`colour` with every channel moved by up to +-amount, kept in 0..255."""
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3), 0, 255)

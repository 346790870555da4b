"""The generated dataset: a stand-in for PASCAL VOC (20 classes + background).

Each class is a *body* drawn from one of five shape families (each family shared by four classes,
with the same colour schemes) plus a small class-specific *discriminative part* (a coloured mark or
sub-shape at a family anchor). A classifier can name the class from the part alone, so its CAM
fires on the part and misses the body: the partial-activation problem ICD addresses. Several
classes appear mostly on a characteristic scene (boat on water, aeroplane on sky, cow/horse/sheep on
grass, vehicles on road, furniture indoors), so CAM bleeds into the context. Backgrounds are crops
of scikit-image's bundled photographs and textures (offline files only), colour-shifted, with
random clutter. Saliency maps are soft and carry a real saliency model's errors.

Families are laid out so that every PASCAL-5^i fold group (ids 5i+1..5i+5, and fold 4's
8, 10, 12, 13, 17) holds five different families: novel classes differ in appearance, but each
class comes in two colour modes shared with other classes, so image prototypes are multi-modal.

Output: the MaskContrast layout plus VOC `Annotations/`; see `docs/generated_dataset.md`.
`pretraining_images` draws, from the same generator, images of 20 other classes (PRETRAIN_CLASSES)
on which the small ICD trunk is pretrained, the stand-in for ImageNet.
The same (size, seed) gives the same bytes; bump `GENERATOR_VERSION` whenever output bytes change.
"""

from __future__ import annotations

import hashlib
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ncdss_core.data.folds import VOC_CLASSES, novel_classes
from ncdss_core.provenance.atomic import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)
from ncdss_core.data.files import write_ids, write_label_png

GENERATOR_VERSION = 2

# (n_trainaug, n_val)
SIZES = {"tiny": (80, 30), "default": (1500, 400)}

IMAGE_SIDE = (96, 160)      # each side uniform in this range (inclusive), never square
JPEG_QUALITY = 90
SUPERSAMPLE = 4             # polygon rasterisation supersampling (anti-aliased edges)
MIN_INTERIOR_PX = 16        # every annotated object keeps at least this many labelled pixels
DIFFICULT_PX = 60           # objects with fewer labelled pixels are marked difficult
DIFFICULT_VISIBLE = 0.3     # ... as are objects with less than this visible fraction
# Object half-extent as a fraction of the image's shorter side, chosen so that objects cover about a
# quarter of an image (25 % measured), close to PASCAL VOC where ~70 % of pixels are background.
# Version 1 used about 2/3 of these sizes and covered 13 %: too little for ICD's discriminator,
# whose zero threshold then put half the background on the object side (README, "Weakly-supervised seeds").
PRIMARY_SIZE_SINGLE = (0.38, 0.62)   # the only object of a single-label image
PRIMARY_SIZE_MULTI = (0.3, 0.52)     # the first object of a multi-label image
OTHER_SIZE = (0.2, 0.44)             # further objects ...
SMALL_SIZE = (0.08, 0.14)            # ... of which SMALL_P are small
SMALL_P = 0.18
SCENES = ("sky", "water", "grass", "road", "indoor", "generic")

# --------------------------------------------------------------------------------------------
# Classes: family, discriminative part (shape, colour, anchor), colour schemes, context.
# --------------------------------------------------------------------------------------------

FAMILIES = ("finned", "wheeled", "legged", "capsule", "slab")

PART_COLOURS = {
    "red": (215, 35, 35), "yellow": (240, 215, 35), "cyan": (35, 205, 225),
    "magenta": (215, 45, 200), "orange": (250, 135, 25), "green": (45, 195, 60),
    "white": (245, 245, 240), "blue": (45, 75, 225),
}

# Body colour schemes, shared between classes and families (body colour never names the class).
SCHEMES = (
    (122, 82, 52),    # 0 brown
    (130, 130, 128),  # 1 grey
    (212, 198, 168),  # 2 cream
    (58, 56, 60),     # 3 dark
    (172, 132, 72),   # 4 ochre
    (82, 102, 132),   # 5 slate
    (102, 112, 62),   # 6 olive
    (112, 44, 44),    # 7 maroon
)
FAMILY_SCHEMES = {"finned": (1, 5, 2), "wheeled": (7, 1, 4), "legged": (0, 2, 3),
                  "capsule": (4, 3, 5), "slab": (0, 6, 1)}


@dataclass(frozen=True)
class ClassSpec:
    id: int
    name: str
    family: str
    part_shape: str
    part_colour: str
    anchor: str
    modes: tuple[int, int]          # the two preferred body schemes (index into FAMILY_SCHEMES)
    context: tuple[tuple[str, float], ...]  # scene preferences; the rest is spread over all scenes


_SKY = (("sky", 0.8),)
_WATER = (("water", 0.85),)
_GRASS = (("grass", 0.75),)
_ROAD = (("road", 0.55),)
_INDOOR = (("indoor", 0.6),)
_MIXED = (("indoor", 0.3), ("grass", 0.2), ("road", 0.2))

# id, name, family, part shape, part colour, anchor, modes, context. Every fold group (5i+1..5i+5,
# and 8, 10, 12, 13, 17) has five different families; within a family the parts all differ.
_CLASS_TABLE = (
    (1, "finned", "triangle", "red", "tail", (0, 1), _SKY),
    (2, "wheeled", "disc", "cyan", "side", (0, 1), _ROAD),
    (3, "legged", "triangle", "yellow", "head", (0, 1), (("sky", 0.45), ("grass", 0.35))),
    (4, "slab", "bar", "blue", "centre", (0, 1), _WATER),
    (5, "capsule", "square", "orange", "chest", (0, 1), _INDOOR),
    (6, "wheeled", "bar", "yellow", "front", (1, 2), _ROAD),
    (7, "finned", "disc", "magenta", "nose", (1, 2), _ROAD),
    (8, "capsule", "triangle", "white", "head", (1, 2), _MIXED),
    (9, "slab", "diamond", "red", "centre", (1, 2), _INDOOR),
    (10, "legged", "disc", "white", "flank", (1, 2), _GRASS),
    (11, "legged", "bar", "orange", "flank", (2, 0), _INDOOR),
    (12, "finned", "diamond", "cyan", "mid", (2, 0), _MIXED),
    (13, "slab", "star", "yellow", "corner", (2, 0), _GRASS),
    (14, "wheeled", "star", "red", "rear", (2, 0), _ROAD),
    (15, "capsule", "disc", "blue", "head", (2, 0), _MIXED),
    (16, "capsule", "star", "green", "top", (0, 2), _INDOOR),
    (17, "wheeled", "square", "white", "roof", (0, 2), _GRASS),
    (18, "legged", "square", "magenta", "back", (0, 2), _INDOOR),
    (19, "finned", "bar", "green", "mid", (0, 2), _ROAD),
    (20, "slab", "disc", "orange", "bottom", (0, 2), _INDOOR),
)

CLASSES = tuple(ClassSpec(cid, VOC_CLASSES[cid - 1], fam, shape, colour, anchor, modes, ctx)
                for cid, fam, shape, colour, anchor, modes, ctx in _CLASS_TABLE)

# Pretraining classes: the stand-in for ImageNet, on which a trunk can learn what an object is before
# it sees a label of the generated dataset. Each is a (family, part shape) pair that no class of the generated dataset uses, in two
# part colours, so none of them is a class of the dataset, base or novel; each family holds four of them,
# so naming one takes the body as well as the part. They have no preferred scene: context never
# names them, so what a classifier learns from them is about objects.
_PRETRAIN_PAIRS = (
    ("finned", "square", "nose"), ("finned", "star", "tail"), ("wheeled", "triangle", "roof"),
    ("wheeled", "diamond", "front"), ("legged", "diamond", "back"), ("legged", "star", "head"),
    ("capsule", "diamond", "chest"), ("capsule", "bar", "head"), ("slab", "triangle", "corner"),
    ("slab", "square", "centre"),
)
_PRETRAIN_COLOURS = (("yellow", "blue"), ("cyan", "red"), ("magenta", "green"), ("green", "white"),
                     ("red", "cyan"), ("blue", "orange"), ("white", "magenta"), ("green", "yellow"),
                     ("cyan", "orange"), ("magenta", "white"))
_PRETRAIN_TABLE = tuple(
    (2 * i + j + 1, fam, shape, colours[j], anchor, ((0, 1), (1, 2), (2, 0))[(i + j) % 3], ())
    for i, ((fam, shape, anchor), colours) in enumerate(zip(_PRETRAIN_PAIRS, _PRETRAIN_COLOURS))
    for j in range(2))
PRETRAIN_CLASSES = tuple(ClassSpec(cid, f"object{cid:02d}", fam, shape, colour, anchor, modes, ctx)
                         for cid, fam, shape, colour, anchor, modes, ctx in _PRETRAIN_TABLE)

# --------------------------------------------------------------------------------------------
# Texture sources: scikit-image's bundled files (no download). Crops avoid VOC-class objects.
# --------------------------------------------------------------------------------------------

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
def _textures() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
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


def _crop(rng: np.random.Generator, src: np.ndarray, h: int, w: int, scale: tuple[float, float],
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


def _colourise(t: np.ndarray, lo, hi) -> np.ndarray:
    lo = np.asarray(lo, np.float32)
    hi = np.asarray(hi, np.float32)
    return lo + (hi - lo) * t[..., None]


def _jitter(rng: np.random.Generator, colour, amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3), 0, 255)


# --------------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------------

def _sky(rng, h, w):
    grey, rgb, _ = _textures()
    if rng.random() < 0.06:  # night sky
        return _crop(rng, rgb["hubble"], h, w, (0.4, 0.9))
    top = _jitter(rng, (80, 135, 215), 25)
    bottom = _jitter(rng, (185, 210, 238), 15)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] ** rng.uniform(0.6, 1.5)
    sky = top + (bottom - top) * ramp
    sky = np.broadcast_to(sky, (h, w, 3)).copy()
    cloud = _crop(rng, grey[str(rng.choice(["moon", "cell", "clock", "gravel"]))], h, w, (0.15, 0.5))
    cloud = cv2.GaussianBlur(cloud, (0, 0), rng.uniform(2, 5))
    cloud = (cloud - cloud.mean()) / (cloud.std() + 1e-6)
    cover = np.clip((cloud - rng.uniform(-0.3, 1.2)) * rng.uniform(0.3, 0.8), 0, 1)[..., None]
    return sky * (1 - cover) + _jitter(rng, (238, 238, 242), 10) * cover


def _water(rng, h, w):
    grey, _, _ = _textures()
    t = _crop(rng, grey[str(rng.choice(["gravel", "moon", "grass"]))], h, w, (0.4, 1.2), aniso=3.0)
    t = cv2.GaussianBlur(t, (0, 0), 0.8)
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * math.pi)
    waves = 0.5 + 0.5 * np.sin(y * rng.uniform(0.5, 1.2) + 0.3 * np.sin(x * rng.uniform(0.05, 0.15)) + phase)
    t = np.clip(0.65 * t + 0.35 * waves, 0, 1)
    lo = _jitter(rng, (20, 55, 85), 15)
    hi = _jitter(rng, (95, 150, 185), 20)
    return _colourise(t, lo, hi)


def _grass(rng, h, w):
    grey, _, _ = _textures()
    t = _crop(rng, grey["grass"], h, w, (0.3, 0.9))
    lo = _jitter(rng, (25, 55, 15), 12)
    hi = _jitter(rng, (120, 175, 60), 25)
    return _colourise(t ** rng.uniform(0.8, 1.3), lo, hi)


def _road(rng, h, w):
    grey, rgb, _ = _textures()
    if rng.random() < 0.2:
        return _crop(rng, rgb["garage_floor"], h, w, (0.6, 1.4)) * rng.uniform(0.8, 1.1)
    t = _crop(rng, grey["gravel"], h, w, (0.3, 1.0))
    base = rng.uniform(70, 130)
    lo = _jitter(rng, (base - 35,) * 3, 8)
    hi = _jitter(rng, (base + 45,) * 3, 8)
    return _colourise(0.5 + (t - 0.5) * rng.uniform(0.4, 0.9), lo, hi)


def _wall(rng, h, w):
    grey, rgb, _ = _textures()
    kind = rng.choice(["brick", "paper", "garage", "ihc", "plaster"])
    if kind == "brick":
        t = _crop(rng, grey["brick"], h, w, (0.3, 0.8))
        tint = _jitter(rng, (165, 95, 70), 35)
        return _colourise(t, tint * 0.45, tint * 1.15)
    if kind == "paper":
        t = _crop(rng, grey[str(rng.choice(["page", "text"]))], h, w, (0.3, 0.8))
        return _colourise(t, _jitter(rng, (60, 60, 60), 20), _jitter(rng, (230, 225, 210), 15))
    if kind == "garage":
        return _crop(rng, rgb["garage_wall"], h, w, (0.5, 1.0))
    if kind == "ihc":
        return _crop(rng, rgb["ihc"], h, w, (0.3, 0.8)) * _jitter(rng, (1.0, 1.0, 1.0), 0.15)
    t = _crop(rng, grey["moon"], h, w, (0.5, 1.5))
    return _colourise(0.5 + (t - 0.5) * 0.4, _jitter(rng, (150, 140, 125), 30), _jitter(rng, (220, 215, 200), 20))


def _floor(rng, h, w):
    grey, rgb, _ = _textures()
    kind = rng.choice(["wood", "garage", "tiles", "carpet"])
    if kind == "wood":
        patch = _crop(rng, rgb["wood"], h, w, (0.5, 1.2))
        return patch * rng.uniform(0.75, 1.15)
    if kind == "garage":
        return _crop(rng, rgb["garage_floor"], h, w, (0.6, 1.4))
    if kind == "tiles":
        t = _crop(rng, grey["brick"], h, w, (0.4, 0.9))
        return _colourise(t, _jitter(rng, (90, 90, 95), 20), _jitter(rng, (200, 195, 185), 20))
    t = _crop(rng, grey[str(rng.choice(["gravel", "grass"]))], h, w, (0.8, 1.6))
    tint = _jitter(rng, (120, 80, 90), 50)
    return _colourise(0.5 + (t - 0.5) * 0.5, tint * 0.6, tint * 1.1)


def _generic(rng, h, w):
    grey, rgb, _ = _textures()
    names = sorted(grey) + sorted(rgb)
    name = str(rng.choice(names))
    if name in rgb:
        patch = _crop(rng, rgb[name], h, w, (0.3, 1.0))
        return np.clip(patch * _jitter(rng, (1, 1, 1), 0.25) + rng.uniform(-20, 20), 0, 255)
    t = _crop(rng, grey[name], h, w, (0.3, 1.0))
    lo = rng.uniform(0, 110, 3)
    hi = np.clip(lo + rng.uniform(60, 170, 3), 0, 255)
    return _colourise(t, lo, hi)


def _split(rng, upper, lower, h, w, frac):
    """Upper scene above a soft, slightly tilted horizon at `frac` of the height."""
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    horizon = frac * h + (x - w / 2) * rng.uniform(-0.12, 0.12)
    m = np.clip((y - horizon) / rng.uniform(1.0, 3.0) + 0.5, 0, 1)[..., None]
    return upper * (1 - m) + lower * m


def _background(rng: np.random.Generator, scene: str, h: int, w: int) -> np.ndarray:
    if scene == "sky":
        bg = _sky(rng, h, w)
        if rng.random() < 0.4:
            lower = [_grass, _road, _water][int(rng.integers(3))](rng, h, w)
            bg = _split(rng, bg, lower, h, w, rng.uniform(0.65, 0.85))
    elif scene == "water":
        bg = _water(rng, h, w)
        if rng.random() < 0.5:
            bg = _split(rng, _sky(rng, h, w), bg, h, w, rng.uniform(0.15, 0.4))
    elif scene == "grass":
        bg = _grass(rng, h, w)
        if rng.random() < 0.5:
            bg = _split(rng, _sky(rng, h, w), bg, h, w, rng.uniform(0.15, 0.35))
    elif scene == "road":
        bg = _road(rng, h, w)
        if rng.random() < 0.35:
            bg = _split(rng, _wall(rng, h, w), bg, h, w, rng.uniform(0.25, 0.5))
    elif scene == "indoor":
        bg = _split(rng, _wall(rng, h, w), _floor(rng, h, w), h, w, rng.uniform(0.45, 0.8))
    else:
        bg = _generic(rng, h, w)
    return np.clip(bg, 0, 255).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Shapes: polygons in local coordinates (x right, y down, about -1..1), rasterised with
# supersampling into soft alpha maps.
# --------------------------------------------------------------------------------------------

def _ellipse(cx, cy, rx, ry, n=40):
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _rounded_rect(x0, y0, x1, y1, r, n=6):
    pts = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        for a in np.linspace(a0, a0 + 90, n):
            pts.append((cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))))
    return np.array(pts)


def _family_shape(family: str, rng: np.random.Generator):
    """(body polygons, detail polygons, anchors) of a family with intra-class proportion jitter."""
    j = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    if family == "finned":
        ry = j(0.18, 0.27)
        body = [_ellipse(0, 0, 1.0, ry),
                np.array([[-0.15, -ry * 0.6], [0.25, -ry * 0.6], [-0.3, -ry - j(0.35, 0.55)]]),
                np.array([[-0.15, ry * 0.6], [0.2, ry * 0.6], [-0.25, ry + j(0.2, 0.4)]]),
                np.array([[-0.95, 0], [-0.65, -ry * 0.5], [-1.0, -ry - j(0.25, 0.45)]])]
        detail = [_rect(-0.6, ry * 0.25, 0.7, ry * 0.7)]
        anchors = {"nose": (0.72, 0.0), "tail": (-0.9, -ry - 0.15), "mid": (0.2, 0.0)}
    elif family == "wheeled":
        top = -j(0.45, 0.6)
        body = [_rounded_rect(-1.0, top, 1.0, 0.18, 0.12),
                _rounded_rect(-j(0.45, 0.7), top - j(0.22, 0.35), j(0.25, 0.5), top + 0.05, 0.08)]
        rw = j(0.22, 0.3)
        detail = [_ellipse(-0.6, 0.18, rw, rw, 24), _ellipse(0.6, 0.18, rw, rw, 24)]
        body += detail
        anchors = {"front": (0.78, top * 0.45), "roof": (-0.05, top - 0.12), "side": (0.0, top * 0.45),
                   "rear": (-0.78, top * 0.45)}
    elif family == "legged":
        ry = j(0.28, 0.38)
        leg = j(0.55, 0.8)
        body = [_ellipse(0, -0.1, 0.75, ry)]
        legs = [_rect(x - 0.05, 0.0, x + 0.05, leg) for x in (-0.55, -0.35, 0.35, 0.55)]
        head = _ellipse(0.85, -0.1 - ry - 0.05, 0.2, 0.18, 24)
        neck = np.array([[0.45, -0.25], [0.6, 0.0], [0.9, -0.1 - ry], [0.75, -0.1 - ry - 0.1]])
        body += legs + [head, neck]
        detail = legs
        anchors = {"head": (0.85, -0.1 - ry - 0.05), "back": (-0.1, -0.1 - ry * 0.6), "flank": (-0.05, -0.05)}
    elif family == "capsule":
        hw = j(0.26, 0.36)
        body = [_rounded_rect(-hw, -0.45, hw, 0.95, hw * 0.9),
                _ellipse(0, -0.7, 0.24, 0.24, 28)]
        arm = j(0.1, 0.25)
        body += [_rect(-hw - 0.08, -0.3, -hw + 0.02, arm), _rect(hw - 0.02, -0.3, hw + 0.08, arm)]
        detail = [_rect(-hw * 0.8, 0.55, hw * 0.8, 0.95)]
        anchors = {"head": (0.0, -0.72), "chest": (0.0, -0.15), "top": (0.0, -0.95)}
    elif family == "slab":
        top = -j(0.5, 0.7)
        bottom = j(0.3, 0.5)
        body = [_rect(-1.0, top, 1.0, bottom),
                _rect(-0.8, bottom - 0.02, -0.6, bottom + j(0.2, 0.35)),
                _rect(0.6, bottom - 0.02, 0.8, bottom + j(0.2, 0.35))]
        detail = [_rect(-0.8, top + 0.15, 0.8, bottom - 0.15)]
        anchors = {"centre": (0.0, (top + bottom) / 2), "corner": (-0.7, top + 0.1),
                   "bottom": (0.0, bottom - 0.05)}
    else:
        raise ValueError(family)
    return body, detail, anchors


def _part_shape(shape: str, cx: float, cy: float, r: float):
    if shape == "disc":
        return _ellipse(cx, cy, r, r, 24)
    if shape == "triangle":
        return np.array([[cx, cy - 1.35 * r], [cx + 1.2 * r, cy + 0.75 * r], [cx - 1.2 * r, cy + 0.75 * r]])
    if shape == "square":
        return _rect(cx - 0.9 * r, cy - 0.9 * r, cx + 0.9 * r, cy + 0.9 * r)
    if shape == "diamond":
        return np.array([[cx, cy - 1.3 * r], [cx + 1.1 * r, cy], [cx, cy + 1.3 * r], [cx - 1.1 * r, cy]])
    if shape == "star":
        t = np.linspace(-math.pi / 2, 1.5 * math.pi, 10, endpoint=False)
        rad = np.where(np.arange(10) % 2 == 0, 1.55 * r, 0.65 * r)
        return np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], axis=1)
    if shape == "bar":  # a band across the body, clipped to the body later
        return _rect(cx - 0.45 * r, cy - 3.0, cx + 0.45 * r, cy + 3.0)
    raise ValueError(shape)


def _raster(polys: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Soft coverage (float32, h x w) of the union of polygons given in pixel coordinates."""
    out = np.zeros((h, w), np.float32)
    pts = np.concatenate(polys)
    x0 = max(int(math.floor(pts[:, 0].min())) - 1, 0)
    y0 = max(int(math.floor(pts[:, 1].min())) - 1, 0)
    x1 = min(int(math.ceil(pts[:, 0].max())) + 2, w)
    y1 = min(int(math.ceil(pts[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return out, (0, 0, 0, 0)
    s = SUPERSAMPLE
    canvas = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    origin = np.array([x0, y0], np.float64)
    for poly in polys:  # one call per polygon: overlapping polygons must not cancel out
        p = np.round((poly - origin) * s - 0.5).astype(np.int32)
        cv2.fillPoly(canvas, [p], 255)
    small = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    out[y0:y1, x0:x1] = small.astype(np.float32) / 255.0
    return out, (x0, y0, x1, y1)


@dataclass
class _Object:
    cls: ClassSpec
    polys_body: list
    polys_detail: list
    poly_part: np.ndarray
    scheme: int
    size: float
    centre: tuple[float, float]


def _make_object(rng: np.random.Generator, spec: ClassSpec, size: float, centre: tuple[float, float]):
    body, detail, anchors = _family_shape(spec.family, rng)
    ax, ay = anchors[spec.anchor]
    r = rng.uniform(0.17, 0.23)
    part = _part_shape(spec.part_shape, ax + rng.uniform(-0.05, 0.05), ay + rng.uniform(-0.04, 0.04), r)
    # transform: aspect jitter, flip, rotation, scale (size = half the longest extent), translation
    aspect = rng.uniform(0.82, 1.2)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    max_rot = {"finned": 25, "wheeled": 10, "legged": 12, "capsule": 12, "slab": 10}[spec.family]
    theta = math.radians(rng.uniform(-max_rot, max_rot))
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    allpts = np.concatenate(body)
    extent = max(np.abs(allpts[:, 0]).max() * aspect, np.abs(allpts[:, 1]).max() / aspect)
    scale = size / extent

    def tf(p):
        q = np.stack([p[:, 0] * aspect * flip, p[:, 1] / aspect], axis=1) @ rot.T
        return q * scale + np.asarray(centre)

    own = spec.modes
    weights = np.full(3, 0.1)
    weights[own[0]] = weights[own[1]] = 0.45
    scheme = FAMILY_SCHEMES[spec.family][int(rng.choice(3, p=weights))]
    return _Object(spec, [tf(p) for p in body], [tf(p) for p in detail], tf(part), scheme, size, centre)


def _render_object(rng, obj: _Object, h: int, w: int, grey: dict):
    """(rgb float32 h x w x 3, alpha float32 h x w) of one object."""
    body, box = _raster(obj.polys_body, h, w)
    detail, _ = _raster(obj.polys_detail, h, w)
    part, _ = _raster([obj.poly_part], h, w)
    if obj.cls.part_shape == "bar":
        part = part * body
    alpha = np.maximum(body, part)
    detail = np.minimum(detail, body)
    base = _jitter(rng, SCHEMES[obj.scheme], 18) * rng.uniform(0.85, 1.15)
    tex = _crop(rng, grey[str(rng.choice(["grass", "gravel", "moon", "cell", "brick"]))], h, w, (0.4, 1.2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    shade = 1 + rng.uniform(-0.3, 0.3) * ((xx - obj.centre[0]) * math.cos(ang) + (yy - obj.centre[1]) * math.sin(ang)) / max(obj.size, 1)
    shade = shade * (1 + rng.uniform(0.1, 0.35) * (tex - 0.5) * 2)
    rgb = base[None, None, :] * shade[..., None]
    dcol = base * rng.uniform(0.3, 0.55)
    rgb = rgb * (1 - detail[..., None]) + (dcol[None, None, :] * shade[..., None]) * detail[..., None]
    pcol = _jitter(rng, PART_COLOURS[obj.cls.part_colour], 14)
    pshade = 1 + 0.08 * (tex - 0.5)
    rgb = rgb * (1 - part[..., None]) + pcol[None, None, :] * pshade[..., None] * part[..., None]
    return np.clip(rgb, 0, 255), alpha


def _clutter_polys(rng, h, w):
    """A random background shape (not an object): star-convex blob, ellipse or bar."""
    m = min(h, w)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    kind = rng.choice(["blob", "ellipse", "bar"])
    if kind == "blob":
        n = int(rng.integers(5, 10))
        t = np.sort(rng.uniform(0, 2 * math.pi, n))
        rad = rng.uniform(0.06, 0.22) * m * rng.uniform(0.5, 1.0, n)
        return [np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], axis=1)]
    if kind == "ellipse":
        e = _ellipse(0, 0, rng.uniform(0.05, 0.2) * m, rng.uniform(0.03, 0.12) * m, 28)
    else:
        e = _rect(-rng.uniform(0.15, 0.6) * m, -rng.uniform(0.01, 0.03) * m,
                  rng.uniform(0.15, 0.6) * m, rng.uniform(0.01, 0.03) * m)
    a = rng.uniform(0, math.pi)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return [e @ rot.T + np.array([cx, cy])]


def _render_clutter(rng, polys, h, w, grey):
    alpha, _ = _raster(polys, h, w)
    if rng.random() < 0.5:
        lo = rng.uniform(0, 140, 3)
        hi = np.clip(lo + rng.uniform(40, 140, 3), 0, 255)
        rgb = _colourise(_crop(rng, grey[str(rng.choice(sorted(grey)))], h, w, (0.3, 1.0)), lo, hi)
    else:
        grey_level = rng.uniform(30, 220)
        colour = grey_level + (rng.uniform(20, 235, 3) - grey_level) * rng.uniform(0.2, 0.8)
        rgb = np.broadcast_to(colour.astype(np.float32), (h, w, 3)) * \
            (1 + 0.15 * (_crop(rng, grey["gravel"], h, w, (0.5, 1.0)) - 0.5))[..., None]
    return rgb, alpha


# --------------------------------------------------------------------------------------------
# One image
# --------------------------------------------------------------------------------------------

def _edges(owner: np.ndarray) -> np.ndarray:
    """Pixels on either side of a boundary between two different owners (a 2 px band)."""
    edge = np.zeros(owner.shape, bool)
    dh = owner[:, 1:] != owner[:, :-1]
    edge[:, 1:] |= dh
    edge[:, :-1] |= dh
    dv = owner[1:, :] != owner[:-1, :]
    edge[1:, :] |= dv
    edge[:-1, :] |= dv
    return edge


def _choose_scene(rng, spec: ClassSpec) -> str:
    probs = {s: 0.0 for s in SCENES}
    for scene, p in spec.context:
        probs[scene] += p
    rest = 1.0 - sum(probs.values())
    for s in SCENES:
        probs[s] += rest / len(SCENES)
    return str(rng.choice(SCENES, p=[probs[s] for s in SCENES]))


def _plan_classes(rng, primary: int, n_classes: int = 20) -> tuple[list[int], bool]:
    """Class of every object (primary first); multi-label about half of the time."""
    if rng.random() < 0.5:
        n = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        return [primary] * n, False
    m = int(rng.choice([2, 3, 4], p=[0.65, 0.28, 0.07]))
    others = [int(c) for c in rng.choice([c for c in range(1, n_classes + 1) if c != primary], size=m - 1, replace=False)]
    classes = [primary] + others
    n = min(4, m + int(rng.random() < 0.3))
    while len(classes) < n:
        classes.append(classes[int(rng.integers(len(classes)))])
    return classes, True


def _make_image(rng: np.random.Generator, primary: int, table: tuple[ClassSpec, ...] = CLASSES) -> dict:
    """One image whose objects are of the classes of `table` (ids 1..len(table))."""
    grey, _, _ = _textures()
    while True:
        w, h = (int(v) for v in rng.integers(IMAGE_SIDE[0], IMAGE_SIDE[1] + 1, size=2))
        if abs(w - h) >= 4:
            break
    spec0 = table[primary - 1]
    scene = _choose_scene(rng, spec0)
    classes, multi = _plan_classes(rng, primary, len(table))
    image = _background(rng, scene, h, w)

    # background clutter (under the objects)
    clutter = []
    for _ in range(int(rng.integers(0, 5))):
        polys = _clutter_polys(rng, h, w)
        rgb, alpha = _render_clutter(rng, polys, h, w, grey)
        image = image * (1 - alpha[..., None]) + rgb * alpha[..., None]
        clutter.append(alpha)

    # objects: sizes, positions (overlap allowed: occlusion), depth = placement order
    m = min(h, w)
    objects = []
    for k, cid in enumerate(classes):
        if k == 0:
            size = rng.uniform(*(PRIMARY_SIZE_SINGLE if len(classes) == 1 else PRIMARY_SIZE_MULTI)) * m
            centre = (rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h)
        else:
            size = rng.uniform(*(SMALL_SIZE if rng.random() < SMALL_P else OTHER_SIZE)) * m
            centre = (rng.uniform(0.1, 0.9) * w, rng.uniform(0.12, 0.9) * h)
        objects.append(_make_object(rng, table[cid - 1], size, centre))
    rendered = [_render_object(rng, obj, h, w, grey) for obj in objects]

    # front occluder now and then (a pole or branch in front of the objects: background)
    front = None
    if rng.random() < 0.12:
        polys = _clutter_polys(rng, h, w)
        front = _render_clutter(rng, polys, h, w, grey)

    # drop objects that end up (almost) invisible, then compose
    keep = list(range(len(objects)))
    while True:
        owner = np.full((h, w), -1, np.int16)
        for k in keep:
            owner[rendered[k][1] >= 0.5] = k
        if front is not None:
            owner[front[1] >= 0.5] = -1
        edge = _edges(owner)
        interior = {k: int(((owner == k) & ~edge).sum()) for k in keep}
        bad = [k for k in keep if interior[k] < MIN_INTERIOR_PX]
        if not bad:
            break
        keep = [k for k in keep if k not in bad]
        if not keep:  # the primary object always stays: enlarge and recentre it
            objects = [_make_object(rng, spec0, 0.35 * m, (w / 2, h / 2))]
            rendered = [_render_object(rng, objects[0], h, w, grey)]
            keep = [0]
            front = None
    for k in keep:
        rgb, alpha = rendered[k]
        image = image * (1 - alpha[..., None]) + rgb * alpha[..., None]
    if front is not None:
        image = image * (1 - front[1][..., None]) + front[0] * front[1][..., None]

    # photometric noise
    image = image * rng.uniform(0.88, 1.1) + rng.uniform(-10, 10)
    if rng.random() < 0.25:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 0.9))
    image = image + rng.normal(0, rng.uniform(1.0, 4.0), image.shape)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)

    label = np.zeros((h, w), np.uint8)
    for k in keep:
        label[owner == k] = objects[k].cls.id
    label[edge] = 255

    # annotations
    annotations = []
    for k in keep:
        vis = owner == k
        full = int((rendered[k][1] >= 0.5).sum())
        ys, xs = np.nonzero(vis)
        difficult = interior[k] < DIFFICULT_PX or vis.sum() < DIFFICULT_VISIBLE * max(full, 1)
        truncated = bool(xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or ys.max() == h - 1)
        annotations.append({"cls": objects[k].cls.id, "difficult": bool(difficult), "truncated": truncated,
                            "bbox": (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1, int(ys.max()) + 1)})

    # saliency
    saliency, sal_stats = _saliency(rng, owner, keep, objects, clutter, h, w)
    return {"image": image, "label": label, "saliency": saliency, "annotations": annotations,
            "scene": scene, "multi": len({a["cls"] for a in annotations}) > 1, "size": (w, h),
            "sal_stats": sal_stats}


def _saliency(rng, owner, keep, objects, clutter, h, w):
    """A soft saliency map with a real model's errors: misses small objects, bleeds past borders,
    fires on some clutter, drops parts of objects, is blurry."""
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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def _annotation_xml(image_id: str, w: int, h: int, annotations: list[dict]) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "ncdss_benchmark"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = f"ncdss embedded benchmark v{GENERATOR_VERSION}"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(w)
    ET.SubElement(size, "height").text = str(h)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "1"
    for a in annotations:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = VOC_CLASSES[a["cls"] - 1]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = str(int(a["truncated"]))
        ET.SubElement(obj, "difficult").text = str(int(a["difficult"]))
        box = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), a["bbox"]):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode="RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _primary_order(rng: np.random.Generator, n: int, n_classes: int = 20) -> list[int]:
    """Primary class of every image: balanced (each class n/n_classes times), in random order."""
    reps = -(-n // n_classes)
    order = np.tile(np.arange(1, n_classes + 1), reps)
    rng.shuffle(order)
    return [int(c) for c in order[:n]]


def _summary_split(records: list[dict]) -> dict:
    counts = {name: {"images": 0, "objects": 0} for name in VOC_CLASSES}
    scenes = {s: 0 for s in SCENES}
    widths = [r["size"][0] for r in records]
    heights = [r["size"][1] for r in records]
    out = {"images": len(records), "single_label": 0, "multi_label": 0, "objects": 0, "difficult_objects": 0,
           "saliency_missed_objects": 0, "saliency_false_positive_regions": 0, "scenes": scenes}
    for r in records:
        present = sorted({a["cls"] for a in r["annotations"]})
        for c in present:
            counts[VOC_CLASSES[c - 1]]["images"] += 1
        for a in r["annotations"]:
            counts[VOC_CLASSES[a["cls"] - 1]]["objects"] += 1
            out["difficult_objects"] += int(a["difficult"])
        out["objects"] += len(r["annotations"])
        out["multi_label" if len(present) > 1 else "single_label"] += 1
        scenes[r["scene"]] += 1
        out["saliency_missed_objects"] += r["sal_stats"]["missed"]
        out["saliency_false_positive_regions"] += r["sal_stats"]["false_positive"]
    folds = {}
    for fold in range(5):
        novel = set(novel_classes("voc", fold))
        n_novel = sum(1 for r in records if novel & {a["cls"] for a in r["annotations"]})
        n_multi_novel = sum(1 for r in records if len(novel & {a["cls"] for a in r["annotations"]}) > 1)
        folds[str(fold)] = {"base_only": len(records) - n_novel, "novel": n_novel,
                            "several_novel_classes": n_multi_novel}
    out["folds"] = folds
    out["classes"] = counts
    out["width"] = [min(widths), max(widths)] if widths else [0, 0]
    out["height"] = [min(heights), max(heights)] if heights else [0, 0]
    out["non_square"] = sum(1 for w, h in zip(widths, heights) if w != h)
    return out


def generate(root: str | Path, size: str = "default", seed: int = 0) -> dict:
    """Write the dataset into root (which must not exist yet or be empty) and return a summary dict
    (counts per class, image sizes, version, seed, size)."""
    if size not in SIZES:
        raise ValueError(f"dataset.generated_size: unknown size {size!r} (expected one of {sorted(SIZES)})")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"dataset.generated_seed: must be >= 0, got {seed}")
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root}: dataset root exists and is not empty; remove it first")
    n_train, n_val = SIZES[size]
    _, _, digests = _textures()
    splits = {"trainaug": (0, n_train), "val": (1, n_val)}
    summary: dict = {"version": GENERATOR_VERSION, "seed": seed, "size": size, "n_trainaug": n_train,
                     "n_val": n_val, "texture_sources": digests, "splits": {}}
    with atomic_directory(root) as tmp:
        next_id = 0
        split_records = {}
        for split, (code, n) in splits.items():
            order_rng = np.random.default_rng([seed, GENERATOR_VERSION, code, 0])
            primaries = _primary_order(order_rng, n)
            ids, records = [], []
            for index, primary in enumerate(primaries):
                image_id = f"bm_{next_id:06d}"
                next_id += 1
                rng = np.random.default_rng([seed, GENERATOR_VERSION, code, 1, index])
                rec = _make_image(rng, primary)
                w, h = rec["size"]
                atomic_write_bytes(tmp / "images" / f"{image_id}.jpg", _jpeg_bytes(rec["image"]))
                write_label_png(tmp / "SegmentationClassAug" / f"{image_id}.png", rec["label"])
                write_label_png(tmp / "SegmentationClass" / f"{image_id}.png", rec["label"])
                atomic_write_bytes(tmp / "saliency_supervised_model" / f"{image_id}.png", _png_bytes(rec["saliency"]))
                atomic_write_text(tmp / "Annotations" / f"{image_id}.xml", _annotation_xml(image_id, w, h, rec["annotations"]))
                ids.append(image_id)
                records.append({k: rec[k] for k in ("annotations", "scene", "size", "sal_stats")})
            write_ids(tmp / "sets" / f"{split}.txt", ids)
            split_records[split] = records
        for split, records in split_records.items():
            summary["splits"][split] = _summary_split(records)
        summary["classes"] = {name: {split: summary["splits"][split]["classes"][name]["images"]
                                     for split in splits} for name in VOC_CLASSES}
        summary["families"] = {spec.name: spec.family for spec in CLASSES}
        summary["parts"] = {spec.name: f"{spec.part_colour} {spec.part_shape} at {spec.anchor}" for spec in CLASSES}
        atomic_write_json(tmp / "generated.json", summary)
    return summary


def pretraining_images(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """n images of the pretraining classes (PRETRAIN_CLASSES, none a class of the generated dataset) and their
    image-level labels (n x 20 multi-hot, non-difficult objects; an image whose objects are all
    difficult keeps them, as VOC's reader does). Built in memory; the same (n, seed), the same arrays."""
    if n < 1:
        raise ValueError(f"pretrain.images: must be >= 1, got {n}")
    # code 2: a stream of its own, never one of the dataset splits (0 trainaug, 1 val)
    primaries = _primary_order(np.random.default_rng([seed, GENERATOR_VERSION, 2, 0]), n, len(PRETRAIN_CLASSES))
    images, labels = [], np.zeros((n, len(PRETRAIN_CLASSES)), np.float32)
    for index, primary in enumerate(primaries):
        rec = _make_image(np.random.default_rng([seed, GENERATOR_VERSION, 2, 1, index]), primary, PRETRAIN_CLASSES)
        present = {a["cls"] for a in rec["annotations"] if not a["difficult"]} or {a["cls"] for a in rec["annotations"]}
        labels[index, [c - 1 for c in present]] = 1.0
        images.append(rec["image"])
    return images, labels

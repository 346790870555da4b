"""Backgrounds of the generated dataset: a scene (sky, water, grass, road, indoor, generic) painted from
scikit-image's photographs and textures, colour-shifted, sometimes split by a horizon into two scenes."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ncdss_core.data.generated.textures import colourise, crop, jitter, load_textures

SCENES = ("sky", "water", "grass", "road", "indoor", "generic")


def _sky(rng, h, w):
    grey, rgb, _ = load_textures()
    if rng.random() < 0.06:  # night sky
        return crop(rng, rgb["hubble"], h, w, (0.4, 0.9))
    top = jitter(rng, (80, 135, 215), 25)
    bottom = jitter(rng, (185, 210, 238), 15)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] ** rng.uniform(0.6, 1.5)
    sky = top + (bottom - top) * ramp
    sky = np.broadcast_to(sky, (h, w, 3)).copy()
    cloud = crop(rng, grey[str(rng.choice(["moon", "cell", "clock", "gravel"]))], h, w, (0.15, 0.5))
    cloud = cv2.GaussianBlur(cloud, (0, 0), rng.uniform(2, 5))
    cloud = (cloud - cloud.mean()) / (cloud.std() + 1e-6)
    cover = np.clip((cloud - rng.uniform(-0.3, 1.2)) * rng.uniform(0.3, 0.8), 0, 1)[..., None]
    return sky * (1 - cover) + jitter(rng, (238, 238, 242), 10) * cover


def _water(rng, h, w):
    grey, _, _ = load_textures()
    t = crop(rng, grey[str(rng.choice(["gravel", "moon", "grass"]))], h, w, (0.4, 1.2), aniso=3.0)
    t = cv2.GaussianBlur(t, (0, 0), 0.8)
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * math.pi)
    waves = 0.5 + 0.5 * np.sin(y * rng.uniform(0.5, 1.2) + 0.3 * np.sin(x * rng.uniform(0.05, 0.15)) + phase)
    t = np.clip(0.65 * t + 0.35 * waves, 0, 1)
    lo = jitter(rng, (20, 55, 85), 15)
    hi = jitter(rng, (95, 150, 185), 20)
    return colourise(t, lo, hi)


def _grass(rng, h, w):
    grey, _, _ = load_textures()
    t = crop(rng, grey["grass"], h, w, (0.3, 0.9))
    lo = jitter(rng, (25, 55, 15), 12)
    hi = jitter(rng, (120, 175, 60), 25)
    return colourise(t ** rng.uniform(0.8, 1.3), lo, hi)


def _road(rng, h, w):
    grey, rgb, _ = load_textures()
    if rng.random() < 0.2:
        return crop(rng, rgb["garage_floor"], h, w, (0.6, 1.4)) * rng.uniform(0.8, 1.1)
    t = crop(rng, grey["gravel"], h, w, (0.3, 1.0))
    base = rng.uniform(70, 130)
    lo = jitter(rng, (base - 35,) * 3, 8)
    hi = jitter(rng, (base + 45,) * 3, 8)
    return colourise(0.5 + (t - 0.5) * rng.uniform(0.4, 0.9), lo, hi)


def _wall(rng, h, w):
    grey, rgb, _ = load_textures()
    kind = rng.choice(["brick", "paper", "garage", "ihc", "plaster"])
    if kind == "brick":
        t = crop(rng, grey["brick"], h, w, (0.3, 0.8))
        tint = jitter(rng, (165, 95, 70), 35)
        return colourise(t, tint * 0.45, tint * 1.15)
    if kind == "paper":
        t = crop(rng, grey[str(rng.choice(["page", "text"]))], h, w, (0.3, 0.8))
        return colourise(t, jitter(rng, (60, 60, 60), 20), jitter(rng, (230, 225, 210), 15))
    if kind == "garage":
        return crop(rng, rgb["garage_wall"], h, w, (0.5, 1.0))
    if kind == "ihc":
        return crop(rng, rgb["ihc"], h, w, (0.3, 0.8)) * jitter(rng, (1.0, 1.0, 1.0), 0.15)
    t = crop(rng, grey["moon"], h, w, (0.5, 1.5))
    return colourise(0.5 + (t - 0.5) * 0.4, jitter(rng, (150, 140, 125), 30), jitter(rng, (220, 215, 200), 20))


def _floor(rng, h, w):
    grey, rgb, _ = load_textures()
    kind = rng.choice(["wood", "garage", "tiles", "carpet"])
    if kind == "wood":
        patch = crop(rng, rgb["wood"], h, w, (0.5, 1.2))
        return patch * rng.uniform(0.75, 1.15)
    if kind == "garage":
        return crop(rng, rgb["garage_floor"], h, w, (0.6, 1.4))
    if kind == "tiles":
        t = crop(rng, grey["brick"], h, w, (0.4, 0.9))
        return colourise(t, jitter(rng, (90, 90, 95), 20), jitter(rng, (200, 195, 185), 20))
    t = crop(rng, grey[str(rng.choice(["gravel", "grass"]))], h, w, (0.8, 1.6))
    tint = jitter(rng, (120, 80, 90), 50)
    return colourise(0.5 + (t - 0.5) * 0.5, tint * 0.6, tint * 1.1)


def _generic(rng, h, w):
    grey, rgb, _ = load_textures()
    names = sorted(grey) + sorted(rgb)
    name = str(rng.choice(names))
    if name in rgb:
        patch = crop(rng, rgb[name], h, w, (0.3, 1.0))
        return np.clip(patch * jitter(rng, (1, 1, 1), 0.25) + rng.uniform(-20, 20), 0, 255)
    t = crop(rng, grey[name], h, w, (0.3, 1.0))
    lo = rng.uniform(0, 110, 3)
    hi = np.clip(lo + rng.uniform(60, 170, 3), 0, 255)
    return colourise(t, lo, hi)


def _split(rng, upper, lower, h, w, frac):
    """Upper scene above a soft, slightly tilted horizon at `frac` of the height."""
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    horizon = frac * h + (x - w / 2) * rng.uniform(-0.12, 0.12)
    m = np.clip((y - horizon) / rng.uniform(1.0, 3.0) + 0.5, 0, 1)[..., None]
    return upper * (1 - m) + lower * m


def paint_background(rng: np.random.Generator, scene: str, h: int, w: int) -> np.ndarray:
    """An h x w float32 RGB background (0..255) of `scene`."""
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


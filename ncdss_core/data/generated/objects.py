"""Objects of the generated dataset: one class instance placed in an image (body and part polygons,
colour scheme, pose) and painted, and the background clutter shapes that are not objects."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ncdss_core.data.generated.catalogue import FAMILY_SCHEMES, PART_COLOURS, SCHEMES, ClassSpec
from ncdss_core.data.generated.shapes import ellipse, family_polygons, part_polygon, raster, rect
from ncdss_core.data.generated.textures import colourise, crop, jitter


@dataclass
class PlacedObject:
    """One class instance with its polygons in pixel coordinates."""

    cls: ClassSpec
    polys_body: list
    polys_detail: list
    poly_part: np.ndarray
    scheme: int
    size: float
    centre: tuple[float, float]


def make_object(rng: np.random.Generator, spec: ClassSpec, size: float,
                centre: tuple[float, float]) -> PlacedObject:
    """An instance of `spec` of half-extent `size` px centred on `centre`, with random pose and scheme."""
    body, detail, anchors = family_polygons(spec.family, rng)
    ax, ay = anchors[spec.anchor]
    r = rng.uniform(0.17, 0.23)
    part = part_polygon(spec.part_shape, ax + rng.uniform(-0.05, 0.05), ay + rng.uniform(-0.04, 0.04), r)
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
    return PlacedObject(spec, [tf(p) for p in body], [tf(p) for p in detail], tf(part), scheme, size, centre)


def render_object(rng: np.random.Generator, obj: PlacedObject, h: int, w: int,
                  grey: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(rgb float32 h x w x 3, alpha float32 h x w) of one object."""
    body, box = raster(obj.polys_body, h, w)
    detail, _ = raster(obj.polys_detail, h, w)
    part, _ = raster([obj.poly_part], h, w)
    if obj.cls.part_shape == "bar":
        part = part * body
    alpha = np.maximum(body, part)
    detail = np.minimum(detail, body)
    base = jitter(rng, SCHEMES[obj.scheme], 18) * rng.uniform(0.85, 1.15)
    tex = crop(rng, grey[str(rng.choice(["grass", "gravel", "moon", "cell", "brick"]))], h, w, (0.4, 1.2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    shade = 1 + rng.uniform(-0.3, 0.3) * ((xx - obj.centre[0]) * math.cos(ang) + (yy - obj.centre[1]) * math.sin(ang)) / max(obj.size, 1)
    shade = shade * (1 + rng.uniform(0.1, 0.35) * (tex - 0.5) * 2)
    rgb = base[None, None, :] * shade[..., None]
    dcol = base * rng.uniform(0.3, 0.55)
    rgb = rgb * (1 - detail[..., None]) + (dcol[None, None, :] * shade[..., None]) * detail[..., None]
    pcol = jitter(rng, PART_COLOURS[obj.cls.part_colour], 14)
    pshade = 1 + 0.08 * (tex - 0.5)
    rgb = rgb * (1 - part[..., None]) + pcol[None, None, :] * pshade[..., None] * part[..., None]
    return np.clip(rgb, 0, 255), alpha


def clutter_polygons(rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
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
        e = ellipse(0, 0, rng.uniform(0.05, 0.2) * m, rng.uniform(0.03, 0.12) * m, 28)
    else:
        e = rect(-rng.uniform(0.15, 0.6) * m, -rng.uniform(0.01, 0.03) * m,
                  rng.uniform(0.15, 0.6) * m, rng.uniform(0.01, 0.03) * m)
    a = rng.uniform(0, math.pi)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return [e @ rot.T + np.array([cx, cy])]


def render_clutter(rng: np.random.Generator, polys: list[np.ndarray], h: int, w: int,
                   grey: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(rgb float32 h x w x 3, alpha float32 h x w) of one clutter shape, textured or flat."""
    alpha, _ = raster(polys, h, w)
    if rng.random() < 0.5:
        lo = rng.uniform(0, 140, 3)
        hi = np.clip(lo + rng.uniform(40, 140, 3), 0, 255)
        rgb = colourise(crop(rng, grey[str(rng.choice(sorted(grey)))], h, w, (0.3, 1.0)), lo, hi)
    else:
        grey_level = rng.uniform(30, 220)
        colour = grey_level + (rng.uniform(20, 235, 3) - grey_level) * rng.uniform(0.2, 0.8)
        rgb = np.broadcast_to(colour.astype(np.float32), (h, w, 3)) * \
            (1 + 0.15 * (crop(rng, grey["gravel"], h, w, (0.5, 1.0)) - 0.5))[..., None]
    return rgb, alpha


"""Shape drawing for the generated dataset: the polygons of a family's body and of a discriminative
part, in local coordinates (x right, y down, about -1..1), and their rasterisation with supersampling
into soft alpha maps (anti-aliased edges)."""

from __future__ import annotations

import math

import cv2
import numpy as np

SUPERSAMPLE = 4             # polygon rasterisation supersampling (anti-aliased edges)


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> np.ndarray:
    """An ellipse as an n-gon."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """An axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _rounded_rect(x0, y0, x1, y1, r, n=6):
    pts = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        for a in np.linspace(a0, a0 + 90, n):
            pts.append((cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))))
    return np.array(pts)


def family_polygons(family: str, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """(body polygons, detail polygons, anchors) of a family with intra-class proportion jitter."""
    j = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    if family == "finned":
        ry = j(0.18, 0.27)
        body = [ellipse(0, 0, 1.0, ry),
                np.array([[-0.15, -ry * 0.6], [0.25, -ry * 0.6], [-0.3, -ry - j(0.35, 0.55)]]),
                np.array([[-0.15, ry * 0.6], [0.2, ry * 0.6], [-0.25, ry + j(0.2, 0.4)]]),
                np.array([[-0.95, 0], [-0.65, -ry * 0.5], [-1.0, -ry - j(0.25, 0.45)]])]
        detail = [rect(-0.6, ry * 0.25, 0.7, ry * 0.7)]
        anchors = {"nose": (0.72, 0.0), "tail": (-0.9, -ry - 0.15), "mid": (0.2, 0.0)}
    elif family == "wheeled":
        top = -j(0.45, 0.6)
        body = [_rounded_rect(-1.0, top, 1.0, 0.18, 0.12),
                _rounded_rect(-j(0.45, 0.7), top - j(0.22, 0.35), j(0.25, 0.5), top + 0.05, 0.08)]
        rw = j(0.22, 0.3)
        detail = [ellipse(-0.6, 0.18, rw, rw, 24), ellipse(0.6, 0.18, rw, rw, 24)]
        body += detail
        anchors = {"front": (0.78, top * 0.45), "roof": (-0.05, top - 0.12), "side": (0.0, top * 0.45),
                   "rear": (-0.78, top * 0.45)}
    elif family == "legged":
        ry = j(0.28, 0.38)
        leg = j(0.55, 0.8)
        body = [ellipse(0, -0.1, 0.75, ry)]
        legs = [rect(x - 0.05, 0.0, x + 0.05, leg) for x in (-0.55, -0.35, 0.35, 0.55)]
        head = ellipse(0.85, -0.1 - ry - 0.05, 0.2, 0.18, 24)
        neck = np.array([[0.45, -0.25], [0.6, 0.0], [0.9, -0.1 - ry], [0.75, -0.1 - ry - 0.1]])
        body += legs + [head, neck]
        detail = legs
        anchors = {"head": (0.85, -0.1 - ry - 0.05), "back": (-0.1, -0.1 - ry * 0.6), "flank": (-0.05, -0.05)}
    elif family == "capsule":
        hw = j(0.26, 0.36)
        body = [_rounded_rect(-hw, -0.45, hw, 0.95, hw * 0.9),
                ellipse(0, -0.7, 0.24, 0.24, 28)]
        arm = j(0.1, 0.25)
        body += [rect(-hw - 0.08, -0.3, -hw + 0.02, arm), rect(hw - 0.02, -0.3, hw + 0.08, arm)]
        detail = [rect(-hw * 0.8, 0.55, hw * 0.8, 0.95)]
        anchors = {"head": (0.0, -0.72), "chest": (0.0, -0.15), "top": (0.0, -0.95)}
    elif family == "slab":
        top = -j(0.5, 0.7)
        bottom = j(0.3, 0.5)
        body = [rect(-1.0, top, 1.0, bottom),
                rect(-0.8, bottom - 0.02, -0.6, bottom + j(0.2, 0.35)),
                rect(0.6, bottom - 0.02, 0.8, bottom + j(0.2, 0.35))]
        detail = [rect(-0.8, top + 0.15, 0.8, bottom - 0.15)]
        anchors = {"centre": (0.0, (top + bottom) / 2), "corner": (-0.7, top + 0.1),
                   "bottom": (0.0, bottom - 0.05)}
    else:
        raise ValueError(family)
    return body, detail, anchors


def part_polygon(shape: str, cx: float, cy: float, r: float) -> np.ndarray:
    """A discriminative part of radius about r centred on (cx, cy)."""
    if shape == "disc":
        return ellipse(cx, cy, r, r, 24)
    if shape == "triangle":
        return np.array([[cx, cy - 1.35 * r], [cx + 1.2 * r, cy + 0.75 * r], [cx - 1.2 * r, cy + 0.75 * r]])
    if shape == "square":
        return rect(cx - 0.9 * r, cy - 0.9 * r, cx + 0.9 * r, cy + 0.9 * r)
    if shape == "diamond":
        return np.array([[cx, cy - 1.3 * r], [cx + 1.1 * r, cy], [cx, cy + 1.3 * r], [cx - 1.1 * r, cy]])
    if shape == "star":
        t = np.linspace(-math.pi / 2, 1.5 * math.pi, 10, endpoint=False)
        rad = np.where(np.arange(10) % 2 == 0, 1.55 * r, 0.65 * r)
        return np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], axis=1)
    if shape == "bar":  # a band across the body, clipped to the body later
        return rect(cx - 0.45 * r, cy - 3.0, cx + 0.45 * r, cy + 3.0)
    raise ValueError(shape)


def raster(polys: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
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

"""Composition of one image of the generated dataset: size, scene, classes, background and clutter,
objects with occlusion and a front occluder, photometric noise, then the label map (with the 255 band
on object borders), the VOC object annotations and the saliency map."""

from __future__ import annotations

import cv2
import numpy as np

from ncdss_core.data.generated.backgrounds import SCENES, paint_background
from ncdss_core.data.generated.catalogue import CLASSES, ClassSpec
from ncdss_core.data.generated.objects import clutter_polygons, make_object, render_clutter, render_object
from ncdss_core.data.generated.saliency import simulate_saliency
from ncdss_core.data.generated.textures import load_textures

IMAGE_SIDE = (96, 160)      # each side uniform in this range (inclusive), never square
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


def primary_order(rng: np.random.Generator, n: int, n_classes: int = 20) -> list[int]:
    """Primary class of every image: balanced (each class n/n_classes times), in random order."""
    reps = -(-n // n_classes)
    order = np.tile(np.arange(1, n_classes + 1), reps)
    rng.shuffle(order)
    return [int(c) for c in order[:n]]


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


def _choose_scene(rng: np.random.Generator, spec: ClassSpec) -> str:
    """The primary class's preferred scenes, the rest of the probability spread over all scenes."""
    probs = {s: 0.0 for s in SCENES}
    for scene, p in spec.context:
        probs[scene] += p
    rest = 1.0 - sum(probs.values())
    for s in SCENES:
        probs[s] += rest / len(SCENES)
    return str(rng.choice(SCENES, p=[probs[s] for s in SCENES]))


def _plan_classes(rng: np.random.Generator, primary: int, n_classes: int = 20) -> tuple[list[int], bool]:
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


def make_image(rng: np.random.Generator, primary: int, table: tuple[ClassSpec, ...] = CLASSES) -> dict:
    """One image whose objects are of the classes of `table` (ids 1..len(table)), the first of class
    `primary`: image, label, saliency, annotations, scene, multi, size (w, h) and sal_stats."""
    grey, _, _ = load_textures()
    while True:
        w, h = (int(v) for v in rng.integers(IMAGE_SIDE[0], IMAGE_SIDE[1] + 1, size=2))
        if abs(w - h) >= 4:
            break
    spec0 = table[primary - 1]
    scene = _choose_scene(rng, spec0)
    classes, multi = _plan_classes(rng, primary, len(table))
    image = paint_background(rng, scene, h, w)

    # background clutter (under the objects)
    clutter = []
    for _ in range(int(rng.integers(0, 5))):
        polys = clutter_polygons(rng, h, w)
        rgb, alpha = render_clutter(rng, polys, h, w, grey)
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
        objects.append(make_object(rng, table[cid - 1], size, centre))
    rendered = [render_object(rng, obj, h, w, grey) for obj in objects]

    # front occluder now and then (a pole or branch in front of the objects: background)
    front = None
    if rng.random() < 0.12:
        polys = clutter_polygons(rng, h, w)
        front = render_clutter(rng, polys, h, w, grey)

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
            objects = [make_object(rng, spec0, 0.35 * m, (w / 2, h / 2))]
            rendered = [render_object(rng, objects[0], h, w, grey)]
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
    saliency, sal_stats = simulate_saliency(rng, owner, keep, objects, clutter, h, w)
    return {"image": image, "label": label, "saliency": saliency, "annotations": annotations,
            "scene": scene, "multi": len({a["cls"] for a in annotations}) > 1, "size": (w, h),
            "sal_stats": sal_stats}


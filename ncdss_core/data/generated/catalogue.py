"""The class catalogue of the generated dataset: every class is a body from one of five shape families
plus a small class-specific discriminative part, in body colour schemes shared between classes, with a
preferred scene.

Each family is shared by four classes, with the same colour schemes, so body colour and shape never name
the class; the part does, which is why a classifier's CAM fires on the part and misses the body (the
partial activation ICD addresses). Several classes appear mostly on a characteristic scene, so CAM
bleeds into the context. Families are laid out so that every PASCAL-5^i fold group (ids 5i+1..5i+5,
and fold 4's 8, 10, 12, 13, 17) holds five different families: novel classes differ in appearance, but
each class comes in two colour modes shared with other classes, so image prototypes are multi-modal.
"""

from __future__ import annotations

from dataclasses import dataclass

from ncdss_core.data.folds import VOC_CLASSES

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
# it sees a label of the generated dataset. Each is a (family, part shape) pair that no class of the
# generated dataset uses, in two part colours, so none of them is a class of the dataset, base or novel;
# each family holds four of them, so naming one takes the body as well as the part. They have no
# preferred scene: context never names them, so what a classifier learns from them is about objects.
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

"""The generated dataset: a stand-in for PASCAL VOC (20 classes + background).

Each class is a *body* drawn from one of five shape families plus a small class-specific
*discriminative part*; a classifier can name the class from the part alone, so its CAM fires on the
part and misses the body, the partial-activation problem ICD addresses. Several classes appear mostly
on a characteristic scene, so CAM bleeds into the context. Backgrounds are crops of scikit-image's
bundled photographs and textures (offline files only), colour-shifted, with random clutter. Saliency
maps are soft and carry a real saliency model's errors.

Output: the MaskContrast layout plus VOC `Annotations/`; see `docs/generated_dataset.md`.
`pretraining_images` draws, from the same generator, images of 20 other classes (PRETRAIN_CLASSES)
on which the small ICD trunk is pretrained, the stand-in for ImageNet.
The same (size, seed) gives the same bytes; bump `GENERATOR_VERSION` whenever output bytes change.

Modules, one job each: catalogue (the classes), textures (source images, crops, colours),
backgrounds (scenes), shapes (polygons, rasterisation), objects (placed and painted objects,
clutter), saliency (simulated saliency maps), composition (one image), streams (random streams),
summary (generated.json counts), writer (`generate`), pretraining (`pretraining_images`).
"""

from ncdss_core.data.generated.backgrounds import SCENES
from ncdss_core.data.generated.catalogue import CLASSES, FAMILIES, PRETRAIN_CLASSES, ClassSpec
from ncdss_core.data.generated.pretraining import pretraining_images
from ncdss_core.data.generated.streams import GENERATOR_VERSION
from ncdss_core.data.generated.writer import SIZES, generate

__all__ = ["CLASSES", "FAMILIES", "GENERATOR_VERSION", "PRETRAIN_CLASSES", "SCENES", "SIZES", "ClassSpec",
           "generate", "pretraining_images"]

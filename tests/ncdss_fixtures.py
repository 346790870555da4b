"""The hand-made VOC-layout dataset the unit tests share (no generator needed, small enough for tests
that train for seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ncdss_core.data.files import write_ids, write_label_png
from ncdss_core.data.folds import VOC_CLASSES


def class_colour(c: int) -> np.ndarray:
    """The colour of every object of class c: a class is told apart by colour alone."""
    return np.random.default_rng(1000 + c).integers(30, 226, size=3)


def make_voc_dataset(root: Path, n_train: int = 24, n_val: int = 8, seed: int = 0,
                     annotations: bool = True) -> Path:
    """A VOC-layout dataset under root, ids tr_000.. and va_000..: image i of a split holds a rectangle
    of class (i % 20) + 1 and, every third image, a second one of class ((i + 7) % 20) + 1, each in its
    class colour on dark noise. Label maps carry a 255 band on the top and bottom edge of each
    object; saliency marks the objects; `Annotations/` (VOC XML) only when `annotations`."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for folder in ("images", "SegmentationClassAug", "SegmentationClass", "saliency_supervised_model"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if annotations:
        (root / "Annotations").mkdir()
    ids = {"trainaug": [f"tr_{i:03d}" for i in range(n_train)], "val": [f"va_{i:03d}" for i in range(n_val)]}
    for split, split_ids in ids.items():
        for index, image_id in enumerate(split_ids):
            h, w = int(rng.integers(40, 64)), int(rng.integers(48, 80))
            image = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
            label = np.zeros((h, w), dtype=np.uint8)
            present = [(index % 20) + 1]
            if index % 3 == 0:
                present.append(((index + 7) % 20) + 1)
            objects = []
            for slot, cls in enumerate(present):
                y0, x0 = 4 + slot * (h // 2 - 2), 4 + slot * (w // 2 - 2)
                y1, x1 = y0 + h // 2 - 8, x0 + w // 2 - 8
                label[y0:y1, x0:x1] = cls
                image[y0:y1, x0:x1] = class_colour(cls)
                label[y0, x0:x1] = label[y1 - 1, x0:x1] = 255
                objects.append((cls, x0, y0, x1, y1))
            Image.fromarray(image).save(root / "images" / f"{image_id}.jpg", quality=95)
            write_label_png(root / "SegmentationClassAug" / f"{image_id}.png", label)
            write_label_png(root / "SegmentationClass" / f"{image_id}.png", label)
            saliency = np.where(label > 0, 255, 0).astype(np.uint8)
            Image.fromarray(saliency).save(root / "saliency_supervised_model" / f"{image_id}.png")
            if annotations:
                xml = "".join(
                    f"<object><name>{VOC_CLASSES[c - 1]}</name><difficult>0</difficult>"
                    f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
                    for c, x0, y0, x1, y1 in objects)
                (root / "Annotations" / f"{image_id}.xml").write_text(
                    f"<annotation><filename>{image_id}.jpg</filename>{xml}</annotation>")
        write_ids(root / "sets" / f"{split}.txt", split_ids)
    return root


# --- the NCDSS runners' settings objects, from plain sections ---------------------------------------
NO_PER_EPOCH = {"per_epoch": False}


def base_run(model: dict, base: dict, seed: int, fold: int = 0, amp=False, per_epoch=None):
    """The BaseRun of a base_model job (rule params as plain sections)."""
    from ncdss_core.discovery.base_training import BaseRun

    return BaseRun.from_params({"model": model, "base": base, "seed": seed, "amp": amp,
                                "per_epoch": per_epoch or NO_PER_EPOCH}, fold)


def finetune_run(variant: str, k: int, model: dict, finetune: dict, seed: int, fold: int = 0,
                 supervision: str = "full", amp=False, per_epoch=None):
    """The FinetuneRun of a finetune job; `finetune`: a whole section, cut to what the variant reads."""
    from ncdss_core.discovery.finetuning import FinetuneRun
    from ncdss_core.discovery.variants import VARIANTS

    keys = VARIANTS[variant].config_keys()
    return FinetuneRun.from_params({"variant": variant, "k": k, "model": model, "seed": seed,
                                    "finetune": {key: finetune[key] for key in keys},
                                    "supervision": supervision, "amp": amp,
                                    "per_epoch": per_epoch or NO_PER_EPOCH}, fold)


def finetune_inputs(base_ids, novel_ids, select_ids, pseudo_labels, clean_ids=None, unclean_ids=None,
                    weak_labels=None, base_model=None):
    from ncdss_core.discovery.finetuning import FinetuneInputs

    return FinetuneInputs(list(base_ids), list(novel_ids), list(select_ids), Path(pseudo_labels),
                          clean_ids, unclean_ids, weak_labels, base_model)


def icd_toy_data(workers: int, seed: int = 5, second_region: bool = False):
    """Twelve 41 x 47 images of two classes (a bright square in the red or the green channel), their
    superpixel maps (the square, and with `second_region` a corner), and an ICD training config
    small enough for a unit test: (ICDTrainData, TrainConfig)."""
    from config_defaults import section

    from ncdss_core.weak.trainer import ICDTrainData, TrainConfig

    rng = np.random.default_rng(0)
    images, superpixels = {}, {}
    for i in range(12):
        image = rng.integers(0, 60, (41, 47, 3)).astype(np.uint8)
        image[10:30, 10:30, i % 2] = 250
        sp = np.zeros((41, 47), np.int32)
        sp[10:30, 10:30] = 1
        if second_region:
            sp[30:, :20] = 2
        images[f"i{i}"], superpixels[f"i{i}"] = image, sp
    labels = np.array([[1.0, 0.0] if i % 2 == 0 else [0.0, 1.0] for i in range(12)], np.float32)
    cfg = TrainConfig.from_params({**section("weak.model", init="random", width=4, head_channels=8, dropout=0.5),
                                   **section("weak.train", epochs=3, batch_size=4, crop=41, num_workers=workers)})
    return ICDTrainData(list(images), labels, images.__getitem__, superpixels.__getitem__, cfg, seed=seed), cfg

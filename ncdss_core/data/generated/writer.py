"""Writing the generated dataset: every image of both splits drawn from its own random stream and written
in the MaskContrast layout (images, label maps, saliency maps, id lists) plus VOC `Annotations/`, with
the dataset summary in generated.json, all in one atomic directory."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

from ncdss_core.data.files import id_path, write_ids, write_label_png
from ncdss_core.data.folds import VOC_CLASSES
# the module, not its function: tests replace composition.make_image to interrupt a run
from ncdss_core.data.generated import composition
from ncdss_core.data.generated.catalogue import CLASSES
from ncdss_core.data.generated.streams import GENERATOR_VERSION, TRAINAUG, VAL, image_rng, order_rng
from ncdss_core.data.generated.summary import split_summary
from ncdss_core.data.generated.textures import load_textures
from ncdss_core.io.atomic import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)

# (n_trainaug, n_val)
SIZES = {"tiny": (80, 30), "default": (1500, 400)}

JPEG_QUALITY = 90


def _annotation_xml(image_id: str, w: int, h: int, annotations: list[dict]) -> str:
    """The VOC annotation of one image; the folder and database names are part of the output bytes."""
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


def generate(root: str | Path, size: str, seed: int) -> dict:
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
    _, _, digests = load_textures()
    splits = {"trainaug": (TRAINAUG, n_train), "val": (VAL, n_val)}
    summary: dict = {"version": GENERATOR_VERSION, "seed": seed, "size": size, "n_trainaug": n_train,
                     "n_val": n_val, "texture_sources": digests, "splits": {}}
    with atomic_directory(root) as tmp:
        next_id = 0
        split_records = {}
        for split, (image_set, n) in splits.items():
            primaries = composition.primary_order(order_rng(seed, image_set), n)
            ids, records = [], []
            for index, primary in enumerate(primaries):
                image_id = f"bm_{next_id:06d}"
                next_id += 1
                rec = composition.make_image(image_rng(seed, image_set, index), primary)
                w, h = rec["size"]
                atomic_write_bytes(id_path(tmp / "images", image_id, ".jpg"), _jpeg_bytes(rec["image"]))
                write_label_png(id_path(tmp / "SegmentationClassAug", image_id, ".png"), rec["label"])
                write_label_png(id_path(tmp / "SegmentationClass", image_id, ".png"), rec["label"])
                atomic_write_bytes(id_path(tmp / "saliency_supervised_model", image_id, ".png"), _png_bytes(rec["saliency"]))
                atomic_write_text(id_path(tmp / "Annotations", image_id, ".xml"), _annotation_xml(image_id, w, h, rec["annotations"]))
                ids.append(image_id)
                records.append({k: rec[k] for k in ("annotations", "scene", "size", "sal_stats")})
            write_ids(tmp / "sets" / f"{split}.txt", ids)
            split_records[split] = records
        for split, records in split_records.items():
            summary["splits"][split] = split_summary(records)
        summary["classes"] = {name: {split: summary["splits"][split]["classes"][name]["images"]
                                     for split in splits} for name in VOC_CLASSES}
        summary["families"] = {spec.name: spec.family for spec in CLASSES}
        summary["parts"] = {spec.name: f"{spec.part_colour} {spec.part_shape} at {spec.anchor}" for spec in CLASSES}
        atomic_write_json(tmp / "generated.json", summary)
    return summary


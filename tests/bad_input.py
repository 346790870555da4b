"""The bad-input corpus: one faulty copy of the tiny generated dataset per fault a user can make.

Each fault is a function that breaks a VOC-layout copy in place and returns what the check must
say: the file (or file:line) it names and a phrase of its message. The scan test and the workflow
test both run every fault; `config_faults` are the weights files, caught by config validation.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Expected:
    where: str    # the path relative to the dataset root, with ":line" for list files
    message: str  # a phrase of the error message


def _ids(root: Path, split: str = "trainaug") -> list[str]:
    return (root / "sets" / f"{split}.txt").read_text().split()


def _victim(root: Path) -> str:
    return _ids(root)[3]  # line 4 of trainaug.txt


def empty_list(root: Path) -> Expected:
    (root / "sets" / "trainaug.txt").write_text("")
    return Expected("sets/trainaug.txt", "image list of split 'trainaug' is empty")


def missing_list(root: Path) -> Expected:
    (root / "sets" / "val.txt").unlink()
    return Expected("sets/val.txt", "image list of split 'val' is missing")


def id_with_space(root: Path) -> Expected:
    """The id `X copy`, with its files renamed to match."""
    image_id = _victim(root)
    new = f"{image_id} copy"
    for folder, ext in (("images", "jpg"), ("SegmentationClassAug", "png"), ("SegmentationClass", "png"),
                        ("saliency_supervised_model", "png"), ("Annotations", "xml")):
        path = root / folder / f"{image_id}.{ext}"
        if path.exists():
            path.rename(root / folder / f"{new}.{ext}")
    lines = (root / "sets" / "trainaug.txt").read_text().splitlines()
    lines[3] = new
    (root / "sets" / "trainaug.txt").write_text("\n".join(lines) + "\n")
    return Expected("sets/trainaug.txt:4", f"id '{new}' contains whitespace")


def id_listed_twice(root: Path) -> Expected:
    ids = _ids(root)
    (root / "sets" / "trainaug.txt").write_text("\n".join(ids + [ids[3]]) + "\n")
    return Expected(f"sets/trainaug.txt:{len(ids) + 1}", f"id {ids[3]} listed twice (first on line 4)")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncated_image(root: Path) -> Expected:
    _truncate(root / "images" / f"{_victim(root)}.jpg")
    return Expected(f"images/{_victim(root)}.jpg", "unreadable or truncated image")


def zero_byte_image(root: Path) -> Expected:
    (root / "images" / f"{_victim(root)}.jpg").write_bytes(b"")
    return Expected(f"images/{_victim(root)}.jpg", "image file is empty (0 bytes)")


def truncated_label(root: Path) -> Expected:
    _truncate(root / "SegmentationClassAug" / f"{_victim(root)}.png")
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", "unreadable or truncated label map")


def zero_byte_label(root: Path) -> Expected:
    (root / "SegmentationClassAug" / f"{_victim(root)}.png").write_bytes(b"")
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", "label map is empty (0 bytes)")


def _label(root: Path) -> tuple[Path, np.ndarray]:
    path = root / "SegmentationClassAug" / f"{_victim(root)}.png"
    with Image.open(path) as image:
        return path, np.array(image)


def label_value_out_of_range(root: Path) -> Expected:
    path, label = _label(root)
    label[0, 0] = 42
    image = Image.fromarray(label, mode="P")
    with Image.open(path) as original:
        image.putpalette(original.getpalette())
    image.save(path)
    return Expected(f"SegmentationClassAug/{_victim(root)}.png",
                    "label values [42] are neither a class (0..20) nor 255")


def label_16_bit(root: Path) -> Expected:
    path, label = _label(root)
    Image.fromarray(label.astype(np.uint16)).save(path)
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", "label map is a 16-bit image")


def label_rgb(root: Path) -> Expected:
    path, label = _label(root)
    Image.fromarray(np.stack([label] * 3, axis=-1)).save(path)
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", "label map is an RGB colour image")


def label_size_mismatch(root: Path) -> Expected:
    path, label = _label(root)
    h, w = label.shape
    image = Image.fromarray(label[: h - 3], mode="P")
    image.save(path)
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", f"size {w}x{h - 3} differs from image {w}x{h}")


def saliency_size_mismatch(root: Path) -> Expected:
    path = root / "saliency_supervised_model" / f"{_victim(root)}.png"
    with Image.open(path) as image:
        w, h = image.size
        image.resize((w + 5, h)).save(path)
    return Expected(f"saliency_supervised_model/{_victim(root)}.png",
                    f"saliency size {w + 5}x{h} differs from image {w}x{h}")


def missing_image(root: Path) -> Expected:
    (root / "images" / f"{_victim(root)}.jpg").unlink()
    return Expected(f"images/{_victim(root)}.jpg", "image file is missing")


def missing_label(root: Path) -> Expected:
    (root / "SegmentationClassAug" / f"{_victim(root)}.png").unlink()
    return Expected(f"SegmentationClassAug/{_victim(root)}.png", "label map is missing")


def malformed_annotation(root: Path) -> Expected:
    path = root / "Annotations" / f"{_victim(root)}.xml"
    path.write_text(path.read_text()[:-40])
    return Expected(f"Annotations/{_victim(root)}.xml", "unreadable annotation XML")


DATASET_FAULTS: dict[str, Callable[[Path], Expected]] = {f.__name__: f for f in (
    empty_list, missing_list, id_with_space, id_listed_twice, truncated_image, zero_byte_image,
    truncated_label, zero_byte_label, label_value_out_of_range, label_16_bit, label_rgb,
    label_size_mismatch, saliency_size_mismatch, missing_image, missing_label, malformed_annotation)}


def voc_copy(generated: Path, dest: Path) -> Path:
    """A copy of the generated dataset read as plain VOC (kind voc): what a user's data looks like."""
    shutil.copytree(generated, dest)
    for name in ("generated.json", "benchmark.json", "provenance.json"):
        (dest / name).unlink(missing_ok=True)
    return dest


# --- weights files: caught by config validation, before any job starts -------------------------

def weights_missing(tmp: Path) -> tuple[dict, Expected]:
    path = tmp / "missing_resnet50.pth"
    return ({"model": {"backbone_weights": str(path)}},
            Expected("model.backbone_weights", f"{path} is not a file"))


def weights_wrong_backbone(tmp: Path) -> tuple[dict, Expected]:
    """A state dict whose first layer has the wrong shape for the configured small backbone."""
    path = tmp / "wrong_backbone.pth"
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3), "bn1.weight": torch.zeros(8)}, path)
    return ({"model": {"backbone_weights": str(path)}},
            Expected("model.backbone_weights", f"{path} does not fit the configured backbone: conv1.weight"))


CONFIG_FAULTS = {f.__name__: f for f in (weights_missing, weights_wrong_backbone)}

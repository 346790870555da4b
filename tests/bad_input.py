"""The bad-input corpus: one faulty copy of the tiny generated dataset per fault a user can make.

Each fault is a function that breaks a VOC-layout copy in place and returns what the check must
say: the file (or file:line) it names and a phrase of its message. The scan test and the workflow
test both run every fault; a fault of a list file (`Expected.in_list`) is caught by the workflow's
config check already, before any job starts, the others by the dataset check (rule index_dataset).
`DATASET_ACCEPTED` are the changes that must keep scanning clean (a BOM, CRLF, a PNG named .jpg,
...). `CONFIG_FAULTS` are caught by config validation: the weights files, a number that is NaN or
infinite, a root without the layout.
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

    @property
    def in_list(self) -> bool:
        """A fault of a list file itself, which the config check reads too."""
        return self.where.startswith("sets/")


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


def unknown_class_in_annotation(root: Path) -> Expected:
    path = root / "Annotations" / f"{_victim(root)}.xml"
    text = path.read_text()
    start = text.index("<name>") + len("<name>")
    path.write_text(text[:start] + "dragon" + text[text.index("</name>", start):])
    return Expected(f"Annotations/{_victim(root)}.xml", "unknown class name 'dragon'")


def image_symlink_to_a_non_image(root: Path) -> Expected:
    path = root / "images" / f"{_victim(root)}.jpg"
    (root / "notes.txt").write_text("not an image\n")
    path.unlink()
    path.symlink_to(root / "notes.txt")
    return Expected(f"images/{_victim(root)}.jpg", "unreadable or truncated image (cannot identify image file")


def _png(width: int, height: int, idat: bytes) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def image_20000_x_20000_png(root: Path) -> Expected:
    """A 20,000 x 20,000 PNG (as .jpg, as cameras and converters name files): a decompression bomb
    the decoder refuses from its header, before it allocates anything."""
    import zlib

    (root / "images" / f"{_victim(root)}.jpg").write_bytes(_png(20000, 20000, zlib.compress(b"\0" * 20001)))
    return Expected(f"images/{_victim(root)}.jpg",
                    f"Image size (400000000 pixels) exceeds limit of {2 * Image.MAX_IMAGE_PIXELS} pixels")


# --- ids that would name a file outside its directory, and list files that are not UTF-8 --------

def _append_id(root: Path, image_id: str) -> str:
    """Add `image_id` as the last line of trainaug.txt; its place as `sets/trainaug.txt:N`."""
    path = root / "sets" / "trainaug.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + image_id + "\n", encoding="utf-8")
    return f"sets/trainaug.txt:{len(text.splitlines()) + 1}"


def _refused(root: Path, image_id: str, reason: str) -> Expected:
    return Expected(_append_id(root, image_id), f"id {image_id!r} {reason}")


def id_climbing_out_of_the_dataset(root: Path) -> Expected:
    """`../../elsewhere/secret`, with secret.jpg and secret.png where it points: beside the dataset."""
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    shutil.copyfile(root / "images" / f"{_victim(root)}.jpg", elsewhere / "secret.jpg")
    shutil.copyfile(root / "SegmentationClassAug" / f"{_victim(root)}.png", elsewhere / "secret.png")
    return _refused(root, "../../elsewhere/secret", "contains a path separator ('/')")


def id_absolute_path(root: Path) -> Expected:
    return _refused(root, f"{root.parent}/elsewhere/secret", "contains a path separator ('/')")


def id_with_backslashes(root: Path) -> Expected:
    return _refused(root, "..\\..\\elsewhere\\secret", "contains a path separator ('\\\\')")


def id_parent_reference(root: Path) -> Expected:
    return _refused(root, "..", "is a directory reference")


def id_hidden_file(root: Path) -> Expected:
    return _refused(root, f".{_victim(root)}", "starts with a dot")


def id_leading_dash(root: Path) -> Expected:
    return _refused(root, f"-{_victim(root)}", "starts with a dash")


def id_with_nul(root: Path) -> Expected:
    return _refused(root, f"{_victim(root)}\x00.png", "contains the control or invisible character '\\x00'")


def id_with_escape_character(root: Path) -> Expected:
    return _refused(root, f"{_victim(root)}\x1b[2J", "contains the control or invisible character '\\x1b'")


def id_with_zero_width_space(root: Path) -> Expected:
    return _refused(root, f"{_victim(root)}\u200b", "contains the control or invisible character '\\u200b'")


def list_not_utf8(root: Path) -> Expected:
    """Line 4 holds one Latin-1 e-acute (byte 0xe9), as a list saved in Latin-1 does."""
    path = root / "sets" / "trainaug.txt"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + "\u00e9".encode("latin-1")
    data = b"\n".join(lines)
    path.write_bytes(data)
    offset = data.index(bytes([0xE9]))
    return Expected("sets/trainaug.txt:4", f"not UTF-8 text (byte 0xe9 at byte offset {offset})")


DATASET_FAULTS: dict[str, Callable[[Path], Expected]] = {f.__name__: f for f in (
    empty_list, missing_list, id_with_space, id_listed_twice, truncated_image, zero_byte_image,
    truncated_label, zero_byte_label, label_value_out_of_range, label_16_bit, label_rgb,
    label_size_mismatch, saliency_size_mismatch, missing_image, missing_label, malformed_annotation,
    unknown_class_in_annotation, image_symlink_to_a_non_image, image_20000_x_20000_png,
    id_climbing_out_of_the_dataset, id_absolute_path, id_with_backslashes, id_parent_reference,
    id_hidden_file, id_leading_dash, id_with_nul, id_with_escape_character, id_with_zero_width_space,
    list_not_utf8)}


# --- what a user's data looks like and must keep scanning clean --------------------------------

def list_with_bom(root: Path) -> None:
    """trainaug.txt saved by an editor that writes a UTF-8 byte order mark."""
    path = root / "sets" / "trainaug.txt"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def list_with_crlf(root: Path) -> None:
    for split in ("trainaug", "val"):
        path = root / "sets" / f"{split}.txt"
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def png_saved_as_jpg(root: Path) -> None:
    path = root / "images" / f"{_victim(root)}.jpg"
    with Image.open(path) as image:
        image.convert("RGB").save(path, format="PNG")


def grey_label_map(root: Path) -> None:
    """An 8-bit greyscale label map (mode L) instead of a palette PNG: the same indices."""
    path, label = _label(root)
    Image.fromarray(label, mode="L").save(path)


def all_zero_saliency(root: Path) -> None:
    path = root / "saliency_supervised_model" / f"{_victim(root)}.png"
    with Image.open(path) as image:
        size = image.size
    Image.new("L", size, 0).save(path)


def label_map_all_ignore(root: Path) -> None:
    """A label map that is 255 (ignore) everywhere."""
    path, label = _label(root)
    image = Image.fromarray(np.full_like(label, 255), mode="P")
    with Image.open(path) as original:
        image.putpalette(original.getpalette())
    image.save(path)


DATASET_ACCEPTED: dict[str, Callable[[Path], None]] = {f.__name__: f for f in (
    list_with_bom, list_with_crlf, png_saved_as_jpg, grey_label_map, all_zero_saliency, label_map_all_ignore)}


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


def learning_rate_nan(tmp: Path) -> tuple[dict, Expected]:
    return {"base": {"lr": float("nan")}}, Expected("base.lr", "nan is not a finite number")


def epochs_infinite(tmp: Path) -> tuple[dict, Expected]:
    return {"finetune": {"epochs": float("inf")}}, Expected("finetune.epochs", "inf is not a finite number")


def root_without_the_layout(tmp: Path) -> tuple[dict, Expected]:
    """/etc as a VOC root: a directory, but no sets/trainaug.txt or sets/val.txt."""
    return ({"dataset": {"kind": "voc", "root": "/etc"}},
            Expected("dataset.root", "/etc holds no voc dataset: sets/trainaug.txt, sets/val.txt missing"))


def coco_root_without_the_layout(tmp: Path) -> tuple[dict, Expected]:
    (tmp / "coco").mkdir(exist_ok=True)
    return ({"dataset": {"kind": "coco", "root": str(tmp / "coco")}},
            Expected("dataset.root", f"{tmp / 'coco'} holds no coco dataset: train2014.txt, val2014.txt missing"))


CONFIG_FAULTS = {f.__name__: f for f in (weights_missing, weights_wrong_backbone, learning_rate_nan,
                                         epochs_infinite, root_without_the_layout, coco_root_without_the_layout)}

"""Dataset readers behind one interface, and `scan`, which reports broken files one by one.

Two on-disk layouts are read:

- VOC in the MaskContrast layout (also the generated dataset's): `images/<id>.jpg`,
  `SegmentationClassAug/<id>.png` (train), `SegmentationClass/<id>.png` (val; falls back to
  SegmentationClassAug), `saliency_supervised_model/<id>.png`, `sets/{trainaug,val}.txt`, and
  optionally `Annotations/<id>.xml` for the image-level labels (non-difficult objects, as ICD reads them).
- COCO-20^i in the NCDSS mask layout: `{train,val}2014/<id>.jpg`, `masks_{train,val}2014/<id>.png`
  (0 background, 1..80 classes in COCO category order), `{train,val}2014.txt`, and saliency maps in
  `saliency/<id>.png`.

Split names are the same for both: `trainaug` (training images) and `val` (evaluation images).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ncdss_core.data.folds import IGNORE, class_names
from ncdss_core.data.files import ListFileError, id_path, read_grey_png, read_id_lines, read_label_png, read_rgb

SPLITS = ("trainaug", "val")


class DatasetError(ValueError):
    """A dataset problem that stops the run; the message names the file."""


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Dataset:
    """Common reader interface. Subclasses only say where files are."""

    kind: str = ""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"dataset.root: {self.root} does not exist or is not a directory")
        self.class_names = class_names(self.kind)
        self.num_classes = len(self.class_names)

    # --- layout, per subclass -------------------------------------------------------------
    def list_path(self, split: str) -> Path:
        raise NotImplementedError

    def image_path(self, image_id: str, split: str) -> Path:
        raise NotImplementedError

    def label_path(self, image_id: str, split: str) -> Path:
        raise NotImplementedError

    def saliency_path(self, image_id: str) -> Path:
        raise NotImplementedError

    def annotation_path(self, image_id: str) -> Path | None:
        """Where the image's annotation file would be (None: the layout has none)."""
        return None

    def annotation_labels(self, image_id: str) -> list[int] | None:
        """Image-level labels from annotations, or None when the dataset has none."""
        path = self.annotation_path(image_id)
        if path is None or not path.is_file():
            return None
        return parse_voc_annotation(path, self.class_names)

    # --- reading ---------------------------------------------------------------------------
    @functools.lru_cache(maxsize=4)
    def ids(self, split: str) -> tuple[str, ...]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (expected one of {SPLITS})")
        return tuple(image_id for _, image_id in self.id_lines(split))

    def id_lines(self, split: str) -> list[tuple[int, str]]:
        """(line number, id) of a split's list; DatasetError naming the file when it is missing,
        empty or malformed."""
        path = self.list_path(split)
        if not path.is_file():
            raise DatasetError(f"{path}: image list of split {split!r} is missing")
        try:
            entries = read_id_lines(path)
        except ListFileError as error:
            raise DatasetError(str(error)) from error
        if not entries:
            raise DatasetError(f"{path}: image list of split {split!r} is empty (no image id)")
        return entries

    def read_image(self, image_id: str, split: str = "trainaug") -> np.ndarray:
        return read_rgb(self.image_path(image_id, split))

    def read_label(self, image_id: str, split: str = "trainaug") -> np.ndarray:
        return read_label_png(self.label_path(image_id, split))

    def has_saliency(self, image_id: str) -> bool:
        return self.saliency_path(image_id).is_file()

    def read_saliency(self, image_id: str) -> np.ndarray:
        """Saliency as uint8 0..255 (soft or binary, as stored)."""
        return read_grey_png(self.saliency_path(image_id))

    def image_labels(self, image_id: str, split: str = "trainaug") -> list[int]:
        """Sorted class ids (1..C) present in an image: from annotations if any, else the label map."""
        labels = self.annotation_labels(image_id)
        if labels is not None:
            return labels
        return labels_in_map(self.read_label(image_id, split), self.num_classes)


def labels_in_map(label_map: np.ndarray, num_classes: int) -> list[int]:
    values = np.unique(label_map)
    return [int(v) for v in values if 1 <= v <= num_classes]


class VOCDataset(Dataset):
    kind = "voc"

    def list_path(self, split: str) -> Path:
        return self.root / "sets" / f"{split}.txt"

    def image_path(self, image_id: str, split: str = "trainaug") -> Path:
        return id_path(self.root / "images", image_id, ".jpg")

    def label_path(self, image_id: str, split: str = "trainaug") -> Path:
        # NCDSS reads SegmentationClassAug for trainaug and SegmentationClass for any other split.
        aug = id_path(self.root / "SegmentationClassAug", image_id, ".png")
        if split == "trainaug":
            return aug
        plain = id_path(self.root / "SegmentationClass", image_id, ".png")
        return plain if plain.is_file() else aug

    def saliency_path(self, image_id: str) -> Path:
        return id_path(self.root / "saliency_supervised_model", image_id, ".png")

    def annotation_path(self, image_id: str) -> Path | None:
        return id_path(self.root / "Annotations", image_id, ".xml")


class GeneratedDataset(VOCDataset):
    """The generated dataset: the VOC layout, written by the workflow itself."""

    kind = "generated"


class COCODataset(Dataset):
    kind = "coco"
    _folder = {"trainaug": "train2014", "val": "val2014"}

    def list_path(self, split: str) -> Path:
        return self.root / f"{self._folder[split]}.txt"

    def image_path(self, image_id: str, split: str = "trainaug") -> Path:
        return id_path(self.root / self._folder[split], image_id, ".jpg")

    def label_path(self, image_id: str, split: str = "trainaug") -> Path:
        return id_path(self.root / f"masks_{self._folder[split]}", image_id, ".png")

    def saliency_path(self, image_id: str) -> Path:
        return id_path(self.root / "saliency", image_id, ".png")


def parse_voc_annotation(path: Path, names: tuple[str, ...]) -> list[int]:
    """Class ids of the non-difficult objects of a VOC XML (all objects if only difficult ones)."""
    try:
        tree = ET.parse(path)
    except ET.ParseError as error:
        raise DatasetError(f"{path}: unreadable annotation XML ({error})") from error
    index = {name: i + 1 for i, name in enumerate(names)}
    easy, hard = set(), set()
    for obj in tree.getroot().iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in index:
            raise DatasetError(f"{path}: unknown class name {name!r}")
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        (hard if difficult else easy).add(index[name])
    return sorted(easy or hard)


DATASETS = {"voc": VOCDataset, "generated": GeneratedDataset, "coco": COCODataset}


def open_dataset(kind: str, root: str | Path) -> Dataset:
    if kind not in DATASETS:
        raise DatasetError(f"dataset.kind: unknown kind {kind!r} (expected one of {sorted(DATASETS)})")
    return DATASETS[kind](root)


# --- scanning ---------------------------------------------------------------------------------

def _check_image(path: Path) -> tuple[tuple[int, int] | None, str | None]:
    """(height, width) of a fully decodable image, or an error message."""
    if not path.is_file():
        return None, "image file is missing"
    if path.stat().st_size == 0:
        return None, "image file is empty (0 bytes)"
    try:
        with Image.open(path) as image:
            image.load()  # decodes every byte: catches truncated files that verify() misses
            return (image.height, image.width), None
    except Exception as error:  # PIL raises many types for broken files
        return None, f"unreadable or truncated image ({error})"


def scan_image(dataset: Dataset, image_id: str, split: str) -> list[Problem]:
    problems = []
    image_path = dataset.image_path(image_id, split)
    size, error = _check_image(image_path)
    if error:
        problems.append(Problem(str(image_path), error))
    label_path = dataset.label_path(image_id, split)
    if not label_path.is_file():
        problems.append(Problem(str(label_path), "label map is missing"))
        return problems
    if label_path.stat().st_size == 0:
        problems.append(Problem(str(label_path), "label map is empty (0 bytes)"))
        return problems
    try:
        label = read_label_png(label_path)
    except ValueError as error:  # a readable image of the wrong kind (RGB, 16-bit)
        problems.append(Problem(str(label_path), str(error).split(": ", 1)[-1]))
        return problems
    except Exception as error:  # PIL raises many types for broken files
        problems.append(Problem(str(label_path), f"unreadable or truncated label map ({error})"))
        return problems
    bad = [int(v) for v in np.unique(label) if v > dataset.num_classes and v != IGNORE]
    if bad:
        problems.append(Problem(str(label_path),
                                f"label values {bad} are neither a class (0..{dataset.num_classes}) nor 255"))
    if size is not None and label.shape != size:
        problems.append(Problem(str(label_path),
                                f"size {label.shape[1]}x{label.shape[0]} differs from image {size[1]}x{size[0]}"))
    annotation = dataset.annotation_path(image_id)
    if annotation is not None and annotation.is_file():
        try:
            parse_voc_annotation(annotation, dataset.class_names)
        except DatasetError as error:
            problems.append(Problem(str(annotation), str(error).split(": ", 1)[-1]))
    sal = dataset.saliency_path(image_id)
    if sal.is_file() and size is not None:
        try:
            sal_shape = read_grey_png(sal).shape
            if sal_shape != size:
                problems.append(Problem(str(sal), f"saliency size {sal_shape[1]}x{sal_shape[0]} differs "
                                                  f"from image {size[1]}x{size[0]}"))
        except Exception as error:
            problems.append(Problem(str(sal), f"unreadable saliency map ({error})"))
    return problems


def scan_list(dataset: Dataset, split: str) -> tuple[list[tuple[int, str]] | None, list[Problem]]:
    """A split's list on its own (what the config check reads too, before any job): its (line, id)
    entries (None when it cannot be read: missing, empty, not UTF-8, an id that is not a plain file
    name) and the problems, each naming the file (and line): an id listed twice among them."""
    try:
        entries = dataset.id_lines(split)
    except DatasetError as error:
        path, _, message = str(error).partition(": ")
        return None, [Problem(path, message)]
    problems = []
    first_line: dict[str, int] = {}
    for line, image_id in entries:
        if image_id in first_line:
            problems.append(Problem(f"{dataset.list_path(split)}:{line}",
                                    f"id {image_id} listed twice (first on line {first_line[image_id]})"))
            continue
        first_line[image_id] = line
    return entries, problems


def scan(dataset: Dataset, splits: tuple[str, ...] = SPLITS) -> tuple[list[Problem], dict]:
    """Check every listed image; return the problems and a summary (counts per split)."""
    problems: list[Problem] = []
    summary: dict = {"kind": dataset.kind, "root": str(dataset.root), "splits": {}}
    for split in splits:
        entries, list_problems = scan_list(dataset, split)
        problems.extend(list_problems)
        if entries is None:
            continue
        ids = [image_id for _, image_id in entries]
        for image_id in dict.fromkeys(ids):  # each listed image once, in list order
            problems.extend(scan_image(dataset, image_id, split))
        summary["splits"][split] = {
            "images": len(ids),
            "with_saliency": sum(dataset.has_saliency(i) for i in ids),
        }
    summary["problems"] = len(problems)
    return problems, summary

"""Shared fixtures: a small hand-made VOC-layout dataset and the tiny generated dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ncdss_core.data.folds import VOC_CLASSES
from ncdss_core.data.files import write_label_png

REPO = Path(__file__).resolve().parent.parent


def make_voc_dataset(root: Path, n_train: int = 24, n_val: int = 8, seed: int = 0,
                     annotations: bool = True) -> Path:
    """A VOC-layout dataset of rectangles: image i holds class (i % 20) + 1 and, for every third
    image, a second class. Labels carry a 255 border band; saliency marks the objects."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "SegmentationClassAug", "SegmentationClass", "saliency_supervised_model",
                   "Annotations", "sets"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    ids = {"trainaug": [f"tr_{i:03d}" for i in range(n_train)], "val": [f"va_{i:03d}" for i in range(n_val)]}
    for split, split_ids in ids.items():
        for index, image_id in enumerate(split_ids):
            h, w = int(rng.integers(40, 64)), int(rng.integers(48, 80))
            image = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
            label = np.zeros((h, w), dtype=np.uint8)
            classes = [(index % 20) + 1]
            if index % 3 == 0:
                classes.append(((index + 7) % 20) + 1)
            objects = []
            for slot, cls in enumerate(classes):
                y0, x0 = 4 + slot * (h // 2 - 2), 4 + slot * (w // 2 - 2)
                y1, x1 = y0 + h // 2 - 8, x0 + w // 2 - 8
                label[y0:y1, x0:x1] = cls
                image[y0:y1, x0:x1] = (cls * 12, 255 - cls * 10, 100 + slot * 50)
                label[y0, x0:x1] = label[y1 - 1, x0:x1] = 255
                objects.append((cls, x0, y0, x1, y1))
            Image.fromarray(image).save(root / "images" / f"{image_id}.jpg", quality=95)
            write_label_png(root / "SegmentationClassAug" / f"{image_id}.png", label)
            write_label_png(root / "SegmentationClass" / f"{image_id}.png", label)
            saliency = np.where((label > 0), 255, 0).astype(np.uint8)
            Image.fromarray(saliency).save(root / "saliency_supervised_model" / f"{image_id}.png")
            if annotations:
                xml = "".join(
                    f"<object><name>{VOC_CLASSES[c - 1]}</name><difficult>0</difficult>"
                    f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
                    for c, x0, y0, x1, y1 in objects)
                (root / "Annotations" / f"{image_id}.xml").write_text(
                    f"<annotation><filename>{image_id}.jpg</filename>{xml}</annotation>")
        (root / "sets" / f"{split}.txt").write_text("".join(f"{i}\n" for i in split_ids))
    return root


@pytest.fixture
def small_voc(tmp_path: Path) -> Path:
    return make_voc_dataset(tmp_path / "voc")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny generated dataset, generated once per test session (read-only for tests)."""
    from ncdss_core.data.generated import generate

    root = tmp_path_factory.mktemp("generated") / "tiny"
    generate(root, size="tiny", seed=0)
    return root


@pytest.fixture
def tiny_dataset_copy(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny generated dataset that a test may corrupt."""
    return Path(shutil.copytree(tiny_dataset, tmp_path / "tiny"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole tiny DAG, run once per session; tests read it or dry-run against it (never
    modify it: tests that tamper work on a copy). NCDSS_TINY_RUN=DIR reuses a finished run of
    tests/configs/tiny.yaml when iterating on tests."""
    import os

    from workflow_helpers import snakemake

    if os.environ.get("NCDSS_TINY_RUN"):
        return Path(os.environ["NCDSS_TINY_RUN"])
    work = tmp_path_factory.mktemp("tiny_run")
    snakemake(work, "--cores", "2")
    return work

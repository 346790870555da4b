"""The dataset artifact: a scan report, an index of every image and a manifest of file digests.

Every stage depends on this artifact rather than on the raw dataset root, so a pseudo-label set's
provenance chain ends here, at the digest of each image, label map, saliency map and list file.
The index (one row per image: split, size, classes present in the label map, image-level labels,
saliency present) lets later stages build folds without reading every label map again.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ncdss_core.data.datasets import SPLITS, Dataset, labels_in_map, open_dataset, scan
from ncdss_core.io.atomic import atomic_write_json, read_json
from ncdss_core.provenance.record import file_digest, provenance_path_of, working_dir_of
from ncdss_core.runtime import get_logger, progress

INDEX = "index.csv"
MANIFEST = "manifest.json"
SCAN = "scan.json"


def dataset_files(dataset: Dataset) -> list[Path]:
    """Every file of the dataset that the pipeline reads."""
    files: list[Path] = []
    for split in SPLITS:
        files.append(dataset.list_path(split))
        for image_id in dataset.ids(split):
            files.append(dataset.image_path(image_id, split))
            files.append(dataset.label_path(image_id, split))
            if dataset.has_saliency(image_id):
                files.append(dataset.saliency_path(image_id))
            annotation = dataset.annotation_path(image_id)
            if annotation is not None and annotation.is_file():
                files.append(annotation)
    return sorted(set(files))


def build_manifest(dataset: Dataset) -> dict[str, str]:
    files = dataset_files(dataset)
    logger = get_logger("dataset")
    return {str(p.relative_to(dataset.root)): file_digest(p)
            for p in progress(files, label="hashing dataset files", logger=logger)}


def build_index(dataset: Dataset) -> list[dict[str, Any]]:
    rows = []
    logger = get_logger("dataset")
    for split in SPLITS:
        ids = dataset.ids(split)
        for image_id in progress(ids, label=f"indexing {split}", logger=logger):
            label = dataset.read_label(image_id, split)
            rows.append({
                "id": image_id,
                "split": split,
                "height": int(label.shape[0]),
                "width": int(label.shape[1]),
                "classes": " ".join(map(str, labels_in_map(label, dataset.num_classes))),
                "image_labels": " ".join(map(str, dataset.image_labels(image_id, split))),
                "saliency": int(dataset.has_saliency(image_id)),
            })
    return rows


def write_index(path: str | Path, rows: list[dict[str, Any]]) -> None:
    fields = ["id", "split", "height", "width", "classes", "image_labels", "saliency"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_index(artifact: str | Path) -> list[dict[str, Any]]:
    """Rows of the index, with `classes`/`image_labels` as int lists."""
    path = Path(artifact)
    path = path / INDEX if path.is_dir() else path
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            row["height"], row["width"] = int(row["height"]), int(row["width"])
            row["classes"] = [int(c) for c in row["classes"].split()]
            row["image_labels"] = [int(c) for c in row["image_labels"].split()]
            row["saliency"] = bool(int(row["saliency"]))
            rows.append(row)
    return rows


def class_presence(artifact: str | Path, split: str, source: str = "classes") -> dict[str, list[int]]:
    """Class ids per image: `classes` (from the label maps) or `image_labels` (annotations when
    present, the image-level labels a weakly-supervised run is allowed to see)."""
    if source not in ("classes", "image_labels"):
        raise ValueError(f"unknown class source {source!r} (classes or image_labels)")
    return {r["id"]: r[source] for r in read_index(artifact) if r["split"] == split}


def check_dataset(dataset: Dataset) -> dict:
    """Scan; raise with every problem listed, file by file, if anything is wrong."""
    problems, summary = scan(dataset)
    if problems:
        listing = "\n  ".join(str(p) for p in problems[:200])
        more = f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else ""
        raise ValueError(f"dataset {dataset.root} has {len(problems)} problem(s):\n  {listing}{more}")
    return summary


def index_dataset(dataset: Dataset, out_dir: str | Path) -> dict:
    """Scan (stop on any problem), then write the scan report, the index and the manifest of
    file digests into `out_dir`. Returns the scan summary."""
    out = Path(out_dir)
    summary = check_dataset(dataset)
    get_logger("dataset").info("scan clean: %s", summary["splits"])
    atomic_write_json(out / SCAN, summary)
    write_index(out / INDEX, build_index(dataset))
    atomic_write_json(out / MANIFEST, {"root": str(dataset.root), "kind": dataset.kind,
                                       "files": build_manifest(dataset)})
    return summary


def open_indexed_dataset(artifact: str | Path) -> Dataset:
    """The dataset an index artifact was made from: the kind and root of its manifest. A relative
    root is relative to the working directory the index was made in (found from its provenance,
    so a moved results tree still opens its dataset)."""
    artifact = Path(artifact)
    manifest = read_json(artifact / MANIFEST)
    root = Path(manifest["root"])
    if not root.is_absolute():
        record = provenance_path_of(artifact)
        root = (working_dir_of(record, read_json(record)) if record else Path.cwd()) / root
    return open_dataset(manifest["kind"], root)

"""The summary of the generated dataset written to generated.json: per split, image and object counts
per class, single- and multi-label images, scenes, saliency errors, fold coverage and image sizes."""

from __future__ import annotations

from ncdss_core.data.folds import VOC_CLASSES, novel_classes
from ncdss_core.data.generated.backgrounds import SCENES


def split_summary(records: list[dict]) -> dict:
    """The summary of one split from the records of its images (annotations, scene, size, sal_stats)."""
    counts = {name: {"images": 0, "objects": 0} for name in VOC_CLASSES}
    scenes = {s: 0 for s in SCENES}
    widths = [r["size"][0] for r in records]
    heights = [r["size"][1] for r in records]
    out = {"images": len(records), "single_label": 0, "multi_label": 0, "objects": 0, "difficult_objects": 0,
           "saliency_missed_objects": 0, "saliency_false_positive_regions": 0, "scenes": scenes}
    for r in records:
        present = sorted({a["cls"] for a in r["annotations"]})
        for c in present:
            counts[VOC_CLASSES[c - 1]]["images"] += 1
        for a in r["annotations"]:
            counts[VOC_CLASSES[a["cls"] - 1]]["objects"] += 1
            out["difficult_objects"] += int(a["difficult"])
        out["objects"] += len(r["annotations"])
        out["multi_label" if len(present) > 1 else "single_label"] += 1
        scenes[r["scene"]] += 1
        out["saliency_missed_objects"] += r["sal_stats"]["missed"]
        out["saliency_false_positive_regions"] += r["sal_stats"]["false_positive"]
    folds = {}
    for fold in range(5):
        novel = set(novel_classes("voc", fold))
        n_novel = sum(1 for r in records if novel & {a["cls"] for a in r["annotations"]})
        n_multi_novel = sum(1 for r in records if len(novel & {a["cls"] for a in r["annotations"]}) > 1)
        folds[str(fold)] = {"base_only": len(records) - n_novel, "novel": n_novel,
                            "several_novel_classes": n_multi_novel}
    out["folds"] = folds
    out["classes"] = counts
    out["width"] = [min(widths), max(widths)] if widths else [0, 0]
    out["height"] = [min(heights), max(heights)] if heights else [0, 0]
    out["non_square"] = sum(1 for w, h in zip(widths, heights) if w != h)
    return out


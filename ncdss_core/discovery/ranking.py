"""Entropy ranking of the novel images into clean and unclean splits (reference ncdss.md §5).

Per pixel, normalised self-information e_c = -P_c log2(P_c + 1e-30) / log2 C over the C = 1 + B + k
outputs; the image score is the mean over the novel pseudo-label region R = {p : y_p > B} of the
per-pixel entropy, divided by C (a constant that does not change the ranking, kept to match the
reference's numbers). Sorted ascending, the first floor(ratio * N) images are clean.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ncdss_core.data.files import write_ids
from ncdss_core.data.folds import label_space
from ncdss_core.data.labels import pseudo_label_reader
from ncdss_core.data.transforms import resize_label
from ncdss_core.evaluation.evaluate import predict_logits
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.models.segmodel import SegModel
from ncdss_core.runtime import get_logger, progress

EPS = 1.0e-30


def pixel_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Normalised entropy per pixel, sum_c e_c (values in [0, 1]) of logits (C, H, W)."""
    probs = torch.softmax(logits.to(torch.float64), dim=0)
    c = logits.shape[0]
    return -(probs * torch.log2(probs + EPS)).sum(0) / math.log2(c)


def entropy_score(logits: torch.Tensor, pseudo_label: np.ndarray, num_base: int) -> float:
    """S(x) over the novel-cluster pixels of the pseudo-label; NaN when there are none."""
    region = torch.from_numpy(np.asarray(pseudo_label) > num_base)
    if not bool(region.any()):
        return float("nan")
    return float(pixel_entropy(logits)[region].mean() / logits.shape[0])


def rank_ascending(scores: Mapping[str, float], ids: Sequence[str] | None = None) -> list[str]:
    """Ids by ascending score, ties broken by id, NaN (no novel pixel) last."""
    def key(i: str) -> tuple[bool, float, str]:
        nan = math.isnan(scores[i])
        return nan, 0.0 if nan else scores[i], i
    return sorted(scores if ids is None else ids, key=key)


def split_clean(scores: Mapping[str, float], ratio: float) -> tuple[list[str], list[str]]:
    """(clean, unclean): clean = the first floor(ratio * N) of `rank_ascending` (an absolute count
    when ratio >= 1, as the reference utility)."""
    ids = rank_ascending(scores)
    count = int(ratio) if ratio >= 1 else int(math.floor(ratio * len(ids)))
    count = min(count, len(ids))
    return ids[:count], ids[count:]


def summary(scores: Mapping[str, float], clean: Sequence[str], unclean: Sequence[str]) -> dict[str, Any]:
    values = np.array([scores[i] for i in clean], dtype=float)
    rest = np.array([scores[i] for i in unclean], dtype=float)
    return {"images": len(scores), "clean": len(clean), "unclean": len(unclean),
            "clean_max_score": float(np.nanmax(values)) if values.size else None,
            "unclean_min_score": float(np.nanmin(rest)) if rest.size and not np.isnan(rest).all() else None}


def score_images(model: SegModel, dataset: Any, ids: Sequence[str], pseudo_dir: str | Path,
                 num_base: int, size: int) -> dict[str, float]:
    """Entropy S(x) of `model` per image at the network input size (pseudo-labels nearest-resized),
    eval mode (§5): the ranking stage's scores and EUMS's reassignment's."""
    model.eval()
    read = pseudo_label_reader(pseudo_dir)
    scores = {}
    for image_id in progress(ids, len(ids), "entropy", get_logger("finetune"), every_seconds=30):
        logits = predict_logits(model, dataset.read_image(image_id, "trainaug"), size)
        scores[image_id] = entropy_score(logits, resize_label(read(image_id), size), num_base)
    return scores


def rank_novel_images(model: SegModel, dataset: Any, fold: int, ids: Sequence[str], pseudo_dir: str | Path,
                      size: int, ratio: float, out_dir: str | Path) -> dict[str, Any]:
    """Entropy ranking with the basic model: clean.txt / unclean.txt (+ scores.json)."""
    num_base, _ = label_space(dataset.kind, fold)
    scores = score_images(model, dataset, ids, pseudo_dir, num_base, size)
    clean, unclean = split_clean(scores, ratio)
    out = Path(out_dir)
    write_ids(out / "clean.txt", clean)
    write_ids(out / "unclean.txt", unclean)
    atomic_write_json(out / "scores.json", scores)
    return summary(scores, clean, unclean)

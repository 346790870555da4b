"""Entropy ranking of the novel images into clean and unclean splits (reference ncdss.md §5).

Per pixel, normalised self-information e_c = -P_c log2(P_c + 1e-30) / log2 C over the C = 1 + B + k
outputs; the image score is the mean over the novel pseudo-label region R = {p : y_p > B} of the
per-pixel entropy, divided by C (a constant that does not change the ranking, kept to match the
reference's numbers). Sorted ascending, the first floor(ratio * N) images are clean.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

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


def score_images(ids: Sequence[str], logits_of: Callable[[str], torch.Tensor],
                 label_of: Callable[[str], np.ndarray], num_base: int) -> dict[str, float]:
    """Entropy score per image; `logits_of` gives logits at the label's resolution."""
    return {i: entropy_score(logits_of(i), label_of(i), num_base) for i in ids}


def summary(scores: Mapping[str, float], clean: Sequence[str], unclean: Sequence[str]) -> dict[str, Any]:
    values = np.array([scores[i] for i in clean], dtype=float)
    rest = np.array([scores[i] for i in unclean], dtype=float)
    return {"images": len(scores), "clean": len(clean), "unclean": len(unclean),
            "clean_max_score": float(np.nanmax(values)) if values.size else None,
            "unclean_min_score": float(np.nanmin(rest)) if rest.size and not np.isnan(rest).all() else None}

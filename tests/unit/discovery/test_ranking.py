import math

import numpy as np
import pytest
import torch

from ncdss_core.discovery.ranking import entropy_score, pixel_entropy, rank_ascending, split_clean


def test_pixel_entropy_is_normalised():
    c = 8
    uniform = torch.zeros(c, 2, 2)
    peaked = torch.full((c, 2, 2), -50.0)
    peaked[3] = 50.0
    assert torch.allclose(pixel_entropy(uniform), torch.ones(2, 2, dtype=torch.float64))
    assert float(pixel_entropy(peaked).max()) < 1e-6


def test_entropy_score_uses_only_novel_pixels_and_divides_by_c():
    c, num_base = 6, 3
    logits = torch.zeros(c, 1, 2)
    logits[:, 0, 0] = torch.tensor([50.0, 0, 0, 0, 0, 0])  # confident pixel, but a base pixel
    label = np.array([[1, 5]])                                 # only the 2nd pixel is novel (> B)
    assert entropy_score(logits, label, num_base) == pytest.approx(1.0 / c)
    assert math.isnan(entropy_score(logits, np.array([[0, 2]]), num_base))


def test_ranking_orders_images_by_confidence_and_splits_at_floor_ratio():
    c, num_base = 7, 4
    label = np.full((4, 4), 6)
    scores = {}
    for name, sharpness in [("d", 0.0), ("a", 5.0), ("c", 1.0), ("b", 2.0), ("e", 0.5)]:
        logits = torch.zeros(c, 4, 4)
        logits[6] = sharpness
        scores[name] = entropy_score(logits, label, num_base)
    assert rank_ascending(scores) == ["a", "b", "c", "e", "d"]
    clean, unclean = split_clean(scores, 0.67)
    assert len(clean) == math.floor(0.67 * 5) == 3
    assert clean == ["a", "b", "c"] and unclean == ["e", "d"]
    assert split_clean(scores, 2) == (["a", "b"], ["c", "e", "d"])  # absolute count when >= 1
    scores["z"] = float("nan")
    assert split_clean(scores, 0.5)[1][-1] == "z"

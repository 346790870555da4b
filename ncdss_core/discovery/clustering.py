"""Clustering pseudo-labels for the novel images (reference ncdss.md §3).

Per image (shardable, one vector kept per image):
1. base-class removal: softmax of the base model; confident base pixels B = [max prob > tau] and
   [argmax >= 1]; `high_base` = argmax on B, 0 elsewhere; novel mask = salient and not B (§3.1);
2. minimum-size filter: keep the image only if the novel mask covers more than a fraction of the
   image (the reference's 1500 pixels at VOC resolution, about 0.8 %; a fraction holds at any size);
3. prototype: masked mean of backbone features over the novel mask, L2-normalised (§3.3).
Per fold: PCA to 32 dimensions with whitening, k-means (k-means++, n_init and random_state pinned).
Per image again: fused pseudo-label = base class where confidently base, else B + cluster + 1 on the
novel mask, else background; no ignore region (§3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA


@dataclass
class Removal:
    high_base: np.ndarray   # uint8 (H, W): base class 1..B where confident, 0 elsewhere
    novel_mask: np.ndarray  # bool (H, W): salient and not confidently base


def base_removal(probs: np.ndarray | torch.Tensor, saliency: np.ndarray, threshold: float) -> Removal:
    """`probs`: softmax of the base model (C, H, W), C = 1 + B; `saliency`: any non-zero is salient."""
    probs = torch.as_tensor(probs)
    confidence, predicted = probs.max(dim=0)
    confident_base = ((confidence > threshold) & (predicted >= 1)).numpy()
    high_base = np.where(confident_base, predicted.numpy(), 0).astype(np.uint8)
    novel = (np.asarray(saliency) > 0) & ~confident_base
    return Removal(high_base=high_base, novel_mask=novel)


def keep_novel(novel_mask: np.ndarray, min_fraction: float) -> bool:
    """More than `min_fraction` of the image's pixels are novel (reference: > 1500 pixels)."""
    return int(novel_mask.sum()) > min_fraction * novel_mask.size


def upsampling_weights(mask: torch.Tensor, feature_hw: tuple[int, int]) -> torch.Tensor:
    """The adjoint of bilinear upsampling applied to `mask` (H, W): weights w on the feature grid
    such that sum_q F_q w_q equals sum_p upsample(F)_p mask_p. Exact, and it never materialises the
    (D, H, W) upsampled feature map the reference builds (2048 x 512 x 512 floats per image)."""
    probe = torch.zeros((1, 1, *feature_hw), dtype=torch.float64, requires_grad=True)
    up = F.interpolate(probe, size=mask.shape[-2:], mode="bilinear", align_corners=False)
    (weights,) = torch.autograd.grad((up[0, 0] * mask.to(torch.float64)).sum(), probe)
    return weights[0, 0]


def prototype(features: torch.Tensor, mask: np.ndarray) -> np.ndarray:
    """L2-normalised masked sum (= normalised mean) of features (D, h, w) over `mask` (H, W), the
    mask given at the network input resolution and features upsampled bilinearly to it (§3.3)."""
    with torch.enable_grad():
        weights = upsampling_weights(torch.as_tensor(mask, dtype=torch.float64), tuple(features.shape[-2:]))
    vector = torch.einsum("dhw,hw->d", features.to(torch.float64), weights)
    norm = vector.norm()
    return (vector / norm if norm > 0 else vector).numpy().astype(np.float32)


@dataclass
class Clusters:
    labels: np.ndarray       # (N,) cluster index 0..k-1 per image
    embedding: np.ndarray    # (N, d) whitened PCA vectors
    inertia: float
    explained_variance: float


def cluster_prototypes(prototypes: np.ndarray, k: int, pca_dim: int, whiten: bool, n_init: int,
                       max_iter: int, seed: int) -> Clusters:
    """PCA (full SVD: deterministic, unlike the randomized solver) then k-means with pinned n_init
    and random_state (reference pitfall §9.2.6)."""
    x = np.asarray(prototypes, dtype=np.float64)
    if len(x) < k:
        raise ValueError(f"discovery.k = {k} clusters but only {len(x)} novel images kept")
    dim = int(min(pca_dim, x.shape[0], x.shape[1]))
    if dim > 0 and pca_dim > 0:
        pca = PCA(n_components=dim, whiten=whiten, svd_solver="full", random_state=seed)
        reduced = pca.fit_transform(x)
        explained = float(pca.explained_variance_ratio_.sum())
    else:
        reduced, explained = x, 1.0
    kmeans = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=max_iter, tol=1.0e-4,
                    random_state=seed)
    labels = kmeans.fit_predict(reduced)
    return Clusters(labels=labels.astype(np.int64), embedding=reduced.astype(np.float32),
                    inertia=float(kmeans.inertia_), explained_variance=explained)


def fuse(high_base: np.ndarray, novel_mask: np.ndarray, cluster: int, num_base: int) -> np.ndarray:
    """Pseudo-label (§3.4): b where b > 0; else num_base + cluster + 1 on the novel mask; else 0.
    Base wins where both hold. No 255."""
    if not 0 <= cluster <= 254 - num_base:
        raise ValueError(f"cluster {cluster} does not fit a uint8 label after {num_base} base classes")
    novel_value = np.uint8(num_base + 1 + cluster)
    out = np.where(np.asarray(novel_mask) > 0, novel_value, np.uint8(0)).astype(np.uint8)
    return np.where(high_base > 0, high_base, out).astype(np.uint8)


def order_by_id(ids: Sequence[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Shard outputs come in shard order; sort by id so clusters do not depend on sharding."""
    order = np.argsort(np.asarray(ids, dtype=object).astype(str), kind="stable")
    return [ids[i] for i in order], np.asarray(vectors)[order]

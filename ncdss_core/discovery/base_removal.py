"""Base removal and prototypes, per shard of a fold's novel images (reference ncdss.md §3.1-3.3).

Per image (shardable, one vector kept per image):
1. base-class removal: softmax of the base model; confident base pixels B = [max prob > tau] and
   [argmax >= 1]; `high_base` = argmax on B, 0 elsewhere; novel mask = salient and not B (§3.1);
2. minimum-size filter: keep the image only if the novel mask covers more than a fraction of the
   image (the reference's 1500 pixels at VOC resolution, about 0.8 %; a fraction holds at any size);
3. prototype: masked mean of backbone features over the novel mask, L2-normalised (§3.3).

Artifact base_removal/{shard}/: high_base/<id>.png (confident base classes in base labels, 0
elsewhere), novel/<id>.png (1 on the novel mask), prototypes.npz (ids, vectors: one per kept image),
kept.txt, stats.json (dropped ids with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ncdss_core.data.files import id_path, read_grey_png, write_ids, write_label_png
from ncdss_core.data.transforms import resize_label, val_image
from ncdss_core.discovery.settings import BaseRemovalSettings
from ncdss_core.discovery.training import new_model
from ncdss_core.evaluation.evaluate import predict_logits, predict_logits_and_features
from ncdss_core.io.atomic import atomic_write_json
from ncdss_core.models.segmodel import ModelSettings, SegModel
from ncdss_core.runtime import get_logger, progress


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


def feature_source(features: str, backbone_weights: str) -> str:
    """discovery.features resolved: under auto, the ImageNet backbone (reference §3.3) when a
    weights file (model.backbone_weights) is configured, else the base model's own backbone."""
    if features == "auto":
        return "imagenet" if backbone_weights else "base"
    return features


def feature_model(source: str, base_model: SegModel, model: ModelSettings, seed: int,
                  device: str) -> SegModel:
    """The model whose backbone features make the prototypes: a fresh model from the configured
    weights (imagenet) or the base model itself (base)."""
    return new_model(model, 2, seed).to(device) if source == "imagenet" else base_model


@torch.no_grad()
def remove_base_shard(base_model: SegModel, feature_model: SegModel, dataset: Any, ids: Sequence[str],
                      saliency_dir: str | Path, out_dir: str | Path, size: int,
                      settings: BaseRemovalSettings) -> dict[str, Any]:
    """Base removal, size filter and prototypes for the novel images of one shard, the network
    input `size` (model.input_size). When `feature_model` is the base model itself, one forward
    pass gives both its prediction and the prototype features (the same numbers as two)."""
    threshold, min_fraction = settings.threshold, settings.min_novel_fraction
    out = Path(out_dir)
    base_model.eval()
    feature_model.eval()
    kept, vectors, dropped = [], [], {}
    for image_id in progress(ids, len(ids), "base removal", get_logger("discovery"), every_seconds=30):
        sal_path = id_path(saliency_dir, image_id, ".png")
        if not sal_path.is_file():  # the saliency stage drops images with almost no salient area
            dropped[image_id] = "no saliency map"
            continue
        image = dataset.read_image(image_id, "trainaug")
        saliency = read_grey_png(sal_path)
        if saliency.shape != image.shape[:2]:
            saliency = resize_label(saliency, image.shape[:2])
        if feature_model is base_model:  # features from the base model: one forward pass gives both
            logits, features = predict_logits_and_features(base_model, image, size, image.shape[:2])
        else:
            logits, features = predict_logits(base_model, image, size, image.shape[:2]), None
        probs = torch.softmax(logits, dim=0)
        removal = base_removal(probs, saliency, threshold)
        write_label_png(id_path(out / "high_base", image_id, ".png"), removal.high_base)
        write_label_png(id_path(out / "novel", image_id, ".png"), removal.novel_mask.astype(np.uint8))
        if not keep_novel(removal.novel_mask, min_fraction):
            dropped[image_id] = f"novel mask {removal.novel_mask.mean():.4f} of the image <= {min_fraction}"
            continue
        if features is None:
            device = next(feature_model.parameters()).device
            features = feature_model.features(val_image(image, size).unsqueeze(0).to(device))[0].cpu()
        mask = resize_label(removal.novel_mask.astype(np.uint8), size)
        vectors.append(prototype(features, mask))
        kept.append(image_id)
    dim = feature_model.feature_channels
    np.savez_compressed(out / "prototypes.npz", ids=np.array(kept, dtype=str),
                        vectors=np.array(vectors, dtype=np.float32).reshape(len(kept), dim))
    write_ids(out / "kept.txt", kept)
    stats = {"images": len(ids), "kept": len(kept), "dropped": dropped}
    atomic_write_json(out / "stats.json", stats)
    return stats

"""Dense inference (reference icd.md §4.1) and the score store.

Each image is placed top-left on a square canvas of side 8m+1 (the smallest that holds it; VOC's
513 plays that role in the reference) padded with the mean colour, so that the stride-8 grid of
m+1 cells is aligned with the canvas corners. The raw CAM A and the top-down logits Z of the
image's present classes are stored at grid resolution in an HDF5 shard.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncdss_core.weak.network import ICDNet
from ncdss_core.weak.scores import ScoreStore  # noqa: F401  (re-exported)
from ncdss_core.weak.trainer import PAD_RGB, TrainConfig, build_model, normalize_image


def canvas_size(height: int, width: int) -> int:
    """Smallest 8m+1 >= max(height, width)."""
    side = max(height, width)
    return 8 * int(np.ceil((side - 1) / 8)) + 1


def save_model(path: str | os.PathLike, model: ICDNet, cfg: TrainConfig, classes: list[int],
               history: list[dict]) -> None:
    """Checkpoint: weights, buffers (sign state, step), the config and the class-index mapping."""
    torch.save({"state_dict": model.state_dict(), "config": asdict(cfg), "classes": list(classes),
                "history": history}, path)


def load_model(path: str | os.PathLike, device: str = "cpu") -> tuple[ICDNet, list[int], TrainConfig]:
    blob = torch.load(path, map_location=device, weights_only=False)
    cfg = TrainConfig.from_params(blob["config"])
    cfg.weights = ""  # the checkpoint holds every weight
    model = build_model(cfg, len(blob["classes"]))
    model.load_state_dict(blob["state_dict"])
    model.to(device).eval()
    return model, list(blob["classes"]), cfg


@torch.no_grad()
def infer_image(model: ICDNet, rgb: np.ndarray, present: list[int], device: str = "cpu") -> dict[str, Any]:
    """CAM and top-down logits of the present output indices, at grid resolution (float32)."""
    h, w = rgb.shape[:2]
    size = canvas_size(h, w)
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = PAD_RGB
    canvas[:h, :w] = rgb
    out = model(normalize_image(canvas)[None].to(device))
    idx = torch.as_tensor(present, dtype=torch.long)
    return {"cam": out["cam"][0, idx].cpu().numpy().astype(np.float32),
            "icd": out["top_down"][0, idx].cpu().numpy().astype(np.float32),
            "height": h, "width": w, "size": size}

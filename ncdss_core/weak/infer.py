"""Dense inference (reference icd.md §4.1) and the score store.

Each image is placed top-left on a square canvas of side 8m+1 (the smallest that holds it; VOC's
513 plays that role in the reference) padded with the mean colour, so that the stride-8 grid of
m+1 cells is aligned with the canvas corners. The raw CAM A and the top-down logits Z of the
image's present classes are stored at grid resolution in an HDF5 shard.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ncdss_core.data.files import write_ids
from ncdss_core.data.transforms import MEAN_RGB, normalize_image
from ncdss_core.io.atomic import atomic_write_json, atomic_write_torch, dumps_json, load_tensors
from ncdss_core.provenance.record import split_epoch_seconds
from ncdss_core.runtime import get_logger, progress
from ncdss_core.weak.images import present_channels
from ncdss_core.weak.network import ICDNet
from ncdss_core.weak.scores import ScoreStore
from ncdss_core.weak.trainer import TrainConfig, build_icd_net


def canvas_size(height: int, width: int) -> int:
    """Smallest 8m+1 >= max(height, width)."""
    side = max(height, width)
    return 8 * int(np.ceil((side - 1) / 8)) + 1


def save_model(path: str | os.PathLike, model: ICDNet, cfg: TrainConfig, classes: list[int],
               history: list[dict]) -> None:
    """Checkpoint: weights, buffers (sign state, step), the config and the class-index mapping.
    The history goes through JSON first: pickle writes an object met twice as a reference, and the
    records of a resumed training are other objects than an uninterrupted one's (the same values),
    which would give other bytes."""
    history = json.loads(dumps_json(history))
    atomic_write_torch(path, {"state_dict": model.state_dict(), "config": asdict(cfg), "classes": list(classes),
                              "history": history})


def write_icd_model_dir(out_dir: str | os.PathLike, model: ICDNet, cfg: TrainConfig, classes: list[int],
                    history: list[dict], train_ids: Sequence[str]) -> tuple[dict[str, Any], list[float]]:
    """model.pt, history.json and train_ids.txt of a trained ICD network. The per-epoch wall-clock
    seconds stay out of the files (a rerun gives the same bytes): they are returned, with the
    metrics, for the provenance record."""
    out = Path(out_dir)
    history, epoch_seconds = split_epoch_seconds(history)
    save_model(out / "model.pt", model, cfg, classes, history)
    atomic_write_json(out / "history.json", history)
    write_ids(out / "train_ids.txt", train_ids)
    last = history[-1] if history else {}
    metrics = {"train_images": len(train_ids), "classes": list(classes),
               **{k: v for k, v in last.items() if k.startswith("loss_")}}
    return metrics, epoch_seconds


def load_model(path: str | os.PathLike, device: str = "cpu") -> tuple[ICDNet, list[int], TrainConfig]:
    blob = load_tensors(path, device)
    cfg = TrainConfig.from_params(blob["config"])
    cfg.weights = ""  # the checkpoint holds every weight
    model = build_icd_net(cfg, len(blob["classes"]))
    model.load_state_dict(blob["state_dict"])
    model.to(device).eval()
    return model, list(blob["classes"]), cfg


@torch.inference_mode()
def infer_image(model: ICDNet, rgb: np.ndarray, present: list[int], device: str = "cpu") -> dict[str, Any]:
    """CAM and top-down logits of the present output indices, at grid resolution (float32)."""
    h, w = rgb.shape[:2]
    size = canvas_size(h, w)
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = MEAN_RGB
    canvas[:h, :w] = rgb
    out = model(normalize_image(canvas)[None].to(device))
    idx = torch.as_tensor(present, dtype=torch.long)
    return {"cam": out["cam"][0, idx].cpu().numpy().astype(np.float32),
            "icd": out["top_down"][0, idx].cpu().numpy().astype(np.float32),
            "height": h, "width": w, "size": size}


def score_shard(model: ICDNet, classes: Sequence[int], dataset: Any, ids: Sequence[str],
                image_labels: Mapping[str, Sequence[int]], out_dir: str | os.PathLike,
                device: str = "cpu") -> dict[str, int]:
    """Scores of every image of `ids` holding a class the model knows, into out_dir/scores.h5, and
    their ids into ids.txt (an image with none gets no seed, as base training skips it)."""
    out = Path(out_dir)
    done = []
    with ScoreStore(out / "scores.h5", "w") as store:
        for image_id in progress(ids, label="scores", logger=get_logger("scores")):
            index, present = present_channels(image_labels[image_id], classes)
            if not index:
                continue
            store.write(image_id, infer_image(model, dataset.read_image(image_id), index, device), present)
            done.append(image_id)
    write_ids(out / "ids.txt", done)
    return {"images": len(done), "skipped": len(ids) - len(done)}

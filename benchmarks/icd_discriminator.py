"""Diagnose a trained ICD model: does the intra-class discriminator separate object from background?

For every class, on up to --per-class single-label training images of a finished run, it reports
- the sign state (reference icd.md §3.5) and how often the sign changed between epochs;
- how often the signed positive side is the object side according to the ground truth, and how
  often the per-image ReLU(CAM) rule picks that side;
- the bottom-up positive side and the top-down foreground (logit > 0) as fractions of the image,
  with their precision and recall against the object's ground truth, next to the object's own
  fraction of the image (all on the stride-8 grid);
- the signed bottom-up score on object and on background cells (mean, and the background's
  standard deviation and fraction on the object side): the zero threshold separates them only
  when the background sits below zero.

Usage (a run directory whose results/weak/fold{F}/icd_model exists):

    .venv/bin/python benchmarks/icd_discriminator.py RUN_DIR --fold 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ncdss_core.data.index import read_index  # noqa: E402
from ncdss_core.data.datasets import open_dataset  # noqa: E402
from ncdss_core.weak.infer import canvas_size, load_model  # noqa: E402
from ncdss_core.data.transforms import MEAN_RGB, normalize_image  # noqa: E402


def _projections(signed: np.ndarray, obj: np.ndarray, back: np.ndarray) -> list[float]:
    """Mean signed bottom-up score on object cells and on background cells, the background's
    standard deviation, and the fraction of background cells on the object side (score > 0)."""
    o, b = signed[obj], signed[back]
    if len(o) == 0 or len(b) == 0:
        return [np.nan] * 4
    return [float(o.mean()), float(b.mean()), float(b.std()), float((b > 0).mean())]


def side_stats(run: Path, fold: str, per_class: int) -> list[dict]:
    model_dir = run / f"results/weak/fold{fold}/icd_model"
    model, classes, _ = load_model(model_dir / "model.pt")
    manifest = json.loads((run / "results/dataset/manifest.json").read_text())
    root = Path(manifest["root"])
    dataset = open_dataset(manifest["kind"], root if root.is_absolute() else run / root)
    ids = (model_dir / "train_ids.txt").read_text().split()
    labels = {r["id"]: r["image_labels"] for r in read_index(run / "results/dataset")}
    state = model.sign_state.numpy()
    sign = np.where(state[:, 0] >= state[:, 1], 1, -1)
    history = json.loads((model_dir / "history.json").read_text())
    flips = [sum(a["signs"][k] != b["signs"][k] for a, b in zip(history, history[1:])) for k in range(len(classes))]
    rows: dict[int, list] = {k: [] for k in range(len(classes))}
    for image_id in ids:
        present = labels[image_id]
        if len(present) != 1 or present[0] not in classes:
            continue
        k = classes.index(present[0])
        if len(rows[k]) >= per_class:
            continue
        rgb, gt = dataset.read_image(image_id, "trainaug"), dataset.read_label(image_id, "trainaug")
        h, w = gt.shape
        size = canvas_size(h, w)
        canvas = np.empty((size, size, 3), np.uint8)
        canvas[:] = MEAN_RGB
        canvas[:h, :w] = rgb
        with torch.no_grad():
            out = model(normalize_image(canvas)[None])
        s, cam, z = (out[key][0, k].numpy() for key in ("bottom_up", "cam", "top_down"))
        obj = np.zeros((size, size), bool)
        obj[:h, :w] = gt == present[0]
        obj = obj[::8, ::8][: s.shape[0], : s.shape[1]]
        back = np.zeros((size, size), bool)
        back[:h, :w] = gt == 0
        back = back[::8, ::8][: s.shape[0], : s.shape[1]]
        valid = np.zeros_like(obj)
        valid[: (h + 7) // 8, : (w + 7) // 8] = True
        pos, neg = (s > 0) & valid, (s < 0) & valid
        object_side = 1 if (obj & pos).sum() / max(pos.sum(), 1) > (obj & neg).sum() / max(neg.sum(), 1) else -1
        relu = np.maximum(cam, 0)
        cam_side = 1 if (relu[pos].mean() if pos.any() else 0.0) >= (relu[neg].mean() if neg.any() else 0.0) else -1
        bottom_up = (s * sign[k] > 0) & valid
        top_down = (z > 0) & valid
        n_valid, n_obj = valid.sum(), max(obj.sum(), 1)
        rows[k].append([object_side == sign[k], cam_side == object_side, obj.sum() / n_valid,
                        bottom_up.sum() / n_valid, (bottom_up & obj).sum() / max(bottom_up.sum(), 1),
                        (bottom_up & obj).sum() / n_obj,
                        top_down.sum() / n_valid, (top_down & obj).sum() / max(top_down.sum(), 1),
                        (top_down & obj).sum() / n_obj,
                        *_projections(s * sign[k], obj, back)])
    out = []
    for k, cls in enumerate(classes):
        a = np.asarray(rows[k], float)
        if len(a) == 0:
            continue
        m = a.mean(0)
        out.append({"class": cls, "sign": int(sign[k]), "sign_changes": flips[k], "images": len(a),
                    "sign_is_object_side": m[0], "cam_rule_is_object_side": m[1], "object_fraction": m[2],
                    "bottom_up_fraction": m[3], "bottom_up_precision": m[4], "bottom_up_recall": m[5],
                    "top_down_fraction": m[6], "top_down_precision": m[7], "top_down_recall": m[8],
                    "object_projection": m[9], "background_projection": m[10],
                    "background_projection_sd": m[11], "background_positive": m[12]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run directory (holds results/)")
    parser.add_argument("--fold", default="0")
    parser.add_argument("--per-class", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = side_stats(args.run, args.fold, args.per_class)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
    mean = {k: np.nanmean([r[k] for r in rows]) for k in keys[4:]}
    print("| mean | | | | " + " | ".join(f"{v:.2f}" for v in mean.values()) + " |")


if __name__ == "__main__":
    main()

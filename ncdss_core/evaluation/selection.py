"""How well checkpoint selection tracked the evaluation split, from a training's history with the
`evaluation.per_epoch` diagnostics: over the epochs, the Spearman rank correlation between the
selection score (held-out `select` ids) and the evaluation split's mIoU, and what choosing by the
selection score cost against the best epoch on the evaluation split (the regret)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from scipy.stats import spearmanr


def selection_agreement(history: Mapping[str, Any], metric: str) -> dict[str, Any] | None:
    """For history.json ({"selected_epoch", "epochs": [records]}) and a val field (val_novel_miou for
    a fine-tuned model, val_base_miou for the base model); None without both series."""
    epochs = history["epochs"]
    if not epochs or any("select_score" not in e or metric not in e for e in epochs):
        return None
    select = [float(e["select_score"]) for e in epochs]
    val = [float(e[metric]) for e in epochs]
    rho = spearmanr(select, val).statistic if len(epochs) > 2 else math.nan
    selected = int(history["selected_epoch"])
    best = max(range(len(val)), key=lambda i: (val[i], -i))  # the earliest best epoch
    return {"metric": metric, "spearman": float(rho), "epochs": len(epochs), "selected_epoch": selected,
            "best_epoch": best, "val_at_selected": val[selected], "val_best": val[best], "val_last": val[-1],
            "regret": val[best] - val[selected]}

"""Checkpoint selection against the evaluation split (evaluation.per_epoch diagnostics)."""

import json
import math

import pytest

from ncdss_core.evaluation.selection import selection_agreement
from ncdss_core.evaluation.tables import build_selection_tables, read_evaluations


def _history(select, val, selected):
    return {"selected_epoch": selected,
            "epochs": [{"epoch": i, "select_score": s, "val_novel_miou": v} for i, (s, v) in enumerate(zip(select, val))]}


def test_agreement_is_the_rank_correlation_and_the_regret_of_the_selected_epoch():
    # selection peaks at epoch 1, val at epoch 3: regret 0.5 - 0.3
    history = _history([0.1, 0.9, 0.2, 0.3], [0.1, 0.3, 0.2, 0.5], selected=1)
    result = selection_agreement(history, "val_novel_miou")
    assert result["spearman"] == pytest.approx(0.8)  # ranks (1,4,2,3) vs (1,3,2,4): 1 - 6·2/60
    assert (result["selected_epoch"], result["best_epoch"]) == (1, 3)
    assert result["regret"] == pytest.approx(0.2) and result["val_last"] == 0.5
    tracking = selection_agreement(_history([1, 2, 3, 4], [0.2, 0.3, 0.4, 0.5], selected=3), "val_novel_miou")
    assert tracking["spearman"] == pytest.approx(1.0) and tracking["regret"] == 0.0
    # without the per-epoch diagnostics there is nothing to compare
    assert selection_agreement(_history([1, 2, 3], [0.1, 0.2, 0.3], 2), "val_base_miou") is None


def test_selection_table_over_seeds(tmp_path):
    entries = []
    for fold in (0, 1):
        for seed, rho in ((7, 0.5), (8, 0.9)):
            path = tmp_path / f"{fold}_{seed}.json"
            path.write_text(json.dumps({"selection": {"spearman": rho + fold * 0.1, "regret": 0.02 * (seed - 6),
                                                      "selected_epoch": 2, "best_epoch": 4}}))
            entries.append((fold, seed, "full", "eums", path))
        no_diagnostics = tmp_path / f"{fold}_base.json"
        no_diagnostics.write_text(json.dumps({}))
        entries.append((fold, 7, "full", "base", no_diagnostics))
    frame = read_evaluations(entries)
    text_csv, text_md = build_selection_tables(frame, [0, 1], [7, 8])
    assert "| base |" not in text_md and len(text_csv.splitlines()) == 1 + 4
    # fold 0: rho 0.5, 0.9 -> 0.70 ± 0.28; over folds: per seed 0.55, 0.95 -> 0.75 ± 0.28
    assert f"| eums | 0.70 ± {math.sqrt(0.08):.2f} | 0.80 ± {math.sqrt(0.08):.2f} | 0.75 ± 0.28 |" in text_md
    assert "| eums | 3.00 ± 1.41 | 3.00 ± 1.41 | 3.00 ± 1.41 |" in text_md  # regret 2 and 4 points
    assert text_csv.splitlines()[1] == "eums,0,7,2,4,0.500000,0.020000"

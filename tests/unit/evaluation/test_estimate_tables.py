"""discovery.k auto in the tables and the report: N̂ per fold x seed, the criterion curve per fold."""

import csv
import io

from ncdss_core.evaluation.report import k_estimate_figure
from ncdss_core.evaluation.tables import build_estimate_tables, read_estimates, write_tables
from ncdss_core.io.atomic import atomic_write_json


def estimate(tmp_path, fold, supervision, seed, n_hat, true_n=3):
    directory = tmp_path / f"{fold}_{supervision}_{seed}"
    atomic_write_json(directory / "estimate.json", {
        "fold": fold, "supervision": supervision, "seed": seed, "n_hat": n_hat, "estimator": "base_probes",
        "candidates": [2, 3, 4], "criterion": [0.5, 1.2, None], "criterion_name": "probe accuracy + silhouette",
        "higher_is_better": True, "k_range": [2, 4], "true_n": true_n})
    return directory


def test_the_estimate_table_has_n_hat_per_fold_and_seed_with_the_true_count(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3), estimate(tmp_path, 10, "full", 2, 4),
            estimate(tmp_path, 11, "full", 1, 5, true_n=8), estimate(tmp_path, 10, "weak", 1, 2)]
    frame = read_estimates(dirs)
    text_csv, text_md = build_estimate_tables(frame, [10, 11], [1, 2])
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert [(r["supervision"], r["fold"], r["seed"], r["n_hat"], r["true_n"]) for r in rows] == [
        ("full", "10", "1", "3", "3"), ("full", "10", "2", "4", "3"), ("full", "11", "1", "5", "8"),
        ("weak", "10", "1", "2", "3")]
    assert rows[0]["k_range"] == "2-4" and rows[0]["estimator"] == "base_probes"
    assert "| 1 | 3 (3) | 5 (8) |" in text_md and "| 2 | 4 (3) | – |" in text_md
    assert "N̂ under weak supervision" in text_md


def test_write_tables_adds_the_estimates_only_when_there_are_some(tmp_path):
    import pandas as pd

    from ncdss_core.evaluation.tables import ESTIMATE_COLUMNS

    empty = pd.DataFrame([], columns=["supervision", "model", "checkpoint", "fold", "seed", "k", "method",
                                      "epoch", "metric", "value"])
    out = tmp_path / "none"
    out.mkdir()
    write_tables(out, empty, [0], [1], pd.DataFrame([], columns=list(ESTIMATE_COLUMNS)))
    assert not (out / "k_estimates.csv").exists()


def test_the_figure_draws_every_run_of_the_fold(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3), estimate(tmp_path, 10, "weak", 1, 2)]
    out = k_estimate_figure(dirs, tmp_path / "k_estimate.png")
    assert out.read_bytes()[:4] == b"\x89PNG"

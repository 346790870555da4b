"""discovery.k auto in the tables and the report: N̂ per fold x seed, the criterion curve per fold."""

import csv
import io

from ncdss_core.evaluation.report import k_estimate_figure
from ncdss_core.evaluation.tables import build_estimate_tables, read_estimates, write_estimate_tables
from ncdss_core.io.atomic import atomic_write_json


def estimate(tmp_path, fold, supervision, seed, n_hat, true_n=3, silhouette=None):
    directory = tmp_path / f"{fold}_{supervision}_{seed}"
    by_estimator = {"base_probes": {"n_hat": n_hat}}
    if silhouette is not None:
        by_estimator["silhouette"] = {"n_hat": silhouette}
    atomic_write_json(directory / "estimate.json", {
        "fold": fold, "supervision": supervision, "seed": seed, "n_hat": n_hat, "estimator": "base_probes",
        "candidates": [2, 3, 4], "criterion": [0.5, 1.2, None], "criterion_name": "probe accuracy + silhouette",
        "higher_is_better": True, "k_range": [2, 4], "true_n": true_n, "by_estimator": by_estimator})
    return directory


def test_the_estimate_table_has_n_hat_per_fold_and_seed_with_the_true_count(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3), estimate(tmp_path, 10, "full", 2, 4),
            estimate(tmp_path, 11, "full", 1, 5, true_n=8), estimate(tmp_path, 10, "weak", 1, 2)]
    frame = read_estimates(dirs)
    text_csv, _, text_md = build_estimate_tables(frame, [10, 11], [1, 2])
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert [(r["supervision"], r["fold"], r["seed"], r["n_hat"], r["true_n"]) for r in rows] == [
        ("full", "10", "1", "3", "3"), ("full", "10", "2", "4", "3"), ("full", "11", "1", "5", "8"),
        ("weak", "10", "1", "2", "3")]
    assert rows[0]["k_range"] == "2-4" and rows[0]["estimator"] == "base_probes"
    assert "| 1 | 3 (3) | 5 (8) |" in text_md and "| 2 | 4 (3) | – |" in text_md
    assert "N̂ under weak supervision" in text_md


def test_each_estimator_is_scored_against_the_true_count_per_count_and_over_all(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3, silhouette=2), estimate(tmp_path, 10, "full", 2, 4, silhouette=6),
            estimate(tmp_path, 11, "full", 1, 5, true_n=8, silhouette=8),
            estimate(tmp_path, 11, "full", 2, 8, true_n=8, silhouette=8)]
    out = tmp_path / "tables"
    out.mkdir()
    write_estimate_tables(out, read_estimates(dirs), [10, 11], [1, 2])
    errors = {(r["estimator"], r["true_n"]): r for r in csv.DictReader((out / "k_estimate_errors.csv").open())}
    assert set(errors) == {("base_probes", "3"), ("base_probes", "8"), ("silhouette", "3"), ("silhouette", "8")}
    probes3, probes8, sil3 = errors["base_probes", "3"], errors["base_probes", "8"], errors["silhouette", "3"]
    assert (probes3["runs"], probes3["exact"], probes3["within_1"], probes3["mae"]) == ("2", "1", "2", "0.5000")
    assert (probes8["exact"], probes8["within_1"], probes8["mae"]) == ("1", "1", "1.5000")
    assert (sil3["exact"], sil3["within_1"], sil3["mae"]) == ("0", "1", "2.0000")
    rows = list(csv.DictReader((out / "k_estimates.csv").open()))
    assert [r["n_hat_silhouette"] for r in rows] == ["2", "6", "8", "8"] and rows[0]["n_hat_gmm_bic"] == ""
    text = (out / "k_estimates.md").read_text()
    # over all counts: base_probes 2 of 4 exact, 3 of 4 within ±1, mean |error| (0 + 1 + 3 + 0) / 4
    assert "| base_probes | 4 | 2 | 3 (75 %) | 1.00 | N = 3: 0.50, N = 8: 1.50 |" in text
    assert "| silhouette | 4 | 2 | 3 (75 %) | 1.00 | N = 3: 2.00, N = 8: 0.00 |" in text


def test_the_figure_draws_every_run_of_the_fold(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3), estimate(tmp_path, 10, "weak", 1, 2)]
    out = k_estimate_figure(dirs, tmp_path / "k_estimate.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_the_separability_of_the_true_classes_is_averaged_per_true_count_beside_the_errors(tmp_path):
    dirs = [estimate(tmp_path, 10, "full", 1, 3), estimate(tmp_path, 10, "full", 2, 4),
            estimate(tmp_path, 11, "full", 1, 5, true_n=8)]
    for directory, silhouette, ari in zip(dirs, (0.1, 0.3, 0.02), (0.5, 0.7, 0.2)):
        atomic_write_json(directory / "separability.json", {"silhouette_true": silhouette, "ari_kmeans_true_n": ari})
    old = estimate(tmp_path, 11, "full", 2, 8, true_n=8)  # an artifact made before the diagnostic
    text_csv, _, text_md = build_estimate_tables(read_estimates([*dirs, old]), [10, 11], [1, 2])
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert [r["silhouette_true"] for r in rows] == ["0.1", "0.3", "0.02", ""]
    assert "| 3 | 2 | 0.200 | 0.600 |" in text_md and "| 8 | 1 | 0.020 | 0.200 |" in text_md

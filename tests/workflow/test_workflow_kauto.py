"""discovery.k auto on a fold defined by class list (custom_folds: fold 10 = classes 1, 4, 7 of the tiny
generated dataset): base probes, the estimate, clusters and fine-tuning with k_factor x N̂ (N̂ for the
no_overclustering row), the tables with N̂, the report's criterion curve; changing the estimate's keys
reruns the estimate and what follows it, nothing before it."""
import csv
import os
import shutil
from pathlib import Path

import pytest
import yaml
from workflow_helpers import TINY, planned_jobs, snakemake

from ncdss_core.io.atomic import read_json

pytestmark = pytest.mark.workflow
RUN = "results/discovery/fold10/full/rep0"
TARGETS = ("results/tables/discovery", "results/tables/k_estimates", "results/report/fold10/k_estimate.png")


def overlay(tmp_path, supervision="full", **discovery):
    config = yaml.safe_load(TINY.read_text())
    config.update({"folds": [10], "custom_folds": {10: [1, 4, 7]}})
    config["base"] = {**config["base"], "supervision": supervision}
    config["discovery"] = {"k": "auto", "k_factor": 2, "k_range": [2, 4], "k_estimator": "base_probes",
                           "k_probes_per_class": 4, **discovery}
    config["evaluation"] = {"models": ["base", "basic"]}
    path = tmp_path / f"kauto_{len(list(tmp_path.glob('kauto_*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def kauto_run(tmp_path_factory):
    """The run of TARGETS, once per test run (never modified: tests that add to it work on a copy).
    NCDSS_KAUTO_RUN=DIR reuses a finished one when iterating on tests."""
    if os.environ.get("NCDSS_KAUTO_RUN"):
        return Path(os.environ["NCDSS_KAUTO_RUN"])
    work = tmp_path_factory.mktemp("kauto_run")
    snakemake(work, "--cores", "2", *TARGETS, configfile=overlay(tmp_path_factory.mktemp("kauto_config")))
    return work


def test_a_custom_fold_runs_with_an_estimated_number_of_clusters(kauto_run):
    work = kauto_run
    estimate = read_json(work / RUN / "k_estimate/estimate.json")
    n_hat = estimate["n_hat"]
    assert estimate["estimator"] == "base_probes" and estimate["k_range"] == [2, 4]
    assert estimate["candidates"] == [2, 3, 4] and len(estimate["criterion"]) == 3
    assert estimate["true_n"] == 3 and estimate["fold"] == 10 and 2 <= n_hat <= 4
    probes = read_json(work / RUN / "base_probes/provenance.json")
    assert probes["inputs"]["splits"]["path"].endswith("splits/fold10/full") and probes["metrics"]["probes"] > 0
    # the clusters under their auto labels, with factor x N̂ and N̂ clusters
    assert read_json(work / RUN / "clusters/kauto_x2/summary.json")["k"] == 2 * n_hat
    assert read_json(work / RUN / "clusters/kauto_x1/summary.json")["k"] == n_hat
    # the fold's own label space: 17 base classes, 3 novel
    splits = read_json(work / "results/splits/fold10/full/provenance.json")
    assert splits["params"]["kind"]["novel_classes"] == [1, 4, 7]
    rows = list(csv.DictReader((work / "results/tables/discovery/results.csv").open()))
    ks = {r["model"]: r["k"] for r in rows if r["fold"] == "10" and r["checkpoint"] == "selected"}
    assert ks == {"base": "0", "basic": str(2 * n_hat), "ablation_no_overclustering": str(n_hat)}
    table = list(csv.DictReader((work / "results/tables/k_estimates/k_estimates.csv").open()))
    assert [(r["fold"], r["n_hat"], r["true_n"]) for r in table] == [("10", str(n_hat), "3")]
    assert table[0]["n_hat_base_probes"] == str(n_hat) and table[0]["n_hat_silhouette"] == str(
        estimate["by_estimator"]["silhouette"]["n_hat"])
    assert (work / "results/report/fold10/k_estimate.png").read_bytes()[:4] == b"\x89PNG"
    # beside the estimate, whether the fold's true classes form clusters, in the estimate table too
    truth = read_json(work / RUN / "k_estimate/separability.json")
    assert truth["true_n"] == 3 and 0 < truth["images_one_novel_class"] <= truth["images"] == estimate["images"]
    assert table[0]["silhouette_true"] == str(truth["silhouette_true"])
    assert "Do the true novel classes form clusters?" in (work / "results/tables/k_estimates/k_estimates.md").read_text()


@pytest.mark.parametrize("change", [{"k_range": [2, 3]}, {"k_estimator": "silhouette"}])
def test_the_estimate_keys_rerun_the_estimate_and_what_follows_only(kauto_run, tmp_path, change):
    work = kauto_run
    jobs = planned_jobs(work, *TARGETS, configfile=overlay(tmp_path, **change))
    assert {"k_estimate", "k_estimate_table", "clustering", "pseudo_labels", "finetune", "tables"} <= set(jobs)
    assert not {"base_model", "base_removal", "base_probes", "splits"} & set(jobs)


def test_under_weak_supervision_the_probes_come_from_the_icd_labels_of_the_custom_fold(kauto_run, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(kauto_run, work, symlinks=True)
    weak = "results/discovery/fold10/weak/rep0"
    snakemake(work, "--cores", "2", f"{weak}/k_estimate", configfile=overlay(tmp_path, supervision="weak"))
    probes = read_json(work / weak / "base_probes/provenance.json")
    assert probes["inputs"]["weak_labels"]["path"] == "results/weak/fold10/labels"
    assert probes["inputs"]["splits"]["path"].endswith("splits/fold10/weak")
    assert probes["params"]["supervision"] == "weak" and probes["metrics"]["probes"] > 0
    # ICD learnt the fold's 17 base classes, its novel classes known from the dataset params
    icd = read_json(work / "results/weak/fold10/icd_model/provenance.json")
    assert icd["params"]["dataset"]["novel_classes"] == [1, 4, 7]
    estimate = read_json(work / weak / "k_estimate/estimate.json")
    assert estimate["supervision"] == "weak" and estimate["true_n"] == 3 and estimate["probes"] > 0


def test_an_estimate_equal_to_a_given_k_gives_the_bytes_of_that_k(kauto_run, tmp_path):
    """auto_x2 with N̂ clusters exactly as an integer k = 2 N̂: the fine-tunings downstream see the
    same inputs and params but the label, so a run whose estimate is right is the run given the count."""
    work = tmp_path / "work"
    shutil.copytree(kauto_run, work, symlinks=True)
    k = 2 * read_json(work / RUN / "k_estimate/estimate.json")["n_hat"]
    target = f"{RUN}/pseudo_labels/k{k}"
    configfile = overlay(tmp_path, k=k)
    assert set(planned_jobs(work, target, configfile=configfile)) == {"clustering", "pseudo_labels"}
    snakemake(work, "--cores", "2", target, configfile=configfile)
    for family in ("clusters", "pseudo_labels"):
        auto, given = work / RUN / family / "kauto_x2", work / RUN / family / f"k{k}"
        names = sorted(p.relative_to(auto) for p in auto.rglob("*") if p.is_file() and p.name != "provenance.json")
        assert names and names == sorted(p.relative_to(given) for p in given.rglob("*")
                                         if p.is_file() and p.name != "provenance.json")
        assert all((auto / name).read_bytes() == (given / name).read_bytes() for name in names), family

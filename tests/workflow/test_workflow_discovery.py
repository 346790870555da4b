"""The discovery rules of the DAG on the tiny generated dataset (the test run's whole tiny run): base ->
pseudo-labels -> basic -> ranking -> EUMS -> evaluation tables; the ablation rows as targets."""
import csv
import shutil

import pytest
import yaml
from workflow_helpers import TINY, planned_jobs, snakemake

from ncdss_core.io.atomic import read_json

pytestmark = pytest.mark.workflow
TARGET = "results/tables/discovery"


def test_tiny_discovery_chain_tables_pseudo_labels_and_ranking(tiny_run):
    rows = list(csv.DictReader((tiny_run / TARGET / "results.csv").open()))
    assert {r["model"] for r in rows} == {"base", "basic", "eums", "ablation_no_overclustering"}
    assert {r["fold"] for r in rows} == {"0", "mean"}
    assert {r["k"] for r in rows if r["model"] == "ablation_no_overclustering" and r["fold"] == "0"} == {"5"}
    assert "novel mIoU" in (tiny_run / TARGET / "results.md").read_text()
    steps = {(r["from"], r["to"]) for r in csv.DictReader((tiny_run / TARGET / "comparisons.csv").open())}
    assert steps == {("ablation_no_overclustering", "basic"), ("basic", "eums")}
    errors = {(r["model"], r["checkpoint"], r["fold"], r["seed"]): r
              for r in csv.DictReader((tiny_run / TARGET / "errors.csv").open())}
    means = {r["model"]: r for r in rows if r["checkpoint"] == "selected" and r["fold"] == r["seed"] == "mean"}
    for model in ("basic", "eums"):  # the decomposition gives back the IoU of results.csv
        for group in ("base", "novel"):
            iou = float(errors[model, "selected", "mean", "mean"][f"{group}:iou"])
            assert iou == pytest.approx(float(means[model][f"{group}_miou"]), abs=1e-5)
    quality = read_json(tiny_run / "results/discovery/fold0/full/rep0/pseudo_labels/k10/provenance.json")["metrics"]
    assert 0 <= quality["novel_miou"] <= 1 and quality["method"] == "majority"
    quality5 = read_json(tiny_run / "results/discovery/fold0/full/rep0/pseudo_labels/k5/provenance.json")["metrics"]
    assert quality5["method"] == "hungarian"
    clean = (tiny_run / "results/finetune/fold0/full/rep0/ranking/clean.txt").read_text().split()
    unclean = (tiny_run / "results/finetune/fold0/full/rep0/ranking/unclean.txt").read_text().split()
    assert len(clean) == int(0.67 * (len(clean) + len(unclean)))


def test_each_ablation_row_is_a_target(tiny_run, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["finetune"]["ablations"] = ["no_overclustering", "ranking", "ranking_reassignment",
                                       "ranking_selftraining"]
    path = tmp_path / "ablations.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tiny_run, TARGET, configfile=path)
    # three new rows (no_overclustering exists); no new clustering, basic, EUMS or base model
    assert jobs["finetune"] == 3 and jobs["evaluate"] == 3
    assert not {"clustering", "base_model"} & set(jobs)


def test_a_second_replicate_adds_its_own_chain_with_the_next_training_seed(tiny_run, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["replicates"] = 2
    path = tmp_path / "replicates.yaml"
    path.write_text(yaml.safe_dump(config))
    # replicate 0 and everything before the base model (data, splits, ICD) are kept
    assert planned_jobs(tiny_run, configfile=path) == {
        "base_model": 1, "base_removal": 2, "clustering": 2, "pseudo_labels": 2, "finetune": 3,
        "ranking": 1, "evaluate": 4, "tables": 1, "report_tables": 1, "all": 1}
    work = tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)
    snakemake(work, "--cores", "1", "results/base/fold0/full/rep1/model", configfile=path)
    first, second = (read_json(work / f"results/base/fold0/full/rep{r}/model/provenance.json") for r in (0, 1))
    assert (first["params"]["seed"], second["params"]["seed"]) == (config["seed"], config["seed"] + 1)
    assert ((work / "results/base/fold0/full/rep0/model/model.pt").read_bytes()
            != (work / "results/base/fold0/full/rep1/model/model.pt").read_bytes())


def test_the_weakly_supervised_row_runs_beside_the_full_one_from_the_icd_labels(tiny_run, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["base"] = {**config["base"], "supervision": ["full", "weak"]}
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(config))
    # the full runs, ICD (which always reads the image-label lists) and its labels are kept
    assert planned_jobs(tiny_run, configfile=path) == {
        "base_model": 1, "base_removal": 2, "clustering": 2, "pseudo_labels": 2, "finetune": 3,
        "ranking": 1, "evaluate": 4, "tables": 1, "report_tables": 1, "all": 1}
    # the ablation rows only where finetune.ablation_supervision names the supervision
    config["finetune"]["ablation_supervision"] = ["full"]
    path.write_text(yaml.safe_dump(config))
    assert planned_jobs(tiny_run, configfile=path) == {
        "base_model": 1, "base_removal": 2, "clustering": 1, "pseudo_labels": 1, "finetune": 2,
        "ranking": 1, "evaluate": 3, "tables": 1, "report_tables": 1, "all": 1}
    # ICD trained on the lists of the image-level labels, never on those of the label maps
    icd = read_json(tiny_run / "results/weak/fold0/icd_model/provenance.json")["inputs"]
    assert [v["path"] for k, v in icd.items() if k.startswith("splits")] == ["results/splits/fold0/weak"]
    work = tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)
    snakemake(work, "--cores", "1", "results/base/fold0/weak/rep0/model", configfile=path)
    record = read_json(work / "results/base/fold0/weak/rep0/model/provenance.json")
    assert record["params"]["base"]["supervision"] == "weak"
    assert {"weak_labels", "splits"} <= set(record["inputs"])
    assert record["inputs"]["splits"]["path"].endswith("splits/fold0/weak")

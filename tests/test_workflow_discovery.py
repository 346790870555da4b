"""The discovery rules of the DAG on the tiny benchmark: base -> pseudo-labels -> basic -> ranking
-> EUMS -> evaluation tables; the ablation rows as targets; what a param change reruns."""
import csv

import yaml
from workflow_helpers import REPO, planned_jobs, snakemake

from ncdss_core.io import read_json

TARGET = "results/tables/discovery"
THREADS = ["--set-threads"] + [f"{rule}=1" for rule in (
    "base_model", "base_removal", "clustering", "pseudo_labels", "finetune_basic", "ranking",
    "finetune_eums", "finetune_ablation", "evaluate", "tables", "saliency")]


def _config(tmp_path, **sections):
    config = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    config.update({
        "model": {"input_size": 48, "widths": [8, 8, 16, 16], "head_channels": 16, "atrous_rates": [1, 2, 3]},
        "base": {"epochs": 2, "batch_size": 4, "decay_epochs": [0]},
        "finetune": {"epochs": 2, "batch_size": 2, "decay_epochs": [0], "reassign_epochs": [1]},
        "evaluation": {"models": ["basic", "eums"]},
    })
    for name, values in sections.items():
        config[name].update(values)
    path = tmp_path / f"config{len(list(tmp_path.glob('config*')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_tiny_discovery_chain_runs_and_reruns_only_what_a_param_touches(tmp_path):
    work = tmp_path / "work"
    snakemake(work, "--cores", "2", *THREADS, TARGET, configfile=_config(tmp_path), timeout=2400)
    rows = list(csv.DictReader((work / TARGET / "results.csv").open()))
    assert {r["model"] for r in rows} == {"basic", "eums"}
    assert {r["fold"] for r in rows} == {"0", "mean"}
    assert "novel mIoU" in (work / TARGET / "results.md").read_text()
    quality = read_json(work / "results/discovery/fold0/pseudo_labels/k10/provenance.json")["metrics"]
    assert 0 <= quality["novel_miou"] <= 1 and quality["method"] == "majority"
    clean = (work / "results/finetune/fold0/ranking/clean.txt").read_text().split()
    unclean = (work / "results/finetune/fold0/ranking/unclean.txt").read_text().split()
    assert len(clean) == int(0.67 * (len(clean) + len(unclean)))
    # each ablation row is a target; k = 5 pseudo-labels for the non-over-clustered row
    ablations = _config(tmp_path, finetune={"ablations": ["no_overclustering", "ranking",
                                                          "ranking_reassignment", "ranking_selftraining"]})
    jobs = planned_jobs(work, TARGET, configfile=ablations)
    assert jobs["finetune_ablation"] == 4 and jobs["clustering"] == 1 and jobs["evaluate"] == 4
    assert "finetune_basic" not in jobs and "finetune_eums" not in jobs
    # an EUMS-only key reruns EUMS and what follows, not the basic framework or the base model
    jobs = planned_jobs(work, TARGET, configfile=_config(tmp_path, finetune={"ema_momentum": 0.9}))
    assert "finetune_eums" in jobs and "finetune_basic" not in jobs and "base_model" not in jobs
    # a clustering key reruns clustering onwards, not base removal
    jobs = planned_jobs(work, TARGET, configfile=_config(tmp_path, discovery={"n_init": 3}))
    assert jobs.get("clustering") == 1 and "base_removal" not in jobs and "base_model" not in jobs

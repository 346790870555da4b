"""The data rules of the DAG: dry run of the default config and a real run on the tiny generated dataset."""

import shutil

import pytest
import yaml

from ncdss_core.provenance.audit import audit
from ncdss_core.cli import main as cli
from ncdss_core.data.files import read_ids
from ncdss_core.io.atomic import read_json
from workflow_helpers import DEFAULT, REPO, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def test_default_config_dry_run_lists_the_data_rules(tmp_path):
    jobs = planned_jobs(tmp_path, configfile=DEFAULT)
    assert jobs["generate_dataset"] == 1
    assert jobs["index_dataset"] == 1
    assert jobs["splits"] == 2  # make run: fold 0, its lists from the label maps and (for ICD) the image labels


def test_reproduce_differs_from_run_only_in_the_folds(tmp_path):
    """`make reproduce` = `make run` on folds 0-3: four times each per-fold job, the shared ones once."""
    run = planned_jobs(tmp_path, configfile=DEFAULT)
    reproduce = planned_jobs(tmp_path, configfile=[DEFAULT, REPO / "config" / "reproduce.yaml"])
    assert yaml.safe_load((REPO / "config" / "reproduce.yaml").read_text()) == {"folds": [0, 1, 2, 3]}
    shared = {"generate_dataset", "index_dataset", "superpixels", "saliency", "pretrain_icd_trunk", "tables",
              "seed_tables", "report_tables", "all"}
    assert set(run) == set(reproduce)
    for rule, count in run.items():
        assert reproduce[rule] == (count if rule in shared else 4 * count), rule


@pytest.mark.parametrize("key, value, said", [
    ("dataset.shards", "two", "config key dataset.shards: 'two' is not of type 'integer'"),
    ("folds", [9], "config key folds: fold 9 does not exist for dataset kind generated"),
])
def test_invalid_config_stops_before_any_job(tmp_path, key, value, said):
    bad = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    section, _, name = key.rpartition(".")
    (bad[section] if section else bad)[name] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = snakemake(tmp_path, "--cores", "1", configfile=path, check=False)
    assert result.returncode != 0
    assert said in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_tiny_data_rules_run_and_audit(tmp_path):
    snakemake(tmp_path, "--cores", "2", "results/splits/fold0/full", "results/splits/fold0/weak")
    dataset = tmp_path / "results" / "dataset"
    assert read_json(dataset / "scan.json")["problems"] == 0
    fold = tmp_path / "results" / "splits" / "fold0" / "full"
    # the lists of a weakly-supervised run (and of ICD) come from the image-level labels
    weak = read_json(tmp_path / "results" / "splits" / "fold0" / "weak" / "provenance.json")["params"]
    assert (weak["labels_from"], read_json(fold / "provenance.json")["params"]["labels_from"]) == ("image_labels", "classes")
    novel = set(read_ids(fold / "novel.txt"))
    base = set(read_ids(fold / "base.txt"))
    assert novel and base and not novel & base
    record = read_json(fold / "provenance.json")
    # the rule's params as given plus its wildcards (strings), every named input
    assert record["stage"] == "splits" and record["params"]["fold"] == "0" and record["params"]["supervision"] == "full"
    assert record["params"]["selection_fraction"] == 0.1 and set(record["inputs"]) == {"dataset"}
    assert [p for node in audit(fold).walk() for p in node.problems] == []
    # the chain reaches the generated dataset
    stages = {node.record["stage"] for node in audit(fold).walk() if node.record}
    assert stages == {"splits", "index_dataset", "generate_dataset"}
    # tampering with one dataset image is caught when auditing the fold lists
    image = sorted((tmp_path / "results" / "generated" / "images").iterdir())[0]
    image.write_bytes(image.read_bytes()[:-10])
    assert cli(["audit", str(fold)]) == 1


def test_scan_command_on_the_tiny_dataset(tiny_dataset_copy, capsys):
    assert cli(["scan", str(tiny_dataset_copy)]) == 0
    label = sorted((tiny_dataset_copy / "SegmentationClassAug").iterdir())[0]
    shutil.copy(tiny_dataset_copy / "generated.json", label)  # not a PNG any more
    assert cli(["scan", str(tiny_dataset_copy)]) == 1
    assert f"{label}: unreadable or truncated label map" in capsys.readouterr().out


REPLICATES = [DEFAULT, REPO / "config" / "reproduce.yaml", REPO / "config" / "replicates.yaml"]


def test_replicates_config_adds_seeds_the_claimed_rows_and_the_weak_runs_to_reproduce(tmp_path):
    """`make replicates`: per fold 2 supervisions x 3 replicates of the chain; the full runs train
    the rows the claims read (k = 5, basic, EUMS), the weak ones basic and EUMS."""
    jobs = planned_jobs(tmp_path, configfile=REPLICATES)
    runs = 4 * 3  # per supervision
    assert jobs["base_model"] == 2 * runs and jobs["ranking"] == 2 * runs
    assert jobs["finetune"] == runs * (3 + 2) and jobs["evaluate"] == runs * (4 + 3)
    assert jobs["train_icd"] == 4 and jobs["splits"] == 8


def test_ablations_config_adds_the_three_ranking_rows_to_the_replicates_and_nothing_else(tmp_path):
    """`make ablations` plans what `make replicates` plans plus the ranking rows: 3 fine-tunings and
    their evaluations per full run, no other job (the finetune params of a variant hold only its own
    keys, so the rows already made are reused)."""
    replicates = planned_jobs(tmp_path / "replicates", configfile=REPLICATES)
    ablations = planned_jobs(tmp_path / "ablations", configfile=[*REPLICATES, REPO / "config" / "ablations.yaml"])
    runs = 4 * 3
    assert ablations["finetune"] - replicates["finetune"] == 3 * runs
    assert ablations["evaluate"] - replicates["evaluate"] == 3 * runs
    assert {rule: n for rule, n in ablations.items() if rule not in ("finetune", "evaluate")} == \
        {rule: n for rule, n in replicates.items() if rule not in ("finetune", "evaluate")}


def test_the_k_estimates_config_plans_base_models_and_estimates_only(tmp_path):
    """`make k-estimates`: six folds defined by class list (3, 5, 8 novel classes, two sets each) x 3
    seeds: a base model, probes and an estimate per run, and no fine-tuning."""
    overlay = yaml.safe_load((REPO / "config" / "k_auto.yaml").read_text())
    counts = sorted(len(classes) for classes in overlay["custom_folds"].values())
    assert counts == [3, 3, 5, 5, 8, 8] and sorted(overlay["folds"]) == sorted(overlay["custom_folds"])
    jobs = planned_jobs(tmp_path, "results/tables/k_estimates", configfile=[DEFAULT, REPO / "config" / "k_auto.yaml"])
    assert jobs["base_model"] == jobs["base_probes"] == jobs["k_estimate"] == 6 * 3
    assert jobs["k_estimate_table"] == 1 and "finetune" not in jobs and "train_icd" not in jobs

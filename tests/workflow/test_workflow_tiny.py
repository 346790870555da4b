"""The whole tiny DAG: partial reruns, provenance of pseudo-labels, the HTML report."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from ncdss_core.provenance.audit import audit, diff
from ncdss_core.cli import main as cli
from ncdss_core.io.atomic import read_json
from ncdss_core.data.files import read_label_png, write_label_png
from workflow_helpers import TINY, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
PSEUDO = "results/discovery/fold0/full/rep0/pseudo_labels/k10"


def _changed(tmp_path: Path, dotted: str, value) -> Path:
    config = yaml.safe_load(TINY.read_text())
    node = config
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    path = tmp_path / f"{dotted}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_nothing_to_do_after_the_run(tiny_run):
    assert planned_jobs(tiny_run) == {}


def test_reordered_config_with_respelled_floats_reruns_nothing(tiny_run, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    reordered = {k: config[k] for k in reversed(list(config))}
    text = yaml.safe_dump(reordered, sort_keys=False).replace("selection_fraction: 0.1",
                                                              "selection_fraction: 1.0e-1")
    path = tmp_path / "reordered.yaml"
    path.write_text(text)
    assert planned_jobs(tiny_run, configfile=path) == {}


# One parameter at a time: the stage that reads it and everything downstream, nothing else.
RERUNS = {
    "crf.bilateral_sxy": (40.0, {"crf": 2, "seed_eval": 1, "seed_tables": 1, "weak_labels": 1,
                                 "report_figures": 1, "report_tables": 1, "all": 1}),
    "finetune.ema_momentum": (0.9, {"finetune": 1, "evaluate": 1, "tables": 1, "report_figures": 1,
                                    "report_tables": 1, "all": 1}),
    "finetune.backbone_init": ("weights", {"finetune": 3, "ranking": 1, "evaluate": 3, "tables": 1,
                                           "report_figures": 1, "report_tables": 1, "all": 1}),
    "discovery.n_init": (3, {"clustering": 2, "pseudo_labels": 2, "finetune": 3, "ranking": 1,
                             "evaluate": 3, "tables": 1,
                             "report_figures": 1, "report_tables": 1, "all": 1}),
}


@pytest.mark.parametrize("key", sorted(RERUNS))
def test_one_changed_param_reruns_its_stage_and_what_follows(tiny_run, tmp_path, key):
    value, expected = RERUNS[key]
    assert planned_jobs(tiny_run, configfile=_changed(tmp_path, key, value)) == expected


def test_changed_k_makes_a_new_pseudo_label_set_and_leaves_upstream_alone(tiny_run, tmp_path):
    jobs = planned_jobs(tiny_run, configfile=_changed(tmp_path, "discovery.k", 8))
    assert jobs["clustering"] == 1 and jobs["pseudo_labels"] == 1  # k8; the k5 ablation row is untouched
    assert jobs["finetune"] == 2  # basic and EUMS
    assert not {"base_model", "base_removal", "train_icd", "crf", "seeds", "saliency"} & set(jobs)


def test_saliency_threshold_reruns_saliency_and_its_consumers_only(tiny_run, tmp_path):
    jobs = planned_jobs(tiny_run, configfile=_changed(tmp_path, "saliency.threshold", 0.6))
    assert jobs["saliency"] == 2
    assert "base_removal" in jobs and "finetune" in jobs
    assert not {"superpixels", "train_icd", "icd_scores", "base_model", "splits",
                "index_dataset"} & set(jobs)


def test_trunk_pretraining_param_reruns_the_icd_stages_only(tiny_run, tmp_path):
    jobs = planned_jobs(tiny_run, configfile=_changed(tmp_path, "weak.pretrain.epochs", 2))
    assert jobs["pretrain_icd_trunk"] == 1 and jobs["train_icd"] == 1 and jobs["crf"] == 2
    assert not {"superpixels", "saliency", "base_model", "splits", "index_dataset",
                "generate_dataset"} & set(jobs)
    # from scratch: no pretraining job, train_icd reruns
    jobs = planned_jobs(tiny_run, configfile=_changed(tmp_path, "weak.model.init", "random"))
    assert "pretrain_icd_trunk" not in jobs and jobs["train_icd"] == 1
    # from a weights file: the same, and the file is the input
    weights = tmp_path / "trunk.pt"
    shutil.copy(tiny_run / "results/weak/pretrained_trunk/trunk.pt", weights)
    config = yaml.safe_load(_changed(tmp_path, "weak.model.init", "file").read_text())
    config["weak"]["model"]["weights"] = str(weights)
    path = tmp_path / "file.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tiny_run, configfile=path)
    assert "pretrain_icd_trunk" not in jobs and jobs["train_icd"] == 1


def test_rerun_trunk_pretraining_and_icd_training_give_the_same_bytes(tiny_run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(tiny_run, work, symlinks=True)
    stages = {"results/weak/pretrained_trunk": "trunk.pt", "results/weak/fold0/icd_model": "model.pt"}
    before = {s: read_json(work / s / "provenance.json") for s in stages}
    snakemake(work, "--cores", "2", "--forcerun", "pretrain_icd_trunk", "train_icd", "--until", "train_icd")
    for stage, weights in stages.items():
        after = read_json(work / stage / "provenance.json")
        assert after["timings"] != before[stage]["timings"], f"{stage} did not rerun"
        assert after["output"] == before[stage]["output"] and weights in after["output"]["files"], stage
        # wall-clock times live in the record only
        assert len(after["extra"]["epoch_seconds"]) == len(read_json(work / stage / "history.json"))


def test_seed_history_goes_through_the_pretrained_trunk(tiny_run, capsys):
    assert cli(["audit", str(tiny_run / "results/weak/fold0/seed_eval")]) == 0
    out = capsys.readouterr().out
    for stage in ("seed_eval", "crf", "icd_scores", "train_icd", "pretrain_icd_trunk", "superpixels"):
        assert stage in out, stage
    record = read_json(tiny_run / "results/weak/pretrained_trunk/provenance.json")
    assert 0.0 <= record["metrics"]["holdout_map"] <= 1.0 and record["metrics"]["images"] == 60
    assert "trunk" in read_json(tiny_run / "results/weak/fold0/icd_model/provenance.json")["inputs"]


def test_pseudo_labels_audit_and_tampering(tiny_run, tmp_path, capsys):
    work = Path(shutil.copytree(tiny_run / "results", tmp_path / "copy" / "results")).parent
    pseudo = work / PSEUDO
    assert cli(["audit", str(pseudo)]) == 0
    out = capsys.readouterr().out
    for stage in ("pseudo_labels", "clustering", "base_removal", "base_model", "saliency",
                  "splits", "index_dataset", "generate_dataset"):
        assert stage in out, stage
    record = read_json(pseudo / "provenance.json")
    assert 0.0 <= record["metrics"]["novel_miou"] <= 1.0
    # one PNG
    png = sorted(pseudo.glob("*.png"))[0]
    label = read_label_png(png)
    write_label_png(png, np.where(label == 0, 1, 0).astype(np.uint8))
    assert cli(["audit", str(pseudo)]) == 1
    assert f"{png}: content changed" in capsys.readouterr().out


def test_tampered_model_and_param_are_caught_downstream(tiny_run, tmp_path, capsys):
    work = Path(shutil.copytree(tiny_run / "results", tmp_path / "copy" / "results")).parent
    model = work / "results/base/fold0/full/rep0/model/model.pt"
    model.write_bytes(model.read_bytes() + b"\0")
    assert cli(["audit", str(work / PSEUDO)]) == 1
    assert "model.pt: content changed" in capsys.readouterr().out
    model.write_bytes(model.read_bytes()[:-1])
    prov = work / "results/discovery/fold0/full/rep0/clusters/k10/provenance.json"
    record = json.loads(prov.read_text())
    record["params"]["n_init"] = 1
    prov.write_text(json.dumps(record))
    assert cli(["audit", str(work / PSEUDO)]) == 1
    assert "record was edited" in capsys.readouterr().out


def test_diff_of_two_pseudo_label_sets(tiny_run):
    lines = diff(tiny_run / PSEUDO, tiny_run / "results/discovery/fold0/full/rep0/pseudo_labels/k5")
    assert any("params.k: '10' -> '5'" in line for line in lines)  # the {k} wildcard
    assert not any("base_model" in line and "params" in line for line in lines)


def test_every_artifact_has_a_verified_provenance(tiny_run):
    root = audit(tiny_run / "results/tables/discovery")
    assert [p for node in root.walk() for p in node.problems] == []


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if shutil.which("apt-get") is None or subprocess.run(["id", "-u"], capture_output=True,
                                                          text=True).stdout.strip() != "0":
        pytest.skip("headless Chromium is not installed and cannot be installed (needs root and apt-get)")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                            env=env, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0 or shutil.which("chromium") is None:
        pytest.skip(f"could not install Chromium with apt-get: {result.stderr[-500:]}")
    return shutil.which("chromium")


def test_html_report_renders_in_headless_chromium(tiny_run, tmp_path):
    report = tmp_path / "report.html"
    snakemake(tiny_run, "--report", str(report))
    html = report.read_text(errors="replace")
    for caption in ("Seed quality per class", "Entropy ranking", "Training curves", "Discovery results",
                    "What each row of the paper", "Where the IoU of the base and the novel classes goes"):
        assert caption.lower() in html.lower(), caption
    chromium = _chromium()
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900",
                    "--virtual-time-budget=15000", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=180)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.std() > 10, "the rendered report is blank"
    assert (pixels < 200).mean() > 0.01, "the rendered report has almost no content"


def test_rerunning_stages_gives_the_same_bytes(tiny_run, tmp_path):
    """Same config and seed, same outputs: force clustering, pseudo-labels, seeds and CRF again on
    a copy of the run and compare every output file digest."""
    work = tmp_path / "copy"
    shutil.copytree(tiny_run, work, symlinks=True)
    stages = ["results/discovery/fold0/full/rep0/clusters/k10", "results/discovery/fold0/full/rep0/pseudo_labels/k10",
              "results/weak/fold0/seeds/icd/000", "results/weak/fold0/crf/icd/000"]
    before = {s: read_json(work / s / "provenance.json")["output"] for s in stages}
    snakemake(work, "--cores", "2", "--forcerun", "clustering", "pseudo_labels", "seeds", "crf",
              "--until", "pseudo_labels", "crf")
    for stage in stages:
        record = read_json(work / stage / "provenance.json")
        assert record["timings"] != read_json(tiny_run / stage / "provenance.json")["timings"], f"{stage} did not rerun"
        assert record["output"] == before[stage], f"{stage} changed on a rerun with the same config"

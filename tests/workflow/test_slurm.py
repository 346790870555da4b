"""The tiny workflow end to end on a real Slurm: `snakemake --profile slurm` as users type it.

A single-node Slurm is brought up on loopback (tests/slurm_cluster.py: munge, slurmctld, slurmd,
two fake GPUs), the profile is installed with `ncdss install-profile` into a temporary config
home, and the tiny config runs from a temporary working directory. Then every artifact must have
been made by a Slurm job of its rule (job ids in provenance.json, checked against slurmctld), and
exactly the GPU rules of profiles/default must have been given a GPU.

Skipped, with the reason, where a Slurm cannot be brought up (not root, no apt-get, install failed).
Each Slurm job costs about 12 s here (two Snakemake start-ups plus status polling).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from slurm_cluster import GPU_PARTITION, SlurmCluster, SlurmUnavailable, fingerprint
from workflow_helpers import REPO, SNAKEMAKE, TINY, planned_jobs

pytestmark = pytest.mark.slurm

NCDSS = str(Path(sys.executable).parent / "ncdss")
# The whole test must stay under 8 minutes in CI; a slower machine may allow more.
RUN_LIMIT_S = int(os.environ.get("NCDSS_SLURM_RUN_LIMIT", "440"))
FAKE_GPUS = 2


def deep_update(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


def slurm_config(path: Path) -> Path:
    """The tiny config, narrowed so that the Slurm run stays a few minutes (each job costs ~12 s
    of Slurm and Snakemake start-up here): one shard, one seed variant, the smallest models and
    epochs. Every rule family of the DAG still runs, GPU and CPU ones."""
    config = yaml.safe_load(TINY.read_text())
    deep_update(config, {
        "dataset": {"shards": 1},
        "seeds": {"variants": ["icd"]},
        "weak": {"train": {"epochs": 1}, "labels": {"variant": "icd"}},
        "model": {"input_size": 48, "widths": [8, 8, 16, 16], "head_channels": 16, "atrous_rates": [1, 2, 3]},
        "base": {"epochs": 1, "batch_size": 4, "decay_epochs": []},
        "finetune": {"epochs": 1, "batch_size": 4, "decay_epochs": [], "reassign_epochs": [], "ablations": []},
        "evaluation": {"models": ["eums"]},
    })
    path.write_text(yaml.safe_dump(config))
    return path


def outputs_by_rule(work: Path) -> dict[str, str]:
    """Output path -> rule, from Snakemake's per-output metadata records (.snakemake/metadata)."""
    out = {}
    for record_path in (work / ".snakemake" / "metadata").iterdir():
        name = record_path.name
        path = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        out[path] = json.loads(record_path.read_text())["rule"]
    return out


def gpu_rules() -> set[str]:
    profile = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    return {rule for rule, res in (profile.get("set-resources") or {}).items() if int(res.get("gpu", 0)) > 0}


def rule_of(comment: str) -> str:
    """The plugin's job comment is `rule_<rule>` or `rule_<rule>_wildcards_<values>`."""
    assert comment.startswith("rule_"), comment
    return comment[len("rule_"):].split("_wildcards_")[0]


@pytest.fixture(scope="module")
def cluster():
    """The cluster for this module; afterwards the machine must be as before it: same packages, same
    Slurm config, state, logs and pid files (a stale slurm.conf slows every later snakemake call)."""
    before = fingerprint()
    try:
        with SlurmCluster(gpus=FAKE_GPUS) as running:
            yield running
    except SlurmUnavailable as why:
        pytest.skip(f"cannot bring up a local Slurm: {why}")
    if running.machine is not None:  # a cluster we brought up ourselves (not one we reused)
        after = fingerprint()
        changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
        if "packages" in changed:  # name only the difference, not every package of the machine
            changed["packages"] = {"added": sorted(set(after["packages"]) - set(before["packages"])),
                                   "removed": sorted(set(before["packages"]) - set(after["packages"]))}
        assert not changed, f"the Slurm test left the machine changed: {changed}"


def test_tiny_workflow_runs_as_slurm_jobs_with_gpus_for_gpu_rules(cluster, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    xdg = tmp_path / "xdg"
    cluster.cancel_jobs_under(work)
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "SNAKEMAKE_PROFILE")}
    env["XDG_CONFIG_HOME"] = str(xdg)

    # the user's step: install the profile (status command detected: this Slurm has no accounting)
    # GPU rules go to a partition of their own when the cluster has one (ours does: "gpu")
    gpu_partition = GPU_PARTITION if GPU_PARTITION in cluster.partitions else None
    install = [NCDSS, "install-profile", "--partition", cluster.partition, "--init-seconds", "1"]
    if gpu_partition:
        install += ["--gpu-partition", gpu_partition]
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    profile = yaml.safe_load((xdg / "snakemake" / "slurm" / "config.yaml").read_text())
    assert profile["slurm-status-command"] == "squeue", done.stderr
    assert "slurm_account" not in profile["default-resources"]

    config = slurm_config(tmp_path / "config.yaml")
    planned = planned_jobs(work, configfile=config)
    planned.pop("all", None)  # an input-only target rule runs in the main process
    assert planned, "the dry run planned no jobs"

    # the user's command, from the working directory, with a hard limit (snakemake waits forever
    # on SIGTERM if status polling breaks, hence KILL)
    command = ["timeout", "-k", "10", "-s", "KILL", str(RUN_LIMIT_S),
               SNAKEMAKE, "--profile", "slurm", "-s", str(REPO / "Snakefile"), "--directory", str(work),
               "--configfile", str(config)]
    started = time.monotonic()
    run = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=RUN_LIMIT_S + 30)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted((work / ".snakemake" / "slurm_logs").rglob("*.log")))
        pytest.fail(f"snakemake --profile slurm failed (rc {run.returncode}, {elapsed:.0f} s):\n"
                    f"{run.stderr[-6000:]}\n{logs[-6000:]}\n{cluster.diagnostics()}")
    print(f"{sum(planned.values())} Slurm jobs in {elapsed:.0f} s")

    # every job of the run was a Slurm job of its rule, and completed
    jobs = {job_id: job for job_id, job in cluster.jobs().items()
            if job["workdir"] and Path(job["workdir"]).resolve() == work.resolve()}
    assert all(job["state"] == "COMPLETED" for job in jobs.values()), jobs
    assert Counter(rule_of(job["comment"]) for job in jobs.values()) == Counter(planned)

    # GPU rules asked for exactly one GPU, CPU rules for none
    gpu = gpu_rules()
    assert gpu & set(planned), f"no GPU rule in the tiny DAG (GPU rules: {sorted(gpu)})"
    for job in jobs.values():
        rule = rule_of(job["comment"])
        assert job["gpus"] == (1 if rule in gpu else 0), job
        if gpu_partition:  # and the plugin sent each job to the partition that fits it
            assert job["partition"] == (gpu_partition if rule in gpu else cluster.partition), job

    # every artifact (directory output) records the Slurm job of its rule; GPU rules saw their GPU
    artifacts = {path: rule for path, rule in outputs_by_rule(work).items() if (work / path).is_dir()}
    assert artifacts, "no artifact was produced"
    for path, rule in sorted(artifacts.items()):
        record = json.loads((work / path / "provenance.json").read_text())
        job_id = record["slurm_job_id"]
        assert job_id in jobs, f"{path}: slurm_job_id {job_id!r} is not a job of this run"
        assert rule_of(jobs[job_id]["comment"]) == rule, (path, rule, jobs[job_id]["comment"])
        if rule in gpu:
            assert record["gpus"] is not None and record["gpus"].isdigit(), (path, rule, record["gpus"])
            assert int(record["gpus"]) < FAKE_GPUS
        else:
            assert record["gpus"] is None, (path, rule, record["gpus"])
    # and every provenance.json under results/ belongs to one of those artifacts
    records = {p.parent.relative_to(work).as_posix() for p in (work / "results").rglob("provenance.json")}
    assert records == set(artifacts), records ^ set(artifacts)

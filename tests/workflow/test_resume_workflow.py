"""Preemption: a training killed with SIGKILL in the middle of an epoch, then rerun as Snakemake
reruns it, continues from its resume file and ends with the same bytes as the uninterrupted run
(the test run's tiny run). Done for the ICD network, the base model and EUMS."""

import hashlib
import shutil
from pathlib import Path

import pytest

from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow

KILL_AT = "1:1"  # epoch 1 (the second), iteration 1: after the first epoch's resume file


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if p.name != "provenance.json"}


@pytest.mark.parametrize("output", ["results/weak/fold0/icd_model", "results/base/fold0/full/rep0/model",
                                    "results/finetune/fold0/full/rep0/eums/model"])
def test_a_killed_training_resumes_to_the_bytes_of_an_uninterrupted_one(output, tiny_run, tmp_path):
    work = Path(shutil.copytree(tiny_run, tmp_path / "work", symlinks=True))
    uninterrupted = digests(tiny_run / output)
    resume_file = (work / output).parent / f".{Path(output).name}.resume"

    # the same threads as the tiny run: CPU kernels reduce in another order on another thread count
    killed = snakemake(work, "--cores", "2", "--force", output, check=False,
                       env={"NCDSS_FAULT_KILL_AT": KILL_AT})
    assert killed.returncode != 0, "the training was not killed"
    assert not (work / output).exists(), "a killed job left an output that looks complete"
    assert resume_file.is_file(), "no resume file after the first epoch"

    snakemake(work, "--cores", "2", output)
    assert not resume_file.exists(), "the completed job left its resume file"
    resumed = digests(work / output)
    assert resumed == uninterrupted
    logs = "".join(p.read_text() for p in (work / "logs").rglob("*.log"))
    assert "resuming from" in logs and "after epoch 1 of 2" in logs

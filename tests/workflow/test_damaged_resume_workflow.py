"""A damaged resume file does not crash every rerun: the base model killed in its second epoch, its
resume file truncated to half (a copy cut short, a full disk on a shared file system), then rerun
as Snakemake reruns it. The job says so in its log, sets the file aside (renamed, kept), trains
from the first epoch and ends with the bytes of the uninterrupted run; no temporary build of the
killed run is left beside the output."""

import shutil
from pathlib import Path

import pytest

from test_resume_workflow import KILL_AT, digests
from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow

OUTPUT = "results/base/fold0/full/rep0/model"


def test_a_truncated_resume_file_is_set_aside_and_the_rerun_reaches_the_uninterrupted_bytes(tiny_run, tmp_path):
    work = Path(shutil.copytree(tiny_run, tmp_path / "work", symlinks=True))
    output = work / OUTPUT
    resume_file = output.parent / f".{output.name}.resume"
    killed = snakemake(work, "--cores", "2", "--force", OUTPUT, check=False, env={"NCDSS_FAULT_KILL_AT": KILL_AT})
    assert killed.returncode != 0 and resume_file.is_file() and not output.exists()
    leftovers = sorted(p.name for p in output.parent.glob(f".{output.name}.*.tmp"))
    assert leftovers, "the killed run left no temporary build (the test would show nothing)"
    data = resume_file.read_bytes()
    resume_file.write_bytes(data[: len(data) // 2])
    damaged = resume_file.read_bytes()

    snakemake(work, "--cores", "2", OUTPUT)
    assert digests(output) == digests(tiny_run / OUTPUT)
    log = (work / "logs" / "base_model" / "fold0_full_rep0.log").read_text()
    said = [line for line in log.splitlines() if "set aside" in line]
    assert len(said) == 1 and f"resume file {resume_file.relative_to(work)} is damaged" in said[0], log[-3000:]
    assert f"set aside as {resume_file.name}.damaged; training starts from the first epoch" in said[0]
    assert "resuming from" not in log
    print(said[0])
    assert (output.parent / f"{resume_file.name}.damaged").read_bytes() == damaged
    assert not resume_file.exists()
    assert sorted(p.name for p in output.parent.glob(f".{output.name}.*.tmp")) == []
    # and a further run has nothing to do
    again = snakemake(work, "--cores", "2", OUTPUT)
    assert "Nothing to be done" in again.stdout + again.stderr

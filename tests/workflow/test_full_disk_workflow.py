"""A full disk in the middle of the tiny DAG: the job that runs out of space fails with an error that
names the file and the artifact, every artifact left behind is complete (its provenance record is
there and `ncdss audit` verifies it), nothing half-written lies outside an artifact, and the same
command, once space is freed, finishes with the bytes of a run that never ran out.

The disk is a 14 MB tmpfs mounted for the test (root only; skipped where mounting fails), grown to
512 MB in place (`mount -o remount`) to free space, and always unmounted."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from ncdss_core.cli import main as cli
from ncdss_core.provenance.record import directory_manifest
from ncdss_core.train.resume import MAGIC
from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow

SIZE_FULL, SIZE_FREED = "14m", "512m"


@pytest.fixture
def small_disk(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_FULL},mode=0755", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def artifacts(work: Path) -> list[Path]:
    """Directories of results/ with a provenance record (the benchmarks' TSVs are Snakemake's)."""
    return sorted(p.parent for p in (work / "results").rglob("provenance.json"))


def digests(work: Path) -> dict[str, dict[str, str]]:
    return {str(a.relative_to(work)): directory_manifest(a) for a in artifacts(work)}


def test_a_full_disk_fails_naming_the_file_and_the_artifact_and_a_rerun_finishes_the_same(small_disk, tiny_run):
    work = small_disk / "work"
    work.mkdir()
    full = snakemake(work, "--cores", "2", check=False)
    assert full.returncode != 0, "the run did not run out of space"
    output = full.stdout + full.stderr

    # the job that ran out says where and what: "rule R failed: OSError: [Errno 28] No space left
    # on device (writing artifact results/... of rule R): '<file>'"
    failures = re.findall(r"ERROR ncdss: rule (\w+) failed: (\w+): (.*)", output)
    assert failures, output[-4000:]
    for rule, kind, message in failures:
        assert kind == "OSError" and message.startswith("[Errno 28] No space left on device ("), message
        named = re.fullmatch(r"\[Errno 28\] No space left on device \((?:writing artifact|saving the resume "
                             r"file of artifact) (results/\S+)(?: of rule (\w+))?\): '(.+)'", message)
        assert named, message
        artifact, of_rule, path = named.groups()
        assert of_rule in (None, rule)
        assert (work / path).is_relative_to(work / Path(artifact).parent), (artifact, path)  # beside it
    print("\n".join(f"{rule}: {kind}: {message}" for rule, kind, message in failures))

    # what is left: complete artifacts, each verified; no file outside one
    left = artifacts(work)
    assert left, "nothing finished before the disk was full"
    for artifact in left:
        assert cli(["audit", str(artifact)]) == 0, artifact
    inside = [a.relative_to(work / "results") for a in left]
    outside = [p for p in (work / "results").rglob("*")
               if p.is_file() and not p.relative_to(work / "results").parts[0] == "benchmarks"
               and not any(p.relative_to(work / "results").is_relative_to(a) for a in inside)]
    # a training's resume file (its last complete epoch) may stay beside its output: whole, or nothing
    resumes = [p for p in outside if re.fullmatch(r"\..+\.resume", p.name)]
    for path in resumes:
        data = path.read_bytes()
        head = len(MAGIC) + 65
        assert data.startswith(MAGIC) and hashlib.sha256(data[head:]).hexdigest() == data[len(MAGIC):head - 1].decode()
    stray = [str(p.relative_to(work)) for p in outside if p not in resumes]
    assert stray == [], stray
    print(f"{len(left)} complete artifacts left:", ", ".join(str(a.relative_to(work)) for a in left))
    print("resume files left:", ", ".join(str(p.relative_to(work)) for p in resumes) or "none")

    # free space, run the same command again: the rest of the DAG, to the same bytes
    subprocess.run(["mount", "-o", f"remount,size={SIZE_FREED}", str(small_disk)], check=True)
    snakemake(work, "--cores", "2")
    finished, uninterrupted = digests(work), digests(tiny_run)
    assert sorted(finished) == sorted(uninterrupted)
    differ = sorted(a for a in finished if finished[a] != uninterrupted[a])
    assert differ == [], differ
    files = sum(len(m) for m in finished.values())
    print(f"{len(finished)} artifacts, {files} files: byte-identical to the uninterrupted run")

"""Artifacts honour the user's umask (a lab shares them on a common filesystem): directories
0777 & ~umask, files 0666 & ~umask, however they were written (atomic temp files and
directories, HDF5, torch, PNG). The whole tiny run is checked (made under umask 022 by the
`tiny_run` fixture) and a shorter run under umask 002."""

import os
import stat
from pathlib import Path

import pytest

from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow


def wrong_modes(results: Path, umask: int) -> list[str]:
    want_dir, want_file = 0o777 & ~umask, 0o666 & ~umask
    wrong = []
    for path in [results, *results.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = want_dir if path.is_dir() else want_file
        if not path.is_symlink() and mode != want:
            wrong.append(f"{path.relative_to(results)}: {oct(mode)} (want {oct(want)})")
    return wrong


def test_the_tiny_run_artifacts_follow_umask_022(tiny_run):
    results = tiny_run / "results"
    assert any(results.rglob("model.pt")) and any(results.rglob("*.h5")) and any(results.rglob("*.png"))
    assert wrong_modes(results, 0o022) == []


def test_artifacts_follow_umask_002(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    old = os.umask(0o002)
    try:  # the child snakemake and its jobs inherit the umask
        snakemake(work, "--cores", "2", "results/splits/fold0/full", "results/superpixels/000",
                  "results/weak/pretrained_trunk")
    finally:
        os.umask(old)
    results = work / "results"
    assert (results / "weak" / "pretrained_trunk" / "provenance.json").is_file()
    assert wrong_modes(results, 0o002) == []

"""Shared fixtures: the hand-made VOC-layout dataset (built by ncdss_fixtures) and the tiny generated dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ncdss_fixtures import make_voc_dataset

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_voc(tmp_path: Path) -> Path:
    return make_voc_dataset(tmp_path / "voc")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny generated dataset, generated once per test run (read-only for tests)."""
    from ncdss_core.data.generated import generate

    root = tmp_path_factory.mktemp("generated") / "tiny"
    generate(root, size="tiny", seed=0)
    return root


@pytest.fixture
def tiny_dataset_copy(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny generated dataset that a test may corrupt."""
    return Path(shutil.copytree(tiny_dataset, tmp_path / "tiny"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole tiny DAG, run once per test run; tests read it or dry-run against it (never
    modify it: tests that tamper work on a copy). NCDSS_TINY_RUN=DIR reuses a finished run of
    tests/configs/tiny.yaml when iterating on tests."""
    import os

    from workflow_helpers import snakemake

    if os.environ.get("NCDSS_TINY_RUN"):
        return Path(os.environ["NCDSS_TINY_RUN"])
    work = tmp_path_factory.mktemp("tiny_run")
    old = os.umask(0o022)  # the usual umask, pinned: test_permissions checks the modes it gives
    try:
        snakemake(work, "--cores", "2")
    finally:
        os.umask(old)
    return work

"""The bad-input corpus through the workflow as a user runs it: `snakemake` on a faulty copy of the
tiny dataset (kind voc) must stop at the dataset check with the file named, and leave no artifact
behind; a fault of a list file (a hostile id, a list that is not UTF-8, a missing list), a bad
weights file, a NaN and a root without the layout must stop the run before any job starts."""

from pathlib import Path

import pytest
import yaml

from bad_input import CONFIG_FAULTS, DATASET_FAULTS, voc_copy
from workflow_helpers import TINY, snakemake

pytestmark = pytest.mark.workflow


def overlay(tmp_path: Path, **sections) -> Path:
    config = yaml.safe_load(TINY.read_text())
    for section, values in sections.items():
        for key, value in values.items():
            if isinstance(value, dict):
                config.setdefault(section, {}).setdefault(key, {}).update(value)
            else:
                config.setdefault(section, {})[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def artifacts(work: Path) -> list[str]:
    """Every artifact the run wrote (directories with a provenance record)."""
    return sorted(str(p.parent.relative_to(work)) for p in (work / "results").rglob("provenance.json")) \
        if (work / "results").exists() else []


@pytest.mark.parametrize("fault", sorted(DATASET_FAULTS))
def test_a_faulty_dataset_stops_at_the_check_and_names_the_file(fault, tiny_dataset, tmp_path):
    root = voc_copy(tiny_dataset, tmp_path / "voc")
    expected = DATASET_FAULTS[fault](root)
    work = tmp_path / "work"
    work.mkdir()
    # weak.model.init random: the trunk pretraining reads no dataset and would run beside the check
    config = overlay(tmp_path, dataset={"kind": "voc", "root": str(root)}, weak={"model": {"init": "random"}})
    done = snakemake(work, "--cores", "2", configfile=config, check=False)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    if expected.in_list:  # the config check reads the lists: no job starts
        text = done.stderr
        assert f"config key dataset.root: {root / expected.where}: " in text, text[-2000:]
        assert expected.message in text, text[-2000:]
        assert not (work / "logs").exists() and not (work / "results").exists()
    else:  # the dataset check ran and said what is wrong
        text = (work / "logs" / "index_dataset.log").read_text()
        assert f"{root / expected.where}: " in text and expected.message in text, text[-2000:]
    assert artifacts(work) == []


@pytest.mark.parametrize("fault", sorted(CONFIG_FAULTS))
def test_a_config_fault_stops_the_run_before_any_job(fault, tmp_path):
    changes, expected = CONFIG_FAULTS[fault](tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    config = overlay(tmp_path, **changes)
    done = snakemake(work, "--cores", "2", configfile=config, check=False)
    assert done.returncode == 1
    assert f"config key {expected.where}: {expected.message}" in done.stderr
    assert not (work / "logs").exists() and artifacts(work) == []

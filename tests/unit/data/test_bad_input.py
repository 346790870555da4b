"""The bad-input corpus at the scan (`ncdss scan`, what the index_dataset rule runs): for each
fault, exit status 1 and one problem naming the file (or list line) and what is wrong; for each
accepted change, no problem and the same ids. A fault of a list file is named by the config check
too (`ncdss validate`, the workflow's first step), and so is every config fault."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from snakemake.utils import update_config

from bad_input import CONFIG_FAULTS, DATASET_ACCEPTED, DATASET_FAULTS, voc_copy
from conftest import REPO
from ncdss_core.cli import main as cli
from ncdss_core.config import ConfigError, load_config, validate_config
from ncdss_core.data.datasets import open_dataset, scan
from ncdss_core.models.segmodel import ModelSpec, build_backbone


@pytest.fixture
def voc(tiny_dataset: Path, tmp_path: Path) -> Path:
    return voc_copy(tiny_dataset, tmp_path / "voc")


def test_the_clean_copy_scans_clean(voc):
    problems, summary = scan(open_dataset("voc", voc))
    assert problems == [] and summary["splits"]["trainaug"]["images"] > 0


@pytest.mark.parametrize("fault", sorted(DATASET_FAULTS))
def test_each_fault_is_one_problem_naming_its_file(fault, voc, capsys):
    expected = DATASET_FAULTS[fault](voc)
    problems, _ = scan(open_dataset("voc", voc))
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].path == str(voc / expected.where)
    assert expected.message in problems[0].message
    # the command prints it and exits 1
    assert cli(["scan", str(voc), "--kind", "voc"]) == 1
    assert f"{voc / expected.where}: " in capsys.readouterr().out


@pytest.mark.parametrize("fault", sorted(f for f in DATASET_FAULTS if DATASET_FAULTS[f].__name__.startswith(
    ("id_", "list_", "empty_list", "missing_list"))))
def test_a_list_fault_is_named_by_the_config_check_too(fault, voc, capsys):
    expected = DATASET_FAULTS[fault](voc)
    assert expected.in_list
    config = tmp_config(voc.parent, {"dataset": {"kind": "voc", "root": str(voc)}})
    assert cli(["validate", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"config key dataset.root: {voc / expected.where}: " in err and expected.message in err, err


@pytest.mark.parametrize("change", sorted(DATASET_ACCEPTED))
def test_an_accepted_change_scans_clean_with_the_same_ids(change, voc, capsys):
    ids = {split: open_dataset("voc", voc).ids(split) for split in ("trainaug", "val")}
    DATASET_ACCEPTED[change](voc)
    dataset = open_dataset("voc", voc)
    problems, _ = scan(dataset)
    assert problems == []
    assert {split: dataset.ids(split) for split in ids} == ids
    assert cli(["scan", str(voc), "--kind", "voc"]) == 0
    config = tmp_config(voc.parent, {"dataset": {"kind": "voc", "root": str(voc)}})
    assert cli(["validate", str(config)]) == 0


def tmp_config(directory: Path, overlay: dict) -> Path:
    path = directory / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_cmyk_and_grey_jpegs_are_read_as_rgb(mode, voc):
    ds = open_dataset("voc", voc)
    image_id = ds.ids("trainaug")[0]
    path = ds.image_path(image_id)
    rgb = ds.read_image(image_id)
    Image.fromarray(rgb).convert(mode).save(path, quality=95)
    again = ds.read_image(image_id)
    assert again.shape == rgb.shape and again.dtype == np.uint8
    assert scan(open_dataset("voc", voc))[0] == []


@pytest.mark.parametrize("fault", sorted(CONFIG_FAULTS))
def test_a_config_fault_is_named_by_validation(fault, tmp_path, capsys):
    overlay, expected = CONFIG_FAULTS[fault](tmp_path)
    config = load_config(base_dir=REPO)
    update_config(config, overlay)
    with pytest.raises(ConfigError) as info:
        validate_config(config, base_dir=REPO)
    assert f"config key {expected.where}: {expected.message}" in str(info.value)
    # and by `ncdss validate`, with exit status 1
    assert cli(["validate", str(tmp_config(tmp_path, overlay))]) == 1
    assert f"config key {expected.where}: {expected.message}" in capsys.readouterr().err


def test_weights_that_fit_pass_validation(tmp_path):
    config = load_config(base_dir=REPO)
    backbone, _ = build_backbone(ModelSpec.from_params(config["model"], num_classes=2))
    torch.save(backbone.state_dict(), tmp_path / "fits.pth")
    config["model"]["backbone_weights"] = str(tmp_path / "fits.pth")
    validate_config(config, base_dir=REPO)

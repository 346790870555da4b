"""`ncdss validate` checks what `snakemake --configfile FILE...` would run with: config.yaml with
each file merged over it, the way Snakemake merges them."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ncdss_core.config import ConfigError, load_config, merged_config
from conftest import REPO

NCDSS = str(Path(sys.executable).parent / "ncdss")


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_an_overlay_is_merged_key_by_key_over_config_yaml(tmp_path):
    overlay = write(tmp_path / "my.yaml", {"folds": [1], "discovery": {"k": 7}})
    config = merged_config(overlay)
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    assert config["folds"] == [1] and config["discovery"]["k"] == 7
    # the rest of the section and the other sections come from config.yaml
    assert config["discovery"]["pca_dim"] == default["discovery"]["pca_dim"]
    assert config["seed"] == default["seed"]


def test_later_overlays_win(tmp_path):
    first = write(tmp_path / "a.yaml", {"discovery": {"k": 7, "pca_dim": 16}})
    second = write(tmp_path / "b.yaml", {"discovery": {"k": 8}})
    config = load_config(first, second, base_dir=REPO)
    assert config["discovery"]["k"] == 8 and config["discovery"]["pca_dim"] == 16


def test_validate_command_accepts_a_two_line_overlay(tmp_path):
    overlay = write(tmp_path / "my.yaml", "folds: [2]\nseed: 7\n")
    done = subprocess.run([NCDSS, "validate", str(overlay)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout


def test_validate_command_names_the_bad_key_of_an_overlay(tmp_path):
    overlay = write(tmp_path / "my.yaml", {"discovery": {"kk": 3}})
    done = subprocess.run([NCDSS, "validate", str(overlay)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1
    assert "config key discovery.kk: unknown key" in done.stderr


def test_a_config_file_that_is_not_a_mapping_is_named(tmp_path):
    overlay = write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml: a config file must be a YAML mapping"):
        load_config(overlay, base_dir=REPO)


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the config file"):
        load_config(tmp_path / "nope.yaml", base_dir=REPO)

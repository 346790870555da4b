import copy

import pytest
import yaml

from ncdss_core.config import ConfigError, load_config, validate_config
from conftest import REPO


@pytest.fixture
def default_config():
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


def test_default_config_is_valid_and_gets_defaults(default_config):
    config = validate_config(default_config, base_dir=REPO)
    assert config["dataset"]["kind"] == "generated"


def test_tiny_test_config_is_valid(tmp_path):
    tiny = REPO / "tests" / "configs" / "tiny.yaml"
    config = load_config(tiny, base_dir=REPO)
    # what the workflow tests count on: the tiny dataset, one fold, 3 seed variants x 2 shards of CRF
    # jobs, the k10 pseudo-labels (config.yaml's k, kept by the merge) and the k5 ablation row
    assert config["dataset"]["kind"] == "generated" and config["dataset"]["generated_size"] == "tiny"
    assert config["folds"] == [0] and config["dataset"]["shards"] == 2
    assert config["seeds"]["variants"] == ["cam", "icd", "icd_sal"]
    assert config["base"]["epochs"] == 2 and config["discovery"]["k"] == 10
    assert config["finetune"]["ablations"] == ["no_overclustering"]
    broken = yaml.safe_load(tiny.read_text())
    broken["dataset"]["shards"] = "two"
    broken["discovery"] = {"kk": 10}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "broken.yaml", base_dir=REPO)
    assert "dataset.shards" in str(info.value) and "discovery.kk: unknown key" in str(info.value)


def _error(config, base_dir=REPO):
    with pytest.raises(ConfigError) as info:
        validate_config(config, base_dir=base_dir)
    return str(info.value)


def test_unknown_key_is_named(default_config):
    default_config["dataset"]["shardz"] = 3
    assert "config key dataset.shardz: unknown key" in _error(default_config)


def test_wrong_type_is_named(default_config):
    default_config["dataset"]["shards"] = "four"
    assert "config key dataset.shards: 'four' is not of type 'integer'" in _error(default_config)


def test_fold_outside_range(default_config):
    default_config["folds"] = [0, 5]
    assert "config key folds: fold 5 does not exist for dataset kind generated" in _error(default_config)


def test_fold_4_does_not_exist_for_coco(default_config, tmp_path):
    default_config["dataset"] = {"kind": "coco", "root": str(tmp_path)}
    default_config["folds"] = [4]
    assert "config key folds: fold 4 does not exist for dataset kind coco" in _error(default_config)


def test_missing_dataset_root(default_config, tmp_path):
    default_config["dataset"]["kind"] = "voc"
    default_config["dataset"]["root"] = str(tmp_path / "missing")
    message = _error(default_config)
    assert "config key dataset.root" in message and "does not exist" in message


def test_float_written_as_1e_3_string_is_rejected(default_config):
    default_config["splits"]["selection_fraction"] = "1e-3"
    assert "config key splits.selection_fraction" in _error(default_config)


def test_every_problem_reported_at_once(default_config):
    bad = copy.deepcopy(default_config)
    bad["seed"] = -1
    bad["dataset"]["shards"] = 0
    message = _error(bad)
    assert "config key seed" in message and "config key dataset.shards" in message


def test_k_smaller_than_the_folds_novel_classes(default_config):
    default_config["discovery"]["k"] = 3
    assert "config key discovery.k: k=3 is smaller than the 5 novel classes of fold 0" in _error(default_config)


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5])
def test_clean_ratio_outside_open_interval(default_config, ratio):
    default_config["finetune"]["clean_ratio"] = ratio
    assert "config key finetune.clean_ratio" in _error(default_config)


def test_trunk_init_is_checked_against_backbone_and_weights(default_config, tmp_path):
    assert validate_config(copy.deepcopy(default_config), base_dir=REPO)["weak"]["model"]["init"] == "pretrained"
    config = copy.deepcopy(default_config)
    config["weak"]["model"]["backbone"] = "vgg16"
    assert "weak.model.init: pretrained is for the small backbone only" in _error(config)
    config["weak"]["model"]["init"] = "file"
    assert "weak.model.weights: empty" in _error(config)
    config["weak"]["model"]["weights"] = str(tmp_path / "missing.pt")
    assert "missing.pt is not a file" in _error(config)
    (tmp_path / "vgg.pt").write_bytes(b"x")
    config["weak"]["model"]["weights"] = str(tmp_path / "vgg.pt")
    validate_config(copy.deepcopy(config), base_dir=REPO)
    config["weak"]["model"]["init"] = "random"
    assert "set init: file to load it" in _error(config)


def test_per_epoch_evaluation_is_refused_under_weak_supervision(default_config):
    config = copy.deepcopy(default_config)
    config["base"]["supervision"] = "weak"
    config["evaluation"]["per_epoch"] = True
    with pytest.raises(ConfigError, match="evaluation.per_epoch: evaluates against ground-truth masks"):
        validate_config(config, base_dir=REPO)
    config["base"]["supervision"] = "full"
    assert validate_config(config, base_dir=REPO)["evaluation"]["per_epoch"] is True

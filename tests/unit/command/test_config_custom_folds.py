"""Config validation of folds defined by class list (custom_folds) and of discovery.k / k_range:
every problem names its key."""

import pytest
import yaml

from ncdss_core.config import ConfigError, validate_config
from conftest import REPO


@pytest.fixture
def config():
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


def _error(config) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(config, base_dir=REPO)
    return str(info.value)


def test_custom_folds_with_3_5_and_8_novel_classes_are_valid_and_runnable(config):
    config["custom_folds"] = {10: [1, 4, 7], 11: [2, 9, 13, 15, 18], 12: [2, 9, 13, 15, 18, 20, 3, 6]}
    config["folds"] = [0, 10, 11, 12]
    config["discovery"]["k"] = 16  # at least the 8 novel classes of fold 12
    assert validate_config(config, base_dir=REPO)["custom_folds"][12] == [2, 9, 13, 15, 18, 20, 3, 6]


@pytest.mark.parametrize("custom, message", [
    ({10: [1, 21]}, "config key custom_folds.10: unknown class id(s) 21 (dataset kind generated has classes 1..20)"),
    ({10: [0, 3]}, "config key custom_folds.10: unknown class id(s) 0"),
    ({10: [3, 4, 3]}, "config key custom_folds.10: duplicate class id(s) 3"),
    ({10: []}, "config key custom_folds.10: an empty or missing class list"),
    ({2: [1, 4, 7]}, "config key custom_folds.2: fold 2 is a standard fold of dataset kind generated"),
    ({10: list(range(1, 21))}, "config key custom_folds.10: every class is novel"),
    ({10: [1, "cat"]}, "config key custom_folds.10"),
])
def test_bad_custom_folds_name_the_key(config, custom, message):
    config["custom_folds"] = custom
    assert message in _error(config)


def test_a_fold_neither_standard_nor_defined_is_named(config):
    config["folds"] = [11]
    config["custom_folds"] = {10: [1, 4, 7]}
    assert "config key folds: fold 11 does not exist for dataset kind generated" in _error(config)


def test_integer_k_below_a_custom_folds_novel_classes(config):
    config["custom_folds"] = {11: [2, 9, 13, 15, 18, 20, 3, 6]}
    config["folds"] = [11]
    config["discovery"]["k"] = 6
    assert "config key discovery.k: k=6 is smaller than the 8 novel classes of fold 11" in _error(config)
    config["discovery"]["k"] = "auto"  # auto chooses its own k: nothing to compare
    assert validate_config(config, base_dir=REPO)["discovery"]["k"] == "auto"


@pytest.mark.parametrize("k", ["automatic", 0, 2.5, -3])
def test_bad_k_values_name_the_key(config, k):
    config["discovery"]["k"] = k
    assert "config key discovery.k:" in _error(config)


@pytest.mark.parametrize("section, message", [
    ({"k_range": [8, 3]}, "config key discovery.k_range: [8, 3] is empty"),
    ({"k_range": [1, 6], "k_estimator": "silhouette"}, "config key discovery.k_range: the silhouette"),
    ({"k_range": [3]}, "config key discovery.k_range"),
    ({"k_estimator": "elbow"}, "config key discovery.k_estimator"),
    ({"k_factor": 0}, "config key discovery.k_factor"),
    ({"k_probes_per_class": 0}, "config key discovery.k_probes_per_class"),
])
def test_bad_estimate_keys_name_the_key(config, section, message):
    config["discovery"].update(section)
    assert message in _error(config)

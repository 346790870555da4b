"""The NCDSS settings: every key of config.yaml's sections read by exactly one declaration."""

import pytest
from config_defaults import section

from ncdss_core.discovery.settings import (
    BaseRemovalSettings,
    BaseSettings,
    ClusteringSettings,
    FinetuneSettings,
    KEstimateSettings,
    ReassignmentSettings,
    SelfTrainingSettings,
)
from ncdss_core.models.segmodel import ModelSettings
from ncdss_core.settings import split_params

# keys the Snakefile reads to build the DAG (which runs exist), not a stage
# (k_factor: the multiple in the auto path label, clusters/kauto_x<k_factor>)
DAG_KEYS = {"finetune": {"ablations", "ablation_supervision"}, "discovery": {"k", "k_factor"}}
# keys a rule tracks as a single value: the ranking rule's clean ratio, the base probes' count
SINGLE_VALUES = {"finetune": {"clean_ratio"}, "discovery": {"k_probes_per_class"}}
READERS = {
    "model": [ModelSettings],
    "base": [BaseSettings],
    "discovery": [BaseRemovalSettings, ClusteringSettings, KEstimateSettings],
    "finetune": [FinetuneSettings, SelfTrainingSettings, ReassignmentSettings],
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_every_key_of_a_section_has_exactly_one_reader(name):
    declared = [key for cls in READERS[name] for key in cls.keys()]
    assert len(declared) == len(set(declared)), "a key declared by two settings classes"
    assert all(cls.SECTION == name for cls in READERS[name])
    expected = set(section(name)) - DAG_KEYS.get(name, set()) - SINGLE_VALUES.get(name, set())
    assert set(declared) == expected


def test_from_params_names_unknown_and_missing_keys_and_types_floats():
    params = section("base")
    assert BaseSettings.from_params(params).lr == params["lr"]
    with pytest.raises(ValueError, match=r"base: unknown key\(s\) lr_decay"):
        BaseSettings.from_params({**params, "lr_decay": 0.1})
    with pytest.raises(ValueError, match=r"base: missing key\(s\) epochs"):
        BaseSettings.from_params({k: v for k, v in params.items() if k != "epochs"})
    made = BaseSettings.from_params({**params, "lr": 1})  # YAML's `1` where a float is declared
    assert made.lr == 1.0 and type(made.lr) is float
    assert type(BaseSettings.from_params({**params, "epochs": 3}).epochs) is int


def test_split_params_gives_each_class_its_keys_and_refuses_a_key_nobody_reads():
    finetune = section("finetune")
    basic = {key: finetune[key] for key in FinetuneSettings.keys()}
    train, self_training, reassignment = split_params(basic, FinetuneSettings, SelfTrainingSettings,
                                                      ReassignmentSettings, section="finetune")
    assert train.epochs == finetune["epochs"] and self_training is None and reassignment is None
    with pytest.raises(ValueError, match=r"finetune: unknown key\(s\) clean_ratio"):
        split_params({**basic, "clean_ratio": 0.5}, FinetuneSettings, SelfTrainingSettings,
                     ReassignmentSettings, section="finetune")

"""Every value in one place: config.yaml sets every key, config/schema.yaml types and describes every
key and holds no value (the library's functions: test_library_defaults.py)."""

from __future__ import annotations

from typing import Any, Iterator

import yaml

from ncdss_core.config import load_config, load_schema, read_yaml, validate_config
from conftest import REPO


def _config() -> dict:
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _defaults(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for name, sub in node.items():
            if name == "default":
                yield path or "<top level>"
            yield from _defaults(sub, f"{path}/{name}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _defaults(sub, f"{path}/{i}")


def test_the_schema_holds_no_default():
    found = list(_defaults(load_schema()))
    assert not found, f"config/schema.yaml holds values (default:) at {found}; put them in config.yaml"


def _schema_keys(schema: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, sub in schema.get("properties", {}).items():
        keys.add(prefix + name)
        keys |= _schema_keys(sub, f"{prefix}{name}.")
    return keys


def _config_keys(config: dict, schema: dict, prefix: str = "") -> set[str]:
    """config.yaml's keys, into the mappings that the schema describes key by key."""
    keys = set()
    for name, value in config.items():
        keys.add(prefix + name)
        sub = schema.get("properties", {}).get(name, {})
        if isinstance(value, dict) and "properties" in sub:
            keys |= _config_keys(value, sub, f"{prefix}{name}.")
    return keys


def test_config_yaml_sets_every_key_the_schema_declares():
    schema = load_schema()
    declared, present = _schema_keys(schema), _config_keys(_config(), schema)
    assert not declared - present, f"keys the schema declares that config.yaml does not set: {sorted(declared - present)}"
    assert not present - declared, f"keys of config.yaml the schema does not declare: {sorted(present - declared)}"


def test_a_config_file_alone_gets_config_yaml_values(tmp_path):
    """snakemake --directory elsewhere --configfile tiny.yaml finds no config.yaml to load first: the
    validated config is still tiny.yaml merged over config.yaml, as in the repository."""
    tiny = REPO / "tests" / "configs" / "tiny.yaml"
    alone = validate_config(read_yaml(tiny), base_dir=REPO)
    assert alone == load_config(tiny, base_dir=REPO)
    assert alone["base"]["decay_epochs"] == [0] and alone["discovery"] == _config()["discovery"]

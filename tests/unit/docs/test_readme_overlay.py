"""The README's VOC overlay is what a user copies first: every key in it must be one the config
schema knows, with a value of the right type (the files it names exist only on the user's side,
so the checks across keys and files are left to `ncdss validate` there)."""

import re

import jsonschema
import yaml
from snakemake.utils import update_config

from conftest import REPO
from ncdss_core.config import load_schema, read_yaml


def readme_overlay() -> dict:
    block = re.search(r"```yaml\n# voc\.yaml\n(?P<body>.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block, "the README's voc.yaml overlay was not found"
    return yaml.safe_load(block.group("body"))


def test_the_readme_voc_overlay_fits_the_schema():
    overlay = readme_overlay()
    assert overlay["finetune"]["strong_jitter"] == [0.5, 0.5, 0.5, 0.25]  # the papers' strong view
    config = read_yaml(REPO / "config.yaml")
    update_config(config, overlay)
    errors = [e.message for e in jsonschema.Draft202012Validator(load_schema()).iter_errors(config)]
    assert errors == []


def test_the_schema_check_would_catch_a_misspelt_key():
    overlay = readme_overlay()
    overlay["finetune"]["strong_jiter"] = overlay["finetune"].pop("strong_jitter")
    config = read_yaml(REPO / "config.yaml")
    update_config(config, overlay)
    assert list(jsonschema.Draft202012Validator(load_schema()).iter_errors(config))

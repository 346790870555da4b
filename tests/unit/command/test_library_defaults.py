"""No library function carries a value of a config key as a default: the value is config.yaml's,
passed by the caller, so that a caller that forgets it fails instead of running with another value."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, Iterator

import yaml

import ncdss_core
from conftest import REPO


def _config() -> dict:
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _leaf_names(config: dict) -> set[str]:
    names = set()
    for name, value in config.items():
        names |= _leaf_names(value) if isinstance(value, dict) else {name}
    return names


# Parameters named like a config key whose default is not a value of that key: (name, default) -> why.
NOT_A_CONFIG_VALUE = {
    ("split", "trainaug"): "the split a dataset reader reads unless told; evaluation.split picks the split "
                           "a model is scored on and is passed explicitly",
    ("mode", "r"): "an HDF5 file's open mode, not weak.mode",
    ("mode", "w"): "an HDF5 file's open mode, not weak.mode",
    ("mode", True): "torch.nn.Module.train(mode=True), not weak.mode",
    ("source", "classes"): "where the index reads class presence from (label maps), not saliency.source",
}
# Single functions whose parameter shares a config key's name but not its meaning: where -> why.
NOT_A_CONFIG_VALUE_HERE = {
    "ncdss_core.data.transforms:Augment.__init__(flip)": "NCDSS's flip probability, a constant of the reference "
                                                         "transforms; weak.train.flip is ICD's on/off switch",
    "ncdss_core.models.segmodel:build_model(backbone_weights)": "None: no weights file; the workflow passes "
                                                                "model.backbone_weights",
    "ncdss_core.provenance.record:write_provenance(seed)": "None: a stage that draws no random number records "
                                                           "no seed",
}


def _functions() -> Iterator[tuple[str, Any]]:
    """Every function and method defined in ncdss_core, as ("module:qualname", function)."""
    for info in pkgutil.walk_packages(ncdss_core.__path__, "ncdss_core."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield f"{module.__name__}:{name}", obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member):
                        yield f"{module.__name__}:{name}.{attr}", member


def test_no_library_function_defaults_a_config_key():
    keys = _leaf_names(_config())
    flagged = {}
    for where, function in _functions():
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in keys and parameter.default is not inspect.Parameter.empty:
                flagged[f"{where}({parameter.name})"] = parameter.default
    allowed = set(NOT_A_CONFIG_VALUE_HERE)
    offending = {where: default for where, default in flagged.items() if where not in allowed
                 and not any(where.endswith(f"({name})") and default == value and type(default) is type(value)
                             for name, value in NOT_A_CONFIG_VALUE)}
    assert not offending, ("library defaults for config keys (the value belongs in config.yaml, passed by the "
                           f"caller): {offending}")
    stale = allowed - set(flagged)
    assert not stale, f"allowlisted defaults that no longer exist (remove them from the list): {sorted(stale)}"

"""Validate a workflow config before any job runs.

Two layers: the JSON schema (config/schema.yaml: unknown keys, types, bounds) and the checks a schema
cannot express (a fold the dataset does not have, a fold defined by class list with an unknown, repeated
or standard id, k smaller than the fold's novel classes, an empty k_range, a dataset
root that does not exist or holds no list files of its layout, a list file whose ids are not plain
file names). A number is finite: NaN and infinity are refused wherever the schema types a number
or an integer. All problems are reported together in one message, each naming its key.
Every value comes from config.yaml, the base that a run's config files are merged over; the schema
holds none.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ncdss_core.data.folds import custom_fold_problems, normalise_custom_folds, novel_classes, standard_folds

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"
# Every value of every key: the Snakefile's `configfile:` wherever snakemake runs, and the base that
# validate_config merges a config over.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


class ConfigError(ValueError):
    """An invalid config; the message lists every problem with its key."""


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    # libyaml's loader when PyYAML has it: every snakemake call parses the schema, 5x faster so
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _finite_number(checker, instance: Any) -> bool:
    """A JSON number that is finite: YAML reads `.nan` and `.inf` as floats, which the schema's
    `number` would take (and `minimum` cannot refuse: every comparison with NaN is false)."""
    return (jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "number")
            and (not isinstance(instance, float) or math.isfinite(instance)))


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number))


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        prefix = _key(error.absolute_path)
        names = ", ".join(f"{prefix + '.' if error.absolute_path else ''}{e}" for e in extra)
        return f"config key {names}: unknown key (allowed here: {', '.join(allowed)})"
    if error.validator == "required":
        return f"config key {_key(error.absolute_path)}: {error.message}"
    if (error.validator == "type" and isinstance(error.instance, float)
            and not math.isfinite(error.instance)):
        return (f"config key {_key(error.absolute_path)}: {error.instance} is not a finite number "
                f"(NaN and infinity are refused)")
    return f"config key {_key(error.absolute_path)}: {error.message}"


def _get(config: dict, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _as_list(config: dict, dotted: str) -> list[str]:
    value = _get(config, dotted) or []
    return [value] if isinstance(value, str) else list(value)


def supervisions(config: dict) -> list[str]:
    """`base.supervision` as a list: one setting ("full") or several ([full, weak])."""
    return _as_list(config, "base.supervision")


def ablation_supervisions(config: dict) -> list[str]:
    """The supervisions whose runs also train the ablation rows (`finetune.ablation_supervision`)."""
    return [s for s in supervisions(config) if s in _as_list(config, "finetune.ablation_supervision")]


def semantic_problems(config: dict, base_dir: Path) -> list[str]:
    """Checks across keys that the schema cannot express."""
    problems = []
    dataset = config.get("dataset", {})
    kind = dataset.get("kind")
    root = dataset.get("root")
    if kind in ("voc", "coco") and root is not None:
        path = Path(root) if Path(root).is_absolute() else base_dir / root
        if not path.is_dir():
            problems.append(f"config key dataset.root: {path} does not exist (dataset.kind {kind} "
                            f"reads an existing dataset; only kind generated is written by the workflow)")
        else:
            problems += _dataset_list_problems(kind, path)
    if kind is None:
        return problems
    folds = config.get("folds", [])
    custom_problems = custom_fold_problems(kind, config.get("custom_folds"))
    problems += custom_problems
    custom = {} if custom_problems else normalise_custom_folds(config.get("custom_folds"))
    allowed = standard_folds(kind) + tuple(sorted(custom))
    for fold in folds:
        if fold not in allowed:
            problems.append(f"config key folds: fold {fold} does not exist for dataset kind {kind} "
                            f"(valid folds: {', '.join(map(str, allowed))}; define others under custom_folds)")
    sizes = {fold: len(custom[fold]) if fold in custom else len(novel_classes(kind, fold))
             for fold in folds if fold in allowed}
    k = _get(config, "discovery.k")
    if isinstance(k, int):
        for fold, size in sizes.items():
            if k < size:
                problems.append(f"config key discovery.k: k={k} is smaller than the "
                                f"{size} novel classes of fold {fold}")
    problems += _k_estimate_problems(config)
    problems += _trunk_init_problems(config, base_dir)
    problems += _backbone_weights_problems(config, base_dir)
    if _get(config, "evaluation.per_epoch") and "full" not in supervisions(config):
        problems.append("config key evaluation.per_epoch: evaluates against ground-truth masks during "
                        "training, which base.supervision weak rules out (it reads no pixel label); it applies "
                        "to the runs under full supervision")
    ratio = _get(config, "finetune.clean_ratio")
    if isinstance(ratio, (int, float)) and not 0 < ratio < 1:
        problems.append(f"config key finetune.clean_ratio: {ratio} is outside (0, 1)")
    return problems


def _k_estimate_problems(config: dict) -> list[str]:
    """discovery.k_range and the estimator (read under discovery.k auto, checked always)."""
    k_range, estimator = _get(config, "discovery.k_range"), _get(config, "discovery.k_estimator")
    if not isinstance(k_range, list) or len(k_range) != 2:
        return []
    low, high = k_range
    if low > high:
        return [f"config key discovery.k_range: [{low}, {high}] is empty (smallest above largest)"]
    if estimator == "silhouette" and low < 2:
        return [f"config key discovery.k_range: the silhouette (discovery.k_estimator) needs at least 2 "
                f"clusters, the range starts at {low}"]
    return []


def _dataset_list_problems(kind: str, root: Path) -> list[str]:
    """The list files of an existing dataset's layout, read as the scan reads them (present, UTF-8,
    not empty, every id a plain file name), so that a root without the layout, or a list that
    would make a stage read or write outside the dataset, stops the run before any job starts."""
    from ncdss_core.data.datasets import SPLITS, open_dataset, scan_list

    dataset = open_dataset(kind, root)
    lists = [dataset.list_path(split) for split in SPLITS]
    if not any(path.is_file() for path in lists):
        return [f"config key dataset.root: {root} holds no {kind} dataset: "
                f"{', '.join(str(p.relative_to(root)) for p in lists)} missing"]
    return [f"config key dataset.root: {problem}" for split in SPLITS for problem in scan_list(dataset, split)[1]]


def _trunk_init_problems(config: dict, base_dir: Path) -> list[str]:
    """weak.model.init against the backbone and weak.model.weights."""
    init, backbone = _get(config, "weak.model.init"), _get(config, "weak.model.backbone")
    weights = _get(config, "weak.model.weights") or ""
    if init == "pretrained" and backbone != "small":
        return [f"config key weak.model.init: pretrained is for the small backbone only; {backbone} "
                f"takes init file (a local weights file) or random"]
    if init == "file":
        if not weights:
            return ["config key weak.model.weights: empty, but weak.model.init is file"]
        path = Path(weights) if Path(weights).is_absolute() else base_dir / weights
        if not path.is_file():
            return [f"config key weak.model.weights: {path} is not a file"]
    elif weights:
        return [f"config key weak.model.weights: set to {weights!r}, but weak.model.init is {init} "
                f"(set init: file to load it)"]
    return []


def _backbone_weights_problems(config: dict, base_dir: Path) -> list[str]:
    """model.backbone_weights: a file whose keys and shapes fit the configured backbone, checked
    here so that a wrong file stops the run before any job starts."""
    weights = _get(config, "model.backbone_weights") or ""
    if not weights:
        return []
    path = Path(weights) if Path(weights).is_absolute() else base_dir / weights
    if not path.is_file():
        return [f"config key model.backbone_weights: {path} is not a file"]
    from ncdss_core.models.segmodel import backbone_weights_mismatch

    try:
        mismatch = backbone_weights_mismatch(path, config["model"])
    except Exception as error:  # not a torch file at all
        return [f"config key model.backbone_weights: {path} is not a readable state dict ({error})"]
    if mismatch:
        return [f"config key model.backbone_weights: {path} does not fit the configured backbone: {mismatch}"]
    return []


def validate_config(config: dict, base_dir: str | Path = ".", schema_path: Path = SCHEMA_PATH) -> dict:
    """The config the run uses, config.yaml with `config` merged over it (as --configfile merges; the
    same config again when it is merged over config.yaml already), or ConfigError listing every problem.
    The schema holds no values: config.yaml sets every key."""
    from snakemake.utils import update_config

    given, config = config, read_yaml(DEFAULT_CONFIG)
    update_config(config, copy.deepcopy(given))
    schema = load_schema(schema_path)
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    problems = [_describe(e) for e in errors]
    if not problems:  # checks across keys only on values of the right types
        problems = semantic_problems(config, Path(base_dir))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return config


def read_yaml(path: str | Path) -> dict:
    """A config file as a dict; an error naming the file when it is not a YAML mapping."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a YAML mapping, got {type(data).__name__}")
    return data


def merged_config(*paths: str | Path, defaults: str | Path | None = DEFAULT_CONFIG) -> dict:
    """config.yaml with each file merged over it in turn, exactly as `snakemake --configfile A B`
    merges them (nested mappings key by key, anything else replaced)."""
    from snakemake.utils import update_config

    config = read_yaml(defaults) if defaults is not None else {}
    for path in paths:
        update_config(config, read_yaml(path))
    return config


def load_config(*paths: str | Path, base_dir: str | Path | None = None) -> dict:
    """Validate and return what the workflow would run with `--configfile paths...`: config.yaml with
    each file merged over it."""
    config = merged_config(*paths)
    return validate_config(config, base_dir if base_dir is not None else Path.cwd())

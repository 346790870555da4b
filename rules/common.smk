# Shared helpers of all stage families (config validation, tracked params, wildcard values,
# paths) and the target lists of `all`. Kept apart from the rules, as the linter asks.
import re
import sys

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from ncdss_core.config import ConfigError, supervisions, validate_config
from ncdss_core.data.folds import (
    is_custom_fold,
    novel_classes,
    set_custom_folds,
    valid_folds,
)
from ncdss_core.data.shards import shard_name

try:
    _validated = validate_config(config, base_dir=".")
except ConfigError as error:
    raise WorkflowError(str(error))
config.update(_validated)
# the folds defined by class list, for every fold lookup while the DAG is built
set_custom_folds(config["dataset"]["kind"], config["custom_folds"])

FOLDS = [int(f) for f in config["folds"]]
N_SHARDS = int(config["dataset"]["shards"])
SHARDS = [shard_name(s) for s in range(N_SHARDS)]
DATASET_KIND = config["dataset"]["kind"]
# the base supervisions the discovery chain runs under (base.supervision: one or a list); the first
# is the one the report shows
SUPERVISIONS = supervisions(config)
DATASET_ROOT = config["dataset"]["root"]
DATASET = "results/dataset"
# the trainings read their images through it under dataset.array_store (rule array_store)
ARRAY_STORE = "results/store/trainaug"


def _sorted_builtin(value):
    """Plain builtins with dict keys sorted, so a param's repr is stable (Snakemake compares reprs)."""
    if isinstance(value, dict):
        return {k: _sorted_builtin(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_sorted_builtin(v) for v in value]
    return value


def tracked(*keys):
    """A config value (dotted path allowed) as a params-safe builtin: `tracked("crf")`."""
    out = {}
    for key in keys:
        node = config
        for part in key.split("."):
            node = node[part]
        out[key] = _sorted_builtin(node)
    return out[keys[0]] if len(keys) == 1 else out


def fold_ids():
    """The fold wildcard's values: the dataset kind's standard folds and the custom ones."""
    return one_of([str(f) for f in valid_folds(DATASET_KIND)])


def one_of(names):
    """A wildcard constraint that matches exactly one of `names`."""
    return "|".join(re.escape(name) for name in names)


FOLD_IDS = fold_ids()


def dataset_params(wildcards=None):
    """What a stage needs to open the dataset and, for a fold defined by class list
    (custom_folds), its novel classes: tracked only there, so the standard folds' params are as
    they were and adding a custom fold reruns nothing else."""
    params = {"kind": DATASET_KIND, "root": DATASET_ROOT}
    fold = getattr(wildcards, "fold", None)
    if fold is not None and is_custom_fold(fold):
        params["novel_classes"] = novel_classes(DATASET_KIND, int(fold))
    return params


def splits_kind(wildcards):
    """The splits rule's `kind` param: the dataset kind, or for a fold defined by class list the
    dataset params with its novel classes (the standard folds keep the plain string they had).
    """
    return dataset_params(wildcards) if is_custom_fold(wildcards.fold) else DATASET_KIND


def array_store_input(wildcards=None):
    """{"store": the trainaug array store} under dataset.array_store, else {} (decode the files)."""
    return {"store": ARRAY_STORE} if config["dataset"]["array_store"] else {}


def splits_dir(fold, supervision):
    """The fold's lists, class presence from the label maps (full) or the image-level labels (weak)."""
    return f"results/splits/fold{fold}/{supervision}"


def dataset_source():
    """The generated dataset directory, or the list files of an existing dataset."""
    if DATASET_KIND == "generated":
        return DATASET_ROOT
    if DATASET_KIND == "coco":
        return [f"{DATASET_ROOT}/train2014.txt", f"{DATASET_ROOT}/val2014.txt"]
    return [f"{DATASET_ROOT}/sets/trainaug.txt", f"{DATASET_ROOT}/sets/val.txt"]


def data_targets():
    return [DATASET] + [splits_dir(f, s) for f in FOLDS for s in SUPERVISIONS]

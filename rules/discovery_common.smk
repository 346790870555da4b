# Helpers of the discovery families (base.smk, discovery.smk, finetune.smk, evaluate.smk): paths,
# input functions, tracked params, and the target lists of `all`. Functions only (lint: no rules).
from ncdss_core.discovery.variants import (
    FINETUNED_MODELS,
    VARIANTS,
    backbone_init,
    model_name,
    variant_of_model,
)

# --- wildcard values ----------------------------------------------------------------------------
# Model names as in results/ and the tables: the base model and every fine-tuned model.
MODELS = ("base", *FINETUNED_MODELS)


# --- paths --------------------------------------------------------------------------------------
def base_model_dir(fold):
    return f"results/base/fold{fold}/model"


def removal_dir(fold, shard):
    return f"results/discovery/fold{fold}/base_removal/{shard}"


def pseudo_labels_dir(fold, k):
    return f"results/discovery/fold{fold}/pseudo_labels/k{k}"


def model_dir(fold, model):
    """base, basic, eums or ablation_<row> -> its model directory."""
    if model == "base":
        return base_model_dir(fold)
    return f"results/finetune/fold{fold}/{model}/model"


# --- input functions ----------------------------------------------------------------------------
def base_model_inputs(wildcards):
    inputs = {
        "dataset": DATASET,
        "splits": splits_dir(wildcards.fold),
        **array_store_input(),
    }
    if config["base"]["supervision"] == "weak":
        inputs["weak_labels"] = weak_labels_dir(wildcards.fold)
    return inputs


def removal_shards(wildcards):
    return [removal_dir(wildcards.fold, shard) for shard in SHARDS]


def variant_k(name, fold):
    return VARIANTS[name].k(int(config["discovery"]["k"]), DATASET_KIND, int(fold))


def finetune_inputs(wildcards):
    """What the fine-tuning run of model {finetuned_model} reads."""
    variant = variant_of_model(wildcards.finetuned_model)
    fold = wildcards.fold
    files = {
        "dataset": DATASET,
        "splits": splits_dir(fold),
        "pseudo_labels": pseudo_labels_dir(fold, variant_k(variant.name, fold)),
        **array_store_input(),
    }
    if variant.entropy_ranking:
        files["ranking"] = f"results/finetune/fold{fold}/ranking"
    if backbone_init(config["finetune"], config["model"]) == "base_model":
        files["base_model"] = base_model_dir(fold)
    if config["base"]["supervision"] == "weak":
        files["weak_labels"] = weak_labels_dir(fold)
    return files


def eval_model_dir(wildcards):
    return model_dir(wildcards.fold, wildcards.model)


# --- params -------------------------------------------------------------------------------------
def discovery_subset(*keys):
    return {key: tracked(f"discovery.{key}") for key in sorted(keys)}


def finetune_variant(wildcards):
    """The variant (variants.VARIANTS key) of fine-tuned model {finetuned_model}."""
    return variant_of_model(wildcards.finetuned_model).name


def finetune_k(wildcards):
    return variant_k(finetune_variant(wildcards), wildcards.fold)


def finetune_params(wildcards):
    """Exactly the finetune keys a variant reads (basic does not rerun when an EUMS key changes)."""
    variant = variant_of_model(wildcards.finetuned_model)
    return {key: tracked(f"finetune.{key}") for key in variant.config_keys()}


# --- targets ------------------------------------------------------------------------------------
def evaluated_models():
    """Model names as in results/eval/fold{fold}/: base, basic, eums, ablation_<row>."""
    ablations = [model_name(a) for a in config["finetune"]["ablations"]]
    return list(config["evaluation"]["models"]) + ablations


def table_entries():
    return [[f, m] for f in FOLDS for m in evaluated_models()]


def discovery_targets():
    return [pseudo_labels_dir(f, config["discovery"]["k"]) for f in FOLDS]


def evaluation_targets():
    return ["results/tables/discovery"]

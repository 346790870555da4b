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
# Training replicates of the discovery chain: replicate r trains with seed + r (README, "Replicates").
REPLICATES = list(range(int(config["replicates"])))


def training_seed(replicate):
    return int(config["seed"]) + int(replicate)


def replicate_seed(wildcards):
    """The training seed of replicate {replicate} (a rule's `seed` param)."""
    return training_seed(wildcards.replicate)


# --- paths --------------------------------------------------------------------------------------
# Everything from the base model on is per fold and replicate: results/<family>/fold{f}/rep{r}/...
def run_dir(family, fold, replicate):
    return f"results/{family}/fold{fold}/rep{replicate}"


def base_model_dir(fold, replicate):
    return f"{run_dir('base', fold, replicate)}/model"


def removal_dir(fold, replicate, shard):
    return f"{run_dir('discovery', fold, replicate)}/base_removal/{shard}"


def pseudo_labels_dir(fold, replicate, k):
    return f"{run_dir('discovery', fold, replicate)}/pseudo_labels/k{k}"


def model_dir(fold, replicate, model):
    """base, basic, eums or ablation_<row> -> its model directory."""
    if model == "base":
        return base_model_dir(fold, replicate)
    return f"{run_dir('finetune', fold, replicate)}/{model}/model"


def ranking_dir(fold, replicate):
    return f"{run_dir('finetune', fold, replicate)}/ranking"


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
    return [removal_dir(wildcards.fold, wildcards.replicate, shard) for shard in SHARDS]


def variant_k(name, fold):
    return VARIANTS[name].k(int(config["discovery"]["k"]), DATASET_KIND, int(fold))


def finetune_inputs(wildcards):
    """What the fine-tuning run of model {finetuned_model} reads."""
    variant = variant_of_model(wildcards.finetuned_model)
    fold, replicate = wildcards.fold, wildcards.replicate
    files = {
        "dataset": DATASET,
        "splits": splits_dir(fold),
        "pseudo_labels": pseudo_labels_dir(fold, replicate, variant_k(variant.name, fold)),
        **array_store_input(),
    }
    if variant.entropy_ranking:
        files["ranking"] = ranking_dir(fold, replicate)
    if backbone_init(config["finetune"], config["model"]) == "base_model":
        files["base_model"] = base_model_dir(fold, replicate)
    if config["base"]["supervision"] == "weak":
        files["weak_labels"] = weak_labels_dir(fold)
    return files


def eval_model_dir(wildcards):
    return model_dir(wildcards.fold, wildcards.replicate, wildcards.model)


def ranking_inputs(wildcards):
    fold, replicate = wildcards.fold, wildcards.replicate
    return {"model": model_dir(fold, replicate, "basic"),
            "pseudo_labels": pseudo_labels_dir(fold, replicate, variant_k("basic", fold))}


# --- params -------------------------------------------------------------------------------------
def discovery_subset(*keys):
    return {key: tracked(f"discovery.{key}") for key in sorted(keys)}


def finetune_variant(wildcards):
    """The variant (variants.VARIANTS key) of fine-tuned model {finetuned_model}."""
    return variant_of_model(wildcards.finetuned_model).name


def finetune_k(wildcards):
    return variant_k(finetune_variant(wildcards), wildcards.fold)


def per_epoch_evaluation():
    """evaluation.per_epoch, with the split and matching it evaluates with only when on (so that an
    evaluation key reruns no training while the diagnostic is off)."""
    evaluation = config["evaluation"]
    if not evaluation["per_epoch"]:
        return {"per_epoch": False}
    return {"per_epoch": True, "split": evaluation["split"], "matching": evaluation["matching"]}


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
    """[fold, training seed, model, evaluation directory] of every evaluated model."""
    return [[f, training_seed(r), m, f"results/eval/fold{f}/rep{r}/{m}"]
            for f in FOLDS for r in REPLICATES for m in evaluated_models()]


def discovery_targets():
    return [pseudo_labels_dir(f, r, config["discovery"]["k"]) for f in FOLDS for r in REPLICATES]


def evaluation_targets():
    return ["results/tables/discovery"]

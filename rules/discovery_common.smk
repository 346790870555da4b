# Helpers of the discovery families (base.smk, discovery.smk, finetune.smk, evaluate.smk): paths,
# input functions, tracked params, and the target lists of `all`. Functions only (lint: no rules).
from ncdss_core.config import ablation_supervisions
from ncdss_core.discovery.cluster_count import AUTO, K_LABEL_PATTERN, auto_factor
from ncdss_core.discovery.settings import (
    BaseRemovalSettings,
    ClusteringSettings,
    KEstimateSettings,
)
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
# discovery.k auto: each run estimates its number of novel classes (rule k_estimate) and names its
# clusters auto_x<factor> (ncdss_core/discovery/cluster_count.py)
AUTO_K = config["discovery"]["k"] == AUTO


def training_seed(replicate):
    return int(config["seed"]) + int(replicate)


def replicate_seed(wildcards):
    """The training seed of replicate {replicate} (a rule's `seed` param)."""
    return training_seed(wildcards.replicate)


# --- paths --------------------------------------------------------------------------------------
# Everything from the base model on is per fold, supervision and replicate (a "run"):
# results/<family>/fold{f}/{supervision}/rep{r}/...
def run_dir(family, fold, supervision, replicate):
    return f"results/{family}/fold{fold}/{supervision}/rep{replicate}"


def base_model_dir(fold, supervision, replicate):
    return f"{run_dir('base', fold, supervision, replicate)}/model"


def removal_dir(fold, supervision, replicate, shard):
    return f"{run_dir('discovery', fold, supervision, replicate)}/base_removal/{shard}"


def k_estimate_dir(fold, supervision, replicate):
    return f"{run_dir('discovery', fold, supervision, replicate)}/k_estimate"


def base_probes_dir(fold, supervision, replicate):
    return f"{run_dir('discovery', fold, supervision, replicate)}/base_probes"


def pseudo_labels_dir(fold, supervision, replicate, k):
    return f"{run_dir('discovery', fold, supervision, replicate)}/pseudo_labels/k{k}"


def model_dir(fold, supervision, replicate, model):
    """base, basic, eums or ablation_<row> -> its model directory."""
    if model == "base":
        return base_model_dir(fold, supervision, replicate)
    return f"{run_dir('finetune', fold, supervision, replicate)}/{model}/model"


def ranking_dir(fold, supervision, replicate):
    return f"{run_dir('finetune', fold, supervision, replicate)}/ranking"


def _run(wildcards):
    """(fold, supervision, replicate) of a job."""
    return wildcards.fold, wildcards.supervision, wildcards.replicate


# --- input functions ----------------------------------------------------------------------------
def _supervision_inputs(wildcards):
    """The fold's lists of this supervision and, under weak supervision, the ICD labels."""
    inputs = {"splits": splits_dir(wildcards.fold, wildcards.supervision)}
    if wildcards.supervision == "weak":
        inputs["weak_labels"] = weak_labels_dir(wildcards.fold)
    return inputs


def base_model_inputs(wildcards):
    return {"dataset": DATASET, **_supervision_inputs(wildcards), **array_store_input()}


def removal_shards(wildcards):
    return [removal_dir(*_run(wildcards), shard) for shard in SHARDS]


def variant_k(name, fold):
    """The clusters of variant `name`: an integer, or an auto label (auto_x<factor>)."""
    discovery = config["discovery"]
    return VARIANTS[name].k(
        discovery["k"], DATASET_KIND, int(fold), int(discovery["k_factor"])
    )


def _estimate_input(wildcards, k):
    """{"estimate": the run's k_estimate artifact} for an auto label k, else {}."""
    if auto_factor(k) is None:
        return {}
    return {"estimate": k_estimate_dir(*_run(wildcards))}


def clustering_inputs(wildcards):
    return {
        "removal": removal_shards(wildcards),
        **_estimate_input(wildcards, wildcards.k),
    }


def base_probes_inputs(wildcards):
    """The base model (whose backbone, or the configured weights, makes the features) and the base
    labels of the run's supervision: the masks (full) or the ICD labels (weak)."""
    return {
        "dataset": DATASET,
        **_supervision_inputs(wildcards),
        "base_model": base_model_dir(*_run(wildcards)),
    }


def k_estimate_inputs(wildcards):
    """The novel prototypes, the dataset index (the true classes per image, for the separability
    diagnostic only) and, for the base_probes estimator, the labelled base probes."""
    inputs = {"removal": removal_shards(wildcards), "dataset": DATASET}
    if config["discovery"]["k_estimator"] == "base_probes":
        inputs["probes"] = base_probes_dir(*_run(wildcards))
    return inputs


def finetune_inputs(wildcards):
    """What the fine-tuning run of model {finetuned_model} reads."""
    variant = variant_of_model(wildcards.finetuned_model)
    run = _run(wildcards)
    files = {
        "dataset": DATASET,
        **_supervision_inputs(wildcards),
        "pseudo_labels": pseudo_labels_dir(
            *run, variant_k(variant.name, wildcards.fold)
        ),
        **array_store_input(),
        **_estimate_input(wildcards, variant_k(variant.name, wildcards.fold)),
    }
    if variant.entropy_ranking:
        files["ranking"] = ranking_dir(*run)
    if backbone_init(config["finetune"], config["model"]) == "base_model":
        files["base_model"] = base_model_dir(*run)
    return files


def eval_model_dir(wildcards):
    return model_dir(*_run(wildcards), wildcards.model)


def ranking_inputs(wildcards):
    run = _run(wildcards)
    return {
        "model": model_dir(*run, "basic"),
        "pseudo_labels": pseudo_labels_dir(*run, variant_k("basic", wildcards.fold)),
    }


def removal_inputs(wildcards):
    return {
        "splits": splits_dir(wildcards.fold, wildcards.supervision),
        "base_model": base_model_dir(*_run(wildcards)),
    }


# --- params -------------------------------------------------------------------------------------
def settings_params(settings):
    """The config keys a stage's settings class (ncdss_core/discovery/settings.py) reads, tracked."""
    return {key: tracked(f"{settings.SECTION}.{key}") for key in settings.keys()}


def finetune_variant(wildcards):
    """The variant (variants.VARIANTS key) of fine-tuned model {finetuned_model}."""
    return variant_of_model(wildcards.finetuned_model).name


def finetune_k(wildcards):
    return variant_k(finetune_variant(wildcards), wildcards.fold)


def base_params(wildcards):
    """The base section with this run's supervision (the list of supervisions is not a param: adding
    one reruns nothing of the others)."""
    return {
        **{k: v for k, v in tracked("base").items() if k != "supervision"},
        "supervision": wildcards.supervision,
    }


def run_supervision(wildcards):
    return wildcards.supervision


def per_epoch_evaluation(wildcards):
    """evaluation.per_epoch, with the split and matching it evaluates with only when on (so that an
    evaluation key reruns no training while the diagnostic is off); full supervision only, a weak run
    reads no pixel label."""
    evaluation = config["evaluation"]
    if not evaluation["per_epoch"] or wildcards.supervision != "full":
        return {"per_epoch": False}
    return {
        "per_epoch": True,
        "split": evaluation["split"],
        "matching": evaluation["matching"],
    }


def finetune_params(wildcards):
    """Exactly the finetune keys a variant reads (basic does not rerun when an EUMS key changes)."""
    variant = variant_of_model(wildcards.finetuned_model)
    return {key: tracked(f"finetune.{key}") for key in variant.config_keys()}


# --- targets ------------------------------------------------------------------------------------
def evaluated_models(supervision):
    """Model names as in results/eval/fold{fold}/{supervision}/: base, basic, eums, and
    ablation_<row> where finetune.ablation_supervision names the supervision."""
    models = list(config["evaluation"]["models"])
    if supervision in ablation_supervisions(config):
        models += [model_name(a) for a in config["finetune"]["ablations"]]
    return models


def table_entries():
    """[fold, training seed, supervision, model, evaluation directory] of every evaluated model."""
    return [
        [f, training_seed(r), s, m, f"{run_dir('eval', f, s, r)}/{m}"]
        for f in FOLDS
        for s in SUPERVISIONS
        for r in REPLICATES
        for m in evaluated_models(s)
    ]


def estimate_targets():
    """The k_estimate artifact of every run under discovery.k auto, else none."""
    if not AUTO_K:
        return []
    return [
        k_estimate_dir(f, s, r) for f in FOLDS for s in SUPERVISIONS for r in REPLICATES
    ]


def discovery_targets():
    return [
        pseudo_labels_dir(f, s, r, variant_k("basic", f))
        for f in FOLDS
        for s in SUPERVISIONS
        for r in REPLICATES
    ]


def evaluation_targets():
    return ["results/tables/discovery"] + (
        ["results/tables/k_estimates"] if AUTO_K else []
    )

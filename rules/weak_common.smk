# Helpers and target lists of the precompute and weak rule families (rules/precompute.smk,
# rules/weak.smk), kept apart from the rules as the linter asks.

WEAK_MODE = config["weak"]["mode"]
WEAK_FOLDS = ["all"] if WEAK_MODE == "all" else [str(f) for f in FOLDS]
SEED_VARIANTS = list(config["seeds"]["variants"])


def weak_fold(fold):
    """The ICD fold whose seeds serve discovery fold `fold` ('all' in mode all)."""
    return "all" if WEAK_MODE == "all" else str(fold)


def weak_labels_dir(fold):
    """Dataset-label PNGs of the fold's base images (CRF-refined ICD seeds by default)."""
    return f"results/weak/fold{weak_fold(fold)}/labels"


def _weak_splits(wildcards):
    """ICD sees image-level labels only: the lists built from them, whatever base.supervision is."""
    return [] if wildcards.fold == "all" else [splits_dir(wildcards.fold, "weak")]


PRETRAINED_TRUNK = "results/weak/pretrained_trunk"


def pretrained_trunk_input():
    """{"trunk": the pretrain_icd_trunk artifact} under weak.model.init: pretrained, else {}."""
    return (
        {"trunk": PRETRAINED_TRUNK}
        if config["weak"]["model"]["init"] == "pretrained"
        else {}
    )


def _icd_trunk(wildcards):
    """What train_icd's trunk starts from: the pretrained trunk (init pretrained) or the weights
    file (init file; an input, so that a replaced file reruns training); nothing when random.
    """
    if config["weak"]["model"]["init"] == "file":
        return {"weights": config["weak"]["model"]["weights"]}
    return pretrained_trunk_input()


def seed_saliency_input(wildcards):
    """The shard's saliency masks, which only the icd_sal variant reads."""
    return [f"results/saliency/{wildcards.shard}"] if "icd_sal" in SEED_VARIANTS else []


def variant_shards(stage):
    """A shard's directory of every seed variant, `results/weak/fold{fold}/<stage>/<variant>/{shard}`:
    one job makes a shard's seeds (or CRF refinements) of every variant, so the DAG has two jobs
    per shard where it would have two per shard and variant."""
    return [
        f"results/weak/fold{{fold}}/{stage}/{variant}/{{shard}}"
        for variant in SEED_VARIANTS
    ]


def variant_shard_dirs(stage):
    """variant_shards(stage) as the directory outputs of the job that writes them."""
    return [directory(path) for path in variant_shards(stage)]


def _saliency_superpixels(wildcards):
    """The estimator works on superpixels; importing needs none."""
    if config["saliency"]["source"] == "estimate":
        return {"superpixels": f"results/superpixels/{wildcards.shard}"}
    return {}


def precompute_targets():
    return expand("results/superpixels/{shard}", shard=SHARDS) + expand(
        "results/saliency/{shard}", shard=SHARDS
    )


def weak_targets():
    return (
        expand("results/weak/fold{fold}/seed_eval", fold=WEAK_FOLDS)
        + expand("results/weak/fold{fold}/labels", fold=WEAK_FOLDS)
        + ["results/tables/seeds"]
    )

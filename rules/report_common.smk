# Helpers and target list of the report rules (rules/report.smk), kept apart from the rules as the
# linter asks; they draw on the paths of every family, so this file comes after their helpers.


def report_inputs(wildcards):
    """Finished artifacts the report figures of one fold are drawn from (its first supervision and
    replicate)."""
    fold, run = wildcards.fold, (SUPERVISIONS[0], 0)
    weak = weak_fold(fold)
    return {
        **pretrained_trunk_input(),  # for its curve (rules/weak_common.smk)
        "dataset": DATASET,
        "seed_eval": f"results/weak/fold{weak}/seed_eval",
        "icd_model": f"results/weak/fold{weak}/icd_model",
        "ranking": ranking_dir(fold, *run),
        "pseudo_labels": pseudo_labels_dir(fold, *run, variant_k("basic", fold)),
        "base": model_dir(fold, *run, "base"),
        "basic": model_dir(fold, *run, "basic"),
        "eums": model_dir(fold, *run, "eums"),
        "shards": expand(
            "results/weak/fold{weak}/{stage}/{variant}/{shard}",
            weak=weak,
            stage=["seeds", "crf"],
            variant=[v for v in ("cam", "icd") if v in config["seeds"]["variants"]],
            shard=SHARDS,
        ),
    }


def weak_root(wildcards):
    return f"results/weak/fold{weak_fold(wildcards.fold)}"


def fold_estimates(wildcards):
    """Every run's k_estimate artifact of fold {fold} (discovery.k auto)."""
    return [
        k_estimate_dir(wildcards.fold, s, r) for s in SUPERVISIONS for r in REPLICATES
    ]


def report_targets():
    estimates = (
        expand("results/report/fold{fold}/k_estimate.png", fold=FOLDS) if AUTO_K else []
    )
    return (
        expand("results/report/fold{fold}/examples.png", fold=FOLDS)
        + ["results/report/discovery_results.csv"]
        + estimates
    )

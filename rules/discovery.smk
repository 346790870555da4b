# Clustering pseudo-labels: base removal and prototypes per shard, k-means per fold and k, fused
# palette PNGs. Pseudo-labels live under k{k}/ so over-clustering (discovery.k) and the k = N
# ablation row can coexist. Under discovery.k auto, k is a label (auto_x<factor>): the run's
# k_estimate artifact holds the estimated number of novel classes that the jobs multiply.


rule base_removal:
    input:
        unpack(removal_inputs),
        dataset=DATASET,
        saliency="results/saliency/{shard}",
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/base_removal/{shard}"
        ),
    log:
        "logs/base_removal/fold{fold}_{supervision}_rep{replicate}_{shard}.log",
    benchmark:
        "results/benchmarks/base_removal/fold{fold}_{supervision}_rep{replicate}_{shard}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        model=tracked("model"),
        discovery=settings_params(BaseRemovalSettings),
        shards=N_SHARDS,
        seed=replicate_seed,
    script:
        "../workflow_scripts/base_removal.py"


rule base_probes:
    input:
        unpack(base_probes_inputs),
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/base_probes"
        ),
    log:
        "logs/base_probes/fold{fold}_{supervision}_rep{replicate}.log",
    benchmark:
        "results/benchmarks/base_probes/fold{fold}_{supervision}_rep{replicate}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        model=tracked("model"),
        features=tracked("discovery.features"),
        per_class=tracked("discovery.k_probes_per_class"),
        supervision=run_supervision,
        seed=replicate_seed,
    script:
        "../workflow_scripts/base_probes.py"


rule k_estimate:
    input:
        unpack(k_estimate_inputs),
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/k_estimate"
        ),
    log:
        "logs/k_estimate/fold{fold}_{supervision}_rep{replicate}.log",
    benchmark:
        "results/benchmarks/k_estimate/fold{fold}_{supervision}_rep{replicate}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/cpu.yaml"
    params:
        dataset=dataset_params,
        estimate=settings_params(KEstimateSettings),
        discovery=settings_params(ClusteringSettings),
        seed=replicate_seed,
    script:
        "../workflow_scripts/k_estimate.py"


rule clustering:
    input:
        unpack(clustering_inputs),
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/clusters/k{k}"
        ),
    log:
        "logs/clustering/fold{fold}_{supervision}_rep{replicate}_k{k}.log",
    benchmark:
        "results/benchmarks/clustering/fold{fold}_{supervision}_rep{replicate}_k{k}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
        k=K_LABEL_PATTERN,
    conda:
        "../envs/cpu.yaml"
    params:
        discovery=settings_params(ClusteringSettings),
        seed=replicate_seed,
    script:
        "../workflow_scripts/clustering.py"


rule pseudo_labels:
    input:
        dataset=DATASET,
        clusters="results/discovery/fold{fold}/{supervision}/rep{replicate}/clusters/k{k}",
        removal=removal_shards,
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/pseudo_labels/k{k}"
        ),
    log:
        "logs/pseudo_labels/fold{fold}_{supervision}_rep{replicate}_k{k}.log",
    benchmark:
        "results/benchmarks/pseudo_labels/fold{fold}_{supervision}_rep{replicate}_k{k}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
        k=K_LABEL_PATTERN,
    conda:
        "../envs/cpu.yaml"
    params:
        dataset=dataset_params,
        matching=tracked("evaluation.matching"),
    script:
        "../workflow_scripts/pseudo_labels.py"

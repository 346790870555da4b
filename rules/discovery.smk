# Clustering pseudo-labels: base removal and prototypes per shard, k-means per fold and k, fused
# palette PNGs. Pseudo-labels live under k{k}/ so over-clustering (discovery.k) and the k = N
# ablation row can coexist.


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
        fold="[0-4]",
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params(),
        model=tracked("model"),
        discovery=settings_params(BaseRemovalSettings),
        shards=N_SHARDS,
        seed=replicate_seed,
    script:
        "../workflow_scripts/base_removal.py"


rule clustering:
    input:
        removal=removal_shards,
    output:
        directory(
            "results/discovery/fold{fold}/{supervision}/rep{replicate}/clusters/k{k}"
        ),
    log:
        "logs/clustering/fold{fold}_{supervision}_rep{replicate}_k{k}.log",
    benchmark:
        "results/benchmarks/clustering/fold{fold}_{supervision}_rep{replicate}_k{k}.tsv"
    wildcard_constraints:
        fold="[0-4]",
        k="[0-9]+",
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
        fold="[0-4]",
        k="[0-9]+",
    conda:
        "../envs/cpu.yaml"
    params:
        dataset=dataset_params(),
        matching=tracked("evaluation.matching"),
    script:
        "../workflow_scripts/pseudo_labels.py"

# Per-shard precomputation of the weak-supervision inputs: superpixels and saliency masks.


rule superpixels:
    input:
        dataset=DATASET,
    output:
        directory("results/superpixels/{shard}"),
    log:
        "logs/superpixels/{shard}.log",
    benchmark:
        "results/benchmarks/superpixels/{shard}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        superpixels=tracked("superpixels"),
        n_shards=N_SHARDS,
        dataset=dataset_params(),
    script:
        "../workflow_scripts/superpixels.py"


rule saliency:
    input:
        unpack(_saliency_superpixels),
        dataset=DATASET,
    output:
        directory("results/saliency/{shard}"),
    log:
        "logs/saliency/{shard}.log",
    benchmark:
        "results/benchmarks/saliency/{shard}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        saliency=tracked("saliency"),
        n_shards=N_SHARDS,
        dataset=dataset_params(),
    script:
        "../workflow_scripts/saliency.py"

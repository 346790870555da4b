# Per-shard precomputation of the weak-supervision inputs: superpixels and saliency masks.


rule superpixels:
    input:
        dataset=DATASET,
    output:
        directory("results/superpixels/{shard}"),
    params:
        superpixels=tracked("superpixels"),
        n_shards=N_SHARDS,
        dataset=dataset_params(),
    log:
        "logs/superpixels/{shard}.log",
    benchmark:
        "results/benchmarks/superpixels/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/superpixels.py"


rule saliency:
    input:
        unpack(_saliency_superpixels),
        dataset=DATASET,
    output:
        directory("results/saliency/{shard}"),
    params:
        saliency=tracked("saliency"),
        n_shards=N_SHARDS,
        dataset=dataset_params(),
    log:
        "logs/saliency/{shard}.log",
    benchmark:
        "results/benchmarks/saliency/{shard}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/saliency.py"

# Weakly-supervised seeds (ICD): training, scores, seeds, dense CRF, seed evaluation and the
# label folder that base training reads under base.supervision: weak. Helpers: weak_common.smk.


rule pretrain_icd_trunk:
    output:
        directory(PRETRAINED_TRUNK),
    log:
        "logs/pretrain_icd_trunk.log",
    benchmark:
        "results/benchmarks/pretrain_icd_trunk.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        width=tracked("weak.model.width"),
        pretrain=tracked("weak.pretrain"),
        max_iterations_per_epoch=tracked("compute.max_iterations_per_epoch"),
        seed=tracked("seed"),
    script:
        "../workflow_scripts/pretrain_icd_trunk.py"


rule train_icd:
    input:
        unpack(_icd_trunk),
        unpack(array_store_input),
        dataset=DATASET,
        splits=_weak_splits,
        superpixels=expand("results/superpixels/{shard}", shard=SHARDS),
    output:
        directory("results/weak/fold{fold}/icd_model"),
    log:
        "logs/train_icd/fold{fold}.log",
    benchmark:
        "results/benchmarks/train_icd/fold{fold}.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        mode=WEAK_MODE,
        model=tracked("weak.model"),
        train=tracked("weak.train"),
        amp=tracked("compute.amp"),
        max_iterations_per_epoch=tracked("compute.max_iterations_per_epoch"),
        seed=tracked("seed"),
        dataset=dataset_params,
    script:
        "../workflow_scripts/train_icd.py"


rule icd_scores:
    input:
        model="results/weak/fold{fold}/icd_model",
        dataset=DATASET,
        splits=_weak_splits,
    output:
        directory("results/weak/fold{fold}/scores/{shard}"),
    log:
        "logs/icd_scores/fold{fold}_{shard}.log",
    benchmark:
        "results/benchmarks/icd_scores/fold{fold}_{shard}.tsv"
    conda:
        "../envs/torch.yaml"
    params:
        mode=WEAK_MODE,
        n_shards=N_SHARDS,
        seed=tracked("seed"),
        dataset=dataset_params,
    script:
        "../workflow_scripts/icd_scores.py"


rule seeds:
    input:
        scores="results/weak/fold{fold}/scores/{shard}",
        saliency=seed_saliency_input,
    output:
        variant_shard_dirs("seeds"),
    log:
        "logs/seeds/fold{fold}_{shard}.log",
    benchmark:
        "results/benchmarks/seeds/fold{fold}_{shard}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        variants=SEED_VARIANTS,
        # the section but the variants (a wildcard): SeedParams names any key it does not read
        seeds={k: v for k, v in tracked("seeds").items() if k != "variants"},
    script:
        "../workflow_scripts/seeds.py"


rule crf:
    input:
        seeds=variant_shards("seeds"),
        dataset=DATASET,
    output:
        variant_shard_dirs("crf"),
    log:
        "logs/crf/fold{fold}_{shard}.log",
    benchmark:
        "results/benchmarks/crf/fold{fold}_{shard}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        variants=SEED_VARIANTS,
        crf=tracked("crf"),
        dataset=dataset_params,
    script:
        "../workflow_scripts/crf.py"


rule seed_eval:
    input:
        dataset=DATASET,
        seeds=expand(
            "results/weak/fold{{fold}}/seeds/{variant}/{shard}",
            variant=SEED_VARIANTS,
            shard=SHARDS,
        ),
        crf=expand(
            "results/weak/fold{{fold}}/crf/{variant}/{shard}",
            variant=SEED_VARIANTS,
            shard=SHARDS,
        ),
    output:
        directory("results/weak/fold{fold}/seed_eval"),
    log:
        "logs/seed_eval/fold{fold}.log",
    benchmark:
        "results/benchmarks/seed_eval/fold{fold}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        mode=WEAK_MODE,
        variants=SEED_VARIANTS,
        dataset=dataset_params,
    script:
        "../workflow_scripts/seed_eval.py"


rule weak_labels:
    input:
        seeds=expand(
            "results/weak/fold{{fold}}/{stage}/{variant}/{shard}",
            stage="crf" if config["weak"]["labels"]["crf"] else "seeds",
            variant=config["weak"]["labels"]["variant"],
            shard=SHARDS,
        ),
    output:
        directory("results/weak/fold{fold}/labels"),
    log:
        "logs/weak_labels/fold{fold}.log",
    benchmark:
        "results/benchmarks/weak_labels/fold{fold}.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        labels=tracked("weak.labels"),
    script:
        "../workflow_scripts/weak_labels.py"

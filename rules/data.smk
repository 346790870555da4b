# The dataset artifact and the fold lists.


if DATASET_KIND == "generated":

    rule generate_dataset:
        output:
            directory(DATASET_ROOT),
        log:
            "logs/generate_dataset.log",
        benchmark:
            "results/benchmarks/generate_dataset.tsv"
        conda:
            "../envs/cpu.yaml"
        params:
            size=tracked("dataset.generated_size"),
            seed=tracked("dataset.generated_seed"),
        script:
            "../workflow_scripts/generate_dataset.py"


rule index_dataset:
    input:
        source=dataset_source(),
    output:
        directory(DATASET),
    log:
        "logs/index_dataset.log",
    benchmark:
        "results/benchmarks/index_dataset.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        dataset=dataset_params(),
    script:
        "../workflow_scripts/index_dataset.py"


rule array_store:
    input:
        dataset=DATASET,
    output:
        directory("results/store/{split}"),
    log:
        "logs/array_store/{split}.log",
    benchmark:
        "results/benchmarks/array_store/{split}.tsv"
    wildcard_constraints:
        split="trainaug|val",
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/array_store.py"


rule splits:
    input:
        dataset=DATASET,
    output:
        directory("results/splits/fold{fold}/{supervision}"),
    log:
        "logs/splits/fold{fold}_{supervision}.log",
    benchmark:
        "results/benchmarks/splits/fold{fold}_{supervision}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/cpu.yaml"
    params:
        kind=splits_kind,
        # under weak supervision no pixel label is read: class presence comes from image labels
        labels_from=lambda wc: "image_labels" if wc.supervision == "weak" else "classes",
        selection_fraction=tracked("splits.selection_fraction"),
        seed=tracked("seed"),
    script:
        "../workflow_scripts/splits.py"

# Novel fine-tuning: the basic framework, entropy ranking, EUMS, and the ablation rows of the
# paper's table (finetune.ablations), each from the backbone's initial weights or, per
# finetune.backbone_init, from the fold's base model backbone (then an input of the job).


rule finetune_basic:
    input:
        unpack(finetune_inputs("basic")),
    output:
        directory("results/finetune/fold{fold}/basic/model"),
    wildcard_constraints:
        fold="[0-4]",
    params:
        dataset=dataset_params(),
        variant="basic",
        k=lambda wc: variant_k("basic", wc.fold),
        model=tracked("model"),
        finetune=finetune_params("basic"),
        supervision=tracked("base.supervision"),
        seed=tracked("seed"),
    log:
        "logs/finetune_basic/fold{fold}.log",
    benchmark:
        "results/benchmarks/finetune_basic/fold{fold}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/finetune.py"


rule ranking:
    input:
        dataset=DATASET,
        model="results/finetune/fold{fold}/basic/model",
        pseudo_labels=lambda wc: pseudo_labels_dir(wc.fold, variant_k("basic", wc.fold)),
    output:
        directory("results/finetune/fold{fold}/ranking"),
    wildcard_constraints:
        fold="[0-4]",
    params:
        dataset=dataset_params(),
        clean_ratio=tracked("finetune.clean_ratio"),
        input_size=tracked("model.input_size"),
    log:
        "logs/ranking/fold{fold}.log",
    benchmark:
        "results/benchmarks/ranking/fold{fold}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/ranking.py"


rule finetune_eums:
    input:
        unpack(finetune_inputs("eums")),
    output:
        directory("results/finetune/fold{fold}/eums/model"),
    wildcard_constraints:
        fold="[0-4]",
    params:
        dataset=dataset_params(),
        variant="eums",
        k=lambda wc: variant_k("eums", wc.fold),
        model=tracked("model"),
        finetune=finetune_params("eums"),
        supervision=tracked("base.supervision"),
        seed=tracked("seed"),
    log:
        "logs/finetune_eums/fold{fold}.log",
    benchmark:
        "results/benchmarks/finetune_eums/fold{fold}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/finetune.py"


rule finetune_ablation:
    input:
        unpack(finetune_inputs(None)),
    output:
        directory("results/finetune/fold{fold}/ablation_{ablation}/model"),
    wildcard_constraints:
        fold="[0-4]",
        ablation="no_overclustering|ranking|ranking_reassignment|ranking_selftraining",
    params:
        dataset=dataset_params(),
        variant=lambda wc: wc.ablation,
        k=lambda wc: variant_k(wc.ablation, wc.fold),
        model=tracked("model"),
        finetune=lambda wc: finetune_params(wc.ablation),
        supervision=tracked("base.supervision"),
        seed=tracked("seed"),
    log:
        "logs/finetune_ablation/fold{fold}_{ablation}.log",
    benchmark:
        "results/benchmarks/finetune_ablation/fold{fold}_{ablation}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/finetune.py"

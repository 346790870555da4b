# Novel fine-tuning: the basic framework, entropy ranking, EUMS, and the ablation rows of the
# paper's table (finetune.ablations). One rule for every variant: {finetuned_model} is a model
# name of ncdss_core/discovery/variants.py (basic, eums, ablation_<row>). Each run starts from the
# backbone's initial weights or, per finetune.backbone_init, from the fold's base model backbone
# (then an input of the job).


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        directory(
            "results/finetune/fold{fold}/{supervision}/rep{replicate}/{finetuned_model}/model"
        ),
    log:
        "logs/finetune/fold{fold}_{supervision}_rep{replicate}_{finetuned_model}.log",
    benchmark:
        "results/benchmarks/finetune/fold{fold}_{supervision}_rep{replicate}_{finetuned_model}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        variant=finetune_variant,
        k=finetune_k,
        model=tracked("model"),
        finetune=finetune_params,
        supervision=run_supervision,
        amp=tracked("compute.amp"),
        max_iterations_per_epoch=tracked("compute.max_iterations_per_epoch"),
        per_epoch=per_epoch_evaluation,
        seed=replicate_seed,
    script:
        "../workflow_scripts/finetune.py"


rule ranking:
    input:
        unpack(ranking_inputs),
        dataset=DATASET,
    output:
        directory("results/finetune/fold{fold}/{supervision}/rep{replicate}/ranking"),
    log:
        "logs/ranking/fold{fold}_{supervision}_rep{replicate}.log",
    benchmark:
        "results/benchmarks/ranking/fold{fold}_{supervision}_rep{replicate}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        clean_ratio=tracked("finetune.clean_ratio"),
        input_size=tracked("model.input_size"),
    script:
        "../workflow_scripts/ranking.py"

# The base model of each fold: base classes only, full (ground-truth masks) or weak supervision
# (CRF-refined ICD seeds from image-level labels, `weak_labels_dir` of weak.smk). See README.md, "Novel class discovery".


rule base_model:
    input:
        unpack(base_model_inputs),
    output:
        directory("results/base/fold{fold}/{supervision}/rep{replicate}/model"),
    log:
        "logs/base_model/fold{fold}_{supervision}_rep{replicate}.log",
    benchmark:
        "results/benchmarks/base_model/fold{fold}_{supervision}_rep{replicate}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        model=tracked("model"),
        base=base_params,
        amp=tracked("compute.amp"),
        max_iterations_per_epoch=tracked("compute.max_iterations_per_epoch"),
        per_epoch=per_epoch_evaluation,
        seed=replicate_seed,
    script:
        "../workflow_scripts/base_model.py"

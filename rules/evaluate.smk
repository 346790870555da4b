# Evaluation of every model (selected and last checkpoint) on the evaluation split, and the
# per-fold / mean-over-folds tables of the models and of the seeds.


rule evaluate:
    input:
        dataset=DATASET,
        model=eval_model_dir,
    output:
        directory("results/eval/fold{fold}/{supervision}/rep{replicate}/{model}"),
    log:
        "logs/evaluate/fold{fold}_{supervision}_rep{replicate}_{model}.log",
    benchmark:
        "results/benchmarks/evaluate/fold{fold}_{supervision}_rep{replicate}_{model}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        split=tracked("evaluation.split"),
        matching=tracked("evaluation.matching"),
    script:
        "../workflow_scripts/evaluate.py"


rule tables:
    input:
        evals=[path for *_, path in table_entries()],
    output:
        directory("results/tables/discovery"),
    log:
        "logs/tables/discovery.log",
    benchmark:
        "results/benchmarks/tables/discovery.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        entries=[entry[:4] for entry in table_entries()],
        folds=FOLDS,
        seeds=[training_seed(r) for r in REPLICATES],
    script:
        "../workflow_scripts/tables.py"


# discovery.k auto: N̂ of every run and each estimator's error against the true count, apart from the
# trainings (`snakemake results/tables/k_estimates` needs only the base models and the prototypes)
rule k_estimate_table:
    input:
        estimates=estimate_targets(),
    output:
        directory("results/tables/k_estimates"),
    log:
        "logs/tables/k_estimates.log",
    benchmark:
        "results/benchmarks/tables/k_estimates.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        folds=FOLDS,
        seeds=[training_seed(r) for r in REPLICATES],
    script:
        "../workflow_scripts/k_estimate_table.py"


rule seed_tables:
    input:
        seed_evals=expand("results/weak/fold{fold}/seed_eval", fold=WEAK_FOLDS),
    output:
        directory("results/tables/seeds"),
    log:
        "logs/tables/seeds.log",
    benchmark:
        "results/benchmarks/tables/seeds.tsv"
    conda:
        "../envs/cpu.yaml"
    params:
        folds=WEAK_FOLDS,
    script:
        "../workflow_scripts/seed_tables.py"

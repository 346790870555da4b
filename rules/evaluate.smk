# Evaluation of every model (selected and last checkpoint) on the evaluation split, and the
# per-fold / mean-over-folds tables.


rule evaluate:
    input:
        dataset=DATASET,
        model=eval_model_dir,
    output:
        directory("results/eval/fold{fold}/{model}"),
    wildcard_constraints:
        fold="[0-4]",
        model="base|basic|eums|ablation_(no_overclustering|ranking|ranking_reassignment|ranking_selftraining)",
    params:
        dataset=dataset_params(),
        split=tracked("evaluation.split"),
        matching=tracked("evaluation.matching"),
    log:
        "logs/evaluate/fold{fold}_{model}.log",
    benchmark:
        "results/benchmarks/evaluate/fold{fold}_{model}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/evaluate.py"


rule tables:
    input:
        evals=[f"results/eval/fold{f}/{m}" for f, m in table_entries()],
    output:
        directory("results/tables/discovery"),
    params:
        entries=table_entries(),
        folds=FOLDS,
    log:
        "logs/tables/discovery.log",
    benchmark:
        "results/benchmarks/tables/discovery.tsv"
    threads: 1
    resources:
        mem_mb=1000,
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/tables.py"

# Figures and tables of the HTML report (`snakemake --report report.html`).
# Helpers: report_common.smk.


rule report_figures:
    input:
        unpack(report_inputs),
    output:
        seed_quality=report(
            "results/report/fold{fold}/seed_quality.png",
            caption="report/seed_quality.rst",
            category="Seeds",
            labels={"fold": "{fold}", "figure": "seed quality per class"},
        ),
        examples=report(
            "results/report/fold{fold}/examples.png",
            caption="report/examples.rst",
            category="Examples",
            labels={"fold": "{fold}", "figure": "examples"},
        ),
        entropy=report(
            "results/report/fold{fold}/entropy.png",
            caption="report/entropy.rst",
            category="Entropy ranking",
            labels={"fold": "{fold}", "figure": "entropy histogram"},
        ),
        curves=report(
            "results/report/fold{fold}/training_curves.png",
            caption="report/curves.rst",
            category="Training",
            labels={"fold": "{fold}", "figure": "training curves"},
        ),
    log:
        "logs/report_figures/fold{fold}.log",
    benchmark:
        "results/benchmarks/report_figures/fold{fold}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/torch.yaml"
    params:
        dataset=dataset_params,
        shards=N_SHARDS,
        weak_root=weak_root,
        examples=tracked("report.examples"),
    script:
        "../workflow_scripts/report_figures.py"


rule report_k_estimate:
    input:
        estimates=fold_estimates,
    output:
        figure=report(
            "results/report/fold{fold}/k_estimate.png",
            caption="report/k_estimate.rst",
            category="Number of novel classes",
            labels={"fold": "{fold}", "figure": "estimated number of novel classes"},
        ),
    log:
        "logs/report_k_estimate/fold{fold}.log",
    benchmark:
        "results/benchmarks/report_k_estimate/fold{fold}.tsv"
    wildcard_constraints:
        fold=FOLD_IDS,
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/report_k_estimate.py"


rule report_tables:
    input:
        discovery="results/tables/discovery",
        seed_summary="results/tables/seeds",
        seeds=expand("results/weak/fold{fold}/seed_eval", fold=WEAK_FOLDS),
    output:
        discovery=report(
            "results/report/discovery_results.csv",
            caption="report/tables.rst",
            category="Tables",
            labels={"table": "discovery"},
        ),
        comparisons=report(
            "results/report/discovery_steps.csv",
            caption="report/steps.rst",
            category="Tables",
            labels={"table": "discovery steps over seeds"},
        ),
        errors=report(
            "results/report/discovery_errors.csv",
            caption="report/errors.rst",
            category="Tables",
            labels={"table": "where the IoU goes"},
        ),
        seed_summary=report(
            "results/report/seed_results.csv",
            caption="report/seed_summary.rst",
            category="Tables",
            labels={"table": "seeds over folds"},
        ),
        seeds=report(
            expand("results/report/seed_eval_fold{fold}.csv", fold=WEAK_FOLDS),
            caption="report/seed_table.rst",
            category="Tables",
            labels=lambda wc, output: {"table": "seeds"},
        ),
    log:
        "logs/report_tables.log",
    benchmark:
        "results/benchmarks/report_tables.tsv"
    conda:
        "../envs/cpu.yaml"
    script:
        "../workflow_scripts/report_tables.py"

# ncdss: ICD weakly-supervised seeds and NCDSS novel class discovery in one auditable DAG.
# The Snakefile is a table of contents: validation and helpers live in rules/common.smk,
# each stage family in its own rules/*.smk, all logic in the ncdss_core package.
from snakemake.utils import min_version

min_version("9.0")


# the workflow's own config.yaml, wherever snakemake runs (--directory); every --configfile is merged over it
configfile: f"{workflow.basedir}/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/weak_common.smk"
include: "rules/precompute.smk"
include: "rules/weak.smk"
include: "rules/discovery_common.smk"
include: "rules/base.smk"
include: "rules/discovery.smk"
include: "rules/finetune.smk"
include: "rules/evaluate.smk"
include: "rules/report_common.smk"
include: "rules/report.smk"


report: "rules/report/workflow.rst"


# Model names (base and the fine-tuned ones) come from ncdss_core/discovery/variants.py.
wildcard_constraints:
    fold=f"{FOLD_IDS}|all",
    shard="[0-9]{3}",
    replicate="[0-9]+",
    supervision="full|weak",
    model=one_of(MODELS),
    finetuned_model=one_of(FINETUNED_MODELS),


rule all:
    default_target: True
    input:
        data_targets(),
        precompute_targets(),
        weak_targets(),
        discovery_targets(),
        evaluation_targets(),
        report_targets(),

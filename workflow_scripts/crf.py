"""Rule crf: dense-CRF refinement of one shard of seeds of every variant, over one process pool of
the rule's threads."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.crf import CRFParams, crf_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
with stage.output_dirs() as builds:
    params = CRFParams.from_params(stage.params.crf)
    metrics = crf_shard(stage.dataset(), stage.inputs.seeds, builds, params, stage.threads)
    for index, (variant, shard_metrics) in enumerate(zip(stage.params.variants, metrics)):
        stage.write_provenance(metrics=shard_metrics, output=index, params={"variant": variant})

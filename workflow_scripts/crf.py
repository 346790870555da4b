"""Rule crf: dense-CRF refinement of one shard of seeds, over a process pool of the rule's threads."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.crf import CRFParams, crf_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
with stage.output_dir() as build:
    params = CRFParams.from_params(stage.params.crf)
    stage.write_provenance(metrics=crf_shard(stage.dataset(), stage.inputs.seeds, build, params, stage.threads))

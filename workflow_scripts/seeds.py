"""Rule seeds: seeds of every variant for one shard (palette PNGs, dataset class ids, 255 ignore)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.seeds import SeedParams, seed_shard

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
saliency = stage.inputs.saliency[0] if stage.inputs.saliency else None  # icd_sal only
with stage.output_dirs() as builds:
    params = SeedParams.from_params(stage.params.seeds)
    for index, (variant, build) in enumerate(zip(stage.params.variants, builds)):
        stage.write_provenance(metrics=seed_shard(variant, stage.inputs.scores, build, params, saliency),
                               output=index, params={"variant": variant})

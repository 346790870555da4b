"""Rule k_estimate: the number of novel classes of a run, estimated from its prototypes
(discovery.k auto); estimate.json holds N̂ and the criterion of every candidate."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.folds import novel_classes
from ncdss_core.discovery.k_estimation import estimate_run
from ncdss_core.discovery.settings import ClusteringSettings, KEstimateSettings
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
estimate = KEstimateSettings.from_params(p.estimate)
fold = int(stage.wildcards.fold)
run = {"fold": fold, "supervision": stage.wildcards.supervision, "seed": stage.seed}
with stage.output_dir() as build:
    record = estimate_run(list(stage.inputs.removal), stage.inputs.get("probes"), estimate.k_estimator,
                          estimate.k_range, ClusteringSettings.from_params(p.discovery), stage.seed, run,
                          len(novel_classes(p.dataset["kind"], fold)), build)
    stage.write_provenance(metrics={key: record[key] for key in ("n_hat", "estimator", "true_n", "images")})

"""Rule k_estimate: the number of novel classes of a run, estimated from its prototypes
(discovery.k auto); estimate.json holds N̂ and the criterion of every candidate. Beside it,
separability.json: whether the fold's true novel classes form clusters in the same space (a
diagnostic from the label maps, as the evaluation reads them; no estimator sees it)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.folds import novel_classes
from ncdss_core.data.index import class_presence
from ncdss_core.discovery.k_estimation import estimate_run
from ncdss_core.discovery.settings import ClusteringSettings, KEstimateSettings
from ncdss_core.evaluation.separability import write_separability
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
estimate = KEstimateSettings.from_params(p.estimate)
clustering = ClusteringSettings.from_params(p.discovery)
fold = int(stage.wildcards.fold)
novel = novel_classes(p.dataset["kind"], fold)
run = {"fold": fold, "supervision": stage.wildcards.supervision, "seed": stage.seed}
with stage.output_dir() as build:
    record = estimate_run(list(stage.inputs.removal), stage.inputs.get("probes"), estimate.k_estimator,
                          estimate.k_range, clustering, stage.seed, run, len(novel), build)
    truth = write_separability(list(stage.inputs.removal), class_presence(stage.inputs.dataset, "trainaug"), novel,
                               clustering, stage.seed, build)
    stage.write_provenance(metrics={**{key: record[key] for key in ("n_hat", "estimator", "true_n", "images")},
                                    **{key: truth[key] for key in ("silhouette_true", "ari_kmeans_true_n")}})

"""Rule base_probes: labelled base-class prototypes of the run's base-only images, the probes of the
base_probes estimate of the number of novel classes (labels: masks under full, ICD seeds under weak)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.folds import label_space
from ncdss_core.data.labels import base_label_reader, image_reader
from ncdss_core.discovery.base_removal import feature_model, feature_source
from ncdss_core.discovery.probes import collect_probes, probe_image_ids, write_probes
from ncdss_core.discovery.training import read_model
from ncdss_core.models.segmodel import ModelSettings
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p, fold = stage.params, int(stage.wildcards.fold)
model = ModelSettings.from_params(p.model)
dataset = stage.dataset()
base = read_model(f"{stage.inputs.base_model}/model.pt").to(stage.device)
source = feature_source(p.features, model.backbone_weights)
features = feature_model(source, base, model, p.seed, stage.device)
labels = base_label_reader(dataset, fold, p.supervision, stage.inputs.get("weak_labels"))
probes = collect_probes(features, image_reader(dataset), labels, probe_image_ids(stage.inputs.splits),
                        label_space(dataset.kind, fold)[0], model.input_size, p.per_class, p.seed)
with stage.output_dir() as build:
    stage.write_provenance(metrics=write_probes(probes, build), extra={"feature_source": source})

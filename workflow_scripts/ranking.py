"""Rule ranking: entropy of the basic model on each pseudo-labelled novel image; clean/unclean split."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.files import read_ids
from ncdss_core.discovery.ranking import rank_novel_images
from ncdss_core.discovery.training import read_model
from ncdss_core.stage import Stage

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p = stage.params
model = read_model(f"{stage.inputs.model}/model.pt").to(stage.device)
ids = read_ids(f"{stage.inputs.pseudo_labels}/novel.txt")
with stage.output_dir() as build:
    stage.write_provenance(metrics=rank_novel_images(model, stage.dataset(), int(stage.wildcards.fold), ids,
                                                     stage.inputs.pseudo_labels, p.input_size, p.clean_ratio,
                                                     build))

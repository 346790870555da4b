"""Rule report_figures: the figures of the HTML report for one fold."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from pathlib import Path

import numpy as np

from ncdss_core.data.datasets import open_dataset
from ncdss_core.evaluation.evaluate import predict_logits
from ncdss_core.data.files import read_ids, read_label_png
from ncdss_core.evaluation.report import entropy_histogram, example_grid, seed_quality_figure, training_curves
from ncdss_core.runtime import device, stage_context
from ncdss_core.models.segmodel import load_checkpoint
from ncdss_core.data.shards import shard_name, shard_of

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
names = {0: "background", **{i + 1: n for i, n in enumerate(dataset.class_names)}}

seed_quality_figure(smk.input.seed_eval, names, smk.output.seed_quality)
entropy_histogram(smk.input.ranking, smk.output.entropy)
trunk = {"ICD trunk pretraining": f"{smk.input.trunk}/history.json"} if smk.input.get("trunk") else {}
training_curves({**trunk,
                 "ICD (CAM + ICD branches)": f"{smk.input.icd_model}/history.json",
                 "base": f"{smk.input.base}/history.json",
                 "basic": f"{smk.input.basic}/history.json",
                 "EUMS": f"{smk.input.eums}/history.json"}, smk.output.curves)


def seed_panel(root: str):
    def read(image_id: str):
        path = Path(root) / shard_name(shard_of(image_id, p.shards)) / f"{image_id}.png"
        return read_label_png(path) if path.is_file() else None
    return read


def prediction_panel(model_dir: str):
    model, meta = load_checkpoint(f"{model_dir}/model.pt")
    model.to(device()).eval()

    def read(image_id: str):
        image = dataset.read_image(image_id, "trainaug")
        logits = predict_logits(model, image, int(meta["input_size"]), image.shape[:2])
        return logits.argmax(0).numpy().astype(np.uint8)
    return read


# Prefer novel images that also hold base objects, so that every column has something to show.
novel = read_ids(f"{smk.input.pseudo_labels}/novel.txt")
with_seeds = [i for i in novel if seed_panel(f"{p.weak_root}/seeds/icd")(i) is not None]
ids = (with_seeds + [i for i in novel if i not in with_seeds])[: p.examples]
example_grid(
    ids,
    lambda i: dataset.read_image(i, "trainaug"),
    {
        "ground truth": lambda i: dataset.read_label(i, "trainaug"),
        "CAM seed": seed_panel(f"{p.weak_root}/seeds/cam"),
        "ICD seed": seed_panel(f"{p.weak_root}/seeds/icd"),
        "ICD + CRF": seed_panel(f"{p.weak_root}/crf/icd"),
        "pseudo-label": lambda i: read_label_png(f"{smk.input.pseudo_labels}/{i}.png"),
        "basic": prediction_panel(smk.input.basic),
        "EUMS": prediction_panel(smk.input.eums),
    },
    smk.output.examples,
)
logger.info("report figures written for fold %s", smk.wildcards.fold)

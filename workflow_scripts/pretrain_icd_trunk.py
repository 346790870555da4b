"""Rule pretrain_icd_trunk: the small ICD trunk pretrained on generated images of other object
classes (no image or label of the generated dataset), the stand-in for the paper's ImageNet initialisation."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
import torch

from ncdss_core.data.generated import PRETRAIN_CLASSES, pretraining_images
from ncdss_core.models.trunks import small_trunk
from ncdss_core.weak.pretrain import PretrainConfig, pretrain_trunk
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json
from ncdss_core.provenance.record import now, split_epoch_seconds, write_provenance
from ncdss_core.runtime import device, stage_context

smk = snakemake  # noqa: F821 (injected by Snakemake)
seed = smk.params.seed
logger = stage_context(smk, seed=seed)
started = now()
cfg = PretrainConfig.from_params(smk.params.pretrain)
images, labels = pretraining_images(cfg.images, seed)
logger.info("%d generated images of %d pretraining classes (%.2f labels per image)", len(images),
            labels.shape[1], float(labels.sum(1).mean()))
dev = device()
model, history = pretrain_trunk(small_trunk(smk.params.width), images, labels, cfg, seed, dev, logger)
history, epoch_seconds = split_epoch_seconds(history)
with atomic_directory(smk.output[0]) as build:
    torch.save(model.trunk.state_dict(), build / "trunk.pt")
    atomic_write_json(build / "history.json", history)
    last = history[-1]
    write_provenance(build, stage="pretrain_icd_trunk",
                     params={"width": smk.params.width, "pretrain": smk.params.pretrain,
                             "classes": {spec.name: f"{spec.family} body, {spec.part_colour} {spec.part_shape} "
                                                    f"at {spec.anchor}" for spec in PRETRAIN_CLASSES}},
                     inputs={}, artifact_path=smk.output[0], seed=seed, device=dev, started=started,
                     metrics={"images": len(images), "loss": last["loss"], "holdout_map": last["holdout_map"]},
                     extra={"epoch_seconds": epoch_seconds})

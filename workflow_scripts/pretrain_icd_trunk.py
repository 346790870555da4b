"""Rule pretrain_icd_trunk: the small ICD trunk pretrained on generated images of other object
classes (no image or label of the generated dataset), the stand-in for the paper's ImageNet initialisation."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)

from ncdss_core.data.generated import pretraining_images
from ncdss_core.models.trunks import small_trunk
from ncdss_core.io.atomic import atomic_write_json, atomic_write_torch
from ncdss_core.provenance.record import split_epoch_seconds
from ncdss_core.stage import Stage
from ncdss_core.weak.pretrain import PretrainConfig, pretrain_trunk

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
cfg = PretrainConfig.from_params(stage.params.pretrain)
images, labels = pretraining_images(cfg.images, stage.seed)
stage.logger.info("%d generated images of %d pretraining classes (%.2f labels per image)", len(images),
                  labels.shape[1], float(labels.sum(1).mean()))
# the pretraining keeps the trunk alone (its classifier is one 1x1 conv): no fc6/fc7, head width 0
model, history = pretrain_trunk(small_trunk(stage.params.width, 0), images, labels, cfg, stage.seed, stage.device,
                                stage.logger, resume=stage.resume_file())
history, epoch_seconds = split_epoch_seconds(history)
with stage.output_dir() as build:
    atomic_write_torch(build / "trunk.pt", model.trunk.state_dict())
    atomic_write_json(build / "history.json", history)
    stage.write_provenance(metrics={"images": len(images), "loss": history[-1]["loss"],
                                    "holdout_map": history[-1]["holdout_map"]},
                           extra={"epoch_seconds": epoch_seconds})

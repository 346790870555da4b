"""Rule train_icd: the CAM + ICD network of one fold (mode base) or of every class (fold all)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.stage import Stage
from ncdss_core.weak.images import fold_images, label_matrix, output_classes
from ncdss_core.weak.infer import write_icd_model_dir
from ncdss_core.weak.superpixels import SuperpixelReader
from ncdss_core.weak.trainer import ICDTrainData, TrainConfig, build_icd_net, train_icd

stage = Stage(snakemake)  # noqa: F821 (injected by Snakemake)
p, fold = stage.params, stage.wildcards.fold
dataset = stage.dataset()
ids, image_labels = fold_images(stage.inputs.dataset, p.mode, stage.inputs.splits)
classes = output_classes(dataset.kind, p.mode, fold)
train_ids, labels = label_matrix(ids, image_labels, classes)
stage.logger.info("mode %s fold %s: %d training images (of %d), %d classes", p.mode, fold, len(train_ids),
                  len(ids), len(classes))
cfg = TrainConfig.from_params({**p.model, **p.train})
if stage.inputs.get("trunk"):  # weak.model.init: pretrained (init file: cfg.weights is the file)
    cfg.weights = f"{stage.inputs.trunk}/trunk.pt"
model = build_icd_net(cfg, len(classes))
superpixels = SuperpixelReader.from_shards(stage.inputs.superpixels)
data = ICDTrainData(train_ids, labels, dataset.read_image, superpixels.read, cfg, p.seed)
history = train_icd(model, data, cfg, p.seed, stage.device, stage.logger, resume=stage.resume_file(), amp=p.amp)
with stage.output_dir() as build:
    metrics, epoch_seconds = write_icd_model_dir(build, model.cpu(), cfg, classes, history, train_ids)
    stage.write_provenance(metrics=metrics, extra={"epoch_seconds": epoch_seconds})

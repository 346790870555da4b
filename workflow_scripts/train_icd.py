"""Rule train_icd: the CAM + ICD network of one fold (mode base) or of every class (fold all)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.index import read_index
from ncdss_core.data.datasets import open_dataset
from ncdss_core.weak.images import fold_image_ids, label_matrix, output_classes
from ncdss_core.weak.infer import save_model
from ncdss_core.weak.trainer import ICDTrainData, TrainConfig, build_model, train_icd
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json
from ncdss_core.data.files import write_ids
from ncdss_core.provenance.record import now, split_epoch_seconds, write_provenance
from ncdss_core.runtime import device, stage_context
from ncdss_core.weak.superpixels import SuperpixelReader

smk = snakemake  # noqa: F821 (injected by Snakemake)
seed = smk.params.seed
logger = stage_context(smk, seed=seed)
started = now()
mode, fold, kind = smk.params.mode, smk.wildcards.fold, smk.params.dataset["kind"]
if (mode == "all") != (fold == "all"):
    raise ValueError(f"weak.mode {mode} and fold {fold!r} do not match (mode all uses fold 'all')")
rows = [r for r in read_index(smk.input.dataset) if r["split"] == "trainaug"]
image_labels = {r["id"]: r["image_labels"] for r in rows}
splits = smk.input.splits[0] if len(smk.input.splits) else None
ids = fold_image_ids(mode, list(image_labels), splits)
classes = output_classes(kind, mode, fold)
train_ids, labels = label_matrix(ids, image_labels, classes)
logger.info("mode %s fold %s: %d training images (of %d), %d classes", mode, fold, len(train_ids), len(ids),
            len(classes))
cfg = TrainConfig.from_params({**smk.params.model, **smk.params.train})
trunk_dir = smk.input.get("trunk")
if trunk_dir:  # weak.model.init: pretrained
    cfg.weights = f"{trunk_dir}/trunk.pt"
    logger.info("trunk from %s", cfg.weights)
dataset = open_dataset(**smk.params.dataset)
reader = SuperpixelReader([f"{d}/superpixels.h5" for d in smk.input.superpixels])
model = build_model(cfg, len(classes))
dev = device()
history = train_icd(model, ICDTrainData(train_ids, labels, dataset.read_image, reader.read, cfg, seed), cfg,
                    seed, dev, logger)
model.cpu()
history, epoch_seconds = split_epoch_seconds(history)  # wall-clock times: provenance only
with atomic_directory(smk.output[0]) as build:
    save_model(build / "model.pt", model, cfg, classes, history)
    atomic_write_json(build / "history.json", history)
    write_ids(build / "train_ids.txt", train_ids)
    inputs = {"dataset": smk.input.dataset, **{f"superpixels_{i:03d}": d for i, d in enumerate(smk.input.superpixels)}}
    if splits:
        inputs["splits"] = splits
    if trunk_dir:
        inputs["trunk"] = trunk_dir
    if smk.input.get("weights"):  # weak.model.init: file
        inputs["weights"] = smk.input.weights
    last = history[-1] if history else {}
    write_provenance(build, stage="train_icd",
                     params={"mode": mode, "fold": fold, "model": smk.params.model, "train": smk.params.train,
                             "dataset": smk.params.dataset},
                     inputs=inputs, artifact_path=smk.output[0], seed=seed, device=dev, started=started,
                     metrics={"train_images": len(train_ids), "classes": classes,
                              **{k: v for k, v in last.items() if k.startswith("loss_")}},
                     extra={"epoch_seconds": epoch_seconds})

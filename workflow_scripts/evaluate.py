"""Rules evaluate, evaluate_ablation: the selected and the last checkpoint of a model on the
evaluation split (novel mIoU after matching, base mIoU, all-class mIoU)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from ncdss_core.data.datasets import open_dataset
from ncdss_core.evaluation.evaluate import percent, scores_of
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json, atomic_write_text
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import device, stage_context
from ncdss_core.models.segmodel import load_checkpoint

smk = snakemake  # noqa: F821 (injected by Snakemake)
p = smk.params
logger = stage_context(smk)
started = now()
fold = int(smk.wildcards.fold)
dataset = open_dataset(p.dataset["kind"], p.dataset["root"])
ids = list(dataset.ids(p.split))
result, lines = {}, ["| checkpoint | epoch | k | matching | novel mIoU | base mIoU | all mIoU |", "|---|---|---|---|---|---|---|"]
for checkpoint, name in (("selected", "model.pt"), ("last", "last.pt")):
    model, meta = load_checkpoint(f"{smk.input.model}/{name}")
    scores = scores_of(model.to(device()), dataset, ids, p.split, fold, int(meta["input_size"]), p.matching)
    result[checkpoint] = scores
    result[f"{checkpoint}_epoch"] = meta.get("epoch")
    lines.append(f"| {checkpoint} | {meta.get('epoch')} | {scores['k']} | {scores['method']} | "
                 f"{percent(scores['novel_miou'])} | {percent(scores['base_miou'])} | {percent(scores['all_miou'])} |")
    logger.info("%s (epoch %s): novel %.4f base %.4f all %.4f", checkpoint, meta.get("epoch"),
                scores["novel_miou"], scores["base_miou"], scores["all_miou"])
with atomic_directory(smk.output[0]) as build:
    atomic_write_json(build / "metrics.json", result)
    atomic_write_text(build / "metrics.md", "\n".join(lines) + "\n")
    write_provenance(build, stage="evaluate", params={"fold": fold, "split": p.split, "matching": p.matching,
                                                      "dataset": p.dataset},
                     inputs={"dataset": smk.input.dataset, "model": smk.input.model},
                     artifact_path=smk.output[0], device=device(), started=started,
                     metrics={c: {m: result[c][m] for m in ("novel_miou", "base_miou", "all_miou")}
                              for c in ("selected", "last")})

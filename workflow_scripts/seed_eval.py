"""Rule seed_eval: per-class IoU and mIoU of every seed variant, with and without CRF."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from pathlib import Path

from ncdss_core.data.datasets import open_dataset
from ncdss_core.weak.images import excluded_classes, output_classes
from ncdss_core.provenance.atomic import atomic_directory, atomic_write_json, atomic_write_text
from ncdss_core.data.files import read_label_png
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import progress, stage_context
from ncdss_core.weak.seed_eval import SeedScore, ground_truth_for, tables

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
kind, mode, fold = smk.params.dataset["kind"], smk.params.mode, smk.wildcards.fold
dataset = open_dataset(**smk.params.dataset)
classes = [0] + output_classes(kind, mode, fold)
excluded = excluded_classes(kind, mode, fold)
names = {0: "background", **{i + 1: n for i, n in enumerate(dataset.class_names)}}
rows, inputs = [], {"dataset": smk.input.dataset}
for variant in smk.params.variants:
    for crf in (False, True):
        stage = "crf" if crf else "seeds"
        dirs = [Path(d) for d in smk.input[stage] if Path(d).parent.name == variant]
        score = SeedScore(dataset.num_classes)
        files = sorted(f for d in dirs for f in d.glob("*.png"))
        for path in progress(files, label=f"{variant} {stage}", logger=logger):
            gt = ground_truth_for(dataset.read_label(path.stem, "trainaug"), excluded)
            score.update(gt, read_label_png(path))
        for d in dirs:
            inputs[f"{stage}_{variant}_{d.name}"] = str(d)
        rows.append({"variant": variant, "crf": crf, **score.summary(classes)})
        logger.info("%s crf=%s: mIoU %.2f (strict %.2f, coverage %.2f)", variant, crf, 100 * rows[-1]["miou"],
                    100 * rows[-1]["miou_strict"], 100 * rows[-1]["coverage"])
csv_text, md_text = tables(rows, names)
with atomic_directory(smk.output[0]) as build:
    atomic_write_text(build / "seed_eval.csv", csv_text)
    atomic_write_text(build / "seed_eval.md", md_text)
    atomic_write_json(build / "seed_eval.json", rows)
    write_provenance(build, stage="seed_eval", params={"mode": mode, "fold": fold, "variants": smk.params.variants,
                                                       "dataset": smk.params.dataset},
                     inputs=inputs, artifact_path=smk.output[0], started=started,
                     metrics={f"{r['variant']}{'_crf' if r['crf'] else ''}_miou": r["miou"] for r in rows})

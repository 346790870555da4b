"""Rule seeds: seeds of one variant for one shard (palette PNGs, dataset class ids, 255 ignore)."""
import _bootstrap  # noqa: F401  (ncdss_core on sys.path)
from pathlib import Path

import numpy as np

from ncdss_core.weak.scores import ScoreStore
from ncdss_core.provenance.atomic import atomic_directory
from ncdss_core.data.files import read_grey_png, read_ids, write_label_png
from ncdss_core.provenance.record import now, write_provenance
from ncdss_core.runtime import progress, stage_context
from ncdss_core.weak.seeds import IGNORE, SeedParams, make_seed

smk = snakemake  # noqa: F821 (injected by Snakemake)
logger = stage_context(smk)
started = now()
variant = smk.wildcards.variant
p = smk.params.seeds
params = SeedParams(p["cam_bg_threshold"], p["sal_bg_threshold"], p["sal_min_fraction"])
ids = read_ids(f"{smk.input.scores}/ids.txt")
saliency_dir = Path(smk.input.saliency[0]) if len(smk.input.saliency) else None
labelled = total = 0
with atomic_directory(smk.output[0]) as build:
    with ScoreStore(f"{smk.input.scores}/scores.h5") as store:
        for image_id in progress(ids, label=f"seeds {variant}", logger=logger):
            saliency = None
            if saliency_dir is not None and (saliency_dir / f"{image_id}.png").is_file():
                saliency = read_grey_png(saliency_dir / f"{image_id}.png").astype(np.float32) / 255.0
            seed = make_seed(variant, store.read(image_id), params, saliency)
            write_label_png(build / f"{image_id}.png", seed)
            labelled += int((seed != IGNORE).sum())
            total += seed.size
    inputs = {"scores": smk.input.scores}
    if saliency_dir is not None:
        inputs["saliency"] = str(saliency_dir)
    write_provenance(build, stage="seeds", params={"variant": variant, "seeds": p, "fold": smk.wildcards.fold,
                                                   "shard": smk.wildcards.shard},
                     inputs=inputs, artifact_path=smk.output[0], started=started,
                     metrics={"images": len(ids), "labelled_fraction": labelled / max(total, 1)})

"""The real-size rehearsal (`make rehearsal`): the README's VOC overlay (dilated ResNet-50 + DeepLabV3
at 512 px, DeepLab-LargeFOV VGG16 at 321 px, 24 shards) run end to end on CPU, on generated images at
PASCAL VOC's size, with the trainings shortened by config/rehearsal.yaml alone.

    python -m benchmarks.rehearsal prepare DIR [--train N --val M]   dataset (VOC and COCO layouts),
                                                                    random torchvision weights, overlays
    python -m benchmarks.rehearsal table DIR [--record FILE]        per-rule table from the run's
                                                                    benchmark TSVs and provenance

`prepare` writes into DIR:
- `voc/`: the generated dataset's images (ncdss_core.data.generated, the default run's generator)
  upscaled to VOC's size (the longer side 500 px, the generated aspect ratio kept: 500 x 300-500),
  labels and the 255 band by nearest neighbour, saliency bilinear, in the VOC (MaskContrast) layout
  with `Annotations/` (boxes scaled), read back as `kind: voc`;
- `coco/`: the same images in the COCO-20^i layout (`train2014/`, `masks_train2014/`, ...), the 20
  VOC classes renumbered to their COCO ids (`VOC_TO_COCO`), read as `kind: coco`;
- `weights/vgg16.pth`, `weights/resnet50.pth`: torchvision `state_dict`s of `weights=None` models;
- `voc.yaml`: the README's overlay, read from README.md, with only `dataset.root` and the two
  weights paths pointed at DIR; `coco.yaml`: the same with `kind: coco`, COCO-20^i fold 2 (the fold
  whose novel classes chair, couch and potted plant the generated images hold) and `discovery.k` 40
  (at least COCO-20^i's 20 novel classes).

`table` writes DIR/rehearsal.md and DIR/measured.json: per rule, the jobs, peak RSS (max over jobs),
seconds, seconds per image (per-image rules: the job's seconds over its images, fitted as
a + b * images over the shards) or per training iteration (from the training history), output bytes
per image, and the extrapolation per job to PASCAL VOC trainaug (10,582 images, 24 shards) and
COCO-20^i train (82,081 images, 250 shards).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from ncdss_core.provenance.job_times import read_job_times
from ncdss_core.provenance.record import cpu_model

REPO = Path(__file__).resolve().parents[1]

# the generated classes (VOC numbering 1..20) as COCO ids (1..80), by name
VOC_TO_COCO = {1: 5, 2: 2, 3: 15, 4: 9, 5: 40, 6: 6, 7: 3, 8: 16, 9: 57, 10: 20, 11: 61, 12: 17, 13: 18,
               14: 4, 15: 1, 16: 59, 17: 19, 18: 58, 19: 7, 20: 63}
LONG_SIDE = 500
# the real datasets the table extrapolates to: trainaug / train images, val images, and shards
# (the README's 24 for VOC; docs/cluster.md's 250 for COCO, about 500 images per job). The novel
# images clustering keeps: VOC as in the rehearsal; COCO-20^i at most every image (its folds hold a
# quarter of the classes, person among them in fold 0)
TARGETS = {"VOC trainaug": {"train": 10582, "val": 1449, "shards": 24},
           "COCO-20^i train": {"train": 82081, "val": 40137, "shards": 250, "kept_fraction": 1.0}}


# ---------------------------------------------------------------------------------------- prepare


def readme_overlay() -> dict:
    """The README's `voc.yaml` block, parsed (the same block tests/unit/docs/test_readme_overlay.py checks)."""
    block = re.search(r"```yaml\n# voc\.yaml\n(?P<body>.*?)```", (REPO / "README.md").read_text(), re.S)
    if not block:
        raise SystemExit("README.md: the voc.yaml overlay block was not found")
    return yaml.safe_load(block.group("body"))


def _scaled(w: int, h: int) -> tuple[int, int]:
    s = LONG_SIDE / max(w, h)
    return round(w * s), round(h * s)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def write_dataset(out: Path, n_train: int, n_val: int, seed: int) -> dict:
    """Both layouts of the same upscaled images; returns the image sizes written."""
    from ncdss_core.data.files import write_ids, write_label_png
    from ncdss_core.data.generated import composition
    from ncdss_core.data.generated.streams import TRAINAUG, VAL, image_rng, order_rng
    from ncdss_core.data.generated.writer import JPEG_QUALITY, _annotation_xml

    voc, coco = out / "voc", out / "coco"
    coco_table = np.arange(256, dtype=np.uint8)
    for v, c in VOC_TO_COCO.items():
        coco_table[v] = c
    sizes, next_id = [], 0
    for split, image_set, n in (("trainaug", TRAINAUG, n_train), ("val", VAL, n_val)):
        folder = {"trainaug": "train2014", "val": "val2014"}[split]
        ids = []
        for index, primary in enumerate(composition.primary_order(order_rng(seed, image_set), n)):
            image_id = f"rh_{next_id:06d}"
            next_id += 1
            rec = composition.make_image(image_rng(seed, image_set, index), primary)
            w, h = rec["size"]
            W, H = _scaled(w, h)
            sizes.append((W, H))
            image = Image.fromarray(rec["image"], mode="RGB").resize((W, H), Image.BICUBIC)
            label = np.asarray(Image.fromarray(rec["label"]).resize((W, H), Image.NEAREST))
            saliency = np.asarray(Image.fromarray(rec["saliency"]).resize((W, H), Image.BILINEAR))
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=JPEG_QUALITY)
            sx, sy = W / w, H / h
            annotations = [{**a, "bbox": [max(1, round(a["bbox"][0] * sx)), max(1, round(a["bbox"][1] * sy)),
                                          min(W, round(a["bbox"][2] * sx)), min(H, round(a["bbox"][3] * sy))]}
                           for a in rec["annotations"]]
            for path, data in ((voc / "images" / f"{image_id}.jpg", jpeg.getvalue()),
                               (coco / folder / f"{image_id}.jpg", jpeg.getvalue()),
                               (voc / "saliency_supervised_model" / f"{image_id}.png", _png(saliency)),
                               (coco / "saliency" / f"{image_id}.png", _png(saliency))):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            write_label_png(voc / "SegmentationClassAug" / f"{image_id}.png", label)
            write_label_png(voc / "SegmentationClass" / f"{image_id}.png", label)
            write_label_png(coco / f"masks_{folder}" / f"{image_id}.png", coco_table[label])
            (voc / "Annotations").mkdir(parents=True, exist_ok=True)
            (voc / "Annotations" / f"{image_id}.xml").write_text(_annotation_xml(image_id, W, H, annotations))
            ids.append(image_id)
        write_ids(voc / "sets" / f"{split}.txt", ids)
        write_ids(coco / f"{folder}.txt", ids)
    return {"images": len(sizes), "train": n_train, "val": n_val,
            "widths": [min(s[0] for s in sizes), max(s[0] for s in sizes)],
            "heights": [min(s[1] for s in sizes), max(s[1] for s in sizes)],
            "mean_pixels": float(np.mean([w * h for w, h in sizes]))}


def write_weights(out: Path) -> None:
    """Random torchvision weights (weights=None), saved as the state_dict files the README names."""
    import torch
    import torchvision

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("vgg16", "resnet50"):
        path = out / f"{name}.pth"
        if not path.exists():
            torch.save(getattr(torchvision.models, name)(weights=None).state_dict(), path)


def write_overlays(out: Path) -> None:
    voc = readme_overlay()
    voc["dataset"]["root"] = str(out / "voc")
    voc["weak"]["model"]["weights"] = str(out / "weights" / "vgg16.pth")
    voc["model"]["backbone_weights"] = str(out / "weights" / "resnet50.pth")
    (out / "voc.yaml").write_text("# README.md's voc.yaml, paths pointed at the rehearsal's files\n"
                                  + yaml.safe_dump(voc, sort_keys=False))
    coco = readme_overlay()
    coco["dataset"].update(kind="coco", root=str(out / "coco"))
    coco["weak"]["model"]["weights"] = str(out / "weights" / "vgg16.pth")
    coco["model"]["backbone_weights"] = str(out / "weights" / "resnet50.pth")
    coco["folds"] = [2]
    coco["discovery"] = {"k": 40}
    (out / "coco.yaml").write_text("# README.md's voc.yaml as kind coco (fold 2, k 40), paths pointed at the "
                                   "rehearsal's files\n" + yaml.safe_dump(coco, sort_keys=False))


def prepare(out: Path, n_train: int, n_val: int, seed: int) -> None:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / "dataset.json"
    wanted = {"train": n_train, "val": n_val, "seed": seed}
    if not stamp.exists() or {k: json.loads(stamp.read_text()).get(k) for k in wanted} != wanted:
        summary = write_dataset(out, n_train, n_val, seed)
        stamp.write_text(json.dumps({**summary, "seed": seed}, indent=1) + "\n")
    write_weights(out / "weights")
    write_overlays(out)
    print(f"rehearsal: {stamp.read_text().strip()}")


# ------------------------------------------------------------------------------------------ table

# per-image rules and the images they see: all (trainaug + val), train (trainaug), novel (the fold's
# novel trainaug images), val. The sharded ones run one job per shard (24 at real size too).
PER_IMAGE = {"index_dataset": "all", "splits": "all", "superpixels": "all", "saliency": "all",
             "icd_scores": "train", "seeds": "train", "crf": "train", "seed_eval": "train",
             "weak_labels": "train", "base_removal": "novel", "clustering": "novel", "pseudo_labels": "novel",
             "ranking": "novel", "evaluate": "val", "report_figures": "none", "tables": "none",
             "seed_tables": "none", "report_tables": "none"}
SHARDED = ("superpixels", "saliency", "icd_scores", "seeds", "crf", "base_removal")
TRAININGS = ("pretrain_icd_trunk", "train_icd", "base_model", "finetune")
GPU_RULES = ("pretrain_icd_trunk", "train_icd", "icd_scores", "base_model", "base_removal", "finetune", "ranking",
             "evaluate", "report_figures")
# config.yaml's training lengths (what the README's overlay runs) and batch sizes, per training
MARGIN = 1.5
# what grows with the dataset although no per-image array is kept (MB at the target size):
# a training's decoded-array memory (ncdss_core.data.decoded.LIMIT_BYTES, one per training) and
# clustering's prototype matrix (novel images x feature channels, float64, 4 copies in PCA's SVD)
DECODED_MB = 1024
# host memory of the CUDA context and libraries (cuBLAS, cuDNN) in a torch process on a GPU: an
# allowance, not measured by a CPU run (benchmarks/gpu_check.sh's rehearsal measures it)
CUDA_HOST_MB = 3000
FEATURE_CHANNELS = 2048


def _benchmark_rows(run: Path) -> dict[str, list[dict]]:
    """Per rule, its jobs' benchmark figures (`ncdss times`'s reading; a figure Snakemake could not
    measure counts as 0)."""
    jobs = read_job_times(run / "results" / "benchmarks").fillna(0.0)
    return {rule: group.to_dict("records") for rule, group in jobs.groupby("rule")}


def _records(run: Path) -> list[tuple[Path, dict]]:
    out = []
    for path in sorted((run / "results").rglob("provenance.json")):
        try:
            out.append((path.parent, json.loads(path.read_text())))
        except (OSError, ValueError):
            pass
    return out


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name != "provenance.json")


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(a, b) of y = a + b x by least squares, b >= 0, a >= 0; one point: a = 0."""
    x = np.array([p[0] for p in points], float)
    y = np.array([p[1] for p in points], float)
    if len(points) < 2 or np.ptp(x) == 0:
        return 0.0, float(y.sum() / max(x.sum(), 1.0))
    b, a = np.polyfit(x, y, 1)
    if a < 0 or b < 0:
        return 0.0, float(y.sum() / max(x.sum(), 1.0))
    return float(a), float(b)


PROGRESS = re.compile(r"INFO \S+: (?P<label>.+?) (?P<done>\d+)/(?P<total>\d+), elapsed (?P<s>\d+(?:\.\d+)?)s")


def _loop_seconds(log: Path) -> float | None:
    """Wall seconds a job spent in its per-image loops: the last progress line of each loop
    (`label i/n, elapsed Xs`, ncdss_core.runtime.progress), summed; None without one."""
    if not log.is_file():
        return None
    ends: list[float] = []
    previous: tuple[str, int] | None = None
    for line in log.read_text(errors="replace").splitlines():
        match = PROGRESS.search(line)
        if not match:
            continue
        label, done = match["label"], int(match["done"])
        if previous is None or previous[0] != label or done <= previous[1]:
            ends.append(0.0)  # a new loop
        ends[-1] = float(match["s"])
        previous = (label, done)
    return sum(ends) if ends else None


def _history_iterations(directory: Path) -> int:
    path = directory / "history.json"
    if not path.is_file():
        return 0
    history = json.loads(path.read_text())
    if isinstance(history, dict):
        history = history.get("epochs", history.get("history", []))
    return sum(int(r.get("iterations", 0)) for r in history if isinstance(r, dict))


def _count(path: Path) -> int:
    return len(path.read_text().split()) if path.is_file() else 0


def cpu_per_wall(cpu_s: float, wall_s: float) -> float:
    """CPU seconds per wall second of a rule's jobs, at least 1: a training given several threads
    (each runs alone, `rehearsal.sh`) spends this much CPU per wall second of its epochs, so its wall
    seconds per iteration times this are one thread's CPU seconds; a job on one thread of a shared
    machine (below 1) is taken as 1."""
    return max(1.0, cpu_s / wall_s) if wall_s > 0 else 1.0


def measure(out: Path) -> dict:
    """Per rule, from the run's benchmark TSVs and provenance records (see the module doc)."""
    run = out / "voc-run"
    data = json.loads((out / "dataset.json").read_text())
    splits = run / "results" / "splits" / "fold0" / "full"
    removal_kept = sum(_count(p) for p in (run / "results" / "discovery").rglob("kept.txt"))
    images = {"all": data["train"] + data["val"], "train": data["train"], "val": data["val"],
              "novel": _count(splits / "novel.txt"), "none": 0}
    fractions = {"novel": images["novel"] / data["train"], "kept": removal_kept / data["train"],
                 "base_train": _count(splits / "base_train.txt") / data["train"],
                 "select": _count(splits / "select.txt") / data["train"]}
    bench = _benchmark_rows(run)
    records = _records(run)
    rules: dict[str, dict] = {}
    for rule, jobs in sorted(bench.items()):
        mine = [(d, r) for d, r in records if r.get("stage") == rule]
        e: dict = {"jobs": len(jobs), "peak_rss_mb": round(max(j["max_rss_mb"] for j in jobs)),
                   "s_max": round(max(j["wall_s"] for j in jobs), 1), "s_total": round(sum(j["wall_s"] for j in jobs), 1),
                   "cpu_s_total": round(sum(j["cpu_s"] for j in jobs), 1),
                   "output_bytes": sum(_bytes(d) for d, _ in mine)}
        gpu = [r.get("extra", {}).get("gpu_peak_memory_mb") for _, r in mine]
        if any(gpu):  # a run on cuda: what the job's tensors took on the GPU (torch's peak allocation)
            e["gpu_peak_memory_mb"] = max(g for g in gpu if g)
        if rule in TRAININGS:
            iterations = sum(_history_iterations(d) for d, _ in mine)
            seconds = sum(sum(s for s in r.get("extra", r).get("epoch_seconds", []) or [] if s)
                          for _, r in mine)
            threads = cpu_per_wall(e["cpu_s_total"], e["s_total"])
            e["iterations"] = iterations
            e["cpu_per_wall"] = round(threads, 2)
            e["s_per_iteration"] = round(threads * seconds / iterations, 1) if iterations and seconds else None
            per_job = [threads * sum(x for x in r.get("extra", {}).get("epoch_seconds", []) or [] if x)
                       / max(_history_iterations(d), 1) for d, r in mine]
            e["s_per_iteration_max"] = round(max(per_job), 1) if per_job else None
            e["train_images"] = max((r.get("metrics", {}).get("train_images") or 0 for _, r in mine), default=0)
        elif PER_IMAGE.get(rule, "none") != "none":
            n = images[PER_IMAGE[rule]]
            if rule in SHARDED:  # images per job from the records (shard sizes differ): a + b * images
                by_shard = {str(r["params"].get("shard")): r.get("metrics", {}).get("images") for _, r in mine}
                points = [(float(by_shard.get(j["job"].rsplit("_", 1)[-1]) or n / len(jobs)), j["cpu_s"])
                          for j in jobs]
            else:
                points = [(float(n), j["cpu_s"]) for j in jobs]
            a, b = _fit(points)
            # better where the job logs say how long their loops took: per image = loop seconds
            # (the job's CPU per wall second applied: below 1 on a shared core, above 1 for a job
            # given several threads, as the ranking) over the images; start-up = the rest of the job
            loops = [(_loop_seconds(run / "logs" / rule / f"{j['job']}.log"), j) for j in jobs]
            if any(seconds for seconds, _ in loops):  # a job without a loop had no image; else the fit
                loops = [(seconds or 0.0, j) for seconds, j in loops]
                share = [j["cpu_s"] / j["wall_s"] if j["wall_s"] else 1.0 for _, j in loops]
                loop_cpu = [seconds * f for (seconds, _), f in zip(loops, share)]
                a = float(np.median([max(j["cpu_s"] - c, 0.0) for c, (_, j) in zip(loop_cpu, loops)]))
                b = sum(loop_cpu) / max(sum(x for x, _ in points), 1.0)
            e.update(images=n, startup_cpu_s=round(a, 1), cpu_s_per_image=round(b, 3),
                     bytes_per_image=round(e["output_bytes"] / max(n * (1 if rule in SHARDED else len(jobs)), 1)))
        rules[rule] = e
    coco = {}
    for rule, jobs in sorted(_benchmark_rows(out / "coco-run").items()):  # the COCO-20^i layout's data rules
        coco[rule] = {"jobs": len(jobs), "peak_rss_mb": round(max(j["max_rss_mb"] for j in jobs)),
                      "cpu_s_total": round(sum(j["cpu_s"] for j in jobs), 1)}
    return {"dataset": data, "images": images, "fractions": fractions, "rules": rules, "coco_layout": coco,
            "machine": cpu_model() or "unknown", "cores": os.cpu_count(),
            "started": (out / "started.txt").read_text().strip() if (out / "started.txt").exists() else None,
            "load": (out / "load.txt").read_text().split("\n") if (out / "load.txt").exists() else []}


def target_images(kind: str, target: dict, fractions: dict) -> int:
    return {"all": target["train"] + target["val"], "train": target["train"], "val": target["val"],
            "novel": round(target["train"] * fractions["novel"]), "none": 0}[kind]


def extrapolate(m: dict, rule: str, target: dict) -> dict | None:
    """One job of `rule` at the target size: images per job (sharded: images / shards), CPU seconds
    = startup + s/image x images per job, output = bytes/image x images per job, memory in MB =
    (measured peak + what grows with the dataset) x MARGIN (`required_mb`)."""
    e = m["rules"][rule]
    if "cpu_s_per_image" not in e:
        return None
    n = target_images(PER_IMAGE[rule], target, m["fractions"])
    per_job = n / target["shards"] if rule in SHARDED else n
    return {"images_per_job": round(per_job), "cpu_s": round(e["startup_cpu_s"] + e["cpu_s_per_image"] * per_job),
            "bytes": round(e["bytes_per_image"] * per_job)}


# per training: config.yaml's section of its epochs and batch size (what the README's overlay runs)
TRAINING_LENGTH = {"train_icd": ("weak.train", "epochs", "batch_size"), "base_model": ("base", "epochs", "batch_size"),
                   "finetune": ("finetune", "epochs", "batch_size")}


def training_seconds(m: dict, rule: str, target: dict) -> dict | None:
    """One training at the target size on the rehearsal's machine: iterations = epochs x
    floor(images of its longest stream / batch size) (ICD: its training images; base model and
    fine-tuning: base_train, the longest stream), seconds = iterations x s/iteration (fine-tuning:
    the slowest variant, EUMS). Selection passes not included."""
    e = m["rules"][rule]
    if rule not in TRAINING_LENGTH or not e.get("s_per_iteration_max"):
        return None
    from ncdss_core.config import read_yaml  # noqa: PLC0415

    section, epochs_key, batch_key = TRAINING_LENGTH[rule]
    node = read_yaml(REPO / "config.yaml")
    for part in section.split("."):
        node = node[part]
    fraction = (e["train_images"] / m["dataset"]["train"]) if rule == "train_icd" and e.get("train_images") \
        else m["fractions"]["base_train"]
    iterations = int(node[epochs_key]) * int(target["train"] * fraction // int(node[batch_key]))
    return {"iterations": iterations, "s": round(iterations * e["s_per_iteration_max"])}


def growth_mb(m: dict, rule: str, target: dict) -> float:
    """What a job of `rule` holds at the target size beyond its rehearsal peak (MB); a GPU rule also
    the CUDA libraries' host memory, which a CPU run does not load (CUDA_HOST_MB, not measured here)."""
    cuda = CUDA_HOST_MB if rule in GPU_RULES else 0
    if rule in TRAININGS:
        return DECODED_MB + cuda
    if rule == "clustering":
        kept = target.get("kept_fraction") or m["fractions"]["kept"]
        return round(target["train"] * kept * FEATURE_CHANNELS * 8 * 4 / 1e6)
    return float(cuda)


def required_mb(m: dict, rule: str) -> int:
    """The memory a job of `rule` needs at the largest target (COCO-20^i): (peak + growth) x MARGIN."""
    peak = m["rules"][rule]["peak_rss_mb"]
    return int(max((peak + growth_mb(m, rule, t)) * MARGIN for t in TARGETS.values()))


def required_minutes(m: dict, rule: str) -> int | None:
    """A CPU rule's runtime at the largest target: CPU seconds per job x MARGIN, in minutes rounded
    up to 10 (at least 10). None for GPU rules: their time on a GPU is not measured on a CPU."""
    if rule in GPU_RULES:
        return None
    jobs = [extrapolate(m, rule, t) for t in TARGETS.values()]
    seconds = max((j["cpu_s"] for j in jobs if j), default=0)
    return max(10, math.ceil(seconds * MARGIN / 60 / 10) * 10)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def table(out: Path) -> str:
    out = out.resolve()
    m = measure(out)
    d = m["dataset"]
    lines = [f"{d['train']} trainaug + {d['val']} val images at {d['widths'][0]}-{d['widths'][1]} x "
             f"{d['heights'][0]}-{d['heights'][1]} px, 24 shards; {m['machine']}; load: "
             + " / ".join(x.split("load average:")[-1].strip() for x in m["load"] if x), "",
             "| rule | jobs | peak RSS MB | wall s (longest job) | CPU s/image | CPU s start-up | s/iteration "
             "| output/image | VOC: CPU s/job | VOC: output/job | COCO: CPU s/job | COCO: output/job "
             "| mem_mb needed | runtime needed (min) | GPU MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rule, e in m["rules"].items():
        voc = extrapolate(m, rule, TARGETS["VOC trainaug"])
        coco = extrapolate(m, rule, TARGETS["COCO-20^i train"])
        voc_t, coco_t = (training_seconds(m, rule, t) for t in TARGETS.values())
        if voc_t and coco_t:
            voc = {"cpu_s": f"{voc_t['s']} ({voc_t['iterations']} it.)", "bytes": e["output_bytes"] / max(e["jobs"], 1)}
            coco = {"cpu_s": f"{coco_t['s']} ({coco_t['iterations']} it.)", "bytes": e["output_bytes"] / max(e["jobs"], 1)}
        cells = [rule, str(e["jobs"]), str(e["peak_rss_mb"]), str(e["s_max"]),
                 str(e.get("cpu_s_per_image", "")), str(e.get("startup_cpu_s", "")),
                 str(e.get("s_per_iteration") or ""),
                 _fmt_bytes(e["bytes_per_image"]) if "bytes_per_image" in e else "",
                 str(voc["cpu_s"]) if voc else "", _fmt_bytes(voc["bytes"]) if voc else "",
                 str(coco["cpu_s"]) if coco else "", _fmt_bytes(coco["bytes"]) if coco else "",
                 str(required_mb(m, rule)), str(required_minutes(m, rule) or "GPU"),
                 str(e.get("gpu_peak_memory_mb", ""))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Per job at the target size (VOC trainaug 10,582 + 1,449 val images in 24 shards, "
              "COCO-20^i train 82,081 + 40,137 val in 250): CPU s = start-up + CPU s/image x images per job, "
              "fitted over the rehearsal's jobs (sharded rules: images per job = images / shards; the others see "
              "every image of their kind); output = output/image x images per job. Trainings: "
              "s/iteration x iterations per epoch (longest stream / batch size) x epochs. mem_mb needed "
              f"= (peak RSS + what grows with the dataset) x {MARGIN}: + {DECODED_MB} MB for a training's "
              "decoded arrays, + kept novel images x 2,048 x 8 B x 4 for clustering (COCO: every image), + "
              f"{CUDA_HOST_MB} MB of CUDA host memory for a GPU rule; runtime needed (CPU rules) = CPU s per "
              f"job x {MARGIN}, in minutes rounded up to 10. Seconds are CPU seconds of one thread on this "
              "machine (a training run with several threads: its wall seconds per iteration x its CPU/wall "
              "ratio), with the load above; a GPU rule's time on a GPU is not measured here."]
    if m["coco_layout"]:
        lines += ["", "The same images in the COCO-20^i layout (`kind: coco`, fold 2), the data rules and the base model: "
                  + "; ".join(f"{rule} {c['jobs']} job{'s' if c['jobs'] > 1 else ''}, peak {c['peak_rss_mb']} MB, "
                              f"{c['cpu_s_total']} CPU s" for rule, c in m["coco_layout"].items()) + "."]
    text = "\n".join(lines) + "\n"
    (out / "rehearsal.md").write_text(text)
    (out / "measured.json").write_text(json.dumps(m, indent=1) + "\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out", type=Path)
    p.add_argument("--train", type=int, default=int(os.environ.get("REHEARSAL_TRAIN", 96)))
    p.add_argument("--val", type=int, default=int(os.environ.get("REHEARSAL_VAL", 24)))
    p.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("table")
    t.add_argument("out", type=Path)
    t.add_argument("--record", type=Path, help="also write the figures here (benchmarks/rehearsal.json)")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.out, args.train, args.val, args.seed)
    else:
        print(table(args.out))
        if args.record:
            measured = json.loads((args.out / "measured.json").read_text())
            args.record.write_text(json.dumps(measured, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Figures of the HTML report (`snakemake --report`): seed quality per class, a grid of examples,
the entropy histogram with the clean/unclean cut, and training curves (`report_figures` draws all
four for one fold).

Each function reads finished artifacts and writes one PNG atomically; nothing here trains or
changes results.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ncdss_core.data.files import VOC_PALETTE, id_path, read_ids, read_label_png  # noqa: E402
from ncdss_core.io.atomic import atomic_write_bytes, read_json  # noqa: E402

_PALETTE = np.array(VOC_PALETTE, dtype=np.uint8).reshape(256, 3)


def colorize(labels: np.ndarray) -> np.ndarray:
    """Index map -> RGB with the VOC palette (255 ignore in white, as VOC shows it)."""
    rgb = _PALETTE[labels.astype(np.uint8)]
    rgb[labels == 255] = 255
    return rgb


def _save(fig: "plt.Figure", path: str | Path) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def seed_quality_figure(seed_eval: str | Path, class_names: Mapping[int, str], out: str | Path) -> Path:
    """Per-class IoU of every seed variant, without and with CRF (from seed_eval.json)."""
    rows = read_json(Path(seed_eval) / "seed_eval.json")
    classes = sorted({int(c) for row in rows for c in row["iou"]})
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(classes)), 4))
    width = 0.8 / max(len(rows), 1)
    for i, row in enumerate(rows):
        values = [100 * row["iou"].get(str(c), row["iou"].get(c, np.nan)) for c in classes]
        label = f"{row['variant']}{' + CRF' if row['crf'] else ''} (mIoU {100 * row['miou']:.1f})"
        ax.bar(np.arange(len(classes)) + i * width, values, width, label=label)
    ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2)
    ax.set_xticklabels([class_names.get(c, str(c)) for c in classes], rotation=60, ha="right")
    ax.set_ylabel("IoU (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Seed quality per class (training images)")
    return _save(fig, out)


def entropy_histogram(ranking: str | Path, out: str | Path) -> Path:
    """Entropy scores of the novel images, with the clean/unclean cut of the ranking."""
    ranking = Path(ranking)
    scores = read_json(ranking / "scores.json")
    clean = set(read_ids(ranking / "clean.txt"))
    clean_scores = [v for k, v in scores.items() if k in clean]
    unclean_scores = [v for k, v in scores.items() if k not in clean]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.histogram_bin_edges(list(scores.values()) or [0.0], bins=30)
    ax.hist(clean_scores, bins=bins, alpha=0.7, label=f"clean ({len(clean_scores)})")
    ax.hist(unclean_scores, bins=bins, alpha=0.7, label=f"unclean ({len(unclean_scores)})")
    if clean_scores and unclean_scores:
        cut = (max(clean_scores) + min(unclean_scores)) / 2
        ax.axvline(cut, color="black", linestyle="--", label=f"cut {cut:.4f}")
    ax.set_xlabel("mean normalised entropy over the novel pseudo-label region")
    ax.set_ylabel("images")
    ax.legend()
    return _save(fig, out)


def epoch_loss(record: Mapping[str, Any]) -> float:
    """The training loss of one epoch record, comparable on a log axis.

    Segmentation stages record `loss`. ICD records its terms apart: its loss is classification plus
    top-down; the bottom-up term is a negative objective (a power iteration), not a loss."""
    if "loss" in record:
        return float(record["loss"])
    if "loss_cls" in record:
        return float(record["loss_cls"]) + float(record.get("loss_td", 0.0))
    return float("nan")


def training_curves(histories: Mapping[str, str | Path], out: str | Path) -> Path:
    """Loss per epoch (left) and the held-out selection score where recorded (right).

    Each stage keeps one colour in both panels."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, path) in enumerate(histories.items()):
        data = read_json(path)
        epochs = data["epochs"] if isinstance(data, dict) else data
        xs = [e.get("epoch", i) for i, e in enumerate(epochs)]
        colour = colours[index % len(colours)]
        left.plot(xs, [epoch_loss(e) for e in epochs], marker=".", label=name, color=colour)
        if any("select_score" in e for e in epochs):
            right.plot(xs, [100 * e.get("select_score", np.nan) for e in epochs], marker=".", label=name,
                       color=colour)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (ICD: classification + top-down)")
    left.set_yscale("log")
    left.legend(fontsize=8)
    right.set_xlabel("epoch")
    right.set_ylabel("selection mIoU (%) on held-out ids")
    if right.lines:
        right.legend(fontsize=8)
    return _save(fig, out)


Panel = Callable[[str], "np.ndarray | None"]


def example_grid(ids: Sequence[str], image: Callable[[str], np.ndarray],
                 panels: Mapping[str, Panel], out: str | Path) -> Path:
    """One row per image: the image, then each named panel (an index map, or None if absent)."""
    columns = ["image", *panels]
    fig, axes = plt.subplots(len(ids), len(columns), figsize=(1.9 * len(columns), 1.7 * len(ids)),
                             squeeze=False)
    for row, image_id in enumerate(ids):
        rgb = image(image_id)
        for col, name in enumerate(columns):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=8)
            if col == 0:
                ax.imshow(rgb)
                ax.set_ylabel(image_id, fontsize=7)
                continue
            labels = panels[name](image_id)
            if labels is None:
                ax.imshow(np.full_like(rgb, 220))
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            else:
                ax.imshow(colorize(labels))
    return _save(fig, out)


def shard_label_reader(shard_dirs: Sequence[str | Path]) -> Panel:
    """An image's label map from whichever of the shard directories holds it (None if none does)."""
    directories = [Path(d) for d in shard_dirs]

    def read(image_id: str) -> np.ndarray | None:
        for directory in directories:
            path = id_path(directory, image_id, ".png")
            if path.is_file():
                return read_label_png(path)
        return None
    return read


def seed_shards(shard_dirs: Sequence[str | Path], stage: str, variant: str) -> list[Path]:
    """The `<stage>/<variant>/<shard>` directories (stage seeds or crf) among `shard_dirs`."""
    return [Path(d) for d in shard_dirs if Path(d).parent.name == variant and Path(d).parent.parent.name == stage]


def prediction_reader(model_dir: str | Path, dataset: Any, device: str) -> Panel:
    """The argmax prediction of a model directory's selected checkpoint on a training image."""
    # imported here: the rest of the module (the estimate figure's CPU job) needs no torch
    from ncdss_core.evaluation.evaluate import predict_logits
    from ncdss_core.models.segmodel import load_checkpoint

    model, meta = load_checkpoint(Path(model_dir) / "model.pt")
    model.to(device).eval()

    def read(image_id: str) -> np.ndarray:
        image = dataset.read_image(image_id, "trainaug")
        logits = predict_logits(model, image, int(meta["input_size"]), image.shape[:2])
        return logits.argmax(0).numpy().astype(np.uint8)
    return read


def report_figures(dataset: Any, inputs: Mapping[str, Any], outputs: Mapping[str, str | Path], examples: int,
                   device: str) -> None:
    """The four figures of one fold. `inputs`: the report rule's artifacts (seed_eval, ranking,
    icd_model, base, basic, eums, pseudo_labels, shards: seed and CRF shard directories, and trunk
    when the ICD trunk was pretrained); `outputs`: seed_quality, entropy, curves, examples."""
    names = {0: "background", **{i + 1: n for i, n in enumerate(dataset.class_names)}}
    seed_quality_figure(inputs["seed_eval"], names, outputs["seed_quality"])
    entropy_histogram(inputs["ranking"], outputs["entropy"])
    trunk = {"ICD trunk pretraining": Path(inputs["trunk"]) / "history.json"} if inputs.get("trunk") else {}
    training_curves({**trunk,
                     "ICD (CAM + ICD branches)": Path(inputs["icd_model"]) / "history.json",
                     "base": Path(inputs["base"]) / "history.json",
                     "basic": Path(inputs["basic"]) / "history.json",
                     "EUMS": Path(inputs["eums"]) / "history.json"}, outputs["curves"])
    seeds = {(stage, variant): shard_label_reader(seed_shards(inputs["shards"], stage, variant))
             for stage in ("seeds", "crf") for variant in ("cam", "icd")}
    # Prefer novel images that also hold base objects, so that every column has something to show.
    novel = read_ids(Path(inputs["pseudo_labels"]) / "novel.txt")
    with_seeds = [i for i in novel if seeds["seeds", "icd"](i) is not None]
    ids = (with_seeds + [i for i in novel if i not in with_seeds])[:examples]
    pseudo = Path(inputs["pseudo_labels"])
    example_grid(
        ids,
        lambda i: dataset.read_image(i, "trainaug"),
        {
            "ground truth": lambda i: dataset.read_label(i, "trainaug"),
            "CAM seed": seeds["seeds", "cam"],
            "ICD seed": seeds["seeds", "icd"],
            "ICD + CRF": seeds["crf", "icd"],
            "pseudo-label": lambda i: read_label_png(id_path(pseudo, i, ".png")),
            "basic": prediction_reader(inputs["basic"], dataset, device),
            "EUMS": prediction_reader(inputs["eums"], dataset, device),
        },
        outputs["examples"],
    )


def k_estimate_figure(estimate_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """The estimate of the number of novel classes of one fold (discovery.k auto): the criterion of
    every candidate per run (supervision, training seed), the chosen N̂ marked on each curve and the
    fold's true number as a dashed line."""
    records = [read_json(Path(d) / "estimate.json") for d in estimate_dirs]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    truths = set()
    for record in records:
        points = [(n, v) for n, v in zip(record["candidates"], record["criterion"]) if v is not None]
        xs, ys = zip(*points) if points else ((), ())
        line, = ax.plot(xs, ys, marker="o", markersize=3,
                        label=f"{record.get('supervision', '?')}, seed {record.get('seed', '?')}: N̂ = {record['n_hat']}")
        chosen = dict(points).get(record["n_hat"])
        if chosen is not None:
            ax.plot([record["n_hat"]], [chosen], marker="*", markersize=14, color=line.get_color())
        if record.get("true_n") is not None:
            truths.add(int(record["true_n"]))
    for truth in sorted(truths):
        ax.axvline(truth, color="black", linestyle="--", linewidth=1, label=f"true number: {truth}")
    first = records[0] if records else {"criterion_name": "criterion", "higher_is_better": True, "estimator": "?"}
    ax.set_xlabel("candidate number of novel classes")
    ax.set_ylabel(f"{first['criterion_name']} ({'higher' if first['higher_is_better'] else 'lower'} is better)")
    ax.set_title(f"Estimated number of novel classes ({first['estimator']}; ★ chosen)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return _save(fig, out)

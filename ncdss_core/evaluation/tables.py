"""Result tables: per fold and mean over folds, for base, basic, EUMS and ablation rows, and for
the seeds of every variant with and without CRF.

Input: the metrics.json of each evaluation artifact ({"selected": scores, "last": scores, ...}).
Output: results.csv (one row per model x checkpoint x fold, plus the mean) and results.md with one
table per metric (novel mIoU after matching, base mIoU, all-class mIoU): rows model x checkpoint,
columns the folds and their mean, values in percent.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ncdss_core.provenance.atomic import atomic_write_text, read_json

METRICS = (("novel_miou", "novel mIoU (after matching)"), ("base_miou", "base mIoU"),
           ("all_miou", "all-class mIoU"))
CHECKPOINTS = ("selected", "last")
ORDER = ("base", "ablation_no_overclustering", "basic", "ablation_ranking", "ablation_ranking_reassignment",
         "ablation_ranking_selftraining", "eums")


def _fmt(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}"


def _mean(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    return sum(clean) / len(clean) if clean and len(clean) == len(values) else None


def collect(entries: Iterable[tuple[int, str, str | Path]]) -> list[dict[str, Any]]:
    """Rows (fold, model, checkpoint, k, method, metrics) from (fold, model, metrics.json) entries."""
    rows = []
    for fold, model, path in entries:
        data = read_json(path)
        for checkpoint in CHECKPOINTS:
            s = data[checkpoint]
            rows.append({"fold": int(fold), "model": model, "checkpoint": checkpoint, "k": s["k"],
                         "method": s["method"], "epoch": data.get(f"{checkpoint}_epoch"),
                         **{m: (None if s[m] is None else float(s[m])) for m, _ in METRICS}})
    return rows


def _models(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {r["model"] for r in rows}
    return [m for m in ORDER if m in present] + sorted(present - set(ORDER))


def build_tables(rows: Sequence[Mapping[str, Any]], folds: Sequence[int]) -> tuple[str, str]:
    """(CSV text, Markdown text)."""
    index = {(r["model"], r["checkpoint"], r["fold"]): r for r in rows}
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["model", "checkpoint", "fold", "k", "method", "epoch"] + [m for m, _ in METRICS])
    md = [f"Folds {', '.join(map(str, folds))}; values in %, mean = mean over these folds "
          "(– when a fold is missing). selected = checkpoint chosen on the held-out select split; "
          "last = final epoch."]
    for model in _models(rows):
        for checkpoint in CHECKPOINTS:
            cells = [index.get((model, checkpoint, f)) for f in folds]
            for f, r in zip(folds, cells):
                if r is not None:
                    writer.writerow([model, checkpoint, f, r["k"], r["method"], r["epoch"]]
                                    + ["" if r[m] is None else f"{r[m]:.6f}" for m, _ in METRICS])
            means = [_mean([None if r is None else r[m] for r in cells]) for m, _ in METRICS]
            writer.writerow([model, checkpoint, "mean", "", "", ""] + ["" if v is None else f"{v:.6f}" for v in means])
    for metric, title in METRICS:
        md += ["", f"### {title}", "",
               "| model | checkpoint | k | " + " | ".join(f"fold{f}" for f in folds) + " | mean |",
               "|---|---|---|" + "---|" * (len(folds) + 1)]
        for model in _models(rows):
            for checkpoint in CHECKPOINTS:
                cells = [index.get((model, checkpoint, f)) for f in folds]
                values = [None if r is None else r[metric] for r in cells]
                k = next((r["k"] for r in cells if r is not None), "")
                md.append(f"| {model} | {checkpoint} | {k} | " + " | ".join(_fmt(v) for v in values)
                          + f" | {_fmt(_mean(values))} |")
    return csv_buf.getvalue(), "\n".join(md) + "\n"


def write_tables(out_dir: str | Path, rows: Sequence[Mapping[str, Any]], folds: Sequence[int]) -> None:
    text_csv, text_md = build_tables(rows, folds)
    atomic_write_text(Path(out_dir) / "results.csv", text_csv)
    atomic_write_text(Path(out_dir) / "results.md", text_md)


# --- seeds (ICD) over folds -----------------------------------------------------------------------
SEED_METRICS = (("miou", "seed mIoU (unlabelled pixels skipped, ICD's protocol)"),
                ("miou_strict", "strict seed mIoU (unlabelled pixels count as wrong)"),
                ("coverage", "coverage (labelled pixels)"))


def _seed_index(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]):
    """(index (variant, crf, fold) -> row, the (variant, crf) keys in first-seen order)."""
    index = {(r["variant"], bool(r["crf"]), f): r for f, rows in per_fold.items() for r in rows}
    return index, list(dict.fromkeys((variant, crf) for variant, crf, _ in index))


def _seed_values(index: Mapping, key: tuple[str, bool], folds: Sequence[str], metric: str) -> list[float | None]:
    return [None if (r := index.get((*key, f))) is None else float(r[metric]) for f in folds]


def build_seed_tables(per_fold: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[str, str]:
    """(CSV text, Markdown text) of the seed evaluations of several folds (fold -> the rows of its
    seed_eval.json): rows variant x CRF, columns the folds and their mean, one table per metric."""
    folds = list(per_fold)
    index, keys = _seed_index(per_fold)
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf, lineterminator="\n")
    writer.writerow(["variant", "crf", "fold", "images"] + [m for m, _ in SEED_METRICS])
    for variant, crf in keys:
        for f in folds:
            r = index.get((variant, crf, f))
            if r is not None:
                writer.writerow([variant, "yes" if crf else "no", f, r["images"]]
                                + [f"{float(r[m]):.6f}" for m, _ in SEED_METRICS])
        means = [_mean(_seed_values(index, (variant, crf), folds, m)) for m, _ in SEED_METRICS]
        writer.writerow([variant, "yes" if crf else "no", "mean", ""] + ["" if v is None else f"{v:.6f}" for v in means])
    md = [f"Seeds of the base-class training images, folds {', '.join(folds)}; values in %, mean = mean "
          "over these folds (– when a fold is missing)."]
    for metric, title in SEED_METRICS:
        md += ["", f"### {title}", "", "| seeds | CRF | " + " | ".join(f"fold{f}" for f in folds) + " | mean |",
               "|---|---|" + "---|" * (len(folds) + 1)]
        for variant, crf in keys:
            values = _seed_values(index, (variant, crf), folds, metric)
            md.append(f"| {variant} | {'yes' if crf else 'no'} | " + " | ".join(_fmt(v) for v in values)
                      + f" | {_fmt(_mean(values))} |")
    return csv_buf.getvalue(), "\n".join(md) + "\n"


def write_seed_tables(out_dir: str | Path, seed_evals: Mapping[str, str | Path]) -> dict[str, float]:
    """results.csv and results.md from each fold's seed_eval.json (fold -> path); returns the mean
    seed mIoU of each variant and CRF setting."""
    per_fold = {str(fold): read_json(path) for fold, path in seed_evals.items()}
    text_csv, text_md = build_seed_tables(per_fold)
    atomic_write_text(Path(out_dir) / "results.csv", text_csv)
    atomic_write_text(Path(out_dir) / "results.md", text_md)
    index, keys = _seed_index(per_fold)
    folds = list(per_fold)
    return {f"{variant}{'_crf' if crf else ''}_miou": _mean(_seed_values(index, (variant, crf), folds, "miou"))
            for variant, crf in sorted(keys)}

"""The `ncdss` command: dataset checks, provenance audit and diff, config validation, evaluation,
seconds per rule of a run, and installing the Slurm profile. Each subcommand is a small function over ncdss_core."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from ncdss_core.runtime import setup_logging


def _guess_kind(root: Path) -> str:
    if (root / "train2014.txt").is_file() or (root / "val2014.txt").is_file():
        return "coco"
    if (root / "generated.json").is_file():
        return "generated"
    return "voc"


def cmd_scan(args: argparse.Namespace) -> int:
    from ncdss_core.data.datasets import DatasetError, open_dataset, scan

    root = Path(args.root)
    kind = args.kind or _guess_kind(root)
    try:
        dataset = open_dataset(kind, root)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems, summary = scan(dataset)
    for problem in problems:
        print(problem)
    for split, counts in summary["splits"].items():
        print(f"{split}: {counts['images']} images, {counts['with_saliency']} with saliency")
    print(f"{len(problems)} problem(s) in {kind} dataset {root}")
    return 1 if problems else 0


def cmd_audit(args: argparse.Namespace) -> int:
    from ncdss_core.provenance.audit import audit, format_chain

    path = Path(args.path)
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    root = audit(path)
    print(format_chain(root, verbose=args.verbose))
    problems = [p for node in root.walk() for p in node.problems]
    print(f"\n{len(problems)} problem(s)" if problems else "\nhistory verified: every digest matches")
    return 1 if problems else 0


def cmd_diff(args: argparse.Namespace) -> int:
    from ncdss_core.provenance.audit import diff

    lines = diff(args.a, args.b)
    print("\n".join(lines) if lines else "the two histories are identical")
    return 1 if lines else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from ncdss_core.config import ConfigError, load_config

    try:
        load_config(*args.configs)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    merged = " + ".join(["config.yaml", *args.configs])
    print(f"{merged}: valid")
    return 0


def cmd_generate_dataset(args: argparse.Namespace) -> int:
    from ncdss_core.data.generated import generate

    summary = generate(args.root, size=args.size, seed=args.seed)
    print(f"wrote the {args.size} generated dataset to {args.root}: {summary.get('n_trainaug', '?')} trainaug, "
          f"{summary.get('n_val', '?')} val")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from ncdss_core.data.datasets import open_dataset
    from ncdss_core.data.files import read_ids
    from ncdss_core.evaluation.evaluate import percent, score_cells, scores_of
    from ncdss_core.models.segmodel import load_checkpoint

    torch.set_num_threads(max(1, args.threads))
    dataset = open_dataset(args.kind, args.root)
    ids = read_ids(args.ids) if args.ids else list(dataset.ids(args.split))
    rows = []
    for path in args.checkpoints:
        model, meta = load_checkpoint(path)
        fold = args.fold if args.fold is not None else int(meta["fold"])
        size = args.input_size or int(meta["input_size"])
        rows.append((path, scores_of(model, dataset, ids, args.split, fold, size, args.matching)))
    print("| checkpoint | k | matching | novel mIoU | base mIoU | all mIoU |")
    print("|---|---|---|---|---|---|")
    for path, scores in rows:
        print(f"| {path} | {score_cells(scores)} |")
    if args.per_class:
        for path, scores in rows:
            print(f"\n{path}")
            for name, value in zip(scores["class_names"], scores["iou"]):
                print(f"  {name:>14s} {percent(value)}")
    return 0


def cmd_times(args: argparse.Namespace) -> int:
    from ncdss_core.provenance.job_times import format_times, read_job_times, times_per_rule

    try:
        per_rule = times_per_rule(read_job_times(args.benchmarks))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(format_times(per_rule))
    return 0


def _delegate(module: str, function: str):
    """Subcommands owned by stage modules take their own argv."""
    def run(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), function)(args.rest) or 0)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ncdss", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("scan", help="check a dataset file by file")
    p.add_argument("root")
    p.add_argument("--kind", choices=["voc", "coco", "generated"], help="default: guessed from the layout")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("audit", help="verify an artifact's digests and print its history")
    p.add_argument("path")
    p.add_argument("-v", "--verbose", action="store_true", help="print every param")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("diff", help="what differs between the histories of two artifacts")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("validate", help="validate what `snakemake --configfile FILE...` would run with: "
                                        "config.yaml with each FILE merged over it, as Snakemake merges them")
    p.add_argument("configs", nargs="*", metavar="FILE", help="config overlays, as given to --configfile")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("generate-dataset", help="write the generated dataset")
    p.add_argument("root")
    p.add_argument("--size", default="default", choices=["tiny", "default"])
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate_dataset)

    p = sub.add_parser("eval", help="evaluate given checkpoints on a dataset and print the table",
                       description="Evaluate segmentation checkpoints (base, basic or EUMS model.pt) on a "
                                   "dataset split: novel mIoU after cluster-to-class matching, base mIoU, "
                                   "all-class mIoU.")
    p.add_argument("checkpoints", nargs="+", help="model.pt / last.pt files written by ncdss")
    p.add_argument("--root", required=True, help="dataset root")
    p.add_argument("--kind", default="generated", choices=["generated", "voc", "coco"])
    p.add_argument("--fold", type=int, help="fold (default: the one stored in the checkpoint)")
    p.add_argument("--split", default="val", choices=["val", "trainaug"])
    p.add_argument("--ids", help="optional id list restricting the split")
    p.add_argument("--input-size", type=int, help="inference size (default: the checkpoint's)")
    p.add_argument("--matching", default="auto", choices=["auto", "hungarian", "majority"])
    p.add_argument("--per-class", action="store_true", help="also print per-class IoU")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("times", help="seconds and peak memory per rule of a run (its Snakemake benchmark files)")
    p.add_argument("benchmarks", nargs="?", default="results/benchmarks", help="default: results/benchmarks")
    p.set_defaults(func=cmd_times)

    for name, module, function, text in DELEGATED:
        p = sub.add_parser(name, help=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_delegate(module, function))
    return parser


# name, module, function(argv) -> exit code, help
DELEGATED = [
    ("install-profile", "ncdss_core.slurm_profile", "install_main",
     "install the Slurm profile as the user's `slurm` profile"),
]


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Delegated subcommands parse their own options: hand them everything after the name
    # (argparse's REMAINDER would reject a leading option such as `--partition`).
    for name, module, function, _ in DELEGATED:
        if argv and argv[0] == name:
            return int(getattr(importlib.import_module(module), function)(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

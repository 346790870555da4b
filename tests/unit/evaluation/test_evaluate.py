"""Evaluation, and the whole discovery chain on a hand-made dataset (library level, seconds)."""
import numpy as np
import pytest
import torch
from config_defaults import section
from ncdss_fixtures import base_run, finetune_inputs, finetune_run
from ncdss_fixtures import make_voc_dataset as write_tiny_voc

from ncdss_core.data.datasets import open_dataset
from ncdss_core.discovery.base_removal import remove_base_shard
from ncdss_core.discovery.base_training import BaseInputs, train_base_model
from ncdss_core.discovery.clustering import cluster_fold, read_assignments, write_pseudo_labels
from ncdss_core.discovery.finetuning import train_finetune_model
from ncdss_core.discovery.ranking import rank_novel_images
from ncdss_core.discovery.settings import BaseRemovalSettings, ClusteringSettings
from ncdss_core.discovery.training import read_model
from ncdss_core.cli import main as cli
from ncdss_core.evaluation.evaluate import evaluate_model_dir, scores_of
from ncdss_core.data.folds import base_classes, novel_classes
from ncdss_core.data.files import read_ids, read_label_png
from ncdss_core.io.atomic import read_json

torch.set_num_threads(1)
MODEL = {"arch": "small", "input_size": 32, "widths": [8, 16, 16, 32], "blocks": [1, 1, 1, 1],
         "head_channels": 16, "atrous_rates": [1, 2, 3], "backbone_weights": "",
         "trainable_backbone": ["stem", "layer1", "layer2", "layer3", "layer4"], "freeze_backbone_bn": False,
         "backbone_lr_factor": 1.0, "momentum": 0.9, "weight_decay": 1.0e-4, "workers": 0}
BASE = {"supervision": "full", "epochs": 2, "batch_size": 4, "lr": 0.1, "decay_epochs": [1],
        "selection": "best"}
FT = section("finetune", epochs=2, batch_size=2, decay_epochs=[1], reassign_epochs=[1])


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    ds = open_dataset("generated", write_tiny_voc(root / "voc", n_train=44, n_val=6))
    novel_cls = set(novel_classes("generated", 0))
    train_ids = list(ds.ids("trainaug"))
    select, rest = train_ids[:4], train_ids[4:]
    novel_ids = [i for i in rest if novel_cls & set(ds.image_labels(i))]
    base_ids = [i for i in rest if i not in novel_ids]
    base_train = [i for i in rest if set(ds.image_labels(i)) - novel_cls]
    train_base_model(ds, base_run(MODEL, BASE, 1), BaseInputs(base_train, select, None), root / "base", "cpu", None)
    base = read_model(root / "base" / "model.pt")
    removal = root / "removal"
    stats = remove_base_shard(base, base, ds, novel_ids, root / "voc" / "saliency_supervised_model",
                              removal, 32, BaseRemovalSettings(0.9, 0.008, "base"))
    cluster_fold([removal], root / "clusters", 6, ClusteringSettings(4, True, 10, 300), 0)
    quality = write_pseudo_labels(ds, 0, [removal], read_assignments(root / "clusters" / "assignments.csv"),
                                  6, root / "pseudo", "auto")
    kept = read_ids(root / "pseudo" / "novel.txt")
    return dict(root=root, ds=ds, select=select, base_ids=base_ids, novel_ids=kept, stats=stats,
                quality=quality)


def test_pseudo_labels_follow_the_label_space(chain):
    ds, root = chain["ds"], chain["root"]
    num_base = len(base_classes("generated", 0))
    assert chain["stats"]["kept"] == len(chain["novel_ids"]) >= 3
    for image_id in chain["novel_ids"]:
        label = read_label_png(root / "pseudo" / f"{image_id}.png")
        assert label.max() <= num_base + 6 and 255 not in label
        assert (label > num_base).any()
    assert 0.0 <= chain["quality"]["novel_miou"] <= 1.0 and chain["quality"]["images"] == len(chain["novel_ids"])


def test_basic_ranking_eums_and_evaluation(chain, capsys):
    ds, root = chain["ds"], chain["root"]
    ids = (chain["base_ids"], chain["novel_ids"], chain["select"], root / "pseudo")
    train_finetune_model(ds, finetune_run("basic", 6, MODEL, FT, 2), finetune_inputs(*ids), root / "basic",
                         "cpu", None)
    basic = read_model(root / "basic" / "model.pt")
    summary = rank_novel_images(basic, ds, 0, chain["novel_ids"], root / "pseudo", 32, 0.67, root / "ranking")
    clean, unclean = read_ids(root / "ranking" / "clean.txt"), read_ids(root / "ranking" / "unclean.txt")
    assert len(clean) == int(0.67 * len(chain["novel_ids"])) and len(clean) + len(unclean) == summary["images"]
    result = train_finetune_model(ds, finetune_run("eums", 6, MODEL, FT, 2),
                                  finetune_inputs(*ids, clean_ids=clean, unclean_ids=unclean), root / "eums",
                                  "cpu", None)
    assert len(read_ids(root / "eums" / "clean_final.txt")) == len(clean) // 2
    assert result.history[1]["stream_sizes"]["unclean"] == len(unclean) + len(clean) - len(clean) // 2
    history = read_json(root / "eums" / "history.json")
    assert history["selected_epoch"] in (0, 1)
    model = read_model(root / "eums" / "model.pt")
    s = scores_of(model, ds, ds.ids("val"), "val", 0, 32, "auto")
    assert s["k"] == 6 and s["method"] == "majority"   # 6 clusters > 5 novel classes
    assert len(s["iou"]) == 1 + len(base_classes("generated", 0)) + 5
    assert np.array(s["confusion"]).sum() > 0
    assert cli(["eval", str(root / "eums" / "model.pt"), str(root / "base" / "model.pt"),
                "--root", str(root / "voc")]) == 0
    out = capsys.readouterr().out
    assert "novel mIoU" in out and out.count("model.pt") == 2


def test_model_dir_evaluation_scores_both_checkpoints(chain, tmp_path):
    ds, root = chain["ds"], chain["root"]
    metrics = evaluate_model_dir(root / "base", ds, "val", 0, "auto", tmp_path)
    result = read_json(tmp_path / "metrics.json")
    assert set(metrics) == {"selected", "last"}
    for checkpoint in ("selected", "last"):
        assert metrics[checkpoint] == {m: result[checkpoint][m] for m in ("novel_miou", "base_miou", "all_miou")}
        assert result[checkpoint]["method"] == "none" and result[checkpoint]["images"] == len(ds.ids("val"))
    assert result["last_epoch"] == len(read_json(root / "base" / "history.json")["epochs"]) - 1
    lines = (tmp_path / "metrics.md").read_text().splitlines()
    assert lines[0].startswith("| checkpoint | epoch |") and lines[2].startswith(
        f"| selected | {result['selected_epoch']} | 0 | none |")

"""The ICD inference stage and the model directory of ICD training, on a hand-made dataset."""

from pathlib import Path

import numpy as np
import torch

from ncdss_core.config import load_config
from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.files import read_ids
from ncdss_core.io.atomic import read_json
from ncdss_core.weak.infer import infer_image, load_model, score_shard, write_icd_model_dir
from ncdss_core.weak.scores import ScoreStore
from ncdss_core.weak.trainer import TrainConfig, build_icd_net

CONFIG = load_config(Path(__file__).resolve().parents[3] / "config.yaml")["weak"]
torch.set_num_threads(1)


def small_model(classes: int):
    cfg = TrainConfig.from_params({**CONFIG["model"], **CONFIG["train"], "width": 4, "head_channels": 8})
    torch.manual_seed(0)
    return build_icd_net(cfg, classes).eval(), cfg


def test_score_shard_stores_the_present_classes_and_skips_images_without_one(small_voc, tmp_path):
    dataset = open_dataset("voc", small_voc)
    classes = [1, 2]  # the model's output channels, as dataset class ids
    model, _ = small_model(len(classes))
    ids = ["tr_000", "tr_001", "tr_002"]
    labels = {"tr_000": [1, 8], "tr_001": [5], "tr_002": [2, 1]}
    metrics = score_shard(model, classes, dataset, ids, labels, tmp_path)
    assert metrics == {"images": 2, "skipped": 1}
    assert read_ids(tmp_path / "ids.txt") == ["tr_000", "tr_002"]
    with ScoreStore(tmp_path / "scores.h5") as store:
        assert store.ids() == ["tr_000", "tr_002"]
        both = store.read("tr_002")
        one = store.read("tr_000")
    assert both["classes"] == [1, 2] and one["classes"] == [1]
    want = infer_image(model, dataset.read_image("tr_002"), [0, 1])
    assert np.array_equal(both["icd"], want["icd"]) and both["cam"].shape == want["cam"].shape


def test_model_dir_keeps_wall_clock_seconds_out_of_the_files(tmp_path):
    model, cfg = small_model(3)
    history = [{"epoch": 0, "loss_cls": 2.0, "loss_td": 0.5, "seconds": 3.2},
               {"epoch": 1, "loss_cls": 1.0, "loss_td": 0.25, "seconds": 2.9}]
    metrics, seconds = write_icd_model_dir(tmp_path, model, cfg, [4, 7, 9], history, ["a", "b"])
    assert seconds == [3.2, 2.9]
    assert metrics == {"train_images": 2, "classes": [4, 7, 9], "loss_cls": 1.0, "loss_td": 0.25}
    assert read_json(tmp_path / "history.json") == [{"epoch": 0, "loss_cls": 2.0, "loss_td": 0.5},
                                                    {"epoch": 1, "loss_cls": 1.0, "loss_td": 0.25}]
    assert read_ids(tmp_path / "train_ids.txt") == ["a", "b"]
    loaded, classes, _ = load_model(tmp_path / "model.pt")
    assert classes == [4, 7, 9]
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))

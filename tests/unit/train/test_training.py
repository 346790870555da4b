"""Segmentation training through the one loop: determinism, selection, streams, weak supervision."""

import numpy as np
import pytest
import torch
from config_defaults import section
from ncdss_fixtures import base_run, finetune_run, make_voc_dataset

from ncdss_core.data.datasets import open_dataset
from ncdss_core.data.labels import base_label_reader, image_reader
from ncdss_core.data.train_samples import SegTrainSet
from ncdss_core.data.transforms import Jitter
from ncdss_core.discovery.losses import supervised_step
from ncdss_core.discovery.base_training import BaseInputs
from ncdss_core.discovery.finetuning import FinetuneRun
from ncdss_core.discovery.settings import BaseSettings
from ncdss_core.discovery.training import TrainSettings, train_segmentation
from ncdss_core.discovery.variants import VARIANTS
from ncdss_core.evaluation.evaluate import base_selection_score
from ncdss_core.models.segmodel import ModelSettings, ModelSpec, build_model
from ncdss_core.train.streams import Streams

torch.set_num_threads(1)
MODEL = section("model", input_size=32, widths=[8, 16, 16, 32], head_channels=16, atrous_rates=[1, 2, 3])
SPEC = ModelSpec.from_params(MODEL, num_classes=5)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset("generated", make_voc_dataset(tmp_path_factory.mktemp("voc"), n_train=16, n_val=4))


def _settings(seed, epochs=2, **base):
    return TrainSettings.for_stage(
        BaseSettings.from_params(section("base", epochs=epochs, batch_size=4, decay_epochs=[0], **base)),
        ModelSettings.from_params(MODEL), seed)


def _run(dataset, seed, epochs=2, select=None):
    torch.manual_seed(seed)
    model = build_model(SPEC)
    ids = list(dataset.ids("trainaug"))
    reader = base_label_reader(dataset, 1, "full")  # fold 1: base classes 1..5 + 11..20 -> 15 outputs
    labels = lambda i: np.minimum(reader(i), 4)  # squeeze into 5 outputs for a tiny model
    streams = {"base": SegTrainSet(ids, image_reader(dataset), labels, 32, seed, stream=0)}
    return model, train_segmentation(model, streams, supervised_step, _settings(seed, epochs), select=select,
                                     amp=False)


def test_training_twice_with_the_same_seed_gives_bit_identical_weights(dataset):
    a, result = _run(dataset, 3)
    b, _ = _run(dataset, 3)
    c, _ = _run(dataset, 4)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert any(not torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())
    assert result.history[0]["iterations"] == 4 and result.history[0]["stream_sizes"] == {"base": 16}
    assert result.history[1]["lr"] == pytest.approx(0.01)  # decayed after epoch 0


def test_selection_keeps_the_best_epoch_not_the_last(dataset):
    scores = iter([0.5, 0.9, 0.1])
    model, result = _run(dataset, 0, epochs=3, select=lambda m: next(scores))
    assert result.selected_epoch == 1
    assert [h["select_score"] for h in result.history] == [0.5, 0.9, 0.1]
    last = model.state_dict()
    assert any(not torch.equal(result.selected_state[k], last[k]) for k in last)


def test_augmentation_is_per_sample_seeded_and_views_are_pixel_aligned(dataset):
    ids = list(dataset.ids("trainaug"))
    ds = SegTrainSet(ids, image_reader(dataset), base_label_reader(dataset, 0, "full"), 32, 7, stream=1,
                     strong=Jitter(*section("finetune")["strong_jitter"]))
    ds.epoch = 2
    a, b = ds[3], ds[3]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["strong"], b["strong"])
    ds.epoch = 3
    assert not torch.equal(ds[3]["image"], a["image"])
    # Pixel-aligned: the strong view is a per-pixel function of the weak view (colour only), so
    # pixels of equal weak colour have equal strong colour; any geometric change would break that.
    weak, strong = a["image"], a["strong"]
    assert not torch.equal(weak, strong)
    w = weak.reshape(3, -1).T.numpy().round(5)
    st = strong.reshape(3, -1).T.numpy()
    seen = {}
    for wp, sp in zip(map(tuple, w), st):
        if wp in seen:
            assert np.allclose(seen[wp], sp, atol=1e-5)
        else:
            seen[wp] = sp
    assert len(seen) > 50


def test_a_second_label_map_is_warped_with_the_same_draws(dataset):
    ids = list(dataset.ids("trainaug"))
    truth = base_label_reader(dataset, 0, "full")
    shifted = lambda image_id: (truth(image_id) + 1).astype(np.uint8)  # a distinct map, same geometry
    jitter = Jitter(*section("finetune")["strong_jitter"])
    alone = SegTrainSet(ids, image_reader(dataset), truth, 32, 7, stream=2, strong=jitter)
    paired = SegTrainSet(ids, image_reader(dataset), truth, 32, 7, stream=2, strong=jitter, read_pseudo=shifted)
    for ds in (alone, paired):
        ds.epoch = 4
    for index in range(4):
        a, b = alone[index], paired[index]
        assert "pseudo" not in a
        # the same image, strong view and label as without the second map: no extra random draw
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["strong"], b["strong"])
        assert torch.equal(a["label"], b["label"])
        # and the second map went through the same flip, rotation, scale and resize (warp padding 0)
        inside = b["pseudo"] != 0
        assert inside.float().mean() > 0.5
        assert torch.equal(b["pseudo"][inside], (b["label"][inside] + 1) % 256)


def test_base_selection_score_is_an_miou(dataset):
    score = base_selection_score(build_model(ModelSpec.from_params(MODEL, num_classes=16)),
                                 dataset, list(dataset.ids("trainaug"))[:4], 1, 32)
    assert 0.0 <= score <= 1.0


def test_longest_epoch_length_cycles_short_streams(dataset):
    ids = list(dataset.ids("trainaug"))
    reader = base_label_reader(dataset, 0, "full")
    sets = {"long": SegTrainSet(ids, image_reader(dataset), reader, 16, 0, 0),
            "short": SegTrainSet(ids[:4], image_reader(dataset), reader, 16, 0, 1)}
    assert len(list(Streams(sets, 2, 0, 0, "shortest")(0))) == 2       # the shortest stream (reference)
    batches = list(Streams(sets, 2, 0, 0, "longest")(0))
    assert len(batches) == len(ids) // 2 >= 6
    seen = [tuple(b["short"]["index"].tolist()) for b in batches]
    assert sorted(i for pair in seen[:2] for i in pair) == [0, 1, 2, 3]  # each pass is a permutation
    assert seen[:2] != seen[2:4] or seen[2:4] != seen[4:6]               # reshuffled between passes
    with pytest.raises(ValueError, match="epoch_length"):
        list(Streams(sets, 2, 0, 0, None)(0))                             # several streams need a policy


def test_settings_refuse_a_key_the_stage_does_not_know():
    with pytest.raises(ValueError, match="base: unknown key.*epoch_lenght"):
        _settings(0, epoch_lenght="longest")
    eums = {k: v for k, v in section("finetune").items() if k in VARIANTS["eums"].config_keys()}
    run = finetune_run("eums", 10, MODEL, eums, 0)

    def params(variant, finetune):
        return {"variant": variant, "k": 10, "model": MODEL, "seed": 0, "finetune": finetune,
                "supervision": "full", "amp": False, "per_epoch": {"per_epoch": False}}
    with pytest.raises(ValueError, match="finetune: unknown key.*rampup"):
        FinetuneRun.from_params(params("eums", {**eums, "rampup": 3}), 0)
    with pytest.raises(ValueError, match="finetune: missing key.*reassign_keep"):
        FinetuneRun.from_params(params("eums", {k: v for k, v in eums.items() if k != "reassign_keep"}), 0)
    with pytest.raises(ValueError, match="variant basic reads no self_training"):
        FinetuneRun.from_params(params("basic", eums), 0)
    finetune = TrainSettings.for_stage(run.train, run.model, 0)
    assert finetune.epoch_length == eums["epoch_length"] and finetune.lr == eums["lr"]
    assert run.self_training.ema_momentum == eums["ema_momentum"]
    with pytest.raises(ValueError, match="model: unknown key.*depth"):
        ModelSpec.from_params({**MODEL, "depth": 3}, num_classes=5)


def test_weak_supervision_reads_no_pixel_ground_truth(dataset, tmp_path):
    from ncdss_core.data.files import write_label_png
    from ncdss_core.discovery.base_training import train_base_model

    class NoMasks:
        """The dataset with its pixel labels locked away."""
        kind = dataset.kind

        def read_image(self, image_id, split="trainaug"):
            return dataset.read_image(image_id, split)

        def read_label(self, image_id, split="trainaug"):
            raise AssertionError("weak supervision read a ground-truth mask")

    ids = list(dataset.ids("trainaug"))
    weak = tmp_path / "weak"
    for image_id in ids[:8]:
        label = np.zeros(dataset.read_image(image_id).shape[:2], np.uint8)
        label[10:30, 10:30] = 6
        write_label_png(weak / f"{image_id}.png", label)
    base_cfg = section("base", supervision="weak", epochs=2, batch_size=4, decay_epochs=[], selection="best")
    result = train_base_model(NoMasks(), base_run(MODEL, base_cfg, 0), BaseInputs(ids, ids[:4], weak),
                              tmp_path / "m", "cpu", None)
    assert result.history[0]["stream_sizes"] == {"base": 8}       # only images with a weak label
    assert "select_score" not in result.history[0] and result.selected_epoch == 1
    assert (tmp_path / "m" / "model.pt").is_file() and (tmp_path / "m" / "last.pt").is_file()


def test_a_diverging_base_training_stops_before_any_checkpoint(dataset, tmp_path, monkeypatch):
    from ncdss_core.discovery import base_training

    calls = []

    def diverging(model, batch, epoch):
        loss = supervised_step(model, batch, epoch)
        calls.append(epoch)
        return loss * float("inf") if len(calls) == 3 else loss

    monkeypatch.setattr(base_training, "supervised_step", diverging)
    ids = list(dataset.ids("trainaug"))
    base_cfg = section("base", epochs=2, batch_size=4, decay_epochs=[0])
    with pytest.raises(FloatingPointError, match=r"base: loss (inf|nan) at epoch 0, iteration 2; last finite loss \d"):
        base_training.train_base_model(dataset, base_run(MODEL, base_cfg, 0), BaseInputs(ids, ids[:4], None),
                                       tmp_path / "m", "cpu", None)
    assert not (tmp_path / "m").exists()


def test_per_epoch_evaluation_records_val_scores_and_changes_no_weight(dataset, tmp_path):
    from ncdss_core.discovery.base_training import train_base_model
    from ncdss_core.evaluation.evaluate import scores_of
    from ncdss_core.models.segmodel import load_checkpoint

    ids = list(dataset.ids("trainaug"))
    base_cfg = section("base", epochs=2, batch_size=4, decay_epochs=[0], selection="best")
    per_epoch = {"per_epoch": True, "split": "val", "matching": "auto"}
    runs = {}
    for name, setting in (("off", None), ("on", per_epoch)):
        runs[name] = train_base_model(dataset, base_run(MODEL, base_cfg, 0, per_epoch=setting),
                                      BaseInputs(ids, ids[:4], None), tmp_path / name, "cpu", None)
    off, on = runs["off"], runs["on"]
    assert "val_base_miou" not in off.history[0]
    assert [h["select_score"] for h in on.history] == [h["select_score"] for h in off.history]
    for checkpoint in ("model.pt", "last.pt"):
        a, b = (load_checkpoint(tmp_path / name / checkpoint)[0].state_dict() for name in ("off", "on"))
        assert all(torch.equal(a[key], b[key]) for key in a), checkpoint
    # the last epoch's record is what the evaluate rule would measure on val for last.pt
    last = load_checkpoint(tmp_path / "on" / "last.pt")[0]
    expected = scores_of(last, dataset, dataset.ids("val"), "val", 0, MODEL["input_size"], "auto")
    assert on.history[-1]["val_base_miou"] == pytest.approx(expected["base_miou"])
    assert on.history[-1]["val_all_miou"] == pytest.approx(expected["all_miou"])

import numpy as np
import pytest
import torch
from ncdss_fixtures import make_voc_dataset as write_tiny_voc

from ncdss_core.data.datasets import open_dataset
from ncdss_core.evaluation.evaluate import base_selection_score
from ncdss_core.models.segmodel import ModelSpec, build_model
from ncdss_core.train.loop import (
    SegTrainSet,
    TrainSettings,
    base_label_reader,
    image_reader,
    supervised_step,
    train,
)
from ncdss_core.data.transforms import Jitter

torch.set_num_threads(1)
SPEC = ModelSpec(arch="small", num_classes=5, widths=[8, 16, 16, 32], blocks=[1, 1, 1, 1],
                 head_channels=16, atrous_rates=[1, 2, 3])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset("generated", write_tiny_voc(tmp_path_factory.mktemp("voc"), n_train=16, n_val=4))


def _run(dataset, seed, epochs=2, select=None):
    torch.manual_seed(seed)
    model = build_model(SPEC)
    ids = list(dataset.ids("trainaug"))
    reader = base_label_reader(dataset, 1, "full")  # fold 1: base classes 1..5 + 11..20 -> 15 outputs
    labels = lambda i: np.minimum(reader(i), 4)  # squeeze into 5 outputs for a tiny model
    streams = {"base": SegTrainSet(ids, image_reader(dataset), labels, 32, seed, stream=0)}
    settings = TrainSettings(epochs=epochs, batch_size=4, input_size=32, decay_epochs=[0], seed=seed)
    return model, train(model, streams, supervised_step, settings, select=select)


def test_training_twice_with_the_same_seed_gives_bit_identical_weights(dataset):
    _, a = _run(dataset, 3)
    _, b = _run(dataset, 3)
    _, c = _run(dataset, 4)
    for key in a.last_state:
        assert torch.equal(a.last_state[key], b.last_state[key]), key
    assert any(not torch.equal(a.last_state[k], c.last_state[k]) for k in a.last_state)
    assert a.history[0]["iterations"] == 4
    assert a.history[1]["lr"][0] == pytest.approx(0.01)  # decayed after epoch 0


def test_selection_keeps_the_best_epoch_not_the_last(dataset):
    scores = iter([0.5, 0.9, 0.1])
    model, result = _run(dataset, 0, epochs=3, select=lambda m: next(scores))
    assert result.selected_epoch == 1
    assert [h["select_score"] for h in result.history] == [0.5, 0.9, 0.1]
    assert any(not torch.equal(result.selected_state[k], result.last_state[k]) for k in result.last_state)


def test_augmentation_is_per_sample_seeded_and_views_are_pixel_aligned(dataset):
    ids = list(dataset.ids("trainaug"))
    ds = SegTrainSet(ids, image_reader(dataset), base_label_reader(dataset, 0, "full"), 32, 7, stream=1,
                     strong=Jitter())
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


def test_base_selection_score_is_an_miou(dataset):
    model, _ = _run(dataset, 0, epochs=1)
    score = base_selection_score(build_model(ModelSpec(**{**SPEC.as_dict(), "num_classes": 16})),
                                 dataset, list(dataset.ids("trainaug"))[:4], 1, 32)
    assert 0.0 <= score <= 1.0


def test_longest_epoch_length_cycles_short_streams(dataset):
    from ncdss_core.train.loop import epoch_batches
    ids = list(dataset.ids("trainaug"))
    reader = base_label_reader(dataset, 0, "full")
    streams = {"long": SegTrainSet(ids, image_reader(dataset), reader, 16, 0, 0),
               "short": SegTrainSet(ids[:4], image_reader(dataset), reader, 16, 0, 1)}
    settings = TrainSettings(epochs=1, batch_size=2, input_size=16)
    assert len(list(epoch_batches(streams, settings, 0))) == 2          # the shortest stream (reference)
    settings.epoch_length = "longest"
    batches = list(epoch_batches(streams, settings, 0))
    assert len(batches) == len(ids) // 2 >= 6
    seen = [tuple(b[1]["index"].tolist()) for b in batches]
    assert sorted(i for pair in seen[:2] for i in pair) == [0, 1, 2, 3]  # each pass is a permutation
    assert seen[:2] != seen[2:4] or seen[2:4] != seen[4:6]               # reshuffled between passes


def test_weak_supervision_reads_no_pixel_ground_truth(dataset, tmp_path):
    from ncdss_core.discovery.runners import train_base_model
    from ncdss_core.data.files import write_label_png

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
    model_cfg = {"arch": "small", "input_size": 32, "widths": [8, 16, 16, 32], "blocks": [1, 1, 1, 1],
                 "head_channels": 16, "atrous_rates": [1, 2, 3], "backbone_weights": "",
                 "trainable_backbone": ["layer3", "layer4"], "freeze_backbone_bn": True,
                 "backbone_lr_factor": 0.01, "momentum": 0.9, "weight_decay": 1.0e-4}
    base_cfg = {"supervision": "weak", "epochs": 2, "batch_size": 4, "lr": 0.1, "decay_epochs": [],
                "selection": "best"}
    result = train_base_model(NoMasks(), 0, ids, ids[:4], model_cfg, base_cfg, 0, tmp_path / "m", weak_labels=weak)
    assert result.history[0]["stream_sizes"] == {"base": 8}       # only images with a weak label
    assert "select_score" not in result.history[0] and result.selected_epoch == 1
    assert (tmp_path / "m" / "model.pt").is_file() and (tmp_path / "m" / "last.pt").is_file()

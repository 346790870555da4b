"""The pretrained small trunk: generated images of classes that are not classes of the generated dataset, a
classifier that learns, and a state dict that train_icd loads (weak.model.init: test_config.py)."""

import numpy as np
import pytest
import torch
from config_defaults import section

from ncdss_core.data import generated
from ncdss_core.models.trunks import build_trunk, small_trunk
from ncdss_core.weak.pretrain import PretrainConfig, pretrain_trunk, split_holdout

torch.set_num_threads(1)


def test_pretraining_classes_are_not_dataset_classes():
    dataset_pairs = {(c.family, c.part_shape) for c in generated.CLASSES}
    pretrain_pairs = {(c.family, c.part_shape) for c in generated.PRETRAIN_CLASSES}
    assert len(pretrain_pairs) == len(generated.PRETRAIN_CLASSES) // 2 == 10
    assert not dataset_pairs & pretrain_pairs
    # every family holds four pretraining classes: naming one takes the body as well as the part;
    # no scene is preferred, so context never names one
    assert all(c.context == () for c in generated.PRETRAIN_CLASSES)
    families = [c.family for c in generated.PRETRAIN_CLASSES]
    assert all(families.count(f) == 4 for f in generated.FAMILIES)


def test_pretraining_images_are_deterministic_and_labelled():
    images, labels = generated.pretraining_images(20, seed=3)
    again, labels2 = generated.pretraining_images(20, seed=3)
    other, _ = generated.pretraining_images(12, seed=4)
    assert len(images) == 20 and labels.shape == (20, 20)
    assert all(np.array_equal(a, b) for a, b in zip(images, again)) and np.array_equal(labels, labels2)
    assert not np.array_equal(images[0], other[0])
    assert (labels.sum(1) >= 1).all() and set(np.unique(labels)) <= {0.0, 1.0}
    # primaries are balanced: the first 20 images hold every class
    assert (labels.sum(0) >= 1).all()
    with pytest.raises(ValueError, match="pretrain.images"):
        generated.pretraining_images(0, seed=0)


def test_pretraining_learns_and_is_deterministic(tmp_path):
    images, labels = generated.pretraining_images(40, seed=0)
    cfg = PretrainConfig.from_params(section("weak.pretrain", images=40, holdout=0.25, epochs=3, batch_size=8,
                                             crop=49, lr=3e-3))

    def run():
        torch.manual_seed(0)
        return pretrain_trunk(small_trunk(4, 8), images, labels, cfg, seed=1)

    m1, h1 = run()
    m2, h2 = run()
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in h1] == \
           [{k: v for k, v in r.items() if k != "seconds"} for r in h2]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    assert h1[-1]["loss"] < h1[0]["loss"]
    assert 0.0 <= h1[-1]["holdout_map"] <= 1.0
    train, hold = split_holdout(40, 0.25, seed=1)
    assert len(hold) == 10 and not set(train) & set(hold) and len(train) + len(hold) == 40
    # what train_icd loads: the trunk's state dict, nothing of the classifier
    torch.save(m1.trunk.state_dict(), tmp_path / "trunk.pt")
    loaded = build_trunk("small", str(tmp_path / "trunk.pt"), width=4, head_channels=8)
    for (name, a), b in zip(m1.trunk.state_dict().items(), loaded.features.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="trunk.pt.*weak.model.width"):
        build_trunk("small", str(tmp_path / "trunk.pt"), width=8, head_channels=8)

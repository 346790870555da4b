import pytest
import torch
from config_defaults import section

from ncdss_core.discovery.variants import backbone_init
from ncdss_core.models.segmodel import (
    ModelSpec,
    build_model,
    copy_backbone,
    load_checkpoint,
    output_stride,
    param_groups,
    reinit_head,
    save_checkpoint,
)
from ncdss_core.train.schedules import StepSchedule

torch.set_num_threads(1)
# the reference's training of an ImageNet backbone: layer3-4 trained, backbone BN frozen
SMALL = ModelSpec.from_params(section("model", widths=[8, 16, 16, 32], head_channels=16, atrous_rates=[1, 2, 3],
                                      trainable_backbone=["layer3", "layer4"], freeze_backbone_bn=True),
                              num_classes=6)


def test_small_model_is_output_stride_8_and_upsamples_logits():
    model = build_model(SMALL)
    assert output_stride(model, 64) == 8
    out = model.eval()(torch.zeros(2, 3, 40, 56))
    assert out.shape == (2, 6, 40, 56)


def test_resnet50_is_dilated_like_the_reference():
    model = build_model(ModelSpec.from_params(section("model", arch="resnet50", atrous_rates=[12, 24, 36]), 16))
    bb = model.backbone
    assert [bb.layer3[0].conv2.dilation[0], bb.layer3[1].conv2.dilation[0]] == [1, 2]
    assert [bb.layer4[0].conv2.dilation[0], bb.layer4[1].conv2.dilation[0]] == [2, 4]
    assert bb.layer3[0].downsample[0].stride == (1, 1)
    assert model.classifier[-1].out_channels == 16


def test_frozen_layers_get_no_gradient_and_backbone_bn_stats_do_not_move():
    torch.manual_seed(0)
    model = build_model(SMALL)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert any(n.startswith("backbone.layer1.") for n in frozen)
    assert "backbone.conv1.weight" in frozen and "backbone.bn1.weight" in frozen
    assert not any(n.startswith(("backbone.layer3", "backbone.layer4", "classifier")) for n in frozen)
    bn_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("backbone") and "running" in k}
    head_before = model.classifier[2].running_mean.clone()
    model.train()
    loss = model(torch.randn(4, 3, 32, 32) * 3 + 1).mean()
    loss.backward()
    for name, param in model.named_parameters():
        if name in frozen:
            assert param.grad is None, name
    assert model.backbone.layer4[0].conv1.weight.grad is not None
    for key, value in model.state_dict().items():
        if key in bn_before:
            assert torch.equal(value, bn_before[key]), key
    assert not torch.equal(model.classifier[2].running_mean, head_before)  # head BN does train


def test_two_lr_groups_have_the_reference_ratio_and_step_decay():
    model = build_model(SMALL)
    opt = torch.optim.SGD(param_groups(model, 0.1, 0.01), lr=0.1)
    head, backbone = opt.param_groups
    assert head["lr"] == pytest.approx(0.1) and backbone["lr"] == pytest.approx(0.001)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == n_trainable
    schedule = StepSchedule(0.1, [15], 0.1)
    schedule.apply(opt, 15)
    assert head["lr"] == pytest.approx(0.1) and backbone["lr"] == pytest.approx(0.001)  # strict ">"
    schedule.apply(opt, 16)
    assert head["lr"] == pytest.approx(0.01) and backbone["lr"] == pytest.approx(1.0e-4)


def test_backbone_weights_load_from_a_local_file(tmp_path):
    source = build_model(SMALL)
    state = {k: v for k, v in source.backbone.state_dict().items()}
    state["fc.weight"] = torch.zeros(3)  # an ImageNet classifier is dropped
    torch.save(state, tmp_path / "w.pth")
    model = build_model(SMALL, tmp_path / "w.pth")
    assert torch.equal(model.backbone.layer2[0].conv1.weight, source.backbone.layer2[0].conv1.weight)
    torch.save({"nonsense.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError):
        build_model(SMALL, tmp_path / "bad.pth")


def test_checkpoint_round_trip_and_head_reinit(tmp_path):
    model = build_model(SMALL)
    save_checkpoint(tmp_path / "m.pt", model, {"fold": 0, "input_size": 32})
    again, meta = load_checkpoint(tmp_path / "m.pt")
    assert meta["fold"] == 0
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(model.eval()(x), again.eval()(x))
    before = model.classifier[1].weight.clone()
    backbone_before = model.backbone.layer3[0].conv1.weight.clone()
    reinit_head(model)
    assert not torch.equal(before, model.classifier[1].weight)
    assert torch.equal(backbone_before, model.backbone.layer3[0].conv1.weight)


def test_a_random_backbone_can_train_every_stage_and_its_bn():
    spec = ModelSpec(**{**SMALL.as_dict(), "freeze_backbone_bn": False,
                        "trainable_backbone": ["stem", "layer1", "layer2", "layer3", "layer4"]})
    model = build_model(spec)
    assert all(p.requires_grad for p in model.parameters())
    before = model.backbone.bn1.running_mean.clone()
    model.train()(torch.randn(2, 3, 32, 32) + 2)
    assert not torch.equal(before, model.backbone.bn1.running_mean)
    with pytest.raises(ValueError):
        build_model(ModelSpec(**{**SMALL.as_dict(), "trainable_backbone": ["layer9"]}))


def test_copy_backbone_takes_the_base_models_backbone_and_keeps_a_fresh_head(tmp_path):
    torch.manual_seed(1)
    base = build_model(SMALL)  # 6 outputs, like a base model
    save_checkpoint(tmp_path / "base.pt", base)
    torch.manual_seed(2)
    fresh = build_model(ModelSpec(**{**SMALL.as_dict(), "num_classes": 9}))  # base + novel clusters
    head_before = fresh.classifier[-1].weight.clone()
    copy_backbone(fresh, tmp_path / "base.pt")
    for (name, mine), theirs in zip(fresh.backbone.state_dict().items(), base.backbone.state_dict().values()):
        assert torch.equal(mine, theirs), name
    assert torch.equal(head_before, fresh.classifier[-1].weight)
    other = build_model(ModelSpec(**{**SMALL.as_dict(), "widths": [8, 16, 32, 32]}))
    with pytest.raises(ValueError, match="different backbone"):
        copy_backbone(other, tmp_path / "base.pt")


def test_backbone_init_auto_uses_weights_only_when_a_file_is_configured():
    assert backbone_init({"backbone_init": "auto"}, {"backbone_weights": ""}) == "base_model"
    assert backbone_init({"backbone_init": "auto"}, {"backbone_weights": "/w/resnet50.pth"}) == "weights"
    assert backbone_init({"backbone_init": "weights"}, {"backbone_weights": ""}) == "weights"
    assert backbone_init({"backbone_init": "base_model"}, {"backbone_weights": "/w.pth"}) == "base_model"
    with pytest.raises(ValueError, match="backbone_init"):
        backbone_init({"backbone_init": "imagenet"}, {"backbone_weights": ""})

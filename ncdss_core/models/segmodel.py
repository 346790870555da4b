"""Segmentation models built from torchvision parts (reference ncdss.md §2.1, §2.2, §6.1).

Two architectures behind one interface:

- `resnet50`: the paper's model. torchvision ResNet-50 dilated to output stride 8
  (`replace_stride_with_dilation=[False, True, True]`: layer3 dilation {1, 2, ...}, layer4 {2, 4, ...},
  as the reference's ResnetDilated) and torchvision's DeepLabHead (ASPP 256, rates 12/24/36).
- `small`: a narrow BasicBlock ResNet (torchvision's ResNet class, reduced widths) dilated to OS8 the
  same way, with a DeepLabHead-shaped head of fewer channels; sized to train on a 2-core CPU.

`SegModel.classifier` is the DeepLabHead (a Sequential); its last 1x1 conv is the "head" of the
reference and everything before it the "decoder". Backbone weights come from a local file only
(`model.backbone_weights`), never downloaded; without one, the backbone is randomly initialised.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet, resnet50
from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabHead

from ncdss_core.io.atomic import load_tensors
from ncdss_core.models.kernels import MaxPool2d, upsample_bilinear
from ncdss_core.settings import Settings

# Backbone stages `model.trainable_backbone` names. Reference ft_layer: conv1, bn1 and layer1-2 are
# frozen; layer3, layer4 and the head are trained. That presumes ImageNet weights: a randomly
# initialised backbone must train every stage.
STAGES = {"stem": ("conv1.", "bn1."), "layer1": ("layer1.",), "layer2": ("layer2.",),
          "layer3": ("layer3.",), "layer4": ("layer4.",)}
# DeepLabHead's dropout (an architecture constant, not a config key)
HEAD_DROPOUT = 0.5


@dataclass(frozen=True)
class ModelSettings(Settings):
    """The `model` config section: the network (`spec`), its initial backbone weights, and how it
    is trained (read by the segmentation training settings)."""

    SECTION = "model"
    arch: str
    input_size: int
    widths: list[int]
    blocks: list[int]
    head_channels: int
    atrous_rates: list[int]
    backbone_weights: str           # a local state_dict file; "" for a random backbone
    trainable_backbone: list[str]
    freeze_backbone_bn: bool
    backbone_lr_factor: float
    momentum: float
    weight_decay: float
    workers: int

    def spec(self, num_classes: int) -> "ModelSpec":
        return ModelSpec(arch=self.arch, num_classes=num_classes, widths=list(self.widths),
                         blocks=list(self.blocks),
                         # torchvision's DeepLabHead has 256 channels
                         head_channels=256 if self.arch == "resnet50" else self.head_channels,
                         atrous_rates=list(self.atrous_rates), dropout=HEAD_DROPOUT,
                         freeze_backbone_bn=self.freeze_backbone_bn,
                         trainable_backbone=list(self.trainable_backbone))


@dataclass
class ModelSpec:
    """Everything needed to rebuild a model from a checkpoint (stored inside it)."""

    arch: str                       # small | resnet50
    num_classes: int
    widths: list[int]               # small only
    blocks: list[int]               # small only
    head_channels: int              # ASPP / decoder channels (256 in DeepLabHead)
    atrous_rates: list[int]
    dropout: float
    freeze_backbone_bn: bool        # reference: backbone BN always in eval mode
    trainable_backbone: list[str]   # reference: layer3, layer4

    @classmethod
    def from_params(cls, model: "Mapping[str, Any] | ModelSettings", num_classes: int) -> "ModelSpec":
        """The spec of the `model` section (every key of it known, see ModelSettings)."""
        settings = model if isinstance(model, ModelSettings) else ModelSettings.from_params(model)
        return settings.spec(num_classes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _NarrowResNet(ResNet):
    """torchvision's ResNet with every stage width scaled (ResNet hard-codes 64/128/256/512)."""

    def __init__(self, widths: list[int], blocks: list[int]):
        self._widths = dict(zip((64, 128, 256, 512), widths))
        self._first = True
        super().__init__(BasicBlock, blocks)
        stem = widths[0]
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.fc = nn.Identity()

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):  # type: ignore[override]
        if self._first:  # the stem width, before layer1 reads self.inplanes
            self.inplanes = self._widths[64]
            self._first = False
        return super()._make_layer(block, self._widths[planes], blocks, stride, dilate)


def _dilate_layer(layer: nn.Sequential, dilation: int) -> None:
    """Output stride /2 -> /1 for one stage, as the reference's ResnetDilated: the strided 3x3 conv
    gets dilation d/2, every other 3x3 conv dilation d; 1x1 downsamples lose their stride.
    (torchvision's BasicBlock refuses `replace_stride_with_dilation`, hence this.)"""
    for module in layer.modules():
        if isinstance(module, nn.Conv2d):
            if module.stride == (2, 2):
                module.stride = (1, 1)
                if module.kernel_size == (3, 3):
                    module.dilation = (dilation // 2, dilation // 2)
                    module.padding = (dilation // 2, dilation // 2)
            elif module.kernel_size == (3, 3):
                module.dilation = (dilation, dilation)
                module.padding = (dilation, dilation)


def build_backbone(spec: ModelSpec) -> tuple[ResNet, int]:
    """A dilated (OS8) ResNet without its fc, and its output channels; its stem's max pool is
    models.kernels.MaxPool2d (the same numbers, a faster CPU forward)."""
    if spec.arch == "resnet50":
        net = resnet50(weights=None, replace_stride_with_dilation=[False, True, True])
        net.fc = nn.Identity()
        channels = 2048
    elif spec.arch == "small":
        net = _NarrowResNet(spec.widths, spec.blocks)
        _dilate_layer(net.layer3, 2)
        _dilate_layer(net.layer4, 4)
        channels = spec.widths[3] * BasicBlock.expansion
    else:
        raise ValueError(f"model.arch: unknown architecture {spec.arch!r} (small, resnet50)")
    net.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
    return net, channels


def build_head(in_channels: int, spec: ModelSpec) -> nn.Sequential:
    """torchvision's DeepLabHead (for 256 channels exactly that class), else the same layers narrower."""
    if spec.head_channels == 256 and spec.dropout == 0.5:
        return DeepLabHead(in_channels, spec.num_classes, tuple(spec.atrous_rates))
    c = spec.head_channels
    aspp = ASPP(in_channels, tuple(spec.atrous_rates), out_channels=c)
    aspp.project[-1] = nn.Dropout(spec.dropout)
    return nn.Sequential(aspp, nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                         nn.Conv2d(c, spec.num_classes, 1))


def _backbone_features(backbone: ResNet, x: torch.Tensor) -> torch.Tensor:
    x = backbone.maxpool(backbone.relu(backbone.bn1(backbone.conv1(x))))
    return backbone.layer4(backbone.layer3(backbone.layer2(backbone.layer1(x))))


class SegModel(nn.Module):
    """backbone -> DeepLabHead -> bilinear upsampling to the input size (SimpleSegmentationModel;
    the upsampling's CPU gradient through models.kernels, the same numbers)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.backbone, channels = build_backbone(spec)
        self.classifier = build_head(channels, spec)
        self.feature_channels = channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone (layer4) features at output stride 8."""
        return _backbone_features(self.backbone, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_features(x)[0]

    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward(x)` and the backbone features it was computed from, in one pass."""
        features = self.features(x)
        logits = self.classifier(features)
        return upsample_bilinear(logits, x.shape[-2:]), features

    def train(self, mode: bool = True) -> "SegModel":
        """Backbone BN stays in eval mode always (reference `freeze_batchnorm: backbone`), unless
        the spec says otherwise (a randomly initialised backbone needs its BN statistics)."""
        super().train(mode)
        if self.spec.freeze_backbone_bn:
            self.backbone.eval()
        return self


def read_backbone_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A local ImageNet state_dict with torchvision's key names: `module.`/`backbone.` prefixes
    stripped, the classifier `fc.*` dropped."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k.removeprefix("module.").removeprefix("backbone."): v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


def backbone_weights_mismatch(path: str | Path, model_cfg: Mapping[str, Any]) -> str | None:
    """Why a weights file does not fit the backbone `model_cfg` configures (the first key that is
    extra, missing or of another shape), or None when it fits."""
    given = read_backbone_state(path)
    expected = build_backbone(ModelSpec.from_params(model_cfg, num_classes=2))[0].state_dict()
    expected = {k: v for k, v in expected.items() if not k.startswith("fc.")}
    for key, value in given.items():
        if key not in expected:
            return f"{key} is not a key of the {model_cfg['arch']} backbone"
        if tuple(value.shape) != tuple(expected[key].shape):
            return (f"{key} has shape {tuple(value.shape)}, the {model_cfg['arch']} backbone "
                    f"expects {tuple(expected[key].shape)}")
    missing = [k for k in expected if k not in given]
    return f"{missing[0]} is missing ({len(missing)} backbone keys in all)" if missing else None


def load_backbone_weights(model: SegModel, path: str | Path | None) -> list[str]:
    """Load a local ImageNet state_dict (see read_backbone_state) into the backbone.
    Returns the missing keys. None or "" leaves the random initialisation."""
    if not path:
        return []
    result = model.backbone.load_state_dict(read_backbone_state(path), strict=False)
    if result.unexpected_keys:
        raise ValueError(f"model.backbone_weights: {path} has keys the backbone lacks: "
                         f"{result.unexpected_keys[:5]}")
    return list(result.missing_keys)


def copy_backbone(model: SegModel, source: str | Path) -> None:
    """Load the backbone (not the head) of an ncdss checkpoint, e.g. the fold's base model, into
    `model`. The architectures must match; the head keeps its fresh initialisation."""
    other, _ = load_checkpoint(source)
    mine, theirs = model.backbone.state_dict(), other.backbone.state_dict()
    mismatched = [k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape]
    if mismatched:
        raise ValueError(f"finetune.backbone_init base_model: {source} has a different backbone "
                         f"(e.g. {mismatched[:3]}); check the model section of the config")
    model.backbone.load_state_dict(theirs)


def build_model(spec: ModelSpec, backbone_weights: str | Path | None = None) -> SegModel:
    model = SegModel(spec)
    missing = load_backbone_weights(model, backbone_weights)
    if missing:
        raise ValueError(f"model.backbone_weights: {backbone_weights} lacks {len(missing)} backbone "
                         f"keys, e.g. {missing[:3]}")
    freeze_backbone(model)
    return model


def freeze_backbone(model: SegModel) -> None:
    """requires_grad False for the backbone except the spec's trainable stages (reference: conv1,
    bn1, layer1-2 frozen; layer3-4 trained)."""
    unknown = set(model.spec.trainable_backbone) - set(STAGES)
    if unknown:
        raise ValueError(f"model.trainable_backbone: unknown stages {sorted(unknown)} (allowed: {list(STAGES)})")
    keep = tuple(prefix for stage in model.spec.trainable_backbone for prefix in STAGES[stage])
    for name, param in model.backbone.named_parameters():
        param.requires_grad = name.startswith(keep)


def reinit_head(model: SegModel) -> None:
    """Kaiming-normal (fan_in, ReLU) re-initialisation of the decoder and head convs, BN to 1/0
    (reference §6.1, EUMS `_initialize_params`); conv biases keep their defaults."""
    for module in model.classifier.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def param_groups(model: SegModel, lr: float, backbone_lr_factor: float) -> list[dict[str, Any]]:
    """Two SGD groups (reference §2.2): the head at `lr`, backbone layer3/4 at `lr * factor`
    (0.1 and 0.001 in the paper: factor 0.01), the factor kept as the group's `lr_mult` for the
    schedule. Frozen parameters are left out."""
    head = [p for p in model.classifier.parameters() if p.requires_grad]
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    return [{"params": head, "lr": lr, "lr_mult": 1.0, "name": "head"},
            {"params": backbone, "lr": lr * backbone_lr_factor, "lr_mult": backbone_lr_factor,
             "name": "backbone"}]


def save_checkpoint(path: str | Path, model: SegModel, extra: Mapping[str, Any] | None = None) -> None:
    """A self-describing checkpoint: spec + state_dict (+ label-space info), written atomically."""
    import io as _io

    from ncdss_core.io.atomic import atomic_write_bytes

    buffer = _io.BytesIO()
    torch.save({"spec": model.spec.as_dict(), "state_dict": model.state_dict(), **dict(extra or {})}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> tuple[SegModel, dict[str, Any]]:
    """Rebuild the model of a checkpoint written by `save_checkpoint`; returns (model, metadata)."""
    data = load_tensors(path)
    if not isinstance(data, dict) or "spec" not in data:
        raise ValueError(f"{path}: not an ncdss checkpoint (no model spec inside)")
    model = SegModel(ModelSpec(**data["spec"]))
    model.load_state_dict(data["state_dict"])
    freeze_backbone(model)
    meta = {k: v for k, v in data.items() if k not in ("spec", "state_dict")}
    return model, meta


def output_stride(model: SegModel, size: int = 64) -> int:
    with torch.no_grad():
        feats = model.eval().features(torch.zeros(1, 3, size, size))
    return int(math.ceil(size / feats.shape[-1]))

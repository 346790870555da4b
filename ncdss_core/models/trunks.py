"""Trunks for the ICD network: output stride 8, the feature map that feeds both branches.

- `small`: a few conv layers (0.28 M parameters at the default width 16, 1.1 M at 32) that train
  from scratch on CPU in minutes.
- `vgg16`: the DeepLab-LargeFOV VGG16 of reference icd.md §3.1, built from torchvision's VGG16
  (3x3/stride-2 pools, stride-1 pool4, dilated conv5); weights from a local file or random init,
  never downloaded. Its fc6/fc7 can be initialised by decimating VGG16's classifier (§3.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ncdss_core.models.kernels import MaxPool2d


@dataclass
class Trunk:
    features: nn.Module
    channels: int  # channels of the shared feature map (conv5_3 for VGG16)
    head_channels: int  # width of fc6/fc7
    fc_init: tuple[dict, dict] | None = None  # optional state dicts for fc6, fc7


def _conv_bn(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def small_trunk(width: int, head_channels: int) -> Trunk:
    """conv-pool x3 (stride 8, 3x3/s2/p1 pools like the DeepLab VGG) then two 3x3 convs.

    Receptive field 69 px, about half the side of a generated image (96-160 px), as VGG16-DeepLab's
    conv5_3 (211 px) is of a VOC image. With conv5-style dilation 2 it was 101 px, most of the
    image: every cell then saw the object and its context, and the bottom-up discriminator put
    about half of the background on the object side (README, "Weakly-supervised seeds").
    The last conv has a bias and no BatchNorm, like VGG's conv5_3, so its channels can be sparse."""
    w = width
    layers = [*_conv_bn(3, w), MaxPool2d(3, 2, 1),
              *_conv_bn(w, 2 * w), MaxPool2d(3, 2, 1),
              *_conv_bn(2 * w, 4 * w), *_conv_bn(4 * w, 4 * w), MaxPool2d(3, 2, 1),
              *_conv_bn(4 * w, 8 * w),
              nn.Conv2d(8 * w, 8 * w, 3, padding=1), nn.ReLU(inplace=True)]
    return Trunk(nn.Sequential(*layers), 8 * w, head_channels)


def vgg16_trunk(weights_path: str, head_channels: int) -> Trunk:
    """DeepLab VGG16 trunk up to conv5_3 + ReLU, from torchvision's VGG16 (no download); `weights_path`
    "" is a random initialisation. fc6/fc7 start from VGG16's classifier when head_channels is 1024."""
    from torchvision.models import vgg as tv_vgg

    fc_init = None
    if not weights_path:
        # random init: torchvision's VGG16 feature layers alone (the 120 M-parameter classifier
        # would only be thrown away)
        features = tv_vgg.make_layers(tv_vgg.cfgs["D"], batch_norm=False)
    else:
        net = tv_vgg.vgg16(weights=None)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        # DeepLab-LargeFOV-style fc6/fc7 by decimation of the 4096-wide classifier [approximation]
        w6 = net.classifier[0].weight.detach().view(4096, 512, 7, 7)[::4, :, ::3, ::3].clone()
        b6 = net.classifier[0].bias.detach()[::4].clone()
        w7 = net.classifier[3].weight.detach()[::4, ::4].clone().view(1024, 1024, 1, 1)
        b7 = net.classifier[3].bias.detach()[::4].clone()
        if head_channels == 1024:
            fc_init = ({"weight": w6, "bias": b6}, {"weight": w7, "bias": b7})
        features = net.features
    layers = list(features.children())[:30]  # drop pool5: the head adds its own
    for index in (4, 9, 16):
        layers[index] = MaxPool2d(3, 2, 1)
    layers[23] = MaxPool2d(3, 1, 1)
    for index in (24, 26, 28):
        conv = layers[index]
        conv.dilation, conv.padding = (2, 2), (2, 2)
    return Trunk(nn.Sequential(*layers), 512, head_channels, fc_init)


def load_trunk_weights(trunk: Trunk, weights_path: str) -> Trunk:
    """Load a trunk state dict (as `pretrain_icd_trunk` writes it) into the small trunk."""
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    try:
        trunk.features.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{weights_path}: not a state dict of this small trunk (weak.model.width "
                         f"must match the pretrained trunk's): {err}") from err
    return trunk


def build_trunk(name: str, weights_path: str, width: int, head_channels: int) -> Trunk:
    """The trunk `name` (weak.model.backbone) with fc6/fc7 of width head_channels (weak.model)."""
    if name == "small":
        trunk = small_trunk(width, head_channels)
        return load_trunk_weights(trunk, weights_path) if weights_path else trunk
    if name == "vgg16":
        return vgg16_trunk(weights_path, head_channels)
    raise ValueError(f"weak.backbone: unknown backbone {name!r} (expected small or vgg16)")

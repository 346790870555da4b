"""The ICD network: shared trunk, CAM branch, bottom-up discriminator W and top-down branch (§3.1-3.7).

forward(x) returns the raw CAM A (fc8 output), the bottom-up scores s (on detached, BN-normalised
features) and the top-down logits Z, all at output stride 8. The sign state of §3.5 and the warm-up
step counter are buffers, so checkpoints carry them and resuming is exact.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ncdss_core.models.kernels import MaxPool2d
from ncdss_core.models.trunks import Trunk
from ncdss_core.weak.operators import bottom_up_scores


class ICDNet(nn.Module):
    def __init__(self, trunk: Trunk, num_classes: int, dropout: float, head_norm: bool):
        super().__init__()
        c, h, k = trunk.channels, trunk.head_channels, num_classes
        self.num_classes = k
        self.trunk = trunk.features
        self.pool5 = MaxPool2d(3, 1, 1)
        self.pool5a = nn.AvgPool2d(3, 1, 1)  # padding counted in the average, as in MXNet
        self.fc6 = nn.Conv2d(c, h, 3, padding=1)
        self.fc7 = nn.Conv2d(h, h, 1)
        self.drop6 = nn.Dropout(dropout)
        self.drop7 = nn.Dropout(dropout)
        self.fc8 = nn.Conv2d(h, k, 1)
        # optional BN after fc6/fc7 (and their top-down copies): a from-scratch trunk's head learns
        # several times faster with it; the paper's pretrained VGG16 head has none
        norm = (lambda: nn.BatchNorm2d(h)) if head_norm else (lambda: nn.Identity())
        self.norm6, self.norm7, self.norm6_ft, self.norm7_ft = norm(), norm(), norm(), norm()
        # gamma fixed to 1 (MXNet fix_gamma); beta learnable
        self.feat_bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
        self.feat_bn.weight.requires_grad_(False)
        self.icd_w = nn.Parameter(torch.empty(k, c))
        self.fc6_ft = nn.Conv2d(c, h, 3, padding=1)
        self.fc7_ft = nn.Conv2d(h, h, 1)
        self.conv_ft = nn.Conv2d(c + 2 * h, k, 1, bias=False)
        self.relu = nn.ReLU(inplace=False)
        self.fast_lr_mult = 10.0
        self.register_buffer("sign_state", torch.zeros(k, 2))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self._init(trunk)

    def _init(self, trunk: Trunk) -> None:
        for layer in (self.fc6, self.fc7, self.fc8, self.conv_ft):
            nn.init.normal_(layer.weight, 0.0, 0.01)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        nn.init.normal_(self.icd_w, 0.0, 0.01)
        if trunk.fc_init is not None:
            self.fc6.load_state_dict(trunk.fc_init[0])
            self.fc7.load_state_dict(trunk.fc_init[1])
        else:
            # no pretrained fc6/fc7 (small backbone, random VGG16): N(0, 0.01^2) would shrink the
            # signal ~10x per layer and stall training from scratch, so use He init instead
            for layer in (self.fc6, self.fc7):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        # the top-down branch starts as a copy of the CAM head (fc6_ft <- fc6, fc7_ft <- fc7)
        self.fc6_ft.load_state_dict(copy.deepcopy(self.fc6.state_dict()))
        self.fc7_ft.load_state_dict(copy.deepcopy(self.fc7.state_dict()))
        self.norm6_ft.load_state_dict(copy.deepcopy(self.norm6.state_dict()))
        self.norm7_ft.load_state_dict(copy.deepcopy(self.norm7.state_dict()))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feat = self.trunk(x)
        h = self.pool5a(self.pool5(feat))
        h = self.drop6(self.relu(self.norm6(self.fc6(h))))
        h = self.drop7(self.relu(self.norm7(self.fc7(h))))
        cam = self.fc8(h)
        f = self.feat_bn(feat)
        bottom_up = bottom_up_scores(f, self.icd_w)
        t6 = self.relu(self.norm6_ft(self.fc6_ft(f)))
        t7 = self.relu(self.norm7_ft(self.fc7_ft(t6)))
        top_down = self.conv_ft(torch.cat([f, t6, t7], 1))
        return {"cam": cam, "bottom_up": bottom_up, "top_down": top_down}

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """lr x10 for fc8 (w, b) and conv_ft.w; weight decay on conv/linear weights and W only."""
        fast = {"fc8.weight", "fc8.bias", "conv_ft.weight"}
        groups: dict[tuple[float, float], list] = {}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            mult = self.fast_lr_mult if name in fast else 1.0
            decay = weight_decay if param.ndim > 1 else 0.0
            groups.setdefault((mult, decay), []).append(param)
        return [{"params": ps, "lr": lr * m, "lr_mult": m, "weight_decay": d}
                for (m, d), ps in sorted(groups.items())]

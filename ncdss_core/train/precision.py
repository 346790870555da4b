"""Mixed precision of the trainings (config `compute.amp`): the forward pass under autocast and,
on cuda, the backward pass through a gradient scaler.

cuda: float16 autocast with torch.amp.GradScaler (a step whose gradients overflow is skipped and
the scale lowered: normal, not an error). CPU: bfloat16 autocast, which has float32's range and
needs no scaler. Off: the plain float32 step, the same operations as a training without this
module, so CPU results stay byte-identical.
"""

from __future__ import annotations

import contextlib
from typing import Any, ContextManager

import torch

AMP_SETTINGS = ("auto", True, False)


def device_type(device: str) -> str:
    return str(device).split(":", 1)[0]


def use_amp(setting: str | bool, device: str) -> bool:
    """`compute.amp` for a training on `device`: auto is on for cuda, off on CPU."""
    if setting == "auto":
        return device_type(device) == "cuda"
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"compute.amp: unknown value {setting!r} (auto, true, false)")


class Precision:
    """The precision of one training: `autocast()` around the step's forward pass, then
    `backward_step(loss, optimizer)`. Its state (the scaler's scale and growth tracker) is part of
    a resumable training's state."""

    def __init__(self, device: str, enabled: bool):
        self.device_type, self.enabled = device_type(device), bool(enabled)
        self.dtype = torch.float16 if self.device_type == "cuda" else torch.bfloat16
        self.scaler = (torch.amp.GradScaler(self.device_type)
                       if self.enabled and self.device_type == "cuda" else None)

    def autocast(self) -> ContextManager[Any]:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)  # skipped when a gradient is inf/nan; the scale is lowered
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

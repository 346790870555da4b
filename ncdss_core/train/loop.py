"""The one epoch loop every training of the workflow runs: the ICD network and its trunk's
pretraining, the base model, the basic framework, EUMS and its ablation rows.

Per epoch: the stage's epoch hook (EUMS's reassignment), the learning rate from the schedule, train
mode, then per batch the stage's step gives the loss (and, optionally, its named parts), which must
be finite; zero_grad, backward, optimiser step. After the epoch: one history record, the selection
score (the best epoch's weights are kept), one log line.

A history record holds, in this order: `epoch`, `lr` (the schedule's base rate), `iterations`,
`seconds` (wall clock), the step's own state when it has `epoch_fields` (ICD: the warm-up weight),
the loss means (`loss`, or `loss_<part>` for each part when the step names its parts: ICD's
bottom-up term is an objective, not a loss, so no total is kept), the stage's `measure` fields
(stream sizes, the sign state, held-out mAP) and `select_score` when there is a selection.

With `amp`, the step's forward pass runs under autocast and the backward pass through a gradient
scaler on cuda (`train.precision`); a step the scaler skips for overflowing gradients is normal,
only a non-finite loss stops. Batches go to a cuda device with non-blocking copies (the loaders
pin their memory there).

With a resume file, the whole state is saved after every epoch (model, optimiser, history, the
selection so far, the global RNGs, and the state of every part that has one: `batches`, `step`,
`on_epoch_start`, the precision's scaler, with `state_dict`/`load_state_dict`), and a run that
finds its file continues after the last saved epoch. `NCDSS_FAULT_KILL_AT=EPOCH:ITERATION` kills
the process there with SIGKILL (fault injection for the resume tests).

`compute.max_iterations_per_epoch` (0: every batch) ends each epoch after that many iterations: a
shortened training at full size, for measuring (`make rehearsal`), never for results. The stage
sets it for its process from the rule's param (`cap_iterations`).
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Union

import torch
from torch import nn

from ncdss_core.runtime import get_logger
from ncdss_core.train.precision import Precision, device_type
from ncdss_core.train.resume import ResumeFile, rng_state, set_rng_state
from ncdss_core.train.schedules import Schedule

StepOutput = Union[torch.Tensor, tuple[torch.Tensor, Mapping[str, float]]]
Batches = Callable[[int], Iterable[Any]]  # epoch -> that epoch's batches
Select = Callable[[nn.Module], float]  # higher is better
EpochHook = Callable[[int], None]
Measure = Callable[[int], Mapping[str, Any]]


# compute.max_iterations_per_epoch of this process, set by the stage from its rule's param; 0: no cap
_iteration_cap = 0


def cap_iterations(max_iterations_per_epoch: int) -> None:
    """End every epoch of the trainings of this process after `max_iterations_per_epoch`
    iterations (0: run every batch)."""
    global _iteration_cap
    if int(max_iterations_per_epoch) < 0:
        raise ValueError(f"compute.max_iterations_per_epoch: must be >= 0, got {max_iterations_per_epoch}")
    _iteration_cap = int(max_iterations_per_epoch)


class Step(Protocol):
    """One iteration's forward pass: (model, batch on the device, epoch) -> loss or (loss, parts).
    A step may also have `epoch_fields(model) -> Mapping` for its own state after an epoch."""

    def __call__(self, model: nn.Module, batch: Any, epoch: int) -> StepOutput: ...


@dataclass
class TrainResult:
    history: list[dict[str, Any]]
    selected_epoch: int
    # weights of the selected epoch; None: the last epoch, which the model holds
    selected_state: dict[str, torch.Tensor] | None


def to_device(batch: Any, device: str) -> Any:
    """Tensors of a batch (nested in dicts, lists, tuples) moved to `device`; the rest untouched.
    Copies to cuda do not block (from pinned memory they overlap with the running step; the
    stream orders them before any use)."""
    non_blocking = device_type(device) == "cuda"
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


class _LossMeans:
    """Running sums of the loss (or of its named parts) over one epoch."""

    def __init__(self) -> None:
        self.total, self.parts, self.count = 0.0, {}, 0
        self.last_finite: float | None = None

    def add(self, value: float, parts: Mapping[str, float] | None) -> None:
        self.total += value
        for name, part in (parts or {}).items():
            self.parts[name] = self.parts.get(name, 0.0) + float(part)
        self.count += 1
        self.last_finite = value

    def fields(self) -> dict[str, float]:
        if self.parts:
            return {f"loss_{name}": total / max(self.count, 1) for name, total in self.parts.items()}
        return {"loss": self.total / self.count if self.count else math.nan}


def _log_line(label: str, record: Mapping[str, Any], epochs: int) -> str:
    numbers = [f"{key} {value:.4g}" for key, value in record.items()
               if key not in ("epoch", "lr", "iterations", "seconds") and isinstance(value, float)]
    return (f"{label} epoch {record['epoch'] + 1}/{epochs}: {record['iterations']} iterations, "
            f"lr {record['lr']:.2e}, {', '.join(numbers)} ({record['seconds']:.1f}s)")


def _fault_kill_at() -> tuple[int, int] | None:
    value = os.environ.get("NCDSS_FAULT_KILL_AT")
    if not value:
        return None
    epoch, _, iteration = value.partition(":")
    return int(epoch), int(iteration or 0)


def _stateful(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a training that carry state of their own (teacher, reassigned splits, a
    shuffling generator that runs on across epochs)."""
    return {name: part for name, part in parts.items() if hasattr(part, "load_state_dict")}


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, schedule: Schedule, epochs: int,
        batches: Batches, step: Step, *, select: Select | None = None,
        on_epoch_start: EpochHook | None = None, measure: Measure | None = None,
        device: str = "cpu", label: str = "train", logger: logging.Logger | None = None,
        resume: ResumeFile | None = None, amp: bool) -> TrainResult:
    """Train `model` (already on `device`, its parameters in `optimizer`) in place for `epochs`.

    Raises FloatingPointError at the first non-finite loss, before the update and before the stage
    can write anything. Without `select`, the selected epoch is the last one."""
    logger = logger or get_logger("training")
    history: list[dict[str, Any]] = []
    best_score, best_epoch, best_state = -math.inf, -1, None
    step_fields = getattr(step, "epoch_fields", None)
    precision = Precision(device, amp)
    stateful = _stateful({"batches": batches, "step": step, "on_epoch_start": on_epoch_start,
                          "precision": precision if amp else None})
    first = 0
    saved = resume.load() if resume is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        for name, part in stateful.items():
            part.load_state_dict(saved["parts"][name])
        history, best_score, best_epoch, best_state = (saved["history"], saved["best_score"],
                                                       saved["best_epoch"], saved["best_state"])
        set_rng_state(saved["rng"])
        first = len(history)
        logger.info("%s: resuming from %s after epoch %d of %d", label, resume.path, first, epochs)
    kill_at = _fault_kill_at()
    for epoch in range(first, epochs):
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        rate = schedule.apply(optimizer, epoch)
        model.train()
        started, means = time.monotonic(), _LossMeans()
        for iteration, batch in enumerate(itertools.islice(batches(epoch), _iteration_cap or None)):
            if kill_at == (epoch, iteration):
                os.kill(os.getpid(), signal.SIGKILL)
            batch = to_device(batch, device)
            with precision.autocast():
                output = step(model, batch, epoch)
            loss, parts = output if isinstance(output, tuple) else (output, None)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"{label}: loss {value} at epoch {epoch}, iteration {iteration}"
                    f"{f' (parts {dict(parts)})' if parts else ''}; last finite loss "
                    f"{means.last_finite if means.last_finite is not None else 'none yet'}")
            optimizer.zero_grad(set_to_none=True)
            precision.backward_step(loss, optimizer)
            means.add(value, parts)
        record: dict[str, Any] = {"epoch": epoch, "lr": rate, "iterations": means.count,
                                  "seconds": round(time.monotonic() - started, 2)}
        if step_fields is not None:
            record.update(step_fields(model))
        record.update(means.fields())
        if measure is not None:
            record.update(measure(epoch))
        if select is not None:
            score = float(select(model))
            record["select_score"] = score
            if math.isfinite(score) and score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(model.state_dict())
        history.append(record)
        logger.info("%s", _log_line(label, record, epochs))
        if resume is not None and epoch + 1 < epochs:
            resume.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "parts": {name: part.state_dict() for name, part in stateful.items()},
                         "history": history, "best_score": best_score, "best_epoch": best_epoch,
                         "best_state": best_state, "rng": rng_state()})
    if best_state is None:
        best_epoch = epochs - 1
    return TrainResult(history=history, selected_epoch=best_epoch, selected_state=best_state)

"""Resume files: a training's whole state after each epoch, so that a job killed by preemption or a
time limit continues where it stopped, to the same bytes as a run that was never interrupted.

The file lives next to the job's output (never inside it: Snakemake removes an incomplete output)
and carries a key, a digest of what the run is (its params and inputs); a file with another key
belongs to another run and is ignored. It is written atomically, so a kill while it is being
written leaves the previous epoch's file. The stage removes it once its output is complete.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncdss_core.io.atomic import atomic_write_bytes
from ncdss_core.runtime import get_logger


class ResumeFile:
    def __init__(self, path: str | Path, key: str):
        self.path, self.key = Path(path), key

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({"key": self.key, "state": state}, buffer)
        atomic_write_bytes(self.path, buffer.getvalue())

    def load(self) -> dict[str, Any] | None:
        """The saved state of this run, or None (no file, or a file of another run)."""
        if not self.path.is_file():
            return None
        saved = torch.load(self.path, map_location="cpu", weights_only=False)
        if saved.get("key") != self.key:
            get_logger("training").info("%s belongs to another run (other params or inputs): "
                                        "starting from the first epoch", self.path)
            return None
        return saved["state"]

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def rng_state() -> dict[str, Any]:
    """Every global random generator a training draws from (dropout, numpy, Python)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

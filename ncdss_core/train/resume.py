"""Resume files: a training's whole state after each epoch, so that a job killed by preemption or a
time limit continues where it stopped, to the same bytes as a run that was never interrupted.

The file lives next to the job's output (never inside it: Snakemake removes an incomplete output)
and carries a key, a digest of what the run is (its params and inputs). It is written atomically,
so a kill while it is being written leaves the previous epoch's file, and it starts with a header
that holds the sha256 of the rest, so that damage a kill cannot cause (a truncated copy, a full
disk on another writer, a flipped bit) is caught before any of it is used. A file that is damaged,
that is not a resume file at all, or that belongs to another run (another key) is said so in the
job's log, set aside under a new name (`<file>.damaged`, `.foreign`, `.other-run`; never deleted)
and the training starts from its first epoch: a requeued job does not crash on it again and again.
The stage removes the file once its output is complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ncdss_core.io.atomic import atomic_write_bytes, load_tensors
from ncdss_core.runtime import get_logger


MAGIC = b"ncdss resume file 1\n"
_DIGEST = 64  # hex sha256 of the payload, then a newline


class ResumeFile:
    """`artifact`: the output the training makes, named when a save fails (a full disk)."""

    def __init__(self, path: str | Path, key: str, artifact: str | None = None):
        self.path, self.key, self.artifact = Path(path), key, artifact

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({"key": self.key, "state": state}, buffer)
        payload = buffer.getvalue()
        header = MAGIC + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n"
        try:
            atomic_write_bytes(self.path, header + payload)
        except OSError as error:
            if self.artifact is None or error.errno is None:
                raise
            raise OSError(error.errno, f"{error.strerror} (saving the resume file of artifact {self.artifact})",
                          error.filename) from error

    def load(self) -> dict[str, Any] | None:
        """The saved state of this run, or None: no file, or a file that is set aside (damaged,
        foreign or another run's; see the module docstring)."""
        if not self.path.is_file():
            return None
        try:
            data = self.path.read_bytes()
        except OSError as error:
            return self._set_aside("damaged", f"cannot be read ({error.strerror or error})")
        if not data.startswith(MAGIC):
            return self._set_aside("foreign", "is not a resume file of this workflow (no resume header)")
        head = len(MAGIC) + _DIGEST + 1
        digest, payload = data[len(MAGIC):head - 1], data[head:]
        if hashlib.sha256(payload).hexdigest().encode("ascii") != digest:
            return self._set_aside("damaged", f"is damaged: its content does not match its checksum "
                                              f"(truncated or altered; {len(data)} bytes)")
        try:
            saved = load_tensors(io.BytesIO(payload), name=str(self.path))
        except Exception as error:  # torch and pickle raise many types
            return self._set_aside("damaged", f"is damaged: {type(error).__name__}: "
                                              f"{str(error).splitlines()[0] if str(error) else ''}")
        if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) or "key" not in saved:
            return self._set_aside("foreign", "is not a resume file of this workflow (no key and state)")
        if saved["key"] != self.key:
            return self._set_aside("other-run", "belongs to another run (other params or inputs)")
        return saved["state"]

    def _set_aside(self, reason: str, what: str) -> None:
        """Rename the file out of the way (never delete it), say so in the job's log; None."""
        aside = self.path.with_name(f"{self.path.name}.{reason}")
        number = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.name}.{reason}.{number}")
            number += 1
        os.rename(self.path, aside)
        get_logger("training").warning("resume file %s %s: set aside as %s; training starts from the "
                                       "first epoch", self.path, what, aside.name)
        return None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def rng_state() -> dict[str, Any]:
    """Every global random generator a training draws from (dropout, numpy, Python)."""
    # numpy's key array as a tensor: the file then loads with weights_only (no pickled code runs)
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "numpy": (name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

"""What every workflow script does the same way, in one place: `stage = Stage(snakemake)`.

Creating the stage logs to the rule's `log:` (and stderr), gives the process the rule's threads,
seeds every generator when the rule has a `seed` param, and starts the clock. The script then
reads `stage.params`, `stage.inputs` and `stage.wildcards`, builds its artifact inside
`with stage.output_dir() as build:` (atomic: renamed into place only if the block succeeds) and
calls `stage.write_provenance(metrics=..., extra=...)`.

The provenance record is made from what the rule declared, never from a dict the script rebuilds:
- inputs: every named input (a list-valued input as name_000, name_001, ...); a rule whose
  inputs are not all named is refused, so nothing it read goes unrecorded;
- params: the params as given plus the wildcards;
- stage: the rule name; seed: the `seed` param; device: the one the script asked for (cpu when
  it asked for none).

A training asks for `stage.resume_file()`: a file next to the output, keyed by the record's params
and input digests, from which a rerun of the same job continues after a kill; it is removed once
the output is complete. A killed run leaves its temporary build beside the output (SIGKILL skips
every cleanup): the stage removes those of its own outputs when it starts.

A write that fails for want of space (or quota, or a read-only file system) ends the job with an
OSError naming the file and the artifact: `[Errno 28] No space left on device (writing artifact
results/x of rule r): '<the file>'`. What is already complete stays complete: every finished
artifact has its provenance record, and a rerun once space is freed ends with the same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ncdss_core.io.atomic import atomic_directory, remove_stale_temporaries
from ncdss_core.provenance.record import describe_input, now, record_digest, write_provenance
from ncdss_core.runtime import device as pick_device
from ncdss_core.runtime import seed_everything, set_threads, setup_logging

if TYPE_CHECKING:
    from ncdss_core.train.resume import ResumeFile

# what a full disk, a quota, a file-size limit or a read-only file system make a write fail with
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _resume_path(output: str | os.PathLike) -> Path:
    output = Path(output)
    return output.parent / f".{output.name}.resume"


def _custom_fold(params: Any) -> dict[str, Any] | None:
    """The dataset params carrying a custom fold's novel classes (rules/common.smk dataset_params;
    the splits rule passes them as `kind`), or None for a standard fold."""
    for name in ("dataset", "kind"):
        value = params.get(name)
        if isinstance(value, Mapping) and "novel_classes" in value:
            return dict(value)
    return None


class Stage:
    """One job of a rule, seen from its workflow script."""

    def __init__(self, smk: Any) -> None:
        self.rule: str = smk.rule
        self.params = smk.params
        self.inputs = smk.input
        self.wildcards = smk.wildcards
        self.output = smk.output
        self.threads = int(smk.threads)
        self.logger: logging.Logger = setup_logging(smk.log[0] if len(smk.log) else None)
        sys.excepthook = self._log_failure
        set_threads(self.threads)
        if self.params.get("max_iterations_per_epoch") is not None:  # a training (compute.max_iterations_per_epoch)
            from ncdss_core.train.loop import cap_iterations
            cap_iterations(self.params.get("max_iterations_per_epoch"))
        self.fold_definition: dict[str, Any] | None = _custom_fold(self.params)
        if self.fold_definition is not None:  # a fold defined by class list: every fold lookup sees it
            from ncdss_core.data.folds import set_custom_folds
            set_custom_folds(self.fold_definition["kind"],
                             {int(self.wildcards.fold): self.fold_definition["novel_classes"]})
        self.seed: int | None = self.params.get("seed")
        if self.seed is not None:
            seed_everything(self.seed)
        self.started = now()
        self._device: str | None = None
        self._builds: list[Path] = []
        self._recorded: set[int] = set()  # outputs whose provenance is written
        self._resume: ResumeFile | None = None  # a training's, once asked for
        self.logger.info("rule %s, threads %d, seed %s", self.rule, self.threads, self.seed)
        for output in self.output:  # one job owns its outputs: what a killed run of it left
            for stale in remove_stale_temporaries(output) + remove_stale_temporaries(_resume_path(output)):
                self.logger.info("removed %s, left by a killed run of this job", stale)

    def _log_failure(self, kind, error, traceback) -> None:
        """An error that ends the job goes to the rule's log too, where the user looks first."""
        self.logger.error("rule %s failed: %s: %s", self.rule, kind.__name__, error)
        sys.__excepthook__(kind, error, traceback)

    @property
    def device(self) -> str:
        """cuda when a GPU is visible, else cpu; asking for it marks the stage as a device user."""
        if self._device is None:
            self._device = pick_device()
            self.logger.info("device %s", self._device)
        return self._device

    def dataset(self):
        """The dataset recorded by the rule's `dataset` input (the index artifact), read through
        the array store of its `store` input when the rule has one (the same arrays, decoded once)."""
        from ncdss_core.data.index import open_indexed_dataset
        from ncdss_core.data.store import with_stores

        store = self.inputs.get("store")
        return with_stores(open_indexed_dataset(self.inputs.dataset), [store] if store else [])

    # --- the artifact ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def output_dir(self) -> Iterator[Path]:
        """Build the rule's output directory under a temporary name; on success it is renamed into
        place, with a provenance record (an empty-metrics one if the script wrote none)."""
        with self.output_dirs() as builds:
            yield builds[0]

    @contextlib.contextmanager
    def output_dirs(self) -> Iterator[list[Path]]:
        """Every output directory of the rule (one per seed variant, say), each built under a
        temporary name and renamed into place only if the whole block succeeds; each gets a
        provenance record (`write_provenance(..., output=i)`). A write that fails for want of
        room names the file and the artifact."""
        builds: list[Path] = []
        try:
            with contextlib.ExitStack() as stack:
                builds = [stack.enter_context(atomic_directory(output)) for output in self.output]
                self._builds, self._recorded = builds, set()
                try:
                    yield builds
                    for index in range(len(builds)):
                        if index not in self._recorded:
                            self.write_provenance(output=index)
                finally:
                    self._builds = []
        except OSError as error:
            named = self._naming_the_artifact(error, builds)
            if named is error:
                raise
            raise named from error
        if self._resume is not None:  # the output is complete: nothing left to resume
            self._resume.remove()

    def _naming_the_artifact(self, error: OSError, builds: list[Path]) -> OSError:
        """A write error for want of room, with the artifact (and the file, or else the directory
        being built) named; any other error as it is."""
        if error.errno not in _NO_ROOM:
            return error
        where = error.filename
        index = next((i for i, build in enumerate(builds)
                      if where is not None and Path(os.fspath(where)).is_relative_to(build)), None)
        if where is None:
            where = os.fspath(builds[0]) if len(builds) == 1 else None
            index = 0 if len(builds) == 1 else None
        artifacts = (os.fspath(self.output[index]) if index is not None
                     else ", ".join(os.fspath(o) for o in self.output))
        strerror = f"{error.strerror} (writing artifact {artifacts} of rule {self.rule})"
        return OSError(error.errno, strerror, where) if where is not None else OSError(error.errno, strerror)

    def resume_file(self) -> ResumeFile:
        """Where this job's training saves its state after each epoch: `.<output>.resume` beside
        the output (Snakemake deletes an incomplete output, not its neighbours), keyed by the rule,
        its params and the digests of its inputs, so that only a rerun of the same job reads it."""
        from ncdss_core.train.resume import ResumeFile  # trainings only: torch is not imported otherwise

        if self._resume is None:
            output = Path(self.output[0])
            key = record_digest({"rule": self.rule, "params": self.recorded_params(),
                                 "inputs": {name: describe_input(path)
                                            for name, path in sorted(self.recorded_inputs().items())}})
            self._resume = ResumeFile(_resume_path(output), key, artifact=os.fspath(output))
        return self._resume

    def recorded_inputs(self) -> dict[str, str]:
        """Every named input; list-valued ones as name_000, name_001, ..."""
        recorded: dict[str, str] = {}
        for name, value in self.inputs.items():
            if isinstance(value, list):
                recorded.update({f"{name}_{i:03d}": str(item) for i, item in enumerate(value)})
            else:
                recorded[name] = str(value)
        named = sum(len(v) if isinstance(v, list) else 1 for _, v in self.inputs.items())
        if named != len(self.inputs):
            raise ValueError(f"rule {self.rule}: {len(self.inputs) - named} input(s) have no name; "
                             f"name every input so that the provenance record can name it")
        return recorded

    def recorded_params(self) -> dict[str, Any]:
        """The params as given plus the wildcards (a wildcard may repeat a param's value, never
        contradict it)."""
        recorded = dict(self.params.items())
        for name, value in self.wildcards.items():
            if name in recorded and recorded[name] != value:
                raise ValueError(f"rule {self.rule}: param {name}={recorded[name]!r} and wildcard "
                                 f"{name}={value!r} disagree")
            recorded[name] = value
        return recorded

    def write_provenance(self, metrics: Mapping[str, Any] | None = None,
                         extra: Mapping[str, Any] | None = None, output: int = 0,
                         params: Mapping[str, Any] | None = None) -> Path:
        """provenance.json of output `output` into the directory being built (or into the output
        itself, for a rule whose library writes its output in place). `params`: what sets this
        output apart from the job's others (the seed variant), added to the recorded params."""
        if metrics:
            self.logger.info("metrics%s: %s", f" of {self.output[output]}" if len(self.output) > 1 else "",
                             dict(metrics))
        directory = self._builds[output] if self._builds else Path(self.output[output])
        if (self._device or "cpu").startswith("cuda"):  # what the job's tensors took on the GPU (make rehearsal)
            import torch
            extra = {**(extra or {}), "gpu_peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20)}
        path = write_provenance(directory, stage=self.rule, params={**self.recorded_params(), **(params or {})},
                                inputs=self.recorded_inputs(), artifact_path=os.fspath(self.output[output]),
                                seed=self.seed, device=self._device or "cpu", started=self.started,
                                metrics=metrics, extra=extra)
        self._recorded.add(output)
        return path

"""provenance.json: what made an artifact, written by every stage through one helper.

An artifact is a directory. Its provenance.json records the stage, the params it actually used,
each named input (path, content digest, digest of the input's own provenance record), a manifest of
its own files with their sha256, the code version, library versions, seed, device, Slurm job id,
timings and quality metrics. `record_digest` is the sha256 of the record itself, so an edited
param is detected as tampering as surely as an edited output file.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from ncdss_core import __version__
from ncdss_core.io.atomic import atomic_write_json, dumps_json, read_json

PROVENANCE = "provenance.json"
# Every library that computes an artifact or writes its bytes: Pillow encodes every PNG and JPEG
# (with its own libjpeg-turbo and zlib, recorded below), h5py and its HDF5 the shards, matplotlib
# the report's figures.
_LIBRARIES = ("torch", "torchvision", "numpy", "scikit-learn", "scikit-image", "scipy",
              "opencv-python-headless", "pydensecrf2", "h5py", "pillow", "matplotlib", "snakemake")
_CHUNK = 1 << 20
# Files that are not part of an artifact's content: its own record, and the marker Snakemake
# writes into directory outputs.
_NOT_CONTENT = {PROVENANCE, ".snakemake_timestamp"}


def file_digest(path: str | os.PathLike) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            sha.update(block)
    return sha.hexdigest()


def directory_manifest(path: str | os.PathLike) -> dict[str, str]:
    """sha256 of every file under `path` (relative POSIX paths), provenance.json excluded."""
    root = Path(path)
    manifest = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel not in _NOT_CONTENT:
            manifest[rel] = file_digest(file)
    return manifest


def manifest_digest(manifest: Mapping[str, str]) -> str:
    sha = hashlib.sha256()
    for rel in sorted(manifest):
        sha.update(f"{rel}\0{manifest[rel]}\n".encode())
    return sha.hexdigest()


def artifact_digest(path: str | os.PathLike) -> str:
    """Content digest of a file, or of a directory's files (provenance.json excluded)."""
    path = Path(path)
    if path.is_dir():
        return manifest_digest(directory_manifest(path))
    return file_digest(path)


def provenance_path_of(path: str | os.PathLike) -> Path | None:
    """The provenance.json describing an artifact directory, or the directory holding a file."""
    path = Path(path)
    candidate = path / PROVENANCE if path.is_dir() else path.parent / PROVENANCE
    return candidate if candidate.is_file() else None


def working_dir_of(provenance_file: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """The directory that the record's relative paths are relative to (the Snakemake working
    directory when it was written), found by matching the recorded artifact path against where
    the record lies now. This keeps a moved results tree auditable."""
    here = Path(provenance_file).resolve().parent
    artifact = Path(record.get("artifact", ""))
    if artifact.is_absolute() or not artifact.parts:
        return Path.cwd()
    n = len(artifact.parts)
    if here.parts[-n:] == artifact.parts:
        return Path(*here.parts[:-n]) if len(here.parts) > n else Path(here.anchor)
    return Path.cwd()


def resolve(path: str | os.PathLike, base: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else base / path


def record_digest(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "record_digest"}
    return hashlib.sha256(dumps_json(body).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Package version, git commit and dirty flag of the checkout this package runs from."""
    repo = Path(__file__).resolve().parent.parent
    version: dict[str, Any] = {"package": __version__, "git_commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            version["git_commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10)
            version["dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return version


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions.update(_codec_versions())
    return versions


def _codec_versions() -> dict[str, str | None]:
    """The C libraries inside the wheels that encode artifact bytes: Pillow's JPEG and deflate
    (zlib-ng where the wheel has it, which compresses to other bytes than zlib), h5py's HDF5."""
    versions: dict[str, str | None] = {}
    try:
        from PIL import features

        versions["pillow.libjpeg_turbo"] = features.version("libjpeg_turbo")
        versions["pillow.libjpeg"] = features.version("jpg")
        versions["pillow.zlib_ng"] = features.version("zlib_ng")
        versions["pillow.zlib"] = features.version("zlib")
    except Exception:  # no Pillow, or one without these features
        pass
    try:
        import h5py

        versions["h5py.hdf5"] = h5py.version.hdf5_version
    except Exception:
        pass
    return versions


@functools.lru_cache(maxsize=1)
def cpu_model() -> str | None:
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform says, else None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def cpu_description() -> dict[str, str | None]:
    """The CPU model and the instruction set torch's kernels use on it (AVX2, AVX512, ...). Bit-for-bit
    reproducibility holds on one CPU model: kernels for another one may sum in another order, and a
    training run then drifts as far as another seed does (docs/results.md). `kernels` is None in a
    stage that never loaded torch."""
    torch = sys.modules.get("torch")
    kernels = torch.backends.cpu.get_cpu_capability() if torch is not None else None
    return {"model": cpu_model(), "kernels": kernels}


def describe_input(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"provenance: input artifact {path} does not exist")
    entry: dict[str, Any] = {"path": str(path), "digest": artifact_digest(path)}
    prov = provenance_path_of(path)
    if prov is not None:
        entry["provenance"] = str(prov)
        entry["provenance_digest"] = read_json(prov).get("record_digest")
    return entry


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_provenance(
    build_dir: str | os.PathLike,
    *,
    stage: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, str | os.PathLike],
    artifact_path: str | os.PathLike | None = None,
    seed: int | None = None,
    device: str = "cpu",
    started: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write provenance.json into `build_dir` after every other file of the artifact is in place.

    `build_dir` may be the temporary directory of `io.atomic_directory`; `artifact_path` is then the
    final path, which is what the record names.
    """
    build_dir = Path(build_dir)
    files = directory_manifest(build_dir)
    record: dict[str, Any] = {
        "stage": stage,
        "artifact": str(artifact_path or build_dir),
        "params": dict(params),
        "inputs": {name: describe_input(p) for name, p in sorted(inputs.items())},
        "output": {"digest": manifest_digest(files), "files": files},
        "code": code_version(),
        "libraries": library_versions(),
        "seed": seed,
        "device": device,
        "host": socket.gethostname(),
        "cpu": cpu_description(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "timings": {"started": started or now(), "finished": now()},
        "metrics": dict(metrics or {}),
    }
    if extra:
        record["extra"] = dict(extra)
    record["record_digest"] = record_digest(record)
    return atomic_write_json(build_dir / PROVENANCE, record)


def split_epoch_seconds(history: list[dict]) -> tuple[list[dict], list[float]]:
    """A training history without its per-epoch wall-clock `seconds`, and those seconds. The seconds
    differ on every run, so they go into the provenance record, not into the artifact's files:
    the same config and seed then give the same bytes."""
    return ([{k: v for k, v in r.items() if k != "seconds"} for r in history],
            [r.get("seconds") for r in history])


def training_metrics(history: list[dict], selected_epoch: int) -> dict[str, Any]:
    """What a segmentation training records: the selected epoch, its selection score and the
    last epoch's loss (the per-epoch seconds go to the record's `extra`, see split_epoch_seconds)."""
    return {"selected_epoch": selected_epoch, "select_score": history[selected_epoch].get("select_score"),
            "final_loss": history[-1]["loss"]}

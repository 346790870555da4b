"""Atomic writes: every output of the pipeline goes through here, so that a killed job never
leaves a file or directory that looks complete. Files are written to a temporary sibling and
renamed into place; artifact directories are built under a temporary name and renamed as a whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np


def current_umask() -> int:
    """The process umask, read without changing it where /proc shows it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """What open() would give a new file: 0666 less the umask (mkstemp ignores the umask)."""
    return 0o666 & ~current_umask()


def directory_mode() -> int:
    """What mkdir() would give a new directory: 0777 less the umask (mkdtemp ignores the umask)."""
    return 0o777 & ~current_umask()


def naming_the_file(error: OSError, path: str | os.PathLike) -> OSError:
    """`error` with `path` as its file name when it has none (a failed write() names no file: "No
    space left on device" alone); the same error when it names one already."""
    if error.filename is not None or error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, os.fspath(path))


def atomic_write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = True) -> Path:
    """Write `data` to a temporary sibling, then rename it into place. `fsync=False` for files
    inside an artifact directory that is itself renamed into place when complete. A write that
    fails (a full disk) names the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        named = naming_the_file(error, path)
        if named is error:
            raise
        raise named from error
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_torch(path: str | os.PathLike, obj: Any, fsync: bool = True) -> Path:
    """`torch.save(obj)` through `atomic_write_bytes`: a full disk is an OSError naming the file
    (torch.save to a path says only "unexpected pos ..."), and the bytes do not depend on the
    file's name (torch.save to a path names its archive after the file)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), fsync=fsync)


def load_tensors(path: str | os.PathLike | IO[bytes], device: str = "cpu", name: str | None = None) -> Any:
    """A file written by `atomic_write_torch` or `torch.save`, read with `weights_only`: tensors,
    containers and plain values only, so a checkpoint or resume file cannot run code when it is read
    (every input is untrusted). Anything else is a ValueError naming the file (`name`: for a buffer)."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).splitlines()
        detail = next((line.strip() for line in first if "GLOBAL" in line or "Unsupported" in line), "")
        raise ValueError(f"{name or path}: refused, it holds more than tensors and plain values (objects whose "
                         f"loading could run code){': ' + detail if detail else ''}") from None


def dumps_json(data: Any) -> str:
    """Canonical JSON: sorted keys, stable separators, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    return atomic_write_text(path, dumps_json(data))


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def stale_temporaries(final: str | os.PathLike) -> list[Path]:
    """The temporary siblings that the writers here made for `final` (`.<name>.<random>.tmp`,
    files and directories), as a killed build leaves them: SIGKILL skips every cleanup. Only
    exactly that pattern (the random part has no dot), so that another output's
    (`.<name>.x.<random>.tmp`) is never taken."""
    final = Path(final)
    pattern = re.compile(rf"\.{re.escape(final.name)}\.[a-z0-9_]+\.tmp")
    if not final.parent.is_dir():
        return []
    return sorted(p for p in final.parent.iterdir() if pattern.fullmatch(p.name))


def remove_stale_temporaries(final: str | os.PathLike) -> list[Path]:
    """Remove what `stale_temporaries` finds; only the job that owns `final` may call this."""
    stale = stale_temporaries(final)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return stale


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike) -> Iterator[Path]:
    """Build a directory under a temporary name; rename it to `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of a build that was killed (SIGKILL skips the cleanup below); one job owns `final`.
    remove_stale_temporaries(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(directory_mode())
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

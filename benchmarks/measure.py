"""Running one command in a fresh process and reading its wall time and peak memory.

Peak RSS comes from os.wait4 on that very command: the kernel reports the largest resident set
of the command and of the processes it reaped itself (a process pool's workers), so one
measurement never sees another's memory, unlike getrusage(RUSAGE_CHILDREN), which keeps the maximum
over every child the harness ever waited for. The command is forked by a small fresh launcher
(launch.py), not by the harness, whose own memory a forked child's peak would start from.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float
    returncode: int


class CommandFailed(RuntimeError):
    """A measured command exited non-zero; the message holds the end of its output."""


LAUNCH = Path(__file__).resolve().parent / "launch.py"


def _start(command: Sequence[str], cwd: str | Path | None, env: dict | None, log: Path | None):
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    fd, rss_file = tempfile.mkstemp(prefix="ncdss-rss-")
    os.close(fd)
    try:
        proc = subprocess.Popen([sys.executable, "-S", str(LAUNCH), rss_file, *map(str, command)], cwd=cwd,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        proc.rss_file = rss_file  # type: ignore[attr-defined]
        return proc
    finally:
        if log is not None:
            out.close()


def _reap(proc: subprocess.Popen, started: float, block: bool = True) -> Measurement | None:
    pid, status, _ = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None  # still running
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    rss_file = Path(proc.rss_file)  # type: ignore[attr-defined]
    text = rss_file.read_text() if rss_file.exists() else ""
    rss_file.unlink(missing_ok=True)
    peak_kib = int(text) if text.strip() else 0  # empty: the command could not be started
    return Measurement(seconds, peak_kib / 1024.0, proc.returncode)


def _check(measurement: Measurement, command: Sequence[str], log: Path | None) -> Measurement:
    if measurement.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
        raise CommandFailed(f"exit {measurement.returncode}: {' '.join(map(str, command))}\n{tail}")
    return measurement


def run_measured(command: Sequence[str], cwd: str | Path | None = None, env: dict | None = None,
                 log: Path | None = None) -> Measurement:
    """Run `command` to completion in a new process; raise CommandFailed when it fails."""
    started = time.perf_counter()
    proc = _start(command, cwd, env, log)
    measurement = _reap(proc, started)
    assert measurement is not None
    return _check(measurement, command, log)


def run_side_by_side(commands: Sequence[Sequence[str]], cwd: str | Path | None = None,
                     logs: Sequence[Path] | None = None) -> list[Measurement]:
    """Start every command at once and wait for all of them (each measured on its own)."""
    logs = list(logs) if logs is not None else [None] * len(commands)
    started = time.perf_counter()
    procs = [_start(c, cwd, None, log) for c, log in zip(commands, logs)]
    results: list[Measurement | None] = [None] * len(procs)
    while any(r is None for r in results):  # reap each as it ends, so its time is its own
        results = [r if r is not None else _reap(p, started, block=False) for r, p in zip(results, procs)]
        time.sleep(0.01)
    return [_check(m, c, log) for m, c, log in zip(results, commands, logs)]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))

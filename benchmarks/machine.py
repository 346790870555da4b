"""What a results file must say about where and on what code it was measured."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ncdss_core.provenance.record import code_version, cpu_model


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _measured_code() -> dict:
    """The commit measured and whether the tree had uncommitted changes."""
    version = code_version()
    return {"commit": version["git_commit"] or "unknown", "dirty": bool(version["dirty"])}


def machine_info() -> dict:
    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model() or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "snakemake": _version("snakemake"),
        "load_avg_start": os.getloadavg(),
        **_measured_code(),
    }

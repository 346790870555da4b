"""The shipped config.yaml, validated, as the tests' source of default settings: library
settings take every value explicitly, and a test overrides only what it is about."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

from ncdss_core.config import load_config

REPO = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def _config() -> dict:
    return load_config(REPO / "config.yaml", base_dir=REPO)


def section(dotted: str, **overrides: Any) -> dict:
    """A copy of the config section `dotted` (e.g. "weak.train"), with `overrides` applied."""
    node: Any = _config()
    for part in dotted.split("."):
        node = node[part]
    return {**copy.deepcopy(node), **overrides}

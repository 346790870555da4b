"""Config sections as frozen dataclasses with no defaults of their own.

Every default lives in config/schema.yaml and config.yaml; a stage's section arrives complete
(Snakemake params of the validated config). `from_section` builds the dataclass and refuses a key
it does not know, so a renamed or misspelt key stops the stage instead of being ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


def from_section(cls: type[T], params: Mapping[str, Any], section: str) -> T:
    """`cls(**params)`, naming the section's unknown or missing keys in a ValueError."""
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    missing = [name for name in fields if name not in params]
    if missing:
        raise ValueError(f"{section}: missing key(s) {', '.join(missing)}")
    return cls(**params)

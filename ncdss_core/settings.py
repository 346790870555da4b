"""Config sections as typed settings: one kind of object, built one way.

A stage's settings are a dataclass deriving from `Settings` whose fields are exactly the config keys
the stage reads. The same declaration gives the rule its tracked params (`keys`, read by the rules'
helpers) and the library its typed object (`from_params`), so "what a stage reads" is written once.
No field has a default: every value comes from config.yaml, through the validated config.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping, TypeVar

S = TypeVar("S", bound="Settings")


class Settings:
    """Base of every settings dataclass. `SECTION`: the dotted config section its keys live in."""

    SECTION: ClassVar[str] = ""

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The config keys of `SECTION` these settings read, sorted (as the rules track them)."""
        return tuple(sorted(f.name for f in dataclasses.fields(cls)))  # type: ignore[arg-type]

    @classmethod
    def from_params(cls: type[S], params: Mapping[str, Any]) -> S:
        """The settings of a rule's params (a section, or the subset `keys` selected), naming the
        unknown and the missing keys in a ValueError: a renamed or misspelt key stops the stage."""
        return from_section(cls, params, cls.SECTION or cls.__name__)


T = TypeVar("T")


def from_section(cls: type[T], params: Mapping[str, Any], section: str) -> T:
    """`cls(**params)`, naming the section's unknown or missing keys in a ValueError. A whole number
    given for a float field becomes a float (YAML reads `1` as an int; the schema allows it)."""
    types = {f.name: f.type for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    fields = list(types)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    missing = [name for name in fields if name not in params]
    if missing:
        raise ValueError(f"{section}: missing key(s) {', '.join(missing)}")
    return cls(**{k: float(v) if types[k] in ("float", float) and type(v) is int else v
                  for k, v in params.items()})


def split_params(params: Mapping[str, Any], *classes: type[Settings], section: str) -> list[Any]:
    """One flat params dict read by several settings classes: each class takes its own keys (None
    when none of them is present); a key no class reads is named in a ValueError."""
    known = {key for cls in classes for key in cls.keys()}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    out = []
    for cls in classes:
        own = {k: v for k, v in params.items() if k in cls.keys()}
        out.append(cls.from_params(own) if own else None)
    return out

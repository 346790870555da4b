"""Version pins in one place: pyproject.toml. The rule environments (envs/*.yaml, for --sdm conda)
repeat its pins; this test fails on any that differs, is missing or is not in pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from conftest import REPO

SNAKEMAKE = {"snakemake", "snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep"}
# What each environment leaves out of pyproject.toml's dependencies: a rule's script runs inside it,
# snakemake and its plugins outside; the CPU stages import no torch.
LEFT_OUT = {
    "cpu.yaml": SNAKEMAKE | {"torch", "torchvision"},
    "torch.yaml": SNAKEMAKE,
}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: list[str], where: str) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*", requirement)
        assert match, f"{where}: {requirement!r} is not an exact pin (name==version)"
        name = _name(match.group(1))
        assert name not in pins, f"{where}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def _project() -> dict:
    with open(REPO / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def test_every_environment_file_is_checked():
    assert sorted(p.name for p in (REPO / "envs").glob("*.yaml")) == sorted(LEFT_OUT)


@pytest.mark.parametrize("env", sorted(LEFT_OUT))
def test_environment_pins_are_pyprojects(env):
    project = _project()
    wanted = _pins(project["dependencies"], "pyproject.toml")
    assert not LEFT_OUT[env] - set(wanted), f"envs/{env}: leaves out packages pyproject.toml does not pin"
    spec = yaml.safe_load((REPO / "envs" / env).read_text(encoding="utf-8"))
    pip = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, f"envs/{env}: one pip: list expected"
    pinned = _pins(pip[0], f"envs/{env}")
    expected = {name: version for name, version in wanted.items() if name not in LEFT_OUT[env]}
    differ = {n: (pinned[n], expected[n]) for n in set(pinned) & set(expected) if pinned[n] != expected[n]}
    assert not differ, f"envs/{env}: versions differ from pyproject.toml (env, pyproject): {differ}"
    assert not set(expected) - set(pinned), f"envs/{env}: missing pins {sorted(set(expected) - set(pinned))}"
    assert not set(pinned) - set(expected), (f"envs/{env}: pins that pyproject.toml does not have (or that "
                                             f"this environment leaves out): {sorted(set(pinned) - set(expected))}")
    python = [d for d in spec["dependencies"] if isinstance(d, str) and d.split()[0] == "python"]
    minor = re.search(r"==?\s*(3\.\d+)|>=\s*(3\.\d+)", project["requires-python"])
    assert python == [f"python ={minor.group(1) or minor.group(2)}"], f"envs/{env}: python {python}"

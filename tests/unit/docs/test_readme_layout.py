"""The README's layout table lets a newcomer go from a stage to its rule, its script and its
library function in one hop each: every row must name a rule of that .smk file whose script is the
one named, and a library function that exists and that the script (or the library code it calls)
uses."""

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

ROW = re.compile(r"^\| (?P<stage>[^|]+) \| `(?P<rule>\w+)` \((?P<smk>\w+)\) \| `(?P<script>[\w.]+)` \| "
                 r"(?P<library>[^|]+) \|$")


def rows() -> list[dict[str, str]]:
    found = [m.groupdict() for m in map(ROW.match, (REPO / "README.md").read_text().splitlines()) if m]
    assert len(found) >= 20, "the README's layout table was not found"
    return found


def rule_scripts(smk: Path) -> dict[str, str]:
    """rule name -> script file name, from one .smk file."""
    scripts, rule = {}, None
    for line in smk.read_text().splitlines():
        if m := re.match(r"\s*rule (\w+):", line):
            rule = m.group(1)
        elif (m := re.match(r'\s*"\.\./workflow_scripts/([\w.]+)"', line)) and rule:
            scripts[rule] = m.group(1)
    return scripts


def test_every_rule_of_the_workflow_has_a_row():
    named = {row["rule"] for row in rows()}
    rules = {rule for smk in (REPO / "rules").glob("*.smk") for rule in rule_scripts(smk)}
    assert rules <= named, f"rules missing from the README's layout table: {sorted(rules - named)}"


@pytest.mark.parametrize("row", rows(), ids=lambda row: row["rule"])
def test_a_row_names_the_rule_its_script_and_a_library_function_in_use(row):
    scripts = rule_scripts(REPO / "rules" / f"{row['smk']}.smk")
    assert row["rule"] in scripts, f"rule {row['rule']} is not in rules/{row['smk']}.smk"
    assert scripts[row["rule"]] == row["script"]
    library = re.match(r"`(?P<module>[\w/]+)\.py::(?P<function>\w+)`", row["library"].strip())
    if library is None:
        assert row["library"].strip().startswith("–"), row
        return
    module = REPO / "ncdss_core" / f"{library['module']}.py"
    tree = ast.parse(module.read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert library["function"] in defined, f"{module.relative_to(REPO)} defines no {library['function']}"
    script = (REPO / "workflow_scripts" / row["script"]).read_text()
    assert library["function"] in script, f"{row['script']} does not use {library['function']}"

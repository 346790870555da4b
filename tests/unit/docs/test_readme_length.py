"""The README is the overview and the two commands: at most 200 lines. Details go to docs/, linked."""

from conftest import REPO

MAX_LINES = 200


def test_readme_is_at_most_200_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, (f"README.md has {len(lines)} lines, at most {MAX_LINES}: move details to "
                                     f"the docs/ page they belong to and link it")

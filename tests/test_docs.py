"""The README's inputs and outputs tables say what action.yml declares, and the settings read every input."""

from __future__ import annotations

import re

import yaml

from autoscale_ci.settings import input_names
from tests.harness import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def table(heading: str) -> dict[str, list[str]]:
    """Rows of the first table under `## heading`, keyed by the name in the first cell."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([a-z0-9-]+)`", cells[0]) if line.startswith("|") else None
        if name:
            rows[name.group(1)] = cells[1:]
    return rows


def test_readme_inputs_match_action_yml() -> None:
    documented = table("Inputs")
    assert list(documented) == list(ACTION["inputs"])
    for name, body in ACTION["inputs"].items():
        default = str(body.get("default", ""))
        shown = documented[name][0]
        if body.get("required"):
            assert shown == "(required)", name
        elif re.fullmatch(r"`[^`]*`", shown) and default:
            assert shown == f"`{default}`", name
        else:
            assert not default, f"{name}: README shows {shown}, action.yml says {default!r}"


def test_readme_outputs_match_action_yml() -> None:
    assert list(table("Outputs")) == list(ACTION["outputs"])


def test_every_declared_input_is_read_and_every_read_input_declared() -> None:
    assert sorted(input_names()) == sorted(ACTION["inputs"])


def test_the_readme_module_table_lists_every_module() -> None:
    listed = set(
        re.findall(r"`((?:autoscale_ci/)?[\w/]+\.py)`", README.split("| path | owns |", 1)[1].split("\n\n", 1)[0])
    )
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "autoscale_ci").rglob("*.py")}
    assert modules - listed == set(), "add a row for each to the README's module table"
    assert {path for path in listed if path.startswith("autoscale_ci/")} - modules == set(), "rows for no module"

"""The package ships the action alone: the emulator is a separate top-level package, and neither imports the other."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.harness import ROOT


def imported(package: str) -> set[str]:
    """Top-level names of every module that a package's files import."""
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_the_action_and_the_emulator_import_nothing_of_each_other() -> None:
    assert "dbt_cloud_emulator" not in imported("autoscale_ci")
    assert "autoscale_ci" not in imported("dbt_cloud_emulator")  # an independent oracle, not the action's mirror


def test_the_wheel_and_the_image_hold_the_action_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["autoscale_ci"]
    assert not (ROOT / "autoscale_ci" / "emulator").exists()
    shipped = [line for line in Path(ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if "!" in line]
    assert "!dbt_cloud_emulator/" not in shipped

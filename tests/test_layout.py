"""The house's rules: the layers the package's folders draw, the sizes that keep a module readable, tests that mirror
the package, and the action and the emulator apart."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.harness import ROOT

PACKAGE = "autoscale_ci"
# What the action's image and command start: no module of the package may lean on them.
ENTRY_POINTS = {"autoscale_ci.run", "autoscale_ci.post", "autoscale_ci.cli"}
SERVICES = ("autoscale_ci.dbt_cloud", "autoscale_ci.github", "autoscale_ci.ci")
MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 450, 300, 60
# Tests of the repository rather than of one module.
REPOSITORY_TESTS = {"test_docs.py", "test_layout.py"}


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


def module_name(path: Path) -> str:
    """`autoscale_ci/rules/decide.py` as `autoscale_ci.rules.decide` (a package as its own name)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports() -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports (`from a import b` counts `a.b` when `b` is
    a module)."""
    modules = {module_name(path): path for path in (ROOT / PACKAGE).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else node.module)
        graph[name] = found
    return graph


def within(module: str, *prefixes: str) -> bool:
    """Whether `module` is one of `prefixes` or inside one of them."""
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


def layer_violations(graph: Mapping[str, set[str]]) -> Iterator[str]:
    """Every import that breaks a rule of the house, said as the rule it breaks."""
    for module, imports in sorted(graph.items()):
        for target in sorted(imports):
            if within(module, "autoscale_ci.rules") and not within(
                target, "autoscale_ci.rules", "autoscale_ci.errors", "autoscale_ci.dbt_cloud.models"
            ):
                yield f"{module} imports {target}: rules/ imports only rules/, errors and dbt_cloud.models"
            service = next((folder for folder in SERVICES if within(module, folder)), None)
            if service is not None and not within(target, service, "autoscale_ci.errors"):
                yield f"{module} imports {target}: a service imports nothing of the package but errors"
            if target in ENTRY_POINTS and module not in {"autoscale_ci.cli", "autoscale_ci.__main__"}:
                yield f"{module} imports {target}: nothing imports an entry point"
            if target == "autoscale_ci.cleanup" and module != "autoscale_ci.run":
                yield f"{module} imports {target}: cleanup mode is run's alone"


def test_the_layers_hold() -> None:
    assert list(layer_violations(package_imports())) == []


@pytest.mark.parametrize(
    ("module", "target", "rule"),
    [
        ("autoscale_ci.rules.decide", "autoscale_ci.act.executor", "rules/ imports only"),
        ("autoscale_ci.rules.decide", "autoscale_ci.dbt_cloud.client", "rules/ imports only"),
        ("autoscale_ci.dbt_cloud.client", "autoscale_ci.rules.markers", "a service imports nothing"),
        ("autoscale_ci.ci.dialects", "autoscale_ci.inputs.ci_variables", "a service imports nothing"),
        ("autoscale_ci.act.executor", "autoscale_ci.post", "nothing imports an entry point"),
        ("autoscale_ci.wiring", "autoscale_ci.cleanup", "cleanup mode is run's alone"),
        ("autoscale_ci.dbt_cloud.transport", "autoscale_ci", "a service imports nothing"),  # the version
    ],
)
def test_an_import_that_breaks_a_layer_is_named(module: str, target: str, rule: str) -> None:
    graph = package_imports()
    graph[module] = graph.get(module, set()) | {target}
    broken = [line for line in layer_violations(graph) if line.startswith(f"{module} imports {target}:")]
    assert len(broken) == 1
    assert rule in broken[0]


def test_the_import_graph_sees_what_a_module_imports() -> None:
    graph = package_imports()
    assert "autoscale_ci.rules.decide" in graph["autoscale_ci.rules.verdict"]
    assert "autoscale_ci.act.signals" in graph["autoscale_ci.wiring"]  # `from autoscale_ci.act import signals`
    assert "autoscale_ci.run" in graph["autoscale_ci.cli"]  # `from autoscale_ci import run as action`


def sizes() -> Iterator[tuple[str, str, int, int]]:
    """Each module, class and function of the package: its kind, its name, its lines, and the limit."""
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT).as_posix()
        yield "module", where, len(source.splitlines()), MODULE_LINES
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                kind, limit = ("class", CLASS_LINES) if isinstance(node, ast.ClassDef) else ("function", FUNCTION_LINES)
                yield kind, f"{where}: {node.name}", node.end_lineno - node.lineno + 1, limit


def test_no_module_class_or_function_outgrows_a_reading() -> None:
    over = [f"{kind} {name}: {lines} lines, over {limit}" for kind, name, lines, limit in sizes() if lines > limit]
    assert over == []


def test_the_tests_mirror_the_package() -> None:
    strays = []
    for path in sorted((ROOT / "tests").glob("**/test_*.py")):
        folder = path.parent.relative_to(ROOT / "tests")
        if folder.parts[:1] in {("integration",), ("emulator",)}:
            continue  # by behaviour: the entrypoint and the emulator, end to end
        if folder.parts[:1] == ("scripts",):
            tested = ROOT / "scripts" / path.name.removeprefix("test_")
        else:
            tested = ROOT / PACKAGE / folder / path.name.removeprefix("test_")
        if not tested.exists() and (folder.parts or path.name not in REPOSITORY_TESTS):
            strays.append(path.relative_to(ROOT).as_posix())
    assert strays == [], "name each test file after the module it tests, in the same folder"


def test_the_action_and_the_emulator_import_nothing_of_each_other() -> None:
    assert "dbt_cloud_emulator" not in imported("autoscale_ci")
    assert "autoscale_ci" not in imported("dbt_cloud_emulator")  # an independent oracle, not the action's mirror


def test_the_wheel_and_the_image_hold_the_action_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["autoscale_ci"]
    assert not (ROOT / "autoscale_ci" / "emulator").exists()
    shipped = [line for line in Path(ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines() if "!" in line]
    assert "!dbt_cloud_emulator/" not in shipped

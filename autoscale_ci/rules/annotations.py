"""Where each failed or warned node is annotated, pure: on its file (the manifest's `original_file_path`, under the
dbt project's subdirectory), at the line that names it when the workspace holds the file, else line 1; errors first,
and no more of a level than GitHub keeps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autoscale_ci.dbt_cloud.models import project_prefix

# GitHub keeps this many annotations of each level a step, and drops the rest without a word.
PER_LEVEL = 10
ERRORS = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class NodeFile:
    """Where a node is declared: its file from the repository's root, and the name that marks its line there (after
    the line that declares `within`, when set: a column's test sits under its model)."""

    path: str
    anchor: str
    within: str = ""


@dataclass(frozen=True)
class Annotation:
    """One annotation: `level` error or warning, on `place` (a path and a line)."""

    level: str
    title: str
    message: str
    place: tuple[str, int]


def node_files(manifest: Any, subdirectory: str | None) -> dict[str, NodeFile]:
    """Each node's file, read leniently from a manifest.json's nodes and unit tests (one without a path is left out);
    a test declared in YAML is placed at its column under its model, else at its model, else at its own name."""
    document = manifest if isinstance(manifest, dict) else {}
    prefix = project_prefix(subdirectory)
    found: dict[str, NodeFile] = {}
    # dbt 1.8 and later keep unit tests apart from the other nodes.
    for section in ("nodes", "unit_tests"):
        nodes = document.get(section)
        for unique_id, node in nodes.items() if isinstance(nodes, dict) else ():
            path = node.get("original_file_path") if isinstance(node, dict) else None
            if isinstance(path, str) and path:
                found[str(unique_id)] = _declared(prefix + path, node, section == "unit_tests")
    return found


def _declared(path: str, node: dict[str, Any], unit_test: bool) -> NodeFile:
    # A model's own file is all of it (line 1); a YAML declares many nodes, each at its own line.
    if not path.endswith((".yml", ".yaml")):
        return NodeFile(path, "")
    name, column = str(node.get("name") or ""), node.get("column_name")
    model = _attached_name(node.get("attached_node")) or ""
    if unit_test:
        return NodeFile(path, name)
    if isinstance(column, str) and column:
        return NodeFile(path, column, model)
    return NodeFile(path, model or name)


# The files a node of each kind is written in, by its name: a model in SQL or Python, a seed in CSV, a singular test,
# a snapshot, an analysis or a dbt v2 check in SQL. A generic test (its unique_id ends in a hash) is declared in a
# YAML that only the manifest names.
_SUFFIXES = {
    "model": (".sql", ".py"),
    "seed": (".csv",),
    "snapshot": (".sql",),
    "analysis": (".sql",),
    "check": (".sql",),
    "test": (".sql",),
}


def file_names(unique_id: str) -> tuple[str, ...]:
    """The file names that would hold a node of this unique_id (`model.shop.orders`: orders.sql, orders.py); none for
    a generic test or a kind that has no file of its own."""
    parts = unique_id.split(".")
    if len(parts) < 3 or (parts[0] == "test" and len(parts) > 3):
        return ()
    return tuple(f"{parts[2]}{suffix}" for suffix in _SUFFIXES.get(parts[0], ()))


def found_files(unique_ids: Sequence[str], paths: Sequence[str], prefix: str = "") -> dict[str, NodeFile]:
    """Each node's file among the repository's `paths` (under `prefix`, the dbt project's subdirectory), by its name;
    a name that two files share is left out, as no file is then sure."""
    by_name: dict[str, list[str]] = {}
    for path in paths:
        if path.startswith(prefix):
            by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    found: dict[str, NodeFile] = {}
    for unique_id in unique_ids:
        candidates = [path for name in file_names(unique_id) for path in by_name.get(name, ())]
        if len(candidates) == 1:
            found[unique_id] = NodeFile(candidates[0], "")
    return found


def _attached_name(attached: Any) -> str | None:
    return attached.rsplit(".", 1)[-1] if isinstance(attached, str) and attached else None


def line_naming(text: str, anchor: str, within: str = "") -> int:
    """The line of `text` that declares `anchor` (`name: anchor`), else the first that names it as a word, after the
    line that declares `within` when it has one; 1 when none does."""
    if not anchor:
        return 1
    lines = text.splitlines()
    start = _found(lines, within, 0) if within else None
    found = _found(lines, anchor, start or 0) if start is not None else None
    return found if found is not None else (_found(lines, anchor, 0) or 1)


def _found(lines: Sequence[str], name: str, after: int) -> int | None:
    """The number of the first line from line `after` on that declares `name`, else that names it as a word."""
    declared = re.compile(rf"\bname:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    named = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
    for pattern in (declared, named):
        for number, line in enumerate(lines[after:], start=after + 1):
            if pattern.search(line):
                return number
    return None


# Where a message is cut: as the job summary cuts it.
MESSAGE_CHARS = 500


def cut(message: str, chars: int = MESSAGE_CHARS) -> str:
    """A message no longer than `chars`, with `...` where it was cut."""
    return message if len(message) <= chars else message[:chars] + "..."


def label(unique_id: str) -> str:
    """A node as a reviewer names it, its kind then its name (`model stg_orders`, `check owners`); else its id."""
    parts = unique_id.split(".")
    if len(parts) < 3 or not all(parts[:3]):
        return unique_id
    # A unit test's id names its model, then itself.
    return f"{parts[0]} {parts[-1] if parts[0] == 'unit_test' else parts[2]}"


def placed(
    problems: Sequence[Any], files: Mapping[str, NodeFile], read: Callable[[str], str | None]
) -> list[Annotation]:
    """The annotations for the nodes that errored, failed or warned (each with `unique_id`, `status`, `message`)
    whose file is known, errors first: one on no file would only repeat the job summary. A file is read once, and
    only to place a node declared among others in it."""
    texts: dict[str, str | None] = {}
    made: list[Annotation] = []
    for level in ("error", "warning"):
        for node in (node for node in problems if (node.status in ERRORS) == (level == "error")):
            known = files.get(node.unique_id)
            if known is None:
                continue
            line = 1
            if known.anchor:
                text = texts[known.path] if known.path in texts else texts.setdefault(known.path, read(known.path))
                line = line_naming(text, known.anchor, known.within) if text is not None else 1
            title = f"{label(node.unique_id)}: {node.status}"
            made.append(Annotation(level, title, cut(node.message or node.status), (known.path, line)))
    return made


def capped(made: Sequence[Annotation], room: Mapping[str, int]) -> tuple[list[Annotation], int]:
    """At most `room[level]` annotations of each level, in their order; and how many were left out."""
    kept = [a for level in ("error", "warning") for a in [m for m in made if m.level == level][: room.get(level, 0)]]
    return kept, len(made) - len(kept)


# GitLab's Code Quality severities, by the level of an annotation (GitLab docs, "Code Quality report format").
SEVERITY = {"error": "major", "warning": "minor"}


def code_quality(made: Sequence[Annotation]) -> list[dict[str, Any]]:
    """The annotations on a file as a GitLab Code Quality report, which GitLab shows in the merge request's diff."""
    return [
        {
            "description": f"{annotation.title}: {annotation.message}",
            "check_name": annotation.title,
            "fingerprint": hashlib.sha256(f"{annotation.title}|{annotation.place[0]}".encode()).hexdigest(),
            "severity": SEVERITY[annotation.level],
            "location": {"path": annotation.place[0], "lines": {"begin": annotation.place[1]}},
        }
        for annotation in made
    ]

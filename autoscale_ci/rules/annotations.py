"""Where each failed or warned node is annotated, pure: on its file (the manifest's `original_file_path`, under the
dbt project's subdirectory), at the line that names it when the workspace holds the file, else line 1; errors first,
and no more of a level than GitHub keeps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# GitHub keeps this many annotations of each level a step, and drops the rest without a word.
PER_LEVEL = 10
ERRORS = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class NodeFile:
    """Where a node is declared: its file from the repository's root, and the name that marks its line there."""

    path: str
    anchor: str


@dataclass(frozen=True)
class Annotation:
    """One annotation: `level` error or warning, on `place` (a path and a line)."""

    level: str
    title: str
    message: str
    place: tuple[str, int]


def node_files(manifest: Any, subdirectory: str | None) -> dict[str, NodeFile]:
    """Each node's file, read leniently from a manifest.json (a node without a path is left out); a generic test's
    file is the YAML that declares it, where its column (or else its model) marks its line."""
    nodes = manifest.get("nodes") if isinstance(manifest, dict) else None
    prefix = f"{subdirectory.strip('/')}/" if subdirectory and subdirectory.strip("/") else ""
    found: dict[str, NodeFile] = {}
    for unique_id, node in (nodes or {}).items() if isinstance(nodes, dict) else ():
        path = node.get("original_file_path") if isinstance(node, dict) else None
        if not isinstance(path, str) or not path:
            continue
        # A model's own file is all of it (line 1); a YAML declares many nodes, each at its own line.
        anchor = ""
        if path.endswith((".yml", ".yaml")):
            anchor = node.get("column_name") or _attached_name(node.get("attached_node")) or node.get("name") or ""
        found[str(unique_id)] = NodeFile(prefix + path, str(anchor))
    return found


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


def line_naming(text: str, anchor: str) -> int:
    """The line of `text` that declares `anchor` (`name: anchor`), else the first that names it as a word; 1."""
    if not anchor:
        return 1
    declared = re.compile(rf"\bname:\s*['\"]?{re.escape(anchor)}['\"]?\s*$")
    named = re.compile(rf"(?<![\w.]){re.escape(anchor)}(?![\w])")
    lines = text.splitlines()
    for pattern in (declared, named):
        for number, line in enumerate(lines, start=1):
            if pattern.search(line):
                return number
    return 1


def label(unique_id: str) -> str:
    """A node as a reviewer names it, its kind then its name (`model stg_orders`, `check owners`); else its id."""
    parts = unique_id.split(".")
    return f"{parts[0]} {parts[2]}" if len(parts) >= 3 and all(parts[:3]) else unique_id


def placed(
    problems: Sequence[Any], files: Mapping[str, NodeFile], read: Callable[[str], str | None]
) -> list[Annotation]:
    """The annotations for the nodes that errored, failed or warned (each with `unique_id`, `status`, `message`)
    whose file is known, errors first: one on no file would only repeat the job summary."""
    made: list[Annotation] = []
    for level in ("error", "warning"):
        for node in (node for node in problems if (node.status in ERRORS) == (level == "error")):
            known = files.get(node.unique_id)
            if known is None:
                continue
            text = read(known.path)
            place = (known.path, line_naming(text, known.anchor) if text is not None else 1)
            title = f"{label(node.unique_id)}: {node.status}"
            made.append(Annotation(level, title, node.message or node.status, place))
    return made


def capped(made: Sequence[Annotation], per_level: int = PER_LEVEL) -> tuple[list[Annotation], int]:
    """At most `per_level` annotations of each level, in their order; and how many were left out."""
    kept = [a for level in ("error", "warning") for a in [m for m in made if m.level == level][:per_level]]
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

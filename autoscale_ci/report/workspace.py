"""The checked-out repository, read within bounds: a node's file for the line that names it, and, when the manifest
is too big to read, the files that nodes' names point to."""

from __future__ import annotations

import os
from pathlib import Path

# A file larger than this is not searched for a node's line: dbt files are small, and a huge one is not a model.
FILE_LIMIT = 2_000_000
# The most files walked when looking for nodes' files: a monorepo's checkout may hold hundreds of thousands.
LISTING_LIMIT = 50_000
# Folders that hold no file of the project's own: git's, installed packages, dbt's output, virtual environments.
_NOT_THE_PROJECTS = frozenset(
    {".git", "node_modules", "dbt_packages", "dbt_modules", "target", "logs", ".venv", "venv"}
)


def text(root: Path, path: str) -> str | None:
    """A file of the checked-out repository, when the workflow checked it out and it is small enough to search."""
    try:
        found = (root / path).resolve()
        if not found.is_relative_to(root.resolve()) or not found.is_file() or found.stat().st_size > FILE_LIMIT:
            return None
        return found.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):  # ValueError: a path with a NUL, which no file has
        return None


def listing(root: Path, under: str = "", limit: int = LISTING_LIMIT) -> list[str]:
    """The repository's files under the folder `under`, as paths from its root, at most `limit` of them; none when
    nothing is checked out there."""
    start = root / under.strip("/") if under.strip("/") else root
    found: list[str] = []
    for folder, folders, files in os.walk(start):
        folders[:] = sorted(name for name in folders if name not in _NOT_THE_PROJECTS)
        base = Path(folder).relative_to(root).as_posix()
        for name in sorted(files):
            found.append(name if base == "." else f"{base}/{name}")
            if len(found) >= limit:
                return found
    return found

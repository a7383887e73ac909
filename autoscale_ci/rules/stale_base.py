"""A branch behind its base, pure: which of the files the base changed are dbt files of the job's project, and what
to say about them. `state:modified+` compares the pull request's project with production, so every such file looks
modified in the pull request and is rebuilt, with all that depends on it, until the branch has the base's commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autoscale_ci.dbt_cloud.models import project_prefix

# The folders and files of a dbt project whose change `state:modified` sees (dbt's default paths).
DBT_FOLDERS = frozenset({"models", "macros", "seeds", "snapshots", "tests", "analyses", "analysis"})
DBT_FILES = frozenset({"dbt_project.yml", "packages.yml", "dependencies.yml", "package-lock.yml"})
SHOWN_FILES = 10


@dataclass(frozen=True)
class StaleBase:
    """The base branch's commits the pull request's branch lacks, and the dbt files they changed."""

    base: str
    commits: int
    files: tuple[str, ...]
    # GitHub listed only so many of the base's changed files: there may be more dbt files among the rest.
    at_least: bool = False


def dbt_files(changed: Iterable[str], subdirectory: str | None) -> tuple[str, ...]:
    """The changed paths that are dbt files of a project at `subdirectory` (None or empty: the repository's root),
    in their order."""
    prefix = project_prefix(subdirectory)
    found = []
    for path in changed:
        if not path.startswith(prefix):
            continue
        inside = path[len(prefix) :]
        top = inside.split("/", 1)[0]
        if (top in DBT_FOLDERS and "/" in inside) or inside in DBT_FILES:
            found.append(path)
    return tuple(found)


def stale_base_message(stale: StaleBase, branch: str) -> str:
    """What the base has that `branch` (the pull request, as its git host names it) lacks, what it costs, the fix."""
    many = "at least " if stale.at_least else ""
    shown = ", ".join(stale.files[:SHOWN_FILES])
    more = f" and {len(stale.files) - SHOWN_FILES} more" if len(stale.files) > SHOWN_FILES else ""
    return (
        f"{branch} is {stale.commits} commit(s) behind {stale.base}, whose commits change {many}{len(stale.files)} dbt "
        f"file(s) of the job's project ({shown}{more}): `state:modified+` compares with production, so the run "
        f"rebuilds them and everything downstream of them. Update the branch (merge or rebase {stale.base}) to build "
        "only what the pull request changed."
    )

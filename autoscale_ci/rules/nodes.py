"""How many nodes a run selected, pure: from dbt's `k of M START` lines in the log of a step that builds (`dbt build`,
`run` or `test`; a `dbt seed` or a freshness check numbers its own few), and what to say past max-nodes."""

from __future__ import annotations

import re
from collections.abc import Iterable

# dbt prints each node it runs as `12 of 842 START sql view model ...`; a colour code may sit right before the index.
_SELECTED = re.compile(r"(?<!\d)\d+ of (\d+) START\b")
# dbt Cloud names a step "Invoke dbt with `dbt build --select ...`" (flags may come before the command).
_SELECTING = re.compile(r"`dbt\s+(?:-\S+\s+)*(?:build|run|test)\b")
LIKELY_CAUSES = (
    "likely a branch behind its base (every dbt file changed there counts as modified), or a deferral or state "
    "comparison that finds no production run, so that `state:modified+` selects everything"
)


def selected_nodes(log: str | None) -> int | None:
    """The M of a log's `k of M START` lines (the last one printed); None when the log has none yet."""
    found = _SELECTED.findall(log or "")
    return int(found[-1]) if found else None


def selected_by(steps: Iterable[tuple[str, str | None]]) -> int | None:
    """The most nodes any building step (given as its name and its log so far) selected; None when none says yet."""
    counts = [found for name, log in steps if _SELECTING.search(name) and (found := selected_nodes(log)) is not None]
    return max(counts, default=None)


def over_max_nodes(run_id: int, selected: int, limit: int, *, cancelled: bool | None, why_not: str = "") -> str:
    """What to say of a run that selected more nodes than max-nodes: `cancelled` True when the step cancelled it,
    False when it goes on (`why_not`: why it was not stopped), None when it had ended or its cancel failed."""
    said = f"dbt Cloud run {run_id} selected {selected} nodes, more than max-nodes {limit}: {LIKELY_CAUSES}."
    if cancelled is None:
        return said
    if cancelled:
        return f"{said} The action cancelled it (on-max-nodes: cancel)."
    return f"{said} It goes on ({why_not or 'on-max-nodes: warn; set on-max-nodes: cancel to stop such runs'})."

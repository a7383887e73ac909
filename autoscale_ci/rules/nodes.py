"""How many nodes a run selected, pure: from dbt's `k of M START` lines in a step's log, and what to say when that
is more than max-nodes."""

from __future__ import annotations

import re

# dbt prints each node it runs as `12 of 842 START sql view model ...` (and `12 of 842 OK created ...` once done).
_SELECTED = re.compile(r"\b\d+ of (\d+) START\b")
LIKELY_CAUSES = (
    "likely a branch behind its base (every dbt file changed there counts as modified), or a deferral or state "
    "comparison that finds no production run, so that `state:modified+` selects everything"
)


def selected_nodes(log: str | None) -> int | None:
    """The M of a step's `k of M START` lines (the last one printed); None when the log has none yet."""
    found = _SELECTED.findall(log or "")
    return int(found[-1]) if found else None


def over_max_nodes(run_id: int, selected: int, limit: int, *, cancelled: bool | None) -> str:
    """What to say of a run that selected more nodes than max-nodes: `cancelled` True when the step cancelled it,
    False when it goes on, None when it had ended before its count was known."""
    said = f"dbt Cloud run {run_id} selected {selected} nodes, more than max-nodes {limit}: {LIKELY_CAUSES}."
    if cancelled is None:
        return said
    if cancelled:
        return f"{said} The action cancelled it (on-max-nodes: cancel)."
    return f"{said} It goes on (on-max-nodes: warn); set on-max-nodes: cancel to stop such runs."

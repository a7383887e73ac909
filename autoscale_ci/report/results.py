"""What a finished run did, node by node, from its run_results.json; pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

PROBLEMS = ("error", "fail", "warn", "runtime error")
ORDER = ("success", "pass", "warn", "fail", "error", "skipped")
# The counts a reviewer reads: a passed test is a success, a runtime error an error; `reused` (dbt State, Fusion)
# and any status dbt adds later are counted under their own name, never dropped.
TALLY = ("success", "error", "fail", "warn", "skipped", "reused")
_SAME_AS = {"pass": "success", "runtime error": "error"}


@dataclass(frozen=True)
class Node:
    """A node that did not simply succeed."""

    unique_id: str
    status: str
    message: str


@dataclass(frozen=True)
class RunResults:
    """Counts by status and the nodes that errored, failed or warned."""

    counts: dict[str, int]
    problems: tuple[Node, ...]

    @property
    def failed_checks(self) -> int:
        """How many dbt v2 checks (`check.` nodes, which Fusion runs before the models) errored or failed."""
        return sum(1 for node in self.problems if node.unique_id.startswith("check.") and node.status != "warn")

    @property
    def total(self) -> int:
        """How many nodes the run reported."""
        return sum(self.counts.values())

    def tally(self) -> dict[str, int]:
        """Counts under the names of TALLY (each present, zero or not), then any other status as dbt named it."""
        grouped = dict.fromkeys(TALLY, 0)
        for status, count in self.counts.items():
            name = _SAME_AS.get(status, status)
            grouped[name] = grouped.get(name, 0) + count
        return grouped


def summarize(document: Any) -> RunResults | None:
    """Read a run_results.json document; None when it is not one."""
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        return None
    counts: Counter[str] = Counter()
    problems: list[Node] = []
    for result in results:
        if not isinstance(result, dict):
            continue
        status = str(result.get("status", "unknown")).lower()
        counts[status] += 1
        if status in PROBLEMS:
            message = " ".join(str(result.get("message") or "").split())
            problems.append(Node(str(result.get("unique_id", "?")), status, message))
    ordered = dict(sorted(counts.items(), key=lambda item: (ORDER.index(item[0]) if item[0] in ORDER else 99, item[0])))
    return RunResults(ordered, tuple(problems))

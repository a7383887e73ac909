"""max-nodes while the run goes: the polls the waiting makes anyway carry the run's steps, whose log says how many
nodes the run selected as soon as dbt starts the first; past the limit, one warning, or the run stopped."""

from __future__ import annotations

from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.report.results import RunResults
from autoscale_ci.rules.nodes import over_max_nodes, selected_nodes

TITLE = "Too many nodes"


def guard_for(runtime: Runtime, limit: int | None, *, cancel: bool) -> NodeGuard | None:
    """The guard of one run, when max-nodes is set (`limit`); it cancels the run past it only when `cancel`."""
    return NodeGuard(runtime, limit, cancel=cancel) if limit is not None else None


class NodeGuard:
    """Watches one run's polls for its node count; `stopping` once it must be cancelled (`cancel` set)."""

    def __init__(self, runtime: Runtime, limit: int, *, cancel: bool) -> None:
        self.runtime = runtime
        self.limit = limit
        self.cancel = cancel
        self.selected: int | None = None
        self.said: str | None = None
        self.stopping = False

    def sees(self, run: Run) -> bool:
        """Read the count from the run's steps, once; whether to stop waiting (to cancel the run)."""
        if self.selected is not None:
            return False
        counts = [found for step in run.run_steps or () if (found := selected_nodes(step.logs)) is not None]
        if not counts:
            return False
        self.selected = counts[-1]
        if self.selected <= self.limit:
            self.runtime.log(f"Run {run.id} selected {self.selected} nodes, within max-nodes {self.limit}.")
            return False
        self.said = over_max_nodes(run.id, self.selected, self.limit, cancelled=self.cancel)
        self.stopping = self.cancel
        if not self.cancel:
            self.runtime.warning(self.said, title=TITLE)
        return self.stopping

    def notes(self, run_id: int, results: RunResults | None) -> tuple[str, ...]:
        """What the reviewer should see; when no log line gave the count, the finished run's results do."""
        if self.said is None and self.selected is None and results is not None and results.total > self.limit:
            self.said = over_max_nodes(run_id, results.total, self.limit, cancelled=None)
            self.runtime.warning(self.said, title=TITLE)
        return (self.said,) if self.said is not None and not self.stopping else ()

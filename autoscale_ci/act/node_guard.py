"""max-nodes while the run goes: the polls the waiting makes anyway carry the run's steps, whose log says how many
nodes a building step selected as soon as dbt starts its first; past the limit, one warning, or the run stopped."""

from __future__ import annotations

from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.report.results import RunResults
from autoscale_ci.rules.nodes import over_max_nodes, selected_by

TITLE = "Too many nodes"
# Why a run past the limit goes on although on-max-nodes is cancel: the step only follows it.
FOLLOWED = "this step follows it, and cancels only a run it started"


def guard_for(runtime: Runtime, limit: int | None, *, cancel: bool, own: bool) -> NodeGuard | None:
    """The guard of one run, when max-nodes is set (`limit`): it cancels the run past it when `cancel` is asked and
    the run is the step's `own`."""
    return NodeGuard(runtime, limit, cancel=cancel, own=own) if limit is not None else None


class NodeGuard:
    """Watches one run's polls for its node count; `stopping` once the run must be cancelled."""

    def __init__(self, runtime: Runtime, limit: int, *, cancel: bool, own: bool) -> None:
        self.runtime = runtime
        self.limit = limit
        self.cancel = cancel
        self.own = own
        self.selected: int | None = None
        self.said: str | None = None
        self.stopping = False

    def sees(self, run: Run) -> bool:
        """Read the count from the run's building steps; whether to stop waiting, to cancel the run. A count within
        the limit is logged once and watched on: a later building step may select more."""
        if self.said is not None:
            return False
        found = selected_by((step.name, step.logs) for step in run.run_steps or ())
        if found is None or (self.selected is not None and found <= self.selected):
            return False
        first, self.selected = self.selected is None, found
        if found <= self.limit:
            if first:
                self.runtime.log(f"Run {run.id} selected {found} nodes, within max-nodes {self.limit}.")
            return False
        # A run seen ended (its last poll carries its whole log) is judged as it ended, never cancelled.
        self.stopping = self.cancel and self.own and run.is_active
        if self.stopping:
            return True
        why_not = FOLLOWED if self.cancel and not self.own else ""
        self.said = over_max_nodes(
            run.id, found, self.limit, cancelled=False if run.is_active else None, why_not=why_not
        )
        self.runtime.warning(self.said, title=TITLE)
        return False

    def stopped(self, run_id: int, *, cancelled: bool) -> str:
        """The message once the step tried to cancel the run: said as cancelled, or only as too big when the cancel
        failed (the warning before says why)."""
        selected = self.selected if self.selected is not None else self.limit
        self.said = over_max_nodes(run_id, selected, self.limit, cancelled=True if cancelled else None)
        return self.said

    def notes(self, run_id: int, results: RunResults | None) -> tuple[str, ...]:
        """What the reviewer should see; when no log line gave the count, the finished run's results do."""
        if self.said is None and self.selected is None and results is not None and results.total > self.limit:
            self.said = over_max_nodes(run_id, results.total, self.limit, cancelled=None)
            self.runtime.warning(self.said, title=TITLE)
        return (self.said,) if self.said is not None else ()

"""What one step did, built once at its end, for the outputs, the summary and the exit code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.failed_step import FailedStep
from autoscale_ci.report.results import RunResults
from autoscale_ci.rules.annotations import NodeFile
from autoscale_ci.rules.decide import Plan
from autoscale_ci.rules.verdict import RunStatus


@dataclass(frozen=True)
class Attempt:
    """An attempt whose run failed on weather and was tried again: `cause` is the line that showed it, `again` how
    the next attempt began ("retried from the point of failure" or "triggered afresh")."""

    run_id: int
    href: str
    cause: str
    again: str
    next_run_id: int


@dataclass(frozen=True)
class Outcome:
    """The plan as carried out (a refused clone makes it a trigger), the run, and what became of it."""

    plan: Plan
    pr: PullRequest
    run_status: RunStatus
    run: Run | None = None
    job_id: int | None = None
    cloned_job_id: int | None = None
    cancelled_run_ids: tuple[int, ...] = ()
    seconds: float = 0.0
    exit_code: int = 0
    message: str = ""
    superseded_by: str | None = None
    results: RunResults | None = None
    failed_step: FailedStep | None = None
    # A dry run's trigger body, as JSON a person can copy.
    trigger_body: str | None = None
    # What the guards found that a reviewer should see beside the verdict (a branch behind its base, too many nodes).
    notes: tuple[str, ...] = ()
    # Where the nodes that failed or warned are declared, by unique_id, when the run's manifest said.
    node_files: Mapping[str, NodeFile] = field(default_factory=dict)
    # Set on a run that failed on weather and may be tried again (retry-transient): the line that showed it.
    retry_cause: str | None = None
    # The attempts before this run, each failed on weather; the verdict is this run's.
    attempts: tuple[Attempt, ...] = ()

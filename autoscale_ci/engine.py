"""The decision: what to do for a pull request, given what dbt Cloud is doing now. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from autoscale_ci.errors import ActionError
from autoscale_ci.markers import clone_source
from autoscale_ci.models import QUEUED, RUNNING, STARTING


class Move(StrEnum):
    """What the executor does after any cancellations."""

    SKIP = "skip"
    FOLLOW = "follow"
    TRIGGER = "trigger"
    CLONE = "clone"


@dataclass(frozen=True)
class ActiveRun:
    """A queued, starting or running run anywhere in the account."""

    id: int
    job_id: int
    job_name: str | None
    pr_number: int | None
    sha: str | None
    href: str | None = None
    pushed_at: datetime | None = None
    status: int = QUEUED


@dataclass(frozen=True)
class Snapshot:
    """What dbt Cloud looked like when the action started."""

    job_id: int
    run_slots: int
    active_runs: tuple[ActiveRun, ...] = ()
    clone_job_ids: frozenset[int] = frozenset()
    locked: bool = False
    lock_reason: str | None = None


@dataclass(frozen=True)
class Request:
    """The pull request and the inputs that bear on the decision."""

    pr_number: int
    sha: str
    draft: bool = False
    closed: bool = False
    run_on_draft: bool = False
    clone: bool = True
    delete_clone: bool = True
    max_run_slots: int | None = None
    pushed_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """The decision and its reason, for the executor and the summary."""

    move: Move
    reason: str
    cancel: tuple[ActiveRun, ...] = ()
    follow: ActiveRun | None = None
    reuse_clone_id: int | None = None

    @property
    def decision(self) -> str:
        """The name reported in the `decision` output."""
        if self.cancel and self.move in (Move.TRIGGER, Move.CLONE):
            return "cancel-and-retrigger"
        return {
            Move.SKIP: "skip",
            Move.FOLLOW: "follow",
            Move.TRIGGER: "plain-trigger",
            Move.CLONE: "clone-and-trigger",
        }[self.move]


def without_clone(plan: Plan, refusal: str) -> Plan:
    """The plan once dbt Cloud refused to create (or update) the clone: the job itself, where dbt Cloud queues the
    run. Stale runs are still cancelled: the clone is asked for first, so nothing was cancelled yet."""
    return Plan(
        Move.TRIGGER,
        f"{plan.reason}, but dbt Cloud refused the clone ({refusal}), so dbt Cloud queues the run",
        plan.cancel,
    )


def belongs_to(job_id: int, run_job_id: int, run_job_name: str | None, clone_ids: frozenset[int] = frozenset()) -> bool:
    """True when a run of `run_job_id` is a run of `job_id` itself or of one of its clones."""
    return run_job_id == job_id or run_job_id in clone_ids or clone_source(run_job_name) == job_id


def in_family(run: ActiveRun, snapshot: Snapshot) -> bool:
    """True for runs of the job itself or of one of its clones."""
    return belongs_to(snapshot.job_id, run.job_id, run.job_name, snapshot.clone_job_ids)


def slots_in_use(runs: list[ActiveRun]) -> int:
    """Slots held or about to be: executing runs, and one for each job whose runs are all queued (only one run of
    a job can start; a run queued behind its own job's run waits for the job, not for a slot)."""
    executing = [run for run in runs if run.status in (STARTING, RUNNING)]
    executing_jobs = {run.job_id for run in executing}
    waiting_jobs = {run.job_id for run in runs if run.job_id not in executing_jobs}
    return len(executing) + len(waiting_jobs)


def _pushed_later(run: ActiveRun, request: Request) -> bool:
    return run.pushed_at is not None and request.pushed_at is not None and run.pushed_at > request.pushed_at


def _idle_clone(snapshot: Snapshot, busy_job_ids: set[int]) -> int | None:
    idle = sorted(snapshot.clone_job_ids - busy_job_ids)
    return idle[0] if idle else None


def precheck(request: Request) -> Plan | None:
    """The skip plan for a pull request that needs no run, decided before dbt Cloud is asked anything."""
    if request.closed:
        return Plan(Move.SKIP, f"PR #{request.pr_number} is closed; nothing to run")
    if request.draft and not request.run_on_draft:
        return Plan(Move.SKIP, f"PR #{request.pr_number} is a draft and run-on-draft is false")
    return None


def _mine(snapshot: Snapshot, request: Request) -> list[ActiveRun]:
    family = [run for run in snapshot.active_runs if in_family(run, snapshot)]
    return [run for run in family if run.pr_number == request.pr_number]


def _in_flight(mine: list[ActiveRun], request: Request) -> Plan | None:
    """Follow this commit's run, or step aside for a newer commit's; None when neither is in flight."""
    same_sha = [run for run in mine if run.sha == request.sha]
    if same_sha:
        run = max(same_sha, key=lambda r: r.id)
        return Plan(
            Move.FOLLOW, f"run {run.id} is already in flight for PR #{request.pr_number} at this commit", follow=run
        )
    newer = [run for run in mine if run.sha != request.sha and _pushed_later(run, request)]
    if newer:
        # A workflow for an older commit that starts late must not cancel the newer commit's run.
        run = max(newer, key=lambda r: r.id)
        return Plan(
            Move.SKIP,
            f"commit {(run.sha or '?')[:7]}, pushed to PR #{request.pr_number} after this one, is already in run "
            f"{run.id}; this older commit needs no run",
        )
    return None


def decide_early(snapshot: Snapshot, request: Request) -> Plan | None:
    """The plan when the active runs alone settle it (follow, step aside, or an idle job with nothing to
    cancel), so the trigger need not wait for the account; None when the account's slots and lock matter."""
    plan = precheck(request) or _in_flight(_mine(snapshot, request), request)
    if plan is not None:
        return plan
    if any(run.job_id == snapshot.job_id for run in snapshot.active_runs) or _mine(snapshot, request):
        return None
    return Plan(Move.TRIGGER, f"job {snapshot.job_id} is idle")


def decide(snapshot: Snapshot, request: Request) -> Plan:
    """Pick the move for this pull request; see the decision table in the README."""
    skip = precheck(request)
    if skip is not None:
        return skip
    if snapshot.locked:
        reason = snapshot.lock_reason or "no reason given"
        raise ActionError(
            f"The dbt Cloud account is locked ({reason}), so no run can start: resolve the lock in dbt Cloud "
            "(Account settings > Billing), then re-run the workflow.",
            title="dbt Cloud account locked",
        )
    mine = _mine(snapshot, request)
    in_flight = _in_flight(mine, request)
    if in_flight is not None:
        return in_flight
    stale = tuple(sorted((run for run in mine if run.sha != request.sha), key=lambda r: r.id))
    stale_ids = {run.id for run in stale}
    remaining = [run for run in snapshot.active_runs if run.id not in stale_ids]
    cancelled = f"cancelling {len(stale)} run(s) of PR #{request.pr_number} at an older commit; " if stale else ""

    base_busy = [run for run in remaining if run.job_id == snapshot.job_id]
    if not base_busy:
        return Plan(Move.TRIGGER, f"{cancelled}job {snapshot.job_id} is idle", cancel=stale)

    blocker = min(base_busy, key=lambda r: r.id)
    blocked_by = f"job {snapshot.job_id} is busy with run {blocker.id}" + (
        f" (PR #{blocker.pr_number})" if blocker.pr_number else ""
    )
    if not request.clone:
        return Plan(
            Move.TRIGGER, f"{cancelled}{blocked_by} and cloning is off (clone: false); dbt Cloud queues the run", stale
        )
    in_use = slots_in_use(remaining)
    family_in_use = sum(1 for run in remaining if in_family(run, snapshot))
    if in_use >= snapshot.run_slots:
        return Plan(
            Move.TRIGGER,
            f"{cancelled}{blocked_by} and all {snapshot.run_slots} run slots are in use; dbt Cloud queues the run",
            cancel=stale,
        )
    if request.max_run_slots is not None and family_in_use >= request.max_run_slots:
        return Plan(
            Move.TRIGGER,
            f"{cancelled}{blocked_by} and this job already uses {family_in_use} of max-run-slots "
            f"{request.max_run_slots}; dbt Cloud queues the run",
            cancel=stale,
        )
    free = f"{in_use} of {snapshot.run_slots} run slots are in use"
    reuse = None
    if not request.delete_clone:
        reuse = _idle_clone(snapshot, {run.job_id for run in snapshot.active_runs})
    how = f"reusing idle clone job {reuse}" if reuse is not None else "cloning it"
    return Plan(Move.CLONE, f"{cancelled}{blocked_by}; {free}, so {how}", cancel=stale, reuse_clone_id=reuse)

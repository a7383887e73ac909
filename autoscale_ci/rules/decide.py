"""The decision, pure: what to do for a pull request given what dbt Cloud is doing now (`decide`), and when the
account's lock stops it (`lock_error`). No I/O: the executor and the pipeline carry it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autoscale_ci.dbt_cloud.models import QUEUED, RUNNING, STARTING
from autoscale_ci.errors import ActionError
from autoscale_ci.rules.markers import PushOrder, clone_source


@dataclass(frozen=True)
class ActiveRun:
    """A queued, starting or running run anywhere in the account (or, read after ours, any later run)."""

    id: int
    job_id: int
    job_name: str | None
    pr_number: int | None
    sha: str | None
    href: str | None = None
    # Where its commit stands among the pull request's pushes, when the run's cause says.
    order: PushOrder | None = None
    status: int = QUEUED
    # Its job's type, as the job embedded in the run says: runs of `ci` jobs hold no run slot on some plans.
    job_type: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    """What the decision needs of the account."""

    run_slots: int
    locked: bool = False
    lock_reason: str | None = None
    # The account's plan (`plan`): what dbt's scheduler does for CI jobs depends on it.
    plan: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What dbt Cloud looked like when the action started."""

    job_id: int
    account: AccountFacts
    active_runs: tuple[ActiveRun, ...] = ()
    clone_job_ids: frozenset[int] = frozenset()
    # The job's own type (`job_type` of its definition), None when unknown.
    job_type: str | None = None


@dataclass(frozen=True)
class PrState:
    """The pull request and the inputs that bear on the decision."""

    pr_number: int
    sha: str
    draft: bool = False
    closed: bool = False
    run_on_draft: bool = False
    clone: bool = True
    delete_clone: bool = True
    max_run_slots: int | None = None
    # Where this commit stands among the pull request's pushes, as the CI vouches for it; None when it does not.
    order: PushOrder | None = None
    # native-concurrency: whether dbt runs this job's CI runs side by side (None: judge by plan and job type).
    native_concurrency: bool | None = None
    # How the git host names its pull requests: "PR #" (GitHub, Azure, Bitbucket) or "MR !" (GitLab).
    prefix: str = "PR #"

    @property
    def name(self) -> str:
        """The pull request as its git host names it: `PR #7`, `MR !7`."""
        return f"{self.prefix}{self.pr_number}"


# The plan: one frozen variant per move, each with only the fields that move uses.
@dataclass(frozen=True)
class Skip:
    """Run nothing: the pull request needs no run."""

    reason: str


@dataclass(frozen=True)
class Follow:
    """Wait on a run another step started for this commit; never cancel it."""

    reason: str
    run: ActiveRun


@dataclass(frozen=True)
class Trigger:
    """Trigger the job itself (where dbt Cloud queues the run if the job is busy), then cancel `cancel`."""

    reason: str
    cancel: tuple[ActiveRun, ...] = ()


@dataclass(frozen=True)
class Clone:
    """Clone the job (or update the idle clone `reuse_clone_id`), trigger the clone, then cancel `cancel`."""

    reason: str
    cancel: tuple[ActiveRun, ...] = ()
    reuse_clone_id: int | None = None


Plan = Skip | Follow | Trigger | Clone


def belongs_to(job_id: int, run_job_id: int, run_job_name: str | None, clone_ids: frozenset[int] = frozenset()) -> bool:
    """True when a run of `run_job_id` is a run of `job_id` itself or of one of its clones."""
    return run_job_id == job_id or run_job_id in clone_ids or clone_source(run_job_name) == job_id


def in_family(run: ActiveRun, snapshot: Snapshot) -> bool:
    """True for runs of the job itself or of one of its clones."""
    return belongs_to(snapshot.job_id, run.job_id, run.job_name, snapshot.clone_job_ids)


# dbt's job scheduler and CI job docs: concurrent CI checks (and smart cancellation) for a `ci` job triggered through
# the API with a pull request's id are Enterprise, Enterprise+ and legacy Team only; Starter and smaller plans run
# them one at a time, as every plan runs jobs not typed `ci`. `trial*`, `usage_*` and unknown plans are taken as no.
CONCURRENT_API_CI_PLANS = frozenset(
    {"enterprise", "enterprise_2025", "enterprise_plus_2025", "team", "team_2022", "team_annual"}
)
# "CI runs don't consume run slots" (Starter, Enterprise, Enterprise+).
CI_HOLDS_NO_SLOT_PLANS = frozenset({"starter_2025", "enterprise", "enterprise_2025", "enterprise_plus_2025"})


def runs_side_by_side(plan: str | None, job_type: str | None, override: bool | None) -> bool:
    """Whether dbt itself runs this job's API-triggered CI runs (with a pull request's id, as the action sends) beside
    its runs for other pull requests: a `ci` job on a plan with concurrent CI, unless native-concurrency says."""
    if override is not None:
        return override
    return job_type == "ci" and plan in CONCURRENT_API_CI_PLANS


def holds_a_slot(plan: str | None, job_type: str | None) -> bool:
    """Whether a run of a job of this type takes one of the account's run slots on this plan."""
    return not (job_type == "ci" and plan in CI_HOLDS_NO_SLOT_PLANS)


def slots_in_use(runs: Sequence[ActiveRun], plan: str | None = None) -> int:
    """Slots held or about to be: executing runs, and one for each job whose runs are all queued (only one run of
    a job can start; a run queued behind its own job's run waits for the job, not for a slot). Runs of `ci` jobs
    hold none on the plans where dbt says so."""
    holding = [run for run in runs if holds_a_slot(plan, run.job_type)]
    executing = [run for run in holding if run.status in (STARTING, RUNNING)]
    executing_jobs = {run.job_id for run in executing}
    waiting_jobs = {run.job_id for run in holding if run.job_id not in executing_jobs}
    return len(executing) + len(waiting_jobs)


def slot_arithmetic(runs: Sequence[ActiveRun], account: AccountFacts) -> str:
    """How the run slots in use among `runs` were counted, for the dry run: which runs hold one, which do not, why."""
    free_ci = [run for run in runs if not holds_a_slot(account.plan, run.job_type)]
    holding = [run for run in runs if holds_a_slot(account.plan, run.job_type)]
    executing = [run for run in holding if run.status in (STARTING, RUNNING)]
    executing_jobs = {run.job_id for run in executing}
    waiting = sorted({run.job_id for run in holding if run.job_id not in executing_jobs})
    behind = [run for run in holding if run.status == QUEUED and run.job_id in executing_jobs]
    jobs = f" (jobs {_join(waiting)})" if waiting else ""
    counted = f"{len(executing)} executing run(s){_ids(executing)} + {len(waiting)} job(s) waiting for a slot{jobs}"
    plan = account.plan or "unknown"
    lines = [f"run slots: {account.run_slots} (plan {plan}); in use {slots_in_use(runs, account.plan)} = {counted}"]
    if behind:
        lines.append(f"not counted: {len(behind)} run(s) queued behind their own job's run{_ids(behind)}")
    if free_ci:
        lines.append(f"not counted: {len(free_ci)} run(s) of `ci` jobs, which hold no slot on {plan}{_ids(free_ci)}")
    return "; ".join(lines)


def _ids(runs: Sequence[ActiveRun]) -> str:
    return f" (runs {_join(sorted(run.id for run in runs))})" if runs else ""


def _join(numbers: Sequence[int]) -> str:
    shown = ", ".join(map(str, numbers[:10]))
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def _pushed_later(run: ActiveRun, request: PrState) -> bool:
    return run.order is not None and run.order.after(request.order)


def _idle_clone(snapshot: Snapshot, busy_job_ids: set[int]) -> int | None:
    idle = sorted(snapshot.clone_job_ids - busy_job_ids)
    return idle[0] if idle else None


def precheck(request: PrState) -> Plan | None:
    """The skip plan for a pull request that needs no run, decided before dbt Cloud is asked anything."""
    if request.closed:
        return Skip(f"{request.name} is closed; nothing to run")
    if request.draft and not request.run_on_draft:
        return Skip(f"{request.name} is a draft and run-on-draft is false")
    return None


def queue_precheck(event_name: str, queue_branch: str | None, merge_queue: str) -> Skip | None:
    """The skip plan for GitHub's merge queue, decided before the pull request is read: a push to a queue branch is
    left to the `merge_group` event GitHub sends for the same entry, and `merge-queue: skip` runs no entry."""
    if queue_branch is None:
        return None
    if event_name == "push":
        return Skip(f"{queue_branch} is a merge queue branch, whose entry the merge_group event runs")
    if merge_queue == "skip":
        return Skip(f"merge-queue is skip, so the merge queue entry {queue_branch or '(unnamed)'} passes without a run")
    return None


def _runs_of_this_pr(snapshot: Snapshot, request: PrState) -> list[ActiveRun]:
    family = [run for run in snapshot.active_runs if in_family(run, snapshot)]
    return [run for run in family if run.pr_number == request.pr_number and not _entry_beyond(run, request)]


def _entry_beyond(run: ActiveRun, request: PrState) -> bool:
    """Whether `run` tests a merge queue entry of the PR while the request is for the PR's own commits: an entry's
    check is the queue's, so nothing the PR does cancels it, or steps aside for it (the job queues the PR's run)."""
    entry = run.order is not None and run.order.entry
    return entry and not (request.order is not None and request.order.entry)


def _in_flight(mine: list[ActiveRun], request: PrState) -> Plan | None:
    """Follow this commit's run, or step aside for a newer commit's; None when neither is in flight."""
    same_sha = [run for run in mine if run.sha == request.sha]
    if same_sha:
        run = max(same_sha, key=lambda r: r.id)
        return Follow(f"run {run.id} is already in flight for {request.name} at this commit", run)
    newer = [run for run in mine if run.sha != request.sha and _pushed_later(run, request)]
    if newer:
        # A workflow for an older commit that starts late must not cancel the newer commit's run.
        run = max(newer, key=lambda r: r.id)
        return Skip(
            f"commit {(run.sha or '?')[:7]}, pushed to {request.name} after this one, is already in run "
            f"{run.id}; this older commit needs no run"
        )
    return None


def pushed_before(run: ActiveRun, order: PushOrder | None) -> bool:
    """Whether `run`'s commit is known to have been pushed before the one at `order`."""
    return order is not None and order.after(run.order)


def at_commits(stale: Sequence[ActiveRun], order: PushOrder | None) -> str:
    """How to name the commits of stale runs: "older" only when their push orders say so, never a guess."""
    older = all(pushed_before(run, order) for run in stale)
    one = len({run.sha for run in stale}) == 1
    if older:
        return "at an older commit" if one else "at older commits"
    return "at another commit" if one else "at other commits"


def lock_error(account: AccountFacts) -> ActionError | None:
    """The error to stop on when the account is locked; None when runs can start."""
    if not account.locked:
        return None
    return ActionError(
        f"The dbt Cloud account is locked ({account.lock_reason or 'no reason given'}), so no run can start: resolve "
        "the lock in dbt Cloud (Account settings > Billing), then re-run the workflow.",
        title="dbt Cloud account locked",
    )


def decide(snapshot: Snapshot, request: PrState) -> Plan:
    """Pick the move for this pull request; see the decision table in the README. Raises the lock error on a locked
    account when a run would start."""
    skip = precheck(request)
    if skip is not None:
        return skip
    mine = _runs_of_this_pr(snapshot, request)
    in_flight = _in_flight(mine, request)
    if in_flight is not None:
        return in_flight
    # Only a run to start meets the lock: a run in flight is followed, or left to the newer commit, all the same.
    if (locked := lock_error(snapshot.account)) is not None:
        raise locked
    stale = tuple(sorted((run for run in mine if run.sha != request.sha), key=lambda r: r.id))
    stale_ids = {run.id for run in stale}
    remaining = [run for run in snapshot.active_runs if run.id not in stale_ids]
    cancelled = (
        f"cancelling {len(stale)} run(s) of {request.name} {at_commits(stale, request.order)}; " if stale else ""
    )
    base_busy = [run for run in remaining if run.job_id == snapshot.job_id]
    if not base_busy:
        return Trigger(f"{cancelled}job {snapshot.job_id} is idle", stale)
    blocker = min(base_busy, key=lambda r: r.id)
    blocked_by = f"{cancelled}job {snapshot.job_id} is busy with run {blocker.id}" + (
        f" ({request.prefix}{blocker.pr_number})" if blocker.pr_number else ""
    )
    return _for_a_busy_job(snapshot, request, remaining, blocked_by, stale)


def _for_a_busy_job(
    snapshot: Snapshot, request: PrState, remaining: list[ActiveRun], blocked_by: str, stale: tuple[ActiveRun, ...]
) -> Plan:
    """The move when the job is busy with another run: beside it where dbt runs CI concurrently, on a clone when a
    slot is free, else queued on the job."""
    account = snapshot.account
    if runs_side_by_side(account.plan, snapshot.job_type, request.native_concurrency):
        why = (
            "native-concurrency is true"
            if request.native_concurrency
            else f"dbt runs CI runs of this job concurrently on this plan ({account.plan})"
        )
        return Trigger(f"{blocked_by}, but {why}: the job itself runs it, beside the other", stale)
    if not request.clone:
        return Trigger(f"{blocked_by} and cloning is off (clone: false); dbt Cloud queues the run", stale)
    in_use = slots_in_use(remaining, account.plan)
    family_in_use = sum(1 for run in remaining if in_family(run, snapshot))
    if in_use >= account.run_slots and holds_a_slot(account.plan, snapshot.job_type):
        slots = account.run_slots
        return Trigger(f"{blocked_by} and all {slots} run slots are in use; dbt Cloud queues the run", stale)
    if request.max_run_slots is not None and family_in_use >= request.max_run_slots:
        return Trigger(
            f"{blocked_by} and this job already uses {family_in_use} of max-run-slots {request.max_run_slots}; dbt "
            "Cloud queues the run",
            stale,
        )
    free = f"{in_use} of {account.run_slots} run slots are in use"
    reuse = None
    if not request.delete_clone:
        reuse = _idle_clone(snapshot, {run.job_id for run in snapshot.active_runs})
    how = f"reusing idle clone job {reuse}" if reuse is not None else "cloning it"
    return Clone(f"{blocked_by}; {free}, so {how}", stale, reuse)


def without_clone(plan: Clone, refusal: str) -> Trigger:
    """The plan once dbt Cloud refused to create (or update) the clone: the job itself, where dbt Cloud queues the
    run. Stale runs are still cancelled: the clone is asked for first, so nothing was cancelled yet."""
    return Trigger(
        f"{plan.reason}, but dbt Cloud refused the clone ({refusal}), so dbt Cloud queues the run", plan.cancel
    )

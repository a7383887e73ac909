"""Carries out a Plan against dbt Cloud: clone, cancel, trigger, wait, delete. Makes no decisions."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from autoscale_ci import signals
from autoscale_ci.artifacts import collect
from autoscale_ci.clone import clone_definition
from autoscale_ci.context import PullRequest
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.engine import ActiveRun, Move, Plan, belongs_to, without_clone
from autoscale_ci.errors import Aborted
from autoscale_ci.github import Runtime
from autoscale_ci.markers import clone_source, pushed_at
from autoscale_ci.models import CANCELLED, ERROR, RUNNING, SUCCESS, Job, Run, status_name
from autoscale_ci.polling import expected_duration, next_check, parse_duration
from autoscale_ci.results import RunResults

# Saved to GITHUB_STATE as soon as they exist and cleared once settled, so the post step cleans up only what a
# killed step left: a run still to cancel, a clone still to delete.
STATE_RUN, STATE_CLONE = "run_id", "clone_job_id"

# How dbt Cloud refuses a token that may not create jobs: 403, and often 404 ("... check that you have the proper
# permissions"). Anything else (a server error, a bad body) is no reason to queue instead.
PERMISSION_REFUSALS = (403, 404)
# How long a cancelled run waits for the run of the newer commit that cancelled it to show up.
SUPERSEDE_GRACE_SECONDS = 3.0
_T = TypeVar("_T")


def _in_background(call: Callable[..., _T], *args: Any) -> Future[_T]:
    """Run a call on a daemon thread: nothing waits for it at exit, so a cancelled step is never held by it."""
    answer: Future[_T] = Future()

    def work() -> None:
        try:
            answer.set_result(call(*args))
        except BaseException as exc:  # handed to whoever reads the answer
            answer.set_exception(exc)

    threading.Thread(target=work, daemon=True).start()
    return answer


@dataclass
class Outcome:
    """What happened, for outputs, the summary and the exit code."""

    plan: Plan
    pr: PullRequest
    run: Run | None = None
    run_status: str = ""
    job_id: int | None = None
    cloned_job_id: int | None = None
    cancelled_run_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0
    message: str = ""
    superseded_by: str | None = None
    results: RunResults | None = None


@dataclass(frozen=True)
class Options:
    """The inputs that shape how a plan is carried out."""

    job_id: int
    wait: bool = True
    delete_clone: bool = True
    cancel_on_abort: bool = True
    cancel_on_timeout: bool = True
    poll_interval: float = 30.0
    deadline: float = float("inf")
    artifacts: tuple[str, ...] = ()
    artifacts_path: Path = Path("target")


class Executor:
    """Runs one plan; all dbt Cloud writes of the action happen here."""

    def __init__(
        self,
        client: DbtCloudClient,
        runtime: Runtime,
        options: Options,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.options = options
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._started_at = datetime.now(UTC)
        self._created_clone: int | None = None
        self._job_checked = False

    def _elapsed(self) -> str:
        seconds = int(self._clock() - self._started)
        return f"{seconds // 60}m{seconds % 60:02d}s"

    def execute(self, plan: Plan, pr: PullRequest, job: Job | None, payload: Mapping[str, Any]) -> Outcome:
        """Carry out the plan and report what happened."""
        outcome = Outcome(plan=plan, pr=pr)
        if plan.move is Move.SKIP:
            outcome.run_status = "skipped"
            return outcome
        if plan.move is Move.FOLLOW and plan.follow is not None:
            return self._follow(outcome, self.client.get_run(plan.follow.id))

        target = self.options.job_id
        run: Run | None = None
        cancels: list[tuple[ActiveRun, Future[Run]]] = []
        try:
            # The clone comes first, so that nothing is cancelled before dbt Cloud has said whether it may be made.
            if plan.move is Move.CLONE and job is not None:
                try:
                    target = self._prepare_clone(plan, job, pr)
                    outcome.cloned_job_id = target
                except DbtCloudError as refused:
                    if refused.status_code not in PERMISSION_REFUSALS:
                        raise
                    plan = outcome.plan = without_clone(plan, f"answered {refused.status_code}")
                    self.runtime.warning(
                        f"dbt Cloud answered {refused.status_code} when asked to {refused.operation}: this token may "
                        f"not create or change jobs. Job {target} is triggered instead, and dbt Cloud queues the run "
                        "behind the one in flight. To let the action clone a busy job, give the service token the "
                        "Job Admin permission set (or Job Creator, on Enterprise) for the job's project; to stop it "
                        "trying, set clone: false.",
                        title="Clone not allowed",
                    )
            # Stale runs are cancelled while the trigger is sent: dbt Cloud queues a run behind its job's run in
            # flight, so the new run starts the moment the cancel lands, a round trip sooner.
            cancels = [(stale, _in_background(self.client.cancel_run, stale.id)) for stale in plan.cancel]
            # A signal during the trigger is held until the run's id is known, so it can be cancelled.
            with signals.shielded():
                run = self.client.trigger_run(target, payload, since=self._started_at - timedelta(minutes=1))
                self.runtime.save_state({STATE_RUN: str(run.id)})
            outcome.cancelled_run_ids = self._cancelled(cancels, target)
            self.runtime.notice(f"dbt Cloud run {run.id} for {pr.label}: {run.href or run.id}")
        except BaseException as exc:
            with signals.shielded(), self.client.unbounded():
                if run is not None and isinstance(exc, Aborted) and self.options.cancel_on_abort:
                    self._cancel_quietly(run.id)
                if self._created_clone is not None and self.options.delete_clone:
                    self._delete_clone(self._created_clone)
                # A cancelled step does not wait for the stale cancels: they finish, or die with the process.
                if not isinstance(exc, Aborted):
                    self._cancelled(cancels, target)
            raise
        # Only a clone this step created is ever deleted by it; a reused one is kept (delete-clone is false).
        created = self._created_clone if self.options.delete_clone else None
        return self._own(outcome, run, created)

    def _prepare_clone(self, plan: Plan, job: Job, pr: PullRequest) -> int:
        body = clone_definition(job.definition(), self.options.job_id, pr.number, secrets.token_hex(3))
        if plan.reuse_clone_id is not None:
            self.client.update_job(plan.reuse_clone_id, body)
            self.runtime.log(f"Updated idle clone job {plan.reuse_clone_id} from job {self.options.job_id}.")
            return plan.reuse_clone_id
        with signals.shielded():
            clone = self.client.create_job(body)
            self._created_clone = clone.id
            if self.options.delete_clone:
                self.runtime.save_state({STATE_CLONE: str(clone.id)})
        self.runtime.log(f"Created clone job {clone.id} '{clone.name}' (every trigger and the schedule off).")
        return clone.id

    def _cancelled(self, cancels: list[tuple[ActiveRun, Future[Run]]], target: int) -> list[int]:
        """Wait for the cancels and report each once: the list is emptied as they are reported."""
        done: list[int] = []
        while cancels:
            stale, answer = cancels[0]
            failure = answer.exception()  # waits for the answer; a cancel that failed in any way is not fatal
            cancels.pop(0)
            at = f"at older commit {(stale.sha or '?')[:7]}"
            if failure is None:
                done.append(stale.id)
                self.runtime.log(f"Cancelled run {stale.id} of job {stale.job_id} {at}.")
                continue
            why = failure.message if isinstance(failure, DbtCloudError) else f"{type(failure).__name__}: {failure}."
            after = " and this commit's run waits for it" if stale.job_id == target else ""
            self.runtime.warning(
                f"Could not cancel run {stale.id} of job {stale.job_id} {at}: {why} It runs to its "
                f"end{after}; cancel it in dbt Cloud to free its run slot.",
                title="Stale run not cancelled",
            )
        return done

    def _follow(self, outcome: Outcome, run: Run) -> Outcome:
        """Wait on a run another step started; never cancel it or delete its clone."""
        self.runtime.log(f"Following run {run.id} ({status_name(run.status)}), already in flight for this commit.")
        outcome.run, outcome.job_id = run, run.job_definition_id
        if clone_source(run.job.name if run.job else None) == self.options.job_id:
            outcome.cloned_job_id = run.job_definition_id
        if not self.options.wait:
            outcome.run_status = status_name(run.status)
            return outcome
        run = outcome.run = self._wait(run)
        if run.is_active:
            outcome.run_status, outcome.exit_code = "timeout", 1
            outcome.message = (
                f"dbt Cloud run {run.id} did not finish within timeout-minutes ({self._elapsed()} waited); this step "
                f"did not start it and left it running. Raise timeout-minutes if runs take longer. Run: {run.href}"
            )
        else:
            self._judge(outcome)
            self._collect(outcome)
        outcome.seconds = self._clock() - self._started
        return outcome

    def _own(self, outcome: Outcome, run: Run, clone_id: int | None) -> Outcome:
        """Wait on the run this step started (always when its clone must be deleted), then clean up."""
        outcome.run, outcome.job_id = run, run.job_definition_id
        if not (self.options.wait or clone_id is not None):
            outcome.run_status = status_name(run.status)
            self.runtime.save_state({STATE_RUN: ""})  # left running on purpose; the post step must not cancel it
            self.runtime.log(f"Run {run.id} accepted ({outcome.run_status}); not waiting (wait is false).")
            return outcome
        try:
            run = outcome.run = self._wait(run)
        except BaseException as exc:
            with signals.shielded(), self.client.unbounded():
                if isinstance(exc, Aborted) and self.options.cancel_on_abort:
                    self._cancel_quietly(run.id)
                if clone_id is not None:
                    # Deleting a clone cancels its run; a run no one waits for must not keep the clone alive.
                    self._delete_clone(clone_id)
            raise
        if run.is_active:
            outcome.run_status, outcome.exit_code = "timeout", 1
            waited = f"dbt Cloud run {run.id} did not finish within timeout-minutes ({self._elapsed()} waited)"
            if self.options.cancel_on_timeout:
                with signals.shielded(), self.client.unbounded():
                    cancelled = self._cancel_quietly(run.id)
                    if clone_id is not None:
                        self._delete_clone(clone_id)
                what = (
                    "the action cancelled it" if cancelled else "the action could not cancel it (see the warning above)"
                )
            else:
                # Left running on purpose: neither the post step nor this one may cancel it or delete its clone.
                self.runtime.save_state({STATE_RUN: "", STATE_CLONE: ""})
                kept = f"; its clone job {clone_id} stays until cleanup mode removes it" if clone_id is not None else ""
                what = f"it is still running (cancel-on-timeout is false){kept}"
            outcome.message = f"{waited}; {what}. Raise timeout-minutes if runs take longer. Run: {run.href or run.id}"
        else:
            self.runtime.save_state({STATE_RUN: ""})
            try:
                self._judge(outcome)
                self._collect(outcome)
            finally:
                if clone_id is not None:
                    with signals.shielded(), self.client.unbounded():
                        self._delete_clone(clone_id)
            if not self.options.wait and outcome.exit_code:
                # The step waited only so that the clone could be deleted; wait: false never fails on the result.
                outcome.exit_code = 0
                outcome.message += " (wait is false, so the step does not fail)"
        outcome.seconds = self._clock() - self._started
        return outcome

    def _wait(self, run: Run) -> Run:
        last = run.status
        self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        expected = self._expected_duration() if run.is_active else None
        while run.is_active:
            remaining = self.options.deadline - self._clock()
            if remaining <= 0:
                return run
            running_for = parse_duration(run.run_duration) if run.status == RUNNING else None
            self._sleep(min(next_check(running_for, expected, self.options.poll_interval), remaining))
            run = self.client.get_run(run.id)
            self._check_job(run)
            if run.status != last:
                last = run.status
                self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        return run

    def _collect(self, outcome: Outcome) -> None:
        """Artifacts of a finished run, after failed runs too: that is when they help most."""
        if outcome.run is None or outcome.run_status in ("cancelled", "superseded"):
            return
        with self.runtime.group("Artifacts"):
            outcome.results = collect(
                self.client, self.runtime, outcome.run, self.options.artifacts, self.options.artifacts_path
            )

    def _check_job(self, run: Run) -> None:
        """Warn, once, when the job also runs on its own for pull requests."""
        triggers = run.job.triggers if run.job else None
        if self._job_checked or triggers is None or run.job_definition_id != self.options.job_id:
            return
        self._job_checked = True
        if triggers.github_webhook or triggers.git_provider_webhook:
            self.runtime.warning(
                f"Job {self.options.job_id} has its own pull request trigger on, so dbt Cloud also runs it for every "
                "PR and each commit runs twice: switch off 'Run on pull requests' in the job's Triggers settings.",
                title="Duplicate CI runs",
            )

    def _expected_duration(self) -> float | None:
        """The job's typical run time, so that checks can cluster around the likely end; a guess, never fatal."""
        try:
            return expected_duration(self.client.recent_durations(self.options.job_id))
        except DbtCloudError:
            return None

    def _judge(self, outcome: Outcome) -> None:
        run = outcome.run
        assert run is not None
        link = run.href or f"run {run.id}"
        if run.status == SUCCESS:
            outcome.run_status = "success"
            return
        if run.status == CANCELLED:
            newer = self._superseding_sha(run, outcome.pr)
            if newer is None:
                # The newer commit's step cancels ours while it triggers its own: that run may land a moment later.
                self._sleep(SUPERSEDE_GRACE_SECONDS)
                newer = self._superseding_sha(run, outcome.pr)
            if newer is not None:
                outcome.run_status = "superseded"
                outcome.superseded_by = newer
                outcome.message = (
                    f"dbt Cloud run {run.id} was cancelled because commit {newer[:7]} of PR #{outcome.pr.number} "
                    f"superseded {outcome.pr.short_sha}; its own run reports the result. Run: {link}"
                )
                return
            outcome.run_status = "cancelled"
            outcome.exit_code = 1
            outcome.message = f"dbt Cloud run {run.id} was cancelled before it finished. Run: {link}"
            return
        outcome.run_status = "error" if run.status == ERROR else status_name(run.status)
        outcome.exit_code = 1
        why = f": {run.status_message}" if run.status_message else ""
        outcome.message = f"dbt Cloud run {run.id} failed{why}. See the run's logs: {link}"

    def _superseding_sha(self, run: Run, pr: PullRequest) -> str | None:
        """The commit whose run cancelled ours, when it was pushed after ours; None when that is not known."""
        for newer in self.client.list_runs(id_gt=run.id, order_by="id"):
            family = belongs_to(self.options.job_id, newer.job_definition_id, newer.job.name if newer.job else None)
            if family and newer.pr_number == pr.number and newer.sha and newer.sha != (run.sha or pr.head_sha):
                # A run for another commit may be for an older one (a re-run, or a manual dispatch): only a later
                # push time makes ours superseded rather than cancelled.
                theirs = pushed_at(newer.trigger.cause if newer.trigger else None)
                if theirs is not None and pr.updated_at is not None and theirs > pr.updated_at:
                    return newer.sha
        return None

    def _cancel_quietly(self, run_id: int) -> bool:
        try:
            self.client.cancel_run(run_id)
        except DbtCloudError as exc:
            self.runtime.warning(
                f"Could not cancel run {run_id}: {exc.message} Cancel it in dbt Cloud; the post step will try again."
            )
            return False
        self.runtime.save_state({STATE_RUN: ""})
        self.runtime.log(f"Cancelled run {run_id}.")
        return True

    def _delete_clone(self, clone_id: int) -> None:
        try:
            if self.client.delete_job(clone_id):
                self.runtime.log(f"Deleted clone job {clone_id}.")
            self.runtime.save_state({STATE_CLONE: ""})
        except DbtCloudError as exc:
            self.runtime.warning(
                f"Could not delete clone job {clone_id}: {exc.message} Delete it in dbt Cloud, or let the "
                "post step or cleanup mode remove it."
            )
